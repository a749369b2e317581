#!/bin/sh
# Attack: an intruder becomes root long after the events it wants to
# hide (a sandbox escape, say) and takes the audit writer's key files.
# With one signing key for the log's whole life that key re-signs any
# rewritten history and the log verifies as intact.  With forward-secure
# checkpoints the stolen key is only the current step's: every earlier
# step's secret was erased, so a rewritten early record fails at the
# first checkpoint after it, whose signer the chain pins.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"

tap_plan 9
tmpdir_setup
auditd_require
at_exit 'auditd_stop'
RESIGN=$TOOLS/auditresign
require_built "$LENSCTL" "$RESIGN"

# run DIR [verify flags]: lensctl audit verify with the trusted key
run() {
	_d=$1
	shift
	"$LENSCTL" audit verify --dir "$_d" --pubkey "$T/audit.pub" "$@" \
	    >"$T/out" 2>"$T/err"
	rc=$?
}
# the seq of the first checkpoint after seq $1 in log $2
ckpt_after() {
	grep '"type":"audit.checkpoint"' "$2"/lens-audit.*.log |
	    sed 's/.*{"seq":\([0-9]*\),.*/\1/' | awk -v s="$1" '$1 > s { print; exit }'
}
# key id of a checkpoint record (its "key") by seq
ckpt_key() {
	grep "^{\"seq\":$1," "$2"/lens-audit.*.log -h |
	    sed 's/.*"details":{[^}]*"key":"\([0-9a-f]*\)".*/\1/'
}

# a log of 40 events with a checkpoint (a key step) every 5 records
auditd_start -n 5 || { echo "Bail out! lensauditd does not start"; exit 1; }
"$TOOLS/auditstream" -s "$T/auditd.sock" -S durable -n 40 -w 10 \
    >"$T/stream.out" 2>"$T/stream.err"
ok $? "40 events acknowledged"
auditd_stop
auditd_verify >"$T/out" 2>&1
ok $? "the genuine log verifies ($(head -n 1 "$T/out"))"

# what root finds in the directory: one secret key, the current step's
A=$T/audit
[ -f "$A/audit.key" ] && [ ! -e "$A/audit.key.next" ] &&
    [ "$(ls "$A" | grep -c key)" -eq 1 ] &&
    [ "$(cut -d' ' -f2 "$A/audit.key" | cut -c65-128)" != "$(cut -d' ' -f2 "$A/audit.pub")" ]
ok $? "one secret key on disk, and it is not the pinned first key"
cp "$A/audit.key" "$T/stolen.key"

# an early record (event 3, before the first checkpoint) rewritten and
# everything after it re-signed with the stolen key
SEQ=$(grep -h '"details":{"n":3,' "$A"/lens-audit.*.log | sed 's/^{"seq":\([0-9]*\),.*/\1/')
rm -rf "$T/f1"
cp -a "$A" "$T/f1"
"$RESIGN" -k "$T/stolen.key" -s "$SEQ" -f '"n":3,' -t '"n":333,' "$T/f1" >"$T/resign.out" 2>&1
ok $? "forger re-chained and re-signed from seq $SEQ ($(cat "$T/resign.out"))"
C1=$(ckpt_after "$SEQ" "$T/f1")
SK=$(ckpt_key "$C1" "$T/f1")
run "$T/f1"
[ "$rc" -eq 1 ] && grep -q "^lensctl: lens-audit.000001.log:$C1: seq $C1: wrong key (checkpoint signed by key $SK, public key is " "$T/err"
ok $? "rewritten before the first checkpoint: fails at that checkpoint (seq $C1), wrong key"

# a record between later checkpoints: the key that signed the one after
# it was named by the checkpoint before, and erased at that step
SEQ=$(grep -h '"details":{"n":23,' "$A"/lens-audit.*.log | sed 's/^{"seq":\([0-9]*\),.*/\1/')
rm -rf "$T/f2"
cp -a "$A" "$T/f2"
"$RESIGN" -k "$T/stolen.key" -s "$SEQ" -f '"n":23,' -t '"n":2323,' "$T/f2" >"$T/resign.out" 2>&1
ok $? "forger rewrote seq $SEQ ($(cat "$T/resign.out"))"
C2=$(ckpt_after "$SEQ" "$T/f2")
P2=$(grep '"type":"audit.checkpoint"' "$T/f2"/lens-audit.*.log -h |
    sed 's/^{"seq":\([0-9]*\),.*/\1/' | awk -v s="$C2" '$1 < s' | tail -n 1)
GK=$(ckpt_key "$C2" "$A")
run "$T/f2"
[ "$rc" -eq 1 ] && grep -q "^lensctl: lens-audit.000001.log:$C2: seq $C2: wrong key (checkpoint signed by key $SK; the checkpoint at seq $P2 named key $GK for it)" "$T/err"
ok $? "rewritten mid-log: fails at the next checkpoint (seq $C2), naming the key seq $P2 chose"

# without the key at all: edited, re-chained, signatures left as they were
rm -rf "$T/f3"
cp -a "$A" "$T/f3"
sed -i "s/\"details\":{\"n\":23,/\"details\":{\"n\":2323,/" "$T/f3/lens-audit.000001.log"
"$MKAUDITLOG" -R "$SEQ" "$T/f3/lens-audit.000001.log"
run "$T/f3"
[ "$rc" -eq 1 ] && grep -q "^lensctl: lens-audit.000001.log:$C2: seq $C2: " "$T/err"
ok $? "the same edit re-chained without any key: fails at seq $C2 ($(head -n 1 "$T/err"))"

# the stolen key is worth nothing for the records it did not sign: the
# whole genuine log is still intact, and the writer goes on from it
run "$A"
[ "$rc" -eq 0 ] && grep -q "intact" "$T/out"
ok $? "the genuine log still verifies"
tap_done
