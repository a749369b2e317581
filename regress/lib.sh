# Shared helpers for the regress shell tests, which speak TAP to prove.
#
#	. "$(dirname "$0")/lib.sh"
#	tap_plan 3
#	tmpdir_setup			# $T: a private temp dir, removed at exit
#	ok $? "what was tested"		# pass when the status is 0
#	check "what" cmd arg ...	# pass when cmd exits 0
#	tap_done			# exits non-zero if any failed
#
# $OBJ is where make put the binaries (default: obj beside regress/).

: "${OBJ:=$(cd "$(dirname "$0")/.." && pwd)/obj}"
export OBJ

_tap_n=0
_tap_failed=0
_tap_plan=
_tap_atexit=

tap_plan() {
	_tap_plan=$1
	echo "1..$1"
}

# diag LINE...: each argument as comment lines in the TAP stream
diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

ok() {
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ] 2>/dev/null; then
		echo "ok $_tap_n - $2"
	else
		echo "not ok $_tap_n - $2"
		_tap_failed=$((_tap_failed + 1))
	fi
}

check() {
	_d=$1
	shift
	"$@"
	ok $? "$_d"
}

skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n # skip $*"
}

# skip_rest REASON: every planned test not run yet is skipped; exits
skip_rest() {
	while [ "$_tap_n" -lt "$_tap_plan" ]; do
		skip "$*"
	done
	tap_done
}

# at_exit CMD: run CMD (a shell string) at exit, before $T is removed
at_exit() {
	_tap_atexit="$_tap_atexit
$1"
}

_tap_cleanup() {
	eval "$_tap_atexit"
	[ -n "${T:-}" ] && rm -rf "$T"
}

tmpdir_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/lens-regress.XXXXXX") || exit 1
	export T
	trap _tap_cleanup EXIT
	trap 'exit 1' HUP INT TERM
}

tap_done() {
	if [ -n "$_tap_plan" ] && [ "$_tap_n" -ne "$_tap_plan" ]; then
		diag "planned $_tap_plan tests but ran $_tap_n"
		exit 1
	fi
	if [ "$_tap_failed" -ne 0 ]; then
		diag "failed $_tap_failed of $_tap_n"
		exit 1
	fi
	exit 0
}
