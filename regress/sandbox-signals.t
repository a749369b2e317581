#!/bin/sh
# Signals and terminals: stop escalates from SIGTERM to SIGKILL after
# the grace period; SIGINT and SIGTERM sent to lensctl reach the
# workload; orphans are reaped by lens-init; -t gives a real pty (under
# script(1)), with the window size, raw mode restored afterwards, and
# -it carrying keystrokes in.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 18
tmpdir_setup
vmm_setup

# stop: a workload that ignores SIGTERM is killed after -t seconds
lctl run -d --name sig-1 $R -- sh -c 'trap "" TERM; sleep 600 & wait' >/dev/null
s0=$(date +%s)
lctl stop -t 2 sig-1 >/dev/null
ok $? "stop -t 2 of a workload that ignores SIGTERM"
d=$(($(date +%s) - s0))
[ "$d" -ge 2 ] && [ "$d" -le 8 ]
ok $? "it took the grace period, then SIGKILL (${d}s)"
lctl ps -a | grep -q "sig-1 .*exited (137)"
ok $? "status: exited (137) ($(lctl ps -a | grep sig-1))"
lctl rm sig-1 >/dev/null

# one that handles SIGTERM ends at once with its own status
lctl run -d --name sig-2 $R -- sh -c 'trap "exit 0" TERM; sleep 600 & wait' >/dev/null
sleep 0.5
s0=$(date +%s)
lctl stop -t 20 sig-2 >/dev/null
d=$(($(date +%s) - s0))
[ "$d" -le 5 ] && lctl ps -a | grep -q "sig-2 .*exited (0)"
ok $? "a workload that exits on SIGTERM stops at once (${d}s, $(lctl ps -a | grep sig-2))"
lctl rm sig-2 >/dev/null

# an attached lensctl sees the stop as its command's death
"$LENSCTL" -s "$VMM_SOCK" run --rm --name sig-3 $R -- sleep 600 >/dev/null 2>&1 &
p=$!
wait_until 10 sh -c "'$LENSCTL' -s '$VMM_SOCK' ps | grep -q sig-3"
lctl stop -t 1 sig-3 >/dev/null
wait $p
rc=$?
[ "$rc" -eq 143 ] || [ "$rc" -eq 137 ]
ok $? "attached run of a stopped sandbox exits 143 or 137 ($rc)"

# signals to lensctl are forwarded
for sig in INT TERM HUP; do
	# lensctl itself in the background, not the lctl function's subshell
	"$LENSCTL" -s "$VMM_SOCK" run --rm $R -- \
	    sh -c "trap 'echo got-$sig; exit 9' $sig; echo ready; sleep 600 >/dev/null 2>&1 & wait" \
	    >"$T/fwd.out" 2>&1 &
	p=$!
	wait_until 10 grep -q ready "$T/fwd.out"
	kill -$sig $p
	wait $p
	rc=$?
	[ "$rc" -eq 9 ] && grep -q "got-$sig" "$T/fwd.out"
	ok $? "SIG$sig to lensctl reaches the workload (exit $rc, $(tr '\n' ' ' <"$T/fwd.out"))"
done

# orphans: double-forked children whose parent is gone are reaped
out=$(lctl run --rm $R -- sh -c '
	for i in 1 2 3 4 5 6 7 8; do (sleep 0.2 &) ; done
	sleep 1.5
	grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l')
[ "$out" -eq 0 ]
ok $? "orphans reaped: no zombie left ($out)"
out=$(timeout -s KILL 20 "$LENSCTL" -s "$VMM_SOCK" run --rm $R -- sh -c '(sleep 600 &); echo started')
rc=$?
[ $rc -eq 0 ] && [ "$out" = started ]
ok $? "a run ends with its command's status, orphans notwithstanding ($rc)"

# -t under a real pty
timeout -s KILL 30 script -qec "stty rows 33 cols 99; '$LENSCTL' -s '$VMM_SOCK' run --rm -t $R -- sh -c 'tty; stty size; [ -t 0 ] && [ -t 1 ] && echo both-tty; exit 5'; echo rc=\$?; stty -a" \
    /dev/null >"$T/tty.out" 2>&1
grep -q '^/dev/pts/' "$T/tty.out"
ok $? "-t: the command has a pty ($(head -n 1 "$T/tty.out" | tr -d '\r'))"
grep -q '^33 99' "$T/tty.out"
ok $? "-t: with the terminal's size"
grep -q both-tty "$T/tty.out"
ok $? "-t: stdin and stdout are the terminal"
grep -q 'rc=5' "$T/tty.out"
ok $? "-t: exit status through"
sed -n '/rc=5/,$p' "$T/tty.out" | grep -q ' icanon' &&
    sed -n '/rc=5/,$p' "$T/tty.out" | grep -q ' echo '
ok $? "-t: the local terminal is restored (icanon, echo)"
printf 'echo hi-$((40+2))\nexit 4\n' |
    timeout -s KILL 30 script -qec "'$LENSCTL' -s '$VMM_SOCK' run --rm -it $R -- sh; echo rc=\$?" \
    /dev/null >"$T/it.out" 2>&1
grep -q 'hi-42' "$T/it.out" && grep -q 'rc=4' "$T/it.out"
ok $? "-it: keystrokes in, output and status out"
timeout -s KILL 30 script -qec "stty rows 20 cols 70; '$LENSCTL' -s '$VMM_SOCK' run --rm -t $R -- sh -c 'sleep 1.5; stty size' & p=\$!; sleep 0.7; stty rows 41 cols 101; kill -WINCH \$p; wait \$p" \
    /dev/null >"$T/winch.out" 2>&1
grep -q '^41 101' "$T/winch.out"
ok $? "-t: a window size change reaches the pty ($(tr -d '\r' <"$T/winch.out" | tr '\n' ' '))"
kill -0 "$VMM_PID"
ok $? "lensvmm still runs"
tap_done
