#!/bin/sh
# The remote witness (lensauditd -w, -C; lensctl audit verify --witness
# with a collector's file): a syslog collector in the test internet
# (regress/syslogrecv.py, RFC 6587 octet-counted, TCP and TLS) keeps
# every checkpoint; the log verifies against it; a root who rewrites the
# log with a new key, or deletes its last files and head, is caught; a
# collector that goes away costs nothing (lensauditd keeps writing,
# the witness catches up once, without duplicates); a full queue is
# audited; TLS to a collector whose certificate the pinned CA did not
# sign is refused.
. "$(dirname "$0")/lib.sh"
# the -DREGRESS build: LENS_REGRESS_WITNESSQ (a small witness queue)
AUDITD=${OBJ:-obj}/regress/lensauditd
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"

auditd_require
require_cmds python3 ip
tap_plan 18
tmpdir_setup
at_exit 'auditd_stop; [ -n "${CP:-}" ] && kill "$CP" 2>/dev/null'
# the test internet's namespace; its servers are this test's collectors
NW_BARE=1 networld_up
# a collector back is seen within 400 ms (the -DREGRESS build)
export LENS_REGRESS_WITNESS_BACKOFF=400

A=$T/audit
COL=$T/collected
RECV="$(dirname "$0")/syslogrecv.py"
CHECKPOINTS=audit.checkpoint

# collector_start [--tls cert key] PORT FILE: in the test internet, on NW_OTHER
collector_start() {
	rm -f "$T/recv.ready"
	ip netns exec "$NW_NS" python3 "$RECV" serve "$@" "$T/recv.ready" \
	    >>"$T/recv.log" 2>&1 &
	CP=$!
	_args="$*"
	wait_until 10 test -e "$T/recv.ready" ||
	    { echo "Bail out! the collector does not start ($_args)"; exit 1; }
}
collector_stop() {
	kill "$CP" 2>/dev/null
	wait "$CP" 2>/dev/null
	CP=
}
# the head_seq of each collected checkpoint, one a line
collected_seqs() {
	sed 's/.*"head_seq":\([0-9]*\),.*/\1/' "$1"
}
# how many checkpoints the log holds
log_ckpts() {
	"$LENSCTL" audit show --dir "$A" --type $CHECKPOINTS --json | wc -l
}
# every checkpoint of the log is collected (and the log ends with one)
settled() {
	[ "$(log_ckpts)" -gt 0 ] &&
	"$LENSCTL" audit show --dir "$A" --json | tail -n 1 |
	    grep -q "\"type\":\"$CHECKPOINTS\"" &&
	[ "$(wc -l <"$1")" -eq "$(log_ckpts)" ]
}
stream() {
	"$TOOLS/auditstream" -s "$T/auditd.sock" -S durable -n "$1" -t 20 \
	    >>"$T/stream.out" 2>&1
}
verify_with() {
	_w=$1; shift
	"$LENSCTL" audit verify --dir "$A" --pubkey "$T/audit.pub" \
	    --witness "$_w" "$@" >"$T/verify.out" 2>&1
}
logcount() {
	grep -c -- "$1" "$T/auditd.log"
}

# ---- bad -w and -C: refused before anything starts
"$AUDITD" -d -D "$A" -w "$NW_OTHER" >"$T/e1" 2>&1; r1=$?
"$AUDITD" -d -D "$A" -w 'evil"host:601' >"$T/e2" 2>&1; r2=$?
"$AUDITD" -d -D "$A" -C "$T/ca.crt" >"$T/e3" 2>&1; r3=$?
"$AUDITD" -d -D "$A" -w "$NW_OTHER:65536" >"$T/e4" 2>&1; r4=$?
[ "$r1$r2$r3$r4" = 2222 ] && [ ! -e "$A" ] &&
    grep -q "^lensauditd: -w $NW_OTHER: expected host:port or \[address\]:port\$" "$T/e1" &&
    grep -q "^lensauditd: -w evil\"host:601: expected host:port" "$T/e2" &&
    grep -q "^lensauditd: -C needs -w (the collector it authenticates)\$" "$T/e3" &&
    grep -q "^lensauditd: -w $NW_OTHER:65536: expected" "$T/e4"
ok $? "a bad collector or -C without -w: exit 2, named, nothing created ($(cat "$T/e1"))"

# ---- plain TCP: every checkpoint collected, the log verifies
collector_start "$NW_OTHER" 601 "$COL"
auditd_start -n 10 -t 1 -r 64k -w "$NW_OTHER:601" ||
    { echo "Bail out! lensauditd does not start"; exit 1; }
[ -n "$(auditd_child witness)" ] &&
    [ "$(stat -c %U /proc/"$(auditd_child witness)")" = _lensaudit ] &&
    [ "$(readlink /proc/"$(auditd_child witness)"/root)" != "$A" ] &&
    ! ls -l /proc/"$(auditd_child witness)"/fd 2>/dev/null | grep -Eq -- "-> $A(/|\$)"
