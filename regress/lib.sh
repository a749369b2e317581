# Shared helpers for the regress shell tests, which speak TAP to prove.
#
#	. "$(dirname "$0")/lib.sh"
#	tap_plan 3
#	tmpdir_setup			# $T: a private temp dir, removed at exit
#	ok $? "what was tested"		# pass when the status is 0
#	check "what" cmd arg ...	# pass when cmd exits 0
#	tap_done			# exits non-zero if any failed
#	require_cmds curl dig		# skip the whole file unless found
#	require_built "$OBJ/lensctl"	# bail out unless built
#	log_if_failed NAME FILE [N]	# FILE (last N lines) if any failed
#	deny_policy FILE <<EOF		# a policy: egress denied but for
#	    http: ...			# the rules on stdin
#	EOF
#
# $OBJ is where make put the binaries (default: obj beside regress/).

: "${OBJ:=$(cd "$(dirname "$0")/.." && pwd)/obj}"
export OBJ

_tap_n=0
_tap_failed=0
_tap_plan=
_tap_atexit=

# require_cmds CMD...: skip the whole test file (TAP plan 1..0) unless
# every CMD is in PATH; call before tap_plan
require_cmds() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null ||
		    { echo "1..0 # SKIP $_c missing"; exit 0; }
	done
}

# require_built FILE...: bail out unless every FILE is an executable
# that make built
require_built() {
	for _b in "$@"; do
		[ -f "$_b" ] && [ -x "$_b" ] ||
		    { echo "Bail out! $_b is not built (make regress-bins)"; exit 1; }
	done
}

# deny_policy FILE: write FILE, a policy (lns-policy.yaml(5)) whose
# network egress is denied but for the rules on standard input: YAML
# indented as egress's own keys ("    http:", "    tcp:"), optionally
# followed by more top-level keys ("resources: ...")
deny_policy() {
	{
		printf 'version: 1\nnetwork:\n  defaultVerdict: deny\n'
		printf '  egress:\n'
		cat
	} >"$1"
}

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

# skip_rest REASON: every planned test not run yet is skipped; exits.
# With LENS_NO_SKIP=1 (suites that must run what they claim, such as
# `make regress-vm-nested`) a skip is a failure instead.
skip_rest() {
	if [ "${LENS_NO_SKIP:-0}" = 1 ]; then
		echo "Bail out! would skip, and LENS_NO_SKIP=1: $*"
		exit 1
	fi
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

# log_if_failed NAME FILE [LINES]: when a test of this file failed,
# FILE (its last LINES lines) as comments, under "NAME:"
log_if_failed() {
	[ "$_tap_failed" -ne 0 ] || return 0
	diag "$1:"
	if [ -n "${3:-}" ]; then tail -n "$3" "$2"; else cat "$2"; fi |
	    sed 's/^/#   /'
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
