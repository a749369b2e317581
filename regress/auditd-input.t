#!/bin/sh
# Bad input to lensauditd: garbage, oversized and undersized frames,
# wrong payload sizes, unknown types, protocol violations, peers of the
# wrong uid or claiming a source they may not use.  Each is refused
# with a log line naming the reason, and the daemon keeps serving a
# well-behaved client afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

tap_plan 44
tmpdir_setup
chmod 0755 "$T"	# other uids must reach the socket
at_exit 'auditd_stop'

# nobody may append as source "nobody" (-u derives the source name)
auditd_start -u _lensvmm,nobody
PEER=$TOOLS/auditpeer
SOCK=$T/auditd.sock

# scenario expected-answer log-pattern
# (only log lines written after the scenario started count)
refused() {
	from=$(($(wc -l <"$T/auditd.log") + 1))
	out=$("$PEER" "$SOCK" "$1" "${4:-peer}" | tr '\n' ' ')
	[ "$out" = "$2" ]
	ok $? "$1: answered '$out'"
	wait_until 5 sh -c "tail -n +$from '$T/auditd.log' | grep -q -- '$3'"
	ok $? "$1: logged '$3'"
}

refused garbage "closed " "malformed frame"
refused oversized "closed " "malformed frame"
refused short-header "closed " "malformed frame"
refused bad-flags "closed " "malformed frame"
refused fd-flag-no-fd "closed " "malformed frame"
refused hello-size "closed " "bad message 0x41000001 (7 bytes): its size is 36$"
refused bad-version "closed " "unsupported protocol version"
refused bad-source "closed " "invalid source name"
refused unknown-type "closed " "bad message 0x12345678 (1 bytes): unknown type$"
refused append-first "closed " "APPEND before WELCOME"
refused append-size "welcome 0 closed " "bad message 0x41000002 (5 bytes): its size is 146 to 60144$"
refused bad-json "welcome 0 closed " "details are not JSON"
refused not-object "welcome 0 closed " "details are not a JSON object"
refused bad-type "welcome 0 closed " "invalid event type"
refused bad-sandbox "welcome 0 closed " "invalid sandbox name"
refused id-order "welcome 0 closed " "event ids not increasing"
refused dup-source "closed " "another connection already uses this source" dup

# uids: one not allowed at all, one allowed only its own source
out=$(setpriv --reuid=daemon --regid=daemon --clear-groups \
    "$PEER" "$SOCK" good peer | tr '\n' ' ')
[ "$out" = "closed " ]
ok $? "uid daemon: refused ('$out')"
grep -q "refused connection from uid $(id -u daemon)" "$T/auditd.log"
ok $? "uid daemon: refusal logged with the uid"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$PEER" "$SOCK" hello lensvmm | tr '\n' ' ')
[ "$out" = "closed " ]
ok $? "nobody claiming source lensvmm: refused ('$out')"
grep -q "source name not allowed for this user" "$T/auditd.log"
ok $? "nobody claiming source lensvmm: logged"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$PEER" "$SOCK" good nobody | tr '\n' ' ')
[ "$out" = "welcome 0 ack 1000000 open " ]
ok $? "nobody as source nobody: accepted ('$out')"

# after all that, the daemon is whole and a good client is served
kill -0 "$AUDITD_PID" && [ -n "$(auditd_child listener)" ] &&
    [ -n "$(auditd_child writer)" ]
ok $? "lensauditd still runs with both children"
out=$("$PEER" "$SOCK" good after | tr '\n' ' ')
[ "$out" = "welcome 0 ack 1000000 open " ]
ok $? "a good client is still served ('$out')"
auditd_stop
ok $? "clean stop"
n=$("$LENSCTL" audit show --dir "$T/audit" --type test.good --json | wc -l)
[ "$n" -eq 2 ]
ok $? "exactly the two good events were written ($n)"
auditd_verify --quiet
ok $? "the log verifies"
log_if_failed "lensauditd log" "$T/auditd.log"
tap_done
