#!/bin/sh
# lensctl's help is generic and on stdout: lensctl --help, lensctl help
# [GROUP] [COMMAND], lensctl COMMAND --help exit 0 with the command's
# synopsis and description; --version; a usage error exits 2 in every
# command but run and exec (125, docker's status for "Lens could not
# run it", as for their bad values: the workload owns 1..124).  No
# daemon: the socket named does not exist, so a command that got past
# its argument checks would say "cannot connect" instead.
. "$(dirname "$0")/lib.sh"

L=$OBJ/lensctl
R=$(cd "$(dirname "$0")/.." && pwd)
require_built "$L"
tap_plan 29
tmpdir_setup
NOSOCK=$T/no.sock

"$L" --help >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ ! -s "$T/err" ] && grep -q '^usage: lensctl ' "$T/out" &&
grep -q '^  run  *run a command in a new sandbox' "$T/out" &&
grep -q '^  audit verify  *check the audit' "$T/out"
ok $? "--help: stdout, exit 0, every command with its description"
"$L" help >"$T/out2" 2>&1
[ $? -eq 0 ] && cmp -s "$T/out" "$T/out2"
ok $? "help: the same as --help"

# every command, three ways: the same text, its synopsis, exit 0
n=0 bad=
for c in run exec ps stop rm logs inspect "audit show" "audit verify" \
    "cred ca" "cred add" "cred rotate" "cred rm" "cred ls" \
    "policy check" "policy show"; do
	n=$((n + 1))
	"$L" $c --help >"$T/a" 2>"$T/ae"; ra=$?
	"$L" help $c >"$T/b" 2>"$T/be"; rb=$?
	"$L" -s "$NOSOCK" $c --help >"$T/c" 2>&1; rc=$?
	if [ $ra -ne 0 ] || [ $rb -ne 0 ] || [ $rc -ne 0 ] ||
	    [ -s "$T/ae" ] || [ -s "$T/be" ] || ! cmp -s "$T/a" "$T/b" ||
	    ! cmp -s "$T/a" "$T/c" ||
	    ! grep -q "^usage: lensctl \[-v\] $c " "$T/a" ||
	    ! grep -q '^[A-Z].*\.$' "$T/a"; then
		bad="$bad [$c: $ra $rb $rc $(head -n 1 "$T/a")]"
	fi
done
[ -z "$bad" ] && [ $n -eq 16 ]
ok $? "COMMAND --help = help COMMAND: synopsis and description, exit 0$bad"

"$L" run --name x --help >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && grep -q '^usage: lensctl \[-v\] run ' "$T/out"
ok $? "run --name x --help: help after an option and its value"
"$L" -s "$NOSOCK" run --name --help -- true >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q -- '--name --help: not a sandbox name' "$T/err" && [ ! -s "$T/out" ]
ok $? "run --name --help: --help is --name's value there, not help ($(head -n 1 "$T/err"))"
"$L" -s "$NOSOCK" exec sb ls --help >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q 'cannot connect' "$T/err"
ok $? "exec sb ls --help: the command's --help, not lensctl's"
"$L" -s "$NOSOCK" run --rootfs "$T" -- ls --help >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q 'cannot connect' "$T/err"
ok $? "run -- ls --help: after --, the command's"
"$L" -s "$NOSOCK" run --rootfs "$T" -e A=1 -di -v /tmp:/mnt ls --help >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q 'cannot connect' "$T/err"
ok $? "run -e A=1 -di -v /tmp:/mnt ls --help: the first operand ends lensctl's options"
"$L" sandbox --help >"$T/out" 2>&1
[ $? -eq 0 ] && grep -q '^  inspect ' "$T/out" && grep -q '^usage: lensctl sandbox' "$T/out"
ok $? "sandbox --help: the group's commands"
"$L" help cred >"$T/out" 2>&1
[ $? -eq 0 ] && grep -q '^  rotate ' "$T/out"
ok $? "help cred: the group's commands"
"$L" help nosuch >"$T/out" 2>"$T/err"
[ $? -eq 2 ] && [ ! -s "$T/out" ] && grep -q 'help: no command nosuch' "$T/err"
ok $? "help nosuch: exit 2, named ($(head -n 1 "$T/err"))"
"$L" help audit nosuch >"$T/out" 2>"$T/err"
[ $? -eq 2 ] && grep -q 'no command audit nosuch' "$T/err"
ok $? "help audit nosuch: exit 2"
"$L" --version >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && grep -Eqx 'lensctl [0-9]+\.[0-9]+.*' "$T/out" && [ ! -s "$T/err" ]
ok $? "--version: $(cat "$T/out")"

# usage errors: 2, the usage on stderr, nothing on stdout
usage2() {
	_want=$1
	shift
	"$L" -s "$NOSOCK" "$@" >"$T/out" 2>"$T/err"
	_rc=$?
	[ $_rc -eq "$_want" ] && [ ! -s "$T/out" ] && grep -q usage: "$T/err" &&
	    ! grep -q 'cannot connect' "$T/err"
	ok $? "$* -> $_rc (want $_want)"
}
usage2 2
usage2 2 nosuch
usage2 2 --bogus
usage2 2 audit
usage2 2 audit nosuch
n=0 bad=
for c in ps stop rm logs inspect "audit show" "audit verify" "cred ca" \
    "cred add" "cred rotate" "cred rm" "cred ls" "policy check" \
    "policy show"; do
	n=$((n + 1))
	"$L" -s "$NOSOCK" $c --bogus >"$T/out" 2>"$T/err"
	r=$?
	[ $r -eq 2 ] && grep -q "^usage: lensctl \[-v\] $c" "$T/err" ||
	    bad="$bad [$c: $r]"
done
[ -z "$bad" ] && [ $n -eq 14 ]
ok $? "every command but run, exec: an unknown option is exit 2 and its usage$bad"
n=0 bad=
for c in "stop" "rm" "logs" "inspect" "cred ca" "cred add" "cred rm" \
    "policy check" "policy show"; do
	n=$((n + 1))
	"$L" -s "$NOSOCK" $c >"$T/out" 2>"$T/err"
	r=$?
	[ $r -eq 2 ] && grep -q "^usage: lensctl \[-v\] $c" "$T/err" ||
	    bad="$bad [$c: $r]"
done
[ -z "$bad" ]
ok $? "a missing operand is exit 2 too$bad"
usage2 2 ps extra
usage2 2 logs a b
usage2 125 run --bogus -- true
usage2 125 exec --bogus sb -- true
usage2 125 exec

# bash completion (etc/lensctl.bash-completion): from lensctl's own help
comp() {	# comp WORD...: the completions of the last word
	PATH=$OBJ:$PATH bash -c '. "$1"; shift; COMP_WORDS=("$@")
	    COMP_CWORD=$(($# - 1)); _lensctl; printf "%s\n" "${COMPREPLY[@]}"' \
	    sh "$R/etc/lensctl.bash-completion" "$@" 2>/dev/null | sort | tr '\n' ' '
}
c=$(comp lensctl "")
case $c in *"doctor "*"exec "*"policy "*"run "*) true ;; *) false ;; esac
ok $? "completion: the commands ($c)"
c=$(comp lensctl audit "")
[ "$c" = "show verify " ]
ok $? "completion: a group's commands ($c)"
c=$(comp lensctl run --env)
[ "$c" = "--env-file " ]
ok $? "completion: run's options from its synopsis ($c)"
c=$(comp lensctl run --backend "")
[ "$c" = "auto jail microvm " ]
ok $? "completion: --backend's values ($c)"
tap_done