ok $? "a witness child of its own: _lensaudit, not in the log directory, none of its descriptors"
# a full first file, then records in a second one
while [ "$(ls "$A" | grep -c '^lens-audit\.[0-9]*\.log$')" -lt 2 ]; do
	stream 100 || { echo "Bail out! auditstream failed"; exit 1; }
done
stream 20
wait_until 15 settled "$COL"
ok $? "every checkpoint reached the collector ($(wc -l <"$COL") collected, $(log_ckpts) in the log)"
auditd_stop
[ "$(wc -l <"$COL")" -eq "$(log_ckpts)" ] &&
    [ -z "$(collected_seqs "$COL" | sort -n | uniq -d)" ] &&
    [ "$(ls "$A" | grep -c '^lens-audit\.[0-9]*\.log$')" -ge 2 ]
ok $? "the checkpoint at stop was sent too, none twice, across $(ls "$A" | grep -c '^lens-audit\.[0-9]*\.log$') files"
verify_with "$COL" &&
    grep -q "^witness $COL: $(log_ckpts) checkpoints in the log" "$T/verify.out"
ok $? "the log verifies against the collected witness, every checkpoint matched ($(grep '^witness' "$T/verify.out"))"
cp -a "$A" "$T/intact"
cp "$T/audit.pub" "$T/intact.pub"

# ---- the root attacker rewrites the whole log with a key of his own
rm -rf "$A" "$T/audit.pub" "$T/audit.witness"
auditd_start -n 10 -t 1 -r 64k || { echo "Bail out! no restart"; exit 1; }
stream 100
auditd_stop
"$LENSCTL" audit verify --dir "$A" --pubkey "$T/audit.pub" >/dev/null 2>&1
rc_alone=$?
verify_with "$COL"
[ "$?" -eq 1 ] && [ "$rc_alone" -eq 0 ] &&
    grep -Eq "lens-audit.000001.log:[0-9]+: seq [0-9]+: (witness mismatch \($COL names a checkpoint after seq [0-9]+; this record is not one: the log was rewritten\)|log id mismatch \(checkpoint signed for log [0-9a-f]+; witness $COL names log [0-9a-f]+: a checkpoint of another log\))" "$T/verify.out"
ok $? "a log rewritten from scratch with a new key verifies alone, not against the collector ($(head -n 1 "$T/verify.out"))"

# ---- the last files and the head deleted
rm -rf "$A" && cp -a "$T/intact" "$A" && cp "$T/intact.pub" "$T/audit.pub"
LASTF=$(ls "$A" | grep '^lens-audit\.[0-9]*\.log$' | tail -n 1)
rm -f "$A/$LASTF" "$A/lens-audit.head"
PREV=$(ls "$A" | grep '^lens-audit\.[0-9]*\.log$' | tail -n 1)
END=$(tail -n 1 "$A/$PREV" | sed 's/.*"seq":\([0-9]*\),.*/\1/')
FIRST=$(collected_seqs "$COL" | awk -v e="$END" '$1 >= e { print; exit }')
"$LENSCTL" audit verify --dir "$A" --pubkey "$T/audit.pub" --no-head >/dev/null 2>&1
rc_alone=$?
verify_with "$COL" --no-head
[ "$?" -eq 1 ] && [ "$rc_alone" -eq 0 ] &&
    grep -q "log truncated (it ends at seq $END; the witness $COL names the checkpoint after seq $(collected_seqs "$COL" | tail -n 1); the first witnessed checkpoint missing is the one after seq $FIRST)" "$T/verify.out"
ok $? "the last file and head deleted: caught, the first missing seq named ($(head -n 1 "$T/verify.out"))"

# ---- a malformed collected line is named by its number
rm -rf "$A" && cp -a "$T/intact" "$A"
sed '3s/ lensauditd / lensauditX /' "$COL" >"$T/bad"
verify_with "$T/bad"
[ "$?" -eq 1 ] &&
    grep -q "witness malformed (line 3: APP-NAME is not lensauditd)" "$T/verify.out"
ok $? "a malformed witness line: refused with its line number"

# ---- the collector goes away: lensauditd keeps writing, nothing twice
collector_stop
rm -rf "$A" "$T/audit.pub" "$T/audit.witness" "$COL"
collector_start "$NW_OTHER" 601 "$COL"
auditd_start -n 5 -t 1 -w "$NW_OTHER:601" || { echo "Bail out! no start"; exit 1; }
stream 20
wait_until 10 settled "$COL"
ok $? "collected before the collector goes ($(wc -l <"$COL"))"
before=$(logcount "closed the connection")
collector_stop
wait_until 10 sh -c "[ \$(grep -c 'closed the connection' '$T/auditd.log') -gt $before ]"
ok $? "the witness saw the collector go"
stream 40
rc_stream=$?
N=$(wc -l <"$COL")
wait_until 10 grep -q "connect: Connection refused;" "$T/auditd.log"
[ "$rc_stream" -eq 0 ] && [ "$(log_ckpts)" -ge $((N + 8)) ] &&
    [ "$(wc -l <"$COL")" -eq "$N" ]
