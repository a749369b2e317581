#!/bin/sh
# Bad input to lensvmm: a missing rootfs, bad limits, an unknown user,
# a command that is not found or not executable, lensauditd down (no
# sandbox starts: fail closed), and garbage on the control socket from
# a hostile client (regress/tools/ctlpeer).  Each is refused with a
# clear message and the right exit status, nothing is left behind, and
# lensvmm keeps serving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 56
tmpdir_setup
vmm_setup
PEER=$TOOLS/ctlpeer

# refused STATUS PATTERN DESCRIPTION lensctl-args...: exit status,
# message on stderr, and no sandbox left
refused() {
	_st=$1 _pat=$2 _d=$3
	shift 3
	lctl "$@" >"$T/out" 2>"$T/err" </dev/null
	_rc=$?
	[ "$_rc" -eq "$_st" ]
	ok $? "$_d: exit $_rc (want $_st)"
	grep -qi -- "$_pat" "$T/err"
	ok $? "$_d: says '$_pat' ($(head -n 1 "$T/err"))"
}

refused 125 "--rootfs $T/none: No such file" "missing rootfs" \
    run --rm --rootfs "$T/none" -- true
refused 125 "--memory 12x" "bad --memory" run --rm $R --memory 12x -- true
refused 125 "--memory 0" "--memory 0" run --rm $R --memory 0 -- true
refused 125 "--cpus abc" "bad --cpus" run --rm $R --cpus abc -- true
refused 125 "--pids 0" "--pids 0" run --rm $R --pids 0 -- true
refused 125 "nosuchuser" "unknown user" run --rm $R -u nosuchuser -- true
refused 127 "no/such/cmd" "command not found" run --rm $R -- /no/such/cmd
refused 127 "nosuchcmd" "command not found in PATH" run --rm $R -- nosuchcmd
refused 126 "/etc/passwd" "not executable" run --rm $R -- /etc/passwd
refused 125 "/etc" "-w into a file" run --rm $R -w /etc/passwd -- true
refused 1 "nosuchbox" "stop of an unknown sandbox" stop nosuchbox
refused 1 "nosuchbox" "inspect of an unknown sandbox" inspect nosuchbox
n=$(lctl ps -a | tail -n +2 | wc -l)
[ "$n" -eq 0 ]
ok $? "no sandbox was left by the refusals ($n)"

# an ambiguous prefix: two sandboxes whose ids share one hex digit at least
i=0
while [ $i -lt 17 ]; do
	lctl run -d --name "amb-$i" $R -- sleep 600 >>"$T/ids" || break
	i=$((i + 1))
done
p=$(cut -c 1 "$T/ids" | sort | uniq -d | head -n 1)
refused 1 "ambiguous\|more than one\|matches" "an ambiguous id prefix" \
    inspect "$p"
i=0
while [ $i -lt 17 ]; do lctl rm -f "amb-$i" >/dev/null; i=$((i + 1)); done

# fail closed: lensauditd down, no sandbox starts
auditd_stop
refused 125 "audit" "lensauditd down" run --rm $R -- true
n=$(lctl ps -a | tail -n +2 | wc -l)
[ "$n" -eq 0 ]
ok $? "lensauditd down: no sandbox was created ($n)"
auditd_start
wait_until 15 "$LENSCTL" -s "$VMM_SOCK" run --rm $R -- true
ok $? "lensauditd back: sandboxes start again"

# garbage on the control socket
peer() {
	out=$("$PEER" "$VMM_SOCK" "$1" "$ROOTFS" 2>>"$T/peer.err" | tr '\n' ' ')
	case $out in
	$2)	ok 0 "$1: lensvmm answered '$out'" ;;
	*)	ok 1 "$1: lensvmm answered '$out' (want '$2')" ;;
	esac
}
peer garbage "*closed "
peer oversized "*closed "
peer short-header "*closed "
peer bad-flags "*closed "
peer fd-flag-no-fd "*closed "
peer unknown-type "*closed "
peer reply-type "*closed "
peer stdin-first "*closed "
peer ps-size "*closed "
peer inspect-unterminated "*closed "
peer run-short "*closed "
peer run-argc0 "error 125 closed "
peer run-argc-mismatch "*closed "
peer run-unterminated "*closed "
peer run-extra "*closed "
peer run-bad-env "error 125 closed "
peer run-bad-volume "error 125 closed "
peer run-relative-rootfs "error 125 closed "
n=$(lctl ps -a | tail -n +2 | wc -l)
[ "$n" -eq 0 ]
ok $? "no sandbox was created by the garbage ($n)"
kill -0 "$VMM_PID"
ok $? "lensvmm still runs"
peer good "ok closed "

# console.log is written by the jail process (the sandbox's host uid):
# lensvmm reads it as untrusted and names a bad record
id=$(lctl run -d --name input-log $R -- sh -c 'echo first; exec sleep 600')
wait_until 5 sh -c "'$LENSCTL' -s '$VMM_SOCK' logs input-log | grep -q first"
printf '\011\000\000\000\001\000\000\000x' >>"$T/state/sandboxes/$id/console.log"
out=$(lctl logs input-log 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'console.log: bad record at offset [0-9]* (stream 9, length 1)' &&
    echo "$out" | grep -q first
ok $? "a forged console.log record: the good part, then a clear error ($out)"
printf '\001\000\000\000\377\377\377\377' >"$T/state/sandboxes/$id/console.log"
out=$(lctl logs input-log 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'length 4294967295'
ok $? "an impossible record length is refused ($out)"
lctl stop -t 1 input-log >/dev/null 2>&1
printf '\001\000\000\000\010\000\000\000abc' >"$T/state/sandboxes/$id/console.log"
out=$(lctl logs input-log 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'truncated record at offset 0'
ok $? "a truncated last record is named ($out)"
lctl rm -f input-log >/dev/null
out=$(lctl run --rm $R -- echo still-serving)
[ "$out" = still-serving ]
ok $? "a good client is still served ('$out')"
tap_done
