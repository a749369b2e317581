#!/bin/sh
# Durability: a client streams 100,000 events while lensauditd is killed
# with SIGKILL several times and restarted.  The client resends whatever
# was not acknowledged; in the end every event is in the log exactly
# once and the chain verifies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

N=100000
KILLS=6
tap_plan 8
tmpdir_setup
at_exit 'auditd_stop; [ -n "${SP:-}" ] && kill "$SP" 2>/dev/null'

auditd_start -n 2000
# offered at 15,000/s: the stream spans every kill below
"$TOOLS/auditstream" -s "$T/auditd.sock" -S durable -n $N -w 3000 \
    -r 15000 -t 120 >"$T/stream.out" 2>"$T/stream.err" &
SP=$!

i=0
restarted=0
while [ $i -lt $KILLS ]; do
	sleep 0.$((3 + i))
	auditd_kill9
	auditd_start -n 2000 && restarted=$((restarted + 1))
	i=$((i + 1))
done
ok $((KILLS - restarted)) "lensauditd killed with SIGKILL and restarted $restarted times"

wait "$SP"
rc=$?
SP=
ok $rc "the client got every event acknowledged ($(cat "$T/stream.out"))"
grep -q "reconnecting" "$T/stream.err"
ok $? "the client did lose its connection and reconnect"
[ "$(grep -c 'ready at seq' "$T/auditd.log")" -eq $((KILLS + 1)) ]
ok $? "the writer recovered and continued the chain $((KILLS + 1)) times"
auditd_stop
ok $? "clean stop"

"$LENSCTL" audit show --dir "$T/audit" --type test.event --json |
    sed -n 's/.*"details":{"n":\([0-9]*\),.*/\1/p' | sort -n >"$T/ns"
[ "$(wc -l <"$T/ns")" -eq $N ] && [ "$(uniq <"$T/ns" | wc -l)" -eq $N ]
ok $? "$N events in the log, each once ($(wc -l <"$T/ns") lines, $(uniq <"$T/ns" | wc -l) distinct)"
[ "$(head -n 1 "$T/ns")" -eq 1 ] && [ "$(tail -n 1 "$T/ns")" -eq $N ]
ok $? "numbered 1 to $N"
auditd_verify --quiet
ok $? "the chain verifies after $KILLS crashes"
log_if_failed "lensauditd log" "$T/auditd.log" 40
log_if_failed auditstream "$T/stream.err" 20
tap_done
