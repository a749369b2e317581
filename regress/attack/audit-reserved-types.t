#!/bin/sh
# Attack: an audit client forges lensauditd's own record types.  A forged
# audit.checkpoint used to be taken for a real one: it reset the count
# toward the next checkpoint (a client sending one every few records
# suppressed every real checkpoint), and after a restart recovery
# stopped on it ("checkpoint has no sources"), so lensauditd, and with it
# every new sandbox, could not start again.  audit.* types are reserved
# to lensauditd: the listener refuses and logs them, the writer never
# writes them for a client, and recovery does not take a client's
# record for a checkpoint.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"

auditd_require
tap_plan 12
tmpdir_setup
# the client user must reach the socket in $T
chmod 0711 "$T"
at_exit 'auditd_stop'
require_built "$AUDITD" "$LENSCTL" "$TOOLS/auditpeer" "$TOOLS/auditstream" \
    "$TOOLS/mkauditlog"
A=$T/audit
SOCK=$T/auditd.sock
L1=lens-audit.000001.log

# own: lensauditd's checkpoints; forged: audit.* records of any other
own_ckpts() {
	grep -c '"source":"lensauditd","id":0,"type":"audit.checkpoint"' "$A/$L1"
}
forged() {
	grep '"type":"audit\.' "$A/$L1" | grep -vc '"sandbox":"","source":"lensauditd","id":0,'
}
verify() {
	"$LENSCTL" audit verify --dir "$A" --pubkey "$T/audit.pub" \
	    --witness "$T/audit.witness" >"$T/vout" 2>"$T/verr"
}

# a checkpoint every 5 records, none by time
auditd_start -n 5 -t 86400 || { echo "Bail out! lensauditd does not start"; exit 1; }

# a client (root may use any source) sends a forged checkpoint, then
# 3 real events, four times: the forgery used to reset the count each
# time, so no real checkpoint was ever written
got=
for i in 1 2 3 4; do
	got="$got$("$TOOLS/auditpeer" "$SOCK" typed forger$i audit.checkpoint |
	    tr '\n' ' ')|"
	"$TOOLS/auditstream" -s "$SOCK" -S test -n 3 -t 10 >/dev/null 2>&1
done
is() {
	if [ "$2" = "$3" ]; then ok 0 "$1"; else ok 1 "$1"; diag "got:  $2" "want: $3"; fi
}
is "forged audit.checkpoint: the connection is closed, nothing acknowledged" \
    "$got" "welcome 0 closed |welcome 0 closed |welcome 0 closed |welcome 0 closed |"
[ "$(grep -c "^listener\[[0-9]*\]: client [0-9]* (uid 0, pid [0-9]*, source forger[1-4]): event 5: type audit.checkpoint refused: audit.\* types are reserved to lensauditd; disconnected\$" "$T/auditd.log")" -eq 4 ]
ok $? "... and each refusal is logged, naming the client and the type"
is "no audit.* record from a client in the log" "$(forged)" 0
[ "$(own_ckpts)" -ge 2 ]
ok $? "lensauditd still checkpoints every 5 records ($(own_ckpts) checkpoints for 13 records)"

# audit.start, and any audit.* name, from the client user _lensnet
got=$(setpriv --reuid="$(id -u _lensnet)" --regid="$(id -g _lensnet)" \
    --clear-groups "$TOOLS/auditpeer" "$SOCK" typed lensnet audit.start |
    tr '\n' ' ')
got2=$("$TOOLS/auditpeer" "$SOCK" typed forger5 audit.anything | tr '\n' ' ')
is "forged audit.start (_lensnet) and audit.anything: refused" \
    "$got|$got2" "welcome 0 closed |welcome 0 closed "
# nobody may claim to be lensauditd
got=$("$TOOLS/auditpeer" "$SOCK" hello lensauditd | tr '\n' ' ')
is "HELLO as source lensauditd: refused" "$got" "closed "
grep -q "^listener\[[0-9]*\]: client [0-9]* (uid 0, pid [0-9]*): source lensauditd is reserved to lensauditd; disconnected\$" "$T/auditd.log"
ok $? "... and logged"

# restart: recovery reads the whole file again
auditd_stop
auditd_start -n 5 -t 86400
ok $? "lensauditd restarts after the forgery attempts"
auditd_stop
verify
ok $? "the log verifies, with its witness ($(head -n 1 "$T/vout"; head -n 1 "$T/verr"))"

# a log written before audit.* was reserved may hold a client's forged
# checkpoint: made here as lensauditd wrote it then (chained, unsigned)
n=$(wc -l <"$A/$L1")
grep '"source":"test"' "$A/$L1" | tail -n 1 |
    sed "s/^{\"seq\":[0-9]*,/{\"seq\":$((n + 1)),/; s/\"source\":\"test\",\"id\":[0-9]*,/\"source\":\"test\",\"id\":999,/; s/\"type\":\"[^\"]*\",\"details\":{[^}]*}/\"type\":\"audit.checkpoint\",\"details\":{\"forged\":true}/" \
    >>"$A/$L1"
"$TOOLS/mkauditlog" -R $((n + 1)) "$A/$L1"
auditd_start -n 5 -t 86400
ok $? "lensauditd starts on a log holding an old forged checkpoint"
grep -q "^writer\[[0-9]*\]: $L1: seq $((n + 1)): record of reserved type audit.checkpoint from source test (id 999) was not written by lensauditd: not a checkpoint\$" "$T/auditd.log"
ok $? "... and warns that it is not lensauditd's"
auditd_stop
verify
ok $? "the log verifies after that restart ($(head -n 1 "$T/vout"; head -n 1 "$T/verr"))"
tap_done
