#!/bin/sh
# Attack: whoever can write the audit log directory cuts the log back to
# an earlier checkpoint and rewrites the head file from that
# checkpoint's own fields; or deletes the head file; or replays a
# checkpoint of another log signed with the same key.  The chain and
# the signatures alone cannot tell: lensauditd also appends every
# checkpoint to a witness outside the log directory (-W), verify
# --witness proves the log is at least that long, verify is strict by
# default (missing head, head behind the log, old unsigned records
# fail), and checkpoints sign the log's id.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"

auditd_require
tap_plan 17
tmpdir_setup
at_exit 'auditd_stop'
require_built "$AUDITD" "$LENSCTL" "$TOOLS/auditstream" "$MKAUDITLOG"
A=$T/audit
L1=lens-audit.000001.log

# run ARGS: lensctl; sets $rc, $T/out, $T/err
run() {
	"$LENSCTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
# expect DESC WANT ARGS: lensctl exits 1 with WANT as its first error
expect() {
	_d=$1
	_w=$2
	shift 2
	run "$@"
	if [ "$rc" -eq 1 ] && [ "$(head -n 1 "$T/err")" = "$_w" ]; then
		ok 0 "$_d"
	else
		ok 1 "$_d"
		diag "exit $rc" "got:  $(head -n 1 "$T/err")" "want: $_w"
	fi
}

# a real log: a checkpoint every 5 records, 30 events, a clean stop
auditd_start -n 5 -t 86400 || { echo "Bail out! lensauditd does not start"; exit 1; }
"$TOOLS/auditstream" -s "$T/auditd.sock" -S test -n 30 -t 20 >/dev/null ||
    { echo "Bail out! auditstream failed"; exit 1; }
auditd_stop
cp -a "$A" "$T/intact"
NW=$(wc -l <"$T/audit.witness")
NC=$(grep -c '"type":"audit.checkpoint"' "$A/$L1")
[ "$NW" -eq "$NC" ] && [ "$NC" -ge 6 ] &&
    [ "$(tail -n 1 "$T/audit.witness")" = "$(cat "$A/lens-audit.head")" ]
ok $? "the witness has one line per checkpoint ($NW), the last is the head"
run audit verify --dir "$A" --pubkey "$T/audit.pub" --witness "$T/audit.witness"
[ "$rc" -eq 0 ] && grep -q "^witness $T/audit.witness: $NC checkpoints in the log" "$T/out"
ok $? "the intact log verifies against its witness"

# cut back to the third checkpoint, head rewritten from its own fields
C3=$(grep -n '"type":"audit.checkpoint"' "$A/$L1" | sed -n '3s/:.*//p')
C4=$(grep -n '"type":"audit.checkpoint"' "$A/$L1" | sed -n '4s/:.*//p')
LAST=$(wc -l <"$A/$L1")
sed -i "$((C3 + 1)),\$d" "$A/$L1"
sed -n "${C3}p" "$A/$L1" | sed 's/.*"details":{\("head".*"sig":"[0-9a-f]*"\),"sources".*/{"file":"'$L1'",\1}/' \
    >"$A/lens-audit.head"
run audit verify --dir "$A" --pubkey "$T/audit.pub"
ok $rc "cut back to a checkpoint, head rewritten: the log alone cannot tell"
expect "... the witness can: log truncated, named" \
    "lensctl: $L1:$C3: seq $C3: log truncated (it ends at seq $C3; the witness $T/audit.witness names the checkpoint after seq $((LAST - 1)); the first witnessed checkpoint missing is the one after seq $((C4 - 1)))" \
    audit verify --dir "$A" --pubkey "$T/audit.pub" --witness "$T/audit.witness"

# lensauditd does not write on behind its witness
timeout 20 "$AUDITD" -d -D "$A" -s "$T/auditd.sock" -P "$T/audit.pub" \
    -W "$T/audit.witness" >"$T/start.log" 2>&1
[ "$?" -eq 1 ] && grep -q "^writer\[[0-9]*\]: witness $T/audit.witness names the checkpoint after seq $((LAST - 1)), but the log's last checkpoint is after seq $((C3 - 1)): the log was truncated (see lensctl audit verify --witness)\$" "$T/start.log"
ok $? "lensauditd refuses to go on writing the truncated log"
# nor when the head file is still the later one
sed -n '$p' "$T/audit.witness" >"$A/lens-audit.head"
timeout 20 "$AUDITD" -d -D "$A" -s "$T/auditd.sock" -P "$T/audit.pub" \
    >"$T/start.log" 2>&1
[ "$?" -eq 1 ] && grep -q "^writer\[[0-9]*\]: lens-audit.head names the checkpoint after seq $((LAST - 1)), but the log's last checkpoint is after seq $((C3 - 1)): the log was truncated" "$T/start.log"
ok $? "... nor, without the witness, a log cut behind its head file"

# a checkpoint of the witness that is not in the log (rewritten there)
rm -rf "$A"
cp -a "$T/intact" "$A"
sed "3s/\"head\":\"[0-9a-f]*\"/\"head\":\"$(printf '%064d' 0)\"/" \
    "$T/audit.witness" >"$T/w2"
# (line 3 is signed with the key line 2 names: its own "key" field)
expect "a witness line that does not verify: refused" \
    "lensctl: $T/w2: bad signature ($T/w2:3: does not verify with key $(sed -n '3s/.*"key":"\([0-9a-f]*\)".*/\1/p' "$T/w2"))" \
    audit verify --dir "$A" --pubkey "$T/audit.pub" --witness "$T/w2"

# strict by default: a missing head file fails, --lenient warns
rm "$A/lens-audit.head"
expect "no head file: fails (strict)" \
    "lensctl: no lens-audit.head: truncation after the last checkpoint cannot be detected" \
    audit verify --dir "$A" --pubkey "$T/audit.pub"
run audit verify --lenient --dir "$A" --pubkey "$T/audit.pub"
[ "$rc" -eq 0 ] && grep -qx "lensctl: warning: no lens-audit.head: truncation after the last checkpoint cannot be detected" "$T/err"
ok $? "--lenient: only a warning"

# the head file rolled back to an earlier checkpoint of the same log
sed -n 2p "$T/audit.witness" >"$A/lens-audit.head"
H2=$(sed 's/.*"head_seq":\([0-9]*\),.*/\1/' "$A/lens-audit.head")
expect "head file behind the log's last checkpoint: fails" \
    "lensctl: lens-audit.head names the checkpoint after seq $H2, but the last checkpoint in the log is after seq $((LAST - 1))" \
    audit verify --dir "$A" --pubkey "$T/audit.pub"

# records nobody signed for longer than the checkpoint interval
"$MKAUDITLOG" -d "$T/tail" -k -e tail-key -n 20 -c 10 -u 3
cp "$T/tail/audit.pub" "$T/tail.pub"
run audit verify --dir "$T/tail" --pubkey "$T/tail.pub"
[ "$rc" -eq 1 ] && grep -q "^lensctl: 3 records after seq 22 not covered by a signature, the oldest [0-9]* s old (more than the checkpoint interval, 60 s)\$" "$T/err"
ok $? "an unsigned tail older than the checkpoint interval: fails"
run audit verify --dir "$T/tail" --pubkey "$T/tail.pub" --lenient
ok $rc "... --lenient accepts it with a warning"

# two logs sharing a key, each with its own log id (same seed, so the
# same records up to the first checkpoint): B is cut back before its
# first checkpoint and A's first checkpoint put there.  Its signature
# verifies for that seq and hash; the log id it signs does not match.
"$MKAUDITLOG" -d "$T/la" -k -e shared-key -n 40 -c 10 -l "$(printf '%032d' 1)"
"$MKAUDITLOG" -d "$T/lb" -k -e shared-key -n 40 -c 10 -l "$(printf '%032d' 2)" \
    -W "$T/lb.witness"
cp "$T/lb/audit.pub" "$T/shared.pub"
run audit verify --dir "$T/lb" --pubkey "$T/shared.pub" --witness "$T/lb.witness"
ok $rc "log B verifies on its own, with its witness"
sed -n 11p "$T/la/$L1" >"$T/line"
sed -i '11,$d' "$T/lb/$L1"
cat "$T/line" >>"$T/lb/$L1"
sed -n 1p "$T/la/$L1" >/dev/null
sed 's/.*"details":{\("head".*"sig":"[0-9a-f]*"\),"sources".*/{"file":"'$L1'",\1}/' \
    "$T/line" >"$T/lb/lens-audit.head"
expect "log A's checkpoint replayed into a cut log B: log id mismatch" \
    "lensctl: audit.logid: log id mismatch (lens-audit.head names log $(printf '%032d' 1), audit.logid names log $(printf '%032d' 2))" \
    audit verify --dir "$T/lb" --pubkey "$T/shared.pub"
cp "$T/la/audit.logid" "$T/lb/audit.logid"
expect "... with A's audit.logid too: the witness names B's log id" \
    "lensctl: $L1:11: seq 11: log id mismatch (checkpoint signed for log $(printf '%032d' 1); witness $T/lb.witness names log $(printf '%032d' 2): a checkpoint of another log)" \
    audit verify --dir "$T/lb" --pubkey "$T/shared.pub" --witness "$T/lb.witness" --no-head

# the witness must be outside the log directory
timeout 10 "$AUDITD" -d -D "$T/wdir" -s "$T/w.sock" -P "$T/w.pub" \
    -W "$T/wdir/witness" >"$T/out" 2>&1
[ "$?" -eq 1 ] && grep -q "\-W $T/wdir/witness: must be outside the log directory $T/wdir\$" "$T/out"
ok $? "lensauditd -W inside the log directory: refused"
timeout 10 "$AUDITD" -d -D "$T/wdir" -s "$T/w.sock" -P "$T/wdir/audit.pub" \
    >"$T/out" 2>&1
[ "$?" -eq 1 ] && grep -q "\-P $T/wdir/audit.pub: must be outside the log directory $T/wdir\$" "$T/out"
ok $? "lensauditd -P inside the log directory: refused"
tap_done