ok $? "collector away: every event acknowledged, $(($(log_ckpts) - N)) checkpoints made and queued"
collector_start "$NW_OTHER" 601 "$COL"
wait_until 15 settled "$COL"
ok $? "the witness reconnected and caught up ($(wc -l <"$COL") collected, $(log_ckpts) in the log)"
auditd_stop
[ -z "$(collected_seqs "$COL" | sort -n | uniq -d)" ] &&
    [ "$(wc -l <"$COL")" -eq "$(log_ckpts)" ] && verify_with "$COL"
ok $? "none collected twice, none missing, and the log verifies against them"

# ---- a full queue: the oldest dropped, the drop audited, still verifies
rm -rf "$A" "$T/audit.pub" "$T/audit.witness" "$COL"
collector_stop
export LENS_REGRESS_WITNESSQ=2
auditd_start -n 5 -t 1 -w "$NW_OTHER:601" || { echo "Bail out! no start"; exit 1; }
unset LENS_REGRESS_WITNESSQ
stream 40
wait_until 15 sh -c "'$LENSCTL' audit show --dir '$A' --type audit.witness --json | grep -q '\"dropped\":[1-9]'"
ok $? "dropped checkpoints are on the record ($("$LENSCTL" audit show --dir "$A" --type audit.witness --json | head -n 1 | sed 's/.*"details":\({[^}]*}\).*/\1/'))"
collector_start "$NW_OTHER" 601 "$COL"
wait_until 15 sh -c "[ \$(wc -l <'$COL') -ge 2 ]"
auditd_stop
verify_with "$COL"
[ "$?" -eq 0 ] && [ "$(wc -l <"$COL")" -ge 2 ] &&
    [ "$(wc -l <"$COL")" -lt "$(log_ckpts)" ]
ok $? "what was collected after the gap still verifies ($(wc -l <"$COL") of $(log_ckpts))"
collector_stop

# ---- TLS: the pinned CA only
# a CA that signs the collector's certificate (for its address), another
for c in ca other; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj "/CN=witness test $c" -keyout "$T/$c.key" \
	    -out "$T/$c.crt" >/dev/null 2>&1
done
echo "subjectAltName=IP:$NW_OTHER" >"$T/srv.ext"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$NW_OTHER" -keyout "$T/srv.key" -out "$T/srv.csr" >/dev/null 2>&1 &&
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
    -CAcreateserial -days 2 -extfile "$T/srv.ext" -out "$T/srv.crt" >/dev/null 2>&1 ||
    { echo "Bail out! no certificates"; exit 1; }
rm -rf "$A" "$T/audit.pub" "$T/audit.witness" "$COL"
collector_start --tls "$T/srv.crt" "$T/srv.key" "$NW_OTHER" 6514 "$COL"
auditd_start -n 5 -t 1 -w "$NW_OTHER:6514" -C "$T/other.crt" ||
    { echo "Bail out! no start"; exit 1; }
stream 10
wait_until 10 grep -q "witness: collector $NW_OTHER:6514: TLS: .*certificate verify failed" "$T/auditd.log"
[ "$?" -eq 0 ] && [ ! -s "$COL" ] && [ "$(log_ckpts)" -ge 2 ]
ok $? "TLS to a collector the pinned CA did not sign: refused, nothing sent ($(grep -o 'TLS: .*' "$T/auditd.log" | head -n 1 | cut -c 1-80))"
auditd_stop
rm -rf "$A" "$T/audit.pub" "$T/audit.witness"
auditd_start -n 5 -t 1 -w "$NW_OTHER:6514" -C "$T/ca.crt" ||
    { echo "Bail out! no start"; exit 1; }
stream 10
wait_until 10 settled "$COL"
[ "$?" -eq 0 ] && grep -q "connected to collector $NW_OTHER:6514 (TLS)" "$T/auditd.log"
ok $? "with the right CA: every checkpoint over TLS ($(wc -l <"$COL"))"
auditd_stop
verify_with "$COL" &&
    grep -q "^witness $COL: $(log_ckpts) checkpoints in the log" "$T/verify.out"
ok $? "and the log verifies against all $(log_ckpts) of them"

log_if_failed "lensauditd log" "$T/auditd.log" 40
log_if_failed "collector log" "$T/recv.log" 20
tap_done
