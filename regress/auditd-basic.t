#!/bin/sh
# lensauditd for real: a real daemon on a private directory and socket,
# real files, real fdatasync.  First start (key files, modes, audit.start),
# events landing exactly once, checkpoints by count, by time and at
# shutdown, rotation, deduplication across reconnects and restarts, torn
# tail recovery, refusal to start on a damaged log or a mismatched key,
# peer credentials, and option errors.  Every check compares exact values.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

auditd_require

tap_plan 141
tmpdir_setup
at_exit 'auditd_stop; try_stop'
# auditd_start counts "ready" lines in this file: it has to exist
: >"$T/auditd.log"
# other users (nobody, _lensnet) must reach the socket inside $T
chmod 0711 "$T"

require_built "$AUDITD" "$LENSCTL" "$TOOLS/auditstream" "$TOOLS/auditpeer" \
    "$MKAUDITLOG"

A=$T/audit
SOCK=$T/auditd.sock
L1=lens-audit.000001.log
HEAD=lens-audit.head
ZERO=0000000000000000000000000000000000000000000000000000000000000000
# without a checkpoint interval getting in the way
QUIET="-t 86400"

# --- helpers -------------------------------------------------------------

# is DESC GOT WANT: pass when GOT and WANT are the same string
is() {
	if [ "$2" = "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "got:  $2" "want: $3"
	fi
}

# mark; ...; since: the lines lensauditd logged after the mark
mark() {
	_mark=$(wc -l <"$T/auditd.log")
}
since() {
	sed -n "$((_mark + 1)),\$p" "$T/auditd.log"
}

# show DIR: every record of DIR, from lensctl audit show --json, as
# tab-separated fields in $T/rec:
#   1 seq  2 sandbox  3 source  4 id  5 type  6 details  7 prev  8 hash
#   9 time
# and the raw lines in $T/show.out; fails unless every line parsed
show() {
	"$LENSCTL" audit show --dir "$1" --json >"$T/show.out" 2>"$T/show.err" ||
	    { diag "lensctl audit show failed:" "$(cat "$T/show.err")"; return 1; }
	sed -n 's/^{"seq":\([0-9]*\),"time":"\([^"]*\)","sandbox":"\([^"]*\)","source":"\([^"]*\)","id":\([0-9]*\),"type":"\([^"]*\)","details":\(.*\),"prev":"\([0-9a-f]\{64\}\)","hash":"\([0-9a-f]\{64\}\)"}$/\1\t\3\t\4\t\5\t\6\t\7\t\8\t\9\t\2/p' \
	    "$T/show.out" >"$T/rec"
	[ "$(wc -l <"$T/rec")" -eq "$(wc -l <"$T/show.out")" ] ||
	    { diag "some records did not parse"; return 1; }
}

# rec SEQ COL: one field of one record in $T/rec
rec() {
	awk -F'\t' -v s="$1" -v c="$2" '$1 == s { print $c }' "$T/rec"
}

# last COL: that field of the last record
last() {
	tail -n 1 "$T/rec" | cut -f "$1"
}

# ckpts: the seqs of the checkpoints in $T/rec, on one line
ckpts() {
	awk -F'\t' '$5 == "audit.checkpoint" && $3 == "lensauditd" {
	    printf "%s%s", sep, $1; sep = " " } END { print "" }' "$T/rec"
}

# nck: "N checkpoints" (or "1 checkpoint") in $T/rec, as verify says it
nck() {
	_c=$(ckpts | wc -w)
	[ "$_c" -eq 1 ] && echo "1 checkpoint" || echo "$_c checkpoints"
}

# verify DIR: lensctl audit verify with DIR's trusted key and witness
# ($T/audit.pub and $T/audit.witness for $A, else DIR.pub and
# DIR.witness); sets $vrc, $T/vout, $T/verr
verify() {
	if [ "$1" = "$A" ]; then
		set -- "$1" "$T/audit"
	else
		set -- "$1" "$1"
	fi
	_w=
	[ -f "$2.witness" ] && _w="--witness $2.witness"
	"$LENSCTL" audit verify --dir "$1" --pubkey "$2.pub" $_w \
	    >"$T/vout" 2>"$T/verr"
	vrc=$?
}

# verify_ok DESC DIR SUMMARY: verify exits 0 with SUMMARY as first line
verify_ok() {
	verify "$2"
	if [ "$vrc" -eq 0 ] && [ "$(head -n 1 "$T/vout")" = "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "verify exit $vrc" "$(cat "$T/vout" "$T/verr")" "want: $3"
	fi
}

# try DIR [flags]: lensauditd -d on DIR and $T/try.sock, output in
# $T/try.log, until it exits ($rc is its status) or its writer is ready
# ($rc=running, stop it with try_stop); $rc=hung after 10 s
TRY_PID=
TRY_SH=
try() {
	_dir=$1
	shift
	rm -f "$T/try.rc" "$T/try.pid"
	: >"$T/try.log"
	( "$AUDITD" -d -D "$_dir" -s "$T/try.sock" -P "$_dir.pub" "$@" \
	    >"$T/try.log" 2>&1 &
	  echo $! >"$T/try.pid"
	  wait $!
	  echo $? >"$T/try.rc" ) 2>/dev/null &
	TRY_SH=$!
	_n=200
	while [ "$_n" -gt 0 ]; do
		if [ -s "$T/try.rc" ]; then
			rc=$(cat "$T/try.rc")
			wait "$TRY_SH"
			TRY_SH=
			return
		fi
		if grep -q 'ready at seq' "$T/try.log"; then
			TRY_PID=$(cat "$T/try.pid")
			rc=running
			return
		fi
		sleep 0.05
		_n=$((_n - 1))
	done
	TRY_PID=$(cat "$T/try.pid" 2>/dev/null)
	rc=hung
}
# try_fail DIR [flags]: try when it should not start; never leaves a
# daemon behind
try_fail() {
	try "$@"
	case $rc in
	running|hung)
		try_stop
		;;
	esac
}
# try_stop: SIGTERM, and SIGKILL if it has not exited 5 s later (a
# writer stuck on the lock of another one does not hear SIGTERM)
try_stop() {
	if [ -n "$TRY_PID" ]; then
		kill -TERM "$TRY_PID" 2>/dev/null
		_n=100
		while [ ! -s "$T/try.rc" ] && [ "$_n" -gt 0 ]; do
			sleep 0.05
			_n=$((_n - 1))
		done
		[ -s "$T/try.rc" ] || kill -KILL "$TRY_PID" 2>/dev/null
	fi
	[ -n "$TRY_SH" ] && wait "$TRY_SH"
	TRY_PID=
	TRY_SH=
}

# fresh_dir NAME: keep the current state directory as $T/NAME, so the
# next auditd_start begins a new chain
fresh_dir() {
	mv "$A" "$T/$1"
	mv "$T/audit.pub" "$T/$1.pub"
	mv "$T/audit.witness" "$T/$1.witness"
}

# as USER CMD...: run CMD with USER's uid and gid, no other groups
as() {
	_u=$1
	shift
	setpriv --reuid="$(id -u "$_u")" --regid="$(id -g "$_u")" \
	    --clear-groups "$@"
}

# peer SCENARIO SOURCE: auditpeer's answers on one line
peer() {
	"$TOOLS/auditpeer" "$SOCK" "$@" | tr '\n' ' ' | sed 's/ $//'
}

# stream SOURCE N [auditstream flags]: N events, fails unless all acked
stream() {
	_src=$1
	_cnt=$2
	shift 2
	"$TOOLS/auditstream" -s "$SOCK" -S "$_src" -n "$_cnt" -t 20 "$@" \
	    >"$T/stream.out" 2>"$T/stream.err" &&
	    grep -q "^events $_cnt seconds " "$T/stream.out" ||
	    { diag "auditstream failed:" "$(cat "$T/stream.err")"; return 1; }
}

# seconds since midnight of an RFC 3339 time from the log
tod() {
	echo "$1" | awk -F'[T:Z]' '{ printf "%.9f\n", $2 * 3600 + $3 * 60 + $4 }'
}

# the key id lensauditd must use, computed independently of it:
# hex of the first 8 bytes of BLAKE2b-256(public key); without xxd or
# b2sum, what the first audit.start says
keyid() {
	if [ -n "$HAVE_B2" ]; then
		cut -d' ' -f2 "$1" | xxd -r -p | b2sum -l 256 | cut -c1-16
	else
		sed -n '1s/.*"details":{"key":"\([0-9a-f]*\)".*/\1/p' \
		    "$(dirname "$1")/$L1"
	fi
}
HAVE_B2=
command -v xxd >/dev/null && command -v b2sum >/dev/null && HAVE_B2=1

# --- 1. first start ------------------------------------------------------

auditd_start $QUIET || { echo "Bail out! lensauditd does not start"; exit 1; }
WPID=$(auditd_child writer)

is "1: state directory setgid, _lensaudit:lens, 2750" \
    "$(stat -c '%a %U %G' "$A")" "2750 _lensaudit lens"
is "1: audit.key 0600 (overwritten at each key step), owned by _lensaudit" \
    "$(stat -c '%a %U %G' "$A/audit.key")" "600 _lensaudit _lensaudit"
grep -Eqx 'ed25519-secret [0-9a-f]{128}' "$A/audit.key" &&
    [ "$(wc -c <"$A/audit.key")" -eq 144 ]
ok $? "1: audit.key is one \"ed25519-secret <128 hex>\" line"
is "1: audit.pub 0444, root:lens (group from the setgid directory)" \
    "$(stat -c '%a %U %G' "$A/audit.pub")" "444 root lens"
grep -Eqx 'ed25519 [0-9a-f]{64}' "$A/audit.pub" &&
    [ "$(wc -c <"$A/audit.pub")" -eq 73 ]
ok $? "1: audit.pub is one \"ed25519 <64 hex>\" line"
# the public key is the second half of libsodium's secret key
is "1: audit.pub is the public half of audit.key" \
    "$(cut -d' ' -f2 "$A/audit.pub")" "$(cut -d' ' -f2 "$A/audit.key" | cut -c65-128)"
is "1: log file 0640, _lensaudit:lens" \
    "$(stat -c '%a %U %G' "$A/$L1")" "640 _lensaudit lens"
is "1: lock file 0600, _lensaudit" \
    "$(stat -c '%a %U' "$A/lens-audit.lock")" "600 _lensaudit"
is "1: socket is mode 0666 (peers are judged by SO_PEERCRED)" \
    "$(stat -c '%F %a' "$SOCK")" "socket 666"
KEYID=$(keyid "$A/audit.pub")
if [ -n "$HAVE_B2" ]; then
	[ ${#KEYID} -eq 16 ]
	ok $? "1: key id computed independently ($KEYID)"
else
	skip "no xxd or b2sum to compute the key id"
fi
show "$A"
is "1: the log is one record" "$(wc -l <"$T/rec")" 1
is "1: record 1 is audit.start by lensauditd, id 0, no sandbox, prev zeros" \
    "$(rec 1 2)|$(rec 1 3)|$(rec 1 4)|$(rec 1 5)|$(rec 1 7)" \
    "|lensauditd|0|audit.start|$ZERO"
is "1: audit.start details name the key id and the writer's pid" \
    "$(rec 1 6)" "{\"key\":\"$KEYID\",\"pid\":$WPID}"
grep -q "^parent\[$AUDITD_PID\]: generated the audit signing key in $A/audit.key\$" \
    "$T/auditd.log" &&
    grep -q "^writer\[$WPID\]: new audit chain in $A\$" "$T/auditd.log" &&
    grep -q "^writer\[$WPID\]: ready at seq 1, file 000001\$" "$T/auditd.log"
ok $? "1: log says key generated, new chain, ready at seq 1"
verify_ok "1: lensctl audit verify passes on the first start" "$A" \
    "audit chain intact: 1 record (seq 1 to 1) in 1 file, 0 checkpoints"

# --- 2. events land once, with their fields ------------------------------

stream lensnet 20 -b sb-42 -T net.allow -p 3
ok $? "2: auditstream: 20 events acknowledged"
is "2: auditpeer good: welcome 0, its event acknowledged" \
    "$(peer good peer)" "welcome 0 ack 1000000 open"
show "$A"
is "2: 22 records: start, 20 events, the peer's" "$(wc -l <"$T/rec")" 22
bad=$(awk -F'\t' '$1 >= 2 && $1 <= 21 && !($2 == "sb-42" &&
    $3 == "lensnet" && $4 == $1 - 1 && $5 == "net.allow" &&
    $6 == "{\"n\":" $1 - 1 ",\"pad\":\"xxx\"}") { print $1 }' "$T/rec")
is "2: seq 2-21: sandbox sb-42, source lensnet, type net.allow, id and n 1-20" \
    "$bad" ""
is "2: each n from 1 to 20 exactly once" \
    "$(grep -c '"source":"lensnet"' "$T/show.out")|$(sed -n 's/.*"details":{"n":\([0-9]*\),.*/\1/p' "$T/show.out" | sort -n | uniq | tr '\n' ' ')" \
    "20|1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 "
is "2: the peer's event: sb-1, peer, id 1000000, test.good, canonical details" \
    "$(rec 22 2)|$(rec 22 3)|$(rec 22 4)|$(rec 22 5)|$(rec 22 6)" \
    'sb-1|peer|1000000|test.good|{"a":[1],"b":2}'
# a second connection of the same source numbers above what was written
stream lensnet 5 -b sb-42 -T net.deny
ok $? "2: auditstream again: 5 events acknowledged"
show "$A"
is "2: the new events have ids 21-25, n 1-5" \
    "$(awk -F'\t' '$5 == "net.deny" { printf "%s:%s ", $4, $6 }' "$T/rec")" \
    '21:{"n":1,"pad":""} 22:{"n":2,"pad":""} 23:{"n":3,"pad":""} 24:{"n":4,"pad":""} 25:{"n":5,"pad":""} '
bad=$(awk -F'\t' 'NR > 1 && ($1 != prevseq + 1 || $7 != prevhash) { print $1 }
    { prevseq = $1; prevhash = $8 }' "$T/rec")
is "2: every record follows the one before (seq + 1, prev = its hash)" "$bad" ""
verify_ok "2: verify passes while the daemon runs" "$A" \
    "audit chain intact: 27 records (seq 1 to 27) in 1 file, 0 checkpoints"

# SIGTERM: a final checkpoint, and the head file names the record before
mark
auditd_stop
ok $? "2: SIGTERM: lensauditd exits 0"
show "$A"
is "2: SIGTERM wrote a final checkpoint at seq 28, after seq 27" \
    "$(last 1)|$(last 3)|$(last 5)|$(last 7)" \
    "28|lensauditd|audit.checkpoint|$(rec 27 8)"
sig=$(last 6 | sed -n 's/.*"sig":"\([0-9a-f]\{128\}\)".*/\1/p')
LOGID=$(cat "$A/audit.logid")
# the first checkpoint is signed with the pinned key and names the next
NEXT=$(cut -d' ' -f2 "$A/audit.key" | cut -c65-128)
is "2: checkpoint details: head, head_seq, key, log id, next key, sig, sources" "$(last 6)" \
    "{\"head\":\"$(rec 27 8)\",\"head_seq\":27,\"key\":\"$KEYID\",\"log\":\"$LOGID\",\"next\":\"$NEXT\",\"sig\":\"$sig\",\"sources\":{\"lensnet\":25,\"peer\":1000000}}"
is "2: head file names seq 27, its hash, the file, key, log id and signature" \
    "$(cat "$A/$HEAD")" \
    "{\"file\":\"$L1\",\"head\":\"$(rec 27 8)\",\"head_seq\":27,\"key\":\"$KEYID\",\"log\":\"$LOGID\",\"next\":\"$NEXT\",\"sig\":\"$sig\"}"
is "2: the witness has the same line" "$(cat "$T/audit.witness")" \
    "$(cat "$A/$HEAD")"
is "2: head file 0640, _lensaudit:lens" \
    "$(stat -c '%a %U %G' "$A/$HEAD")" "640 _lensaudit lens"
since | grep -q "^writer\[$WPID\]: stopped at seq 28 (the listener is gone): 28 records in [0-9]* commits"
ok $? "2: the writer logs where it stopped"
verify_ok "2: verify passes after the stop" "$A" \
    "audit chain intact: 28 records (seq 1 to 28) in 1 file, 1 checkpoint"
grep -qx 'head file matches: checkpoint after seq 27' "$T/vout"
ok $? "2: verify checks the head file against the log"
fresh_dir case2

# --- 3. checkpoints by count, by time, at shutdown -----------------------

auditd_start -n 7 $QUIET
KEYID=$(keyid "$A/audit.pub")
stream test 40
ok $? "3: -n 7: 40 events acknowledged"
mark
auditd_stop
ok $? "3: -n 7: clean stop"
show "$A"
# 41 records (audit.start and 40 events) take a checkpoint after every 7,
# and the stop one more for the last 6
is "3: -n 7: 47 records, checkpoints at seq 8 16 24 32 40 and 47 (stop)" \
    "$(wc -l <"$T/rec")|$(ckpts)" "47|8 16 24 32 40 47"
bad=$(awk -F'\t' '$5 == "audit.checkpoint" { if (n != 7 && $1 != 47)
    print $1 ":" n; n = 0; next } { n++ }' "$T/rec")
is "3: -n 7: exactly 7 records between checkpoints" "$bad" ""
bad=$(awk -F'\t' '$5 == "audit.checkpoint" && (index($6, "{\"head\":\"" ph \
    "\",\"head_seq\":" ps ",") != 1 || $7 != ph) { print $1 }
    { ps = $1; ph = $8 }' "$T/rec")
is "3: every checkpoint signs the record just before it (head, head_seq)" \
    "$bad" ""
sig=$(last 6 | sed -n 's/.*"sig":"\([0-9a-f]\{128\}\)".*/\1/p')
ckey=$(last 6 | sed -n 's/.*"key":"\([0-9a-f]\{16\}\)".*/\1/p')
NEXT=$(cut -d' ' -f2 "$A/audit.key" | cut -c65-128)
is "3: head file: the stop checkpoint, after seq 46" "$(cat "$A/$HEAD")" \
    "{\"file\":\"$L1\",\"head\":\"$(rec 46 8)\",\"head_seq\":46,\"key\":\"$ckey\",\"log\":\"$(cat "$A/audit.logid")\",\"next\":\"$NEXT\",\"sig\":\"$sig\"}"
verify_ok "3: -n 7: verify passes" "$A" \
    "audit chain intact: 47 records (seq 1 to 47) in 1 file, 6 checkpoints"
# restart: audit.start and 6 events make 7, so the last record is a
# checkpoint already and the stop adds none
auditd_start -n 7 $QUIET
stream test 6
mark
auditd_stop
show "$A"
is "3: stop after a checkpoint adds none (last record seq 55 is the -n one)" \
    "$(wc -l <"$T/rec")|$(ckpts)|$(last 7)" \
    "55|8 16 24 32 40 47 55|$(rec 54 8)"
since | grep -q '^writer\[[0-9]*\]: stopped at seq 55 '
ok $? "3: the writer stopped at seq 55"
is "3: the ids of source test continue across the restart (41-46)" \
    "$(awk -F'\t' '$1 > 47 && $3 == "test" { printf "%s ", $4 }' "$T/rec")" \
    "41 42 43 44 45 46 "
fresh_dir case3n

# -t 1: a checkpoint within a second of the last event while idle
auditd_start -n 1000 -t 1
stream test 5
show "$A"
L=$(awk -F'\t' '$5 == "test.event" { s = $1 } END { print s }' "$T/rec")
wait_until 4 sh -c "'$LENSCTL' audit show --dir '$A' --json | tail -n 1 |
    grep -q '\"type\":\"audit.checkpoint\",\"details\":{\"head\":\"[0-9a-f]*\",\"head_seq\":$L,'"
ok $? "3: -t 1: a checkpoint after the last event (seq $L) appears while idle"
show "$A"
C=$(wc -l <"$T/rec")
ct=$(tod "$(last 9)")
et=$(tod "$(rec "$L" 9)")
awk -v c="$ct" -v e="$et" 'BEGIN { d = c - e; if (d < 0) d += 86400;
    exit !(d > 0 && d < 1.5) }'
ok $? "3: -t 1: it came less than 1.5 s after the event ($et -> $ct)"
is "3: -t 1: the head file is updated while running" \
    "$(sed -n 's/.*"head_seq":\([0-9]*\),.*/\1/p' "$A/$HEAD")" "$L"
sleep 2.5
show "$A"
is "3: -t 1: idle with nothing new, no further checkpoint in 2.5 s" \
    "$(wc -l <"$T/rec")" "$C"
kill -0 "$AUDITD_PID"
ok $? "3: -t 1: the daemon is still running"
mark
auditd_stop
show "$A"
is "3: -t 1: stop right after a checkpoint adds nothing" \
    "$(wc -l <"$T/rec")" "$C"
verify_ok "3: -t 1: verify passes" "$A" \
    "audit chain intact: $C records (seq 1 to $C) in 1 file, $(nck)"
fresh_dir case3t

# --- 4. rotation ---------------------------------------------------------

mark
auditd_start -n 1000 -r 65536 $QUIET
stream early 3
# about 1.2 KB per event and at most 5 per batch: several files
stream bulk 250 -p 1000 -w 5
ok $? "4: 250 events of 1 KB acknowledged"
auditd_stop
ok $? "4: clean stop"
NF=$(ls "$A" | grep -c '^lens-audit\.[0-9]\{6\}\.log$')
[ "$NF" -ge 3 ]
ok $? "4: -r 65536 made several files ($NF)"
f=$(ls "$A" | grep '^lens-audit\.[0-9]*\.log$' | tr '\n' ' ')
want=
i=1
while [ "$i" -le "$NF" ]; do
	want="$want$(printf 'lens-audit.%06d.log ' "$i")"
	i=$((i + 1))
done
is "4: files are numbered 000001 to $(printf %06d "$NF") without gaps" "$f" "$want"
bad=
i=1
while [ "$i" -lt "$NF" ]; do
	cur=$A/$(printf 'lens-audit.%06d.log' "$i")
	nxt=$A/$(printf 'lens-audit.%06d.log' $((i + 1)))
	tl=$(tail -n 1 "$cur")
	tseq=$(echo "$tl" | sed -n 's/^{"seq":\([0-9]*\),.*/\1/p')
	thash=$(echo "$tl" | sed -n 's/.*"hash":"\([0-9a-f]*\)"}$/\1/p')
	echo "$tl" | grep -q '"source":"lensauditd","id":0,"type":"audit.checkpoint"' ||
	    bad="$bad $i:not-checkpoint"
	[ "$(stat -c %s "$cur")" -ge 65536 ] || bad="$bad $i:small"
	# a file grows past the size by at most one batch (5 events)
	[ "$(stat -c %s "$cur")" -lt $((65536 + 8192)) ] || bad="$bad $i:big"
	if [ -s "$nxt" ]; then
		hl=$(head -n 1 "$nxt")
		echo "$hl" | grep -q "^{\"seq\":$((tseq + 1)),.*,\"prev\":\"$thash\",\"hash\":" ||
		    bad="$bad $((i + 1)):chain"
	fi
	since | grep -q "rotated to lens-audit.$(printf %06d $((i + 1))).log at seq $tseq\$" ||
	    bad="$bad $((i + 1)):log"
	i=$((i + 1))
done
is "4: every file but the last ends with a checkpoint, the next chains to it, the rotation is logged" \
    "$bad" ""
show "$A"
R=$(wc -l <"$T/rec")
is "4: every event exactly once (bulk 1-250, early 1-3)" \
    "$(awk -F'\t' '$3 == "bulk" { b[$4]++ } $3 == "early" { e[$4]++ }
    END { for (i = 1; i <= 250; i++) if (b[i] == 1) nb++;
    for (i = 1; i <= 3; i++) if (e[i] == 1) ne++;
    print length(b) " " nb " " length(e) " " ne }' "$T/rec")" "250 250 3 3"
verify_ok "4: verify passes over all $NF files" "$A" \
    "audit chain intact: $R records (seq 1 to $R) in $NF files, $(nck)"
LASTF=$(printf 'lens-audit.%06d.log' "$NF")
lastck=$(awk -F'\t' '$5 == "audit.checkpoint" { s = $1 } END { print s }' "$T/rec")
is "4: the head file names the newest file's last checkpoint" \
    "$(sed -n 's/^{"file":"\([^"]*\)",.*"head_seq":\([0-9]*\),.*/\1 \2/p' "$A/$HEAD")" \
    "$(grep -l "^{\"seq\":$lastck," "$A"/lens-audit.*.log | xargs -n1 basename) $((lastck - 1))"

# restart: the chain goes on in the newest file
lines=$(wc -l <"$A/$LASTF")
lastsz=$(stat -c %s "$A/$LASTF")
H=$(last 8)
mark
auditd_start -n 1000 -r 65536 $QUIET
since | grep -q "ready at seq $((R + 1)), file $(printf %06d "$NF")\$"
ok $? "4: restart: ready at seq $((R + 1)) in file $(printf %06d "$NF")"
auditd_stop
sed -n "$((lines + 1))p" "$A/$LASTF" |
    grep -q "^{\"seq\":$((R + 1)),\"time\":\"[^\"]*\",\"sandbox\":\"\",\"source\":\"lensauditd\",\"id\":0,\"type\":\"audit.start\",.*,\"prev\":\"$H\","
ok $? "4: restart: audit.start is appended to $LASTF and chains to seq $R"
# the restart's two records (about 1 KB) may themselves cross the size
NF2=$(ls "$A" | grep -c '^lens-audit\.[0-9]*\.log$')
if [ "$lastsz" -lt $((65536 - 2048)) ]; then
	is "4: restart: no new file ($LASTF had $lastsz bytes)" "$NF2" "$NF"
else
	is "4: restart: at most one new file ($LASTF had $lastsz bytes)" \
	    "$(( NF2 == NF || NF2 == NF + 1 ))" 1
fi
show "$A"
R=$(wc -l <"$T/rec")
verify_ok "4: restart: verify passes" "$A" \
    "audit chain intact: $R records (seq 1 to $R) in $NF2 files, $(nck)"
# the newest non-empty file
NF=$NF2
[ -s "$A/$(printf 'lens-audit.%06d.log' "$NF")" ] || NF=$((NF - 1))
LASTF=$(printf 'lens-audit.%06d.log' "$NF")

# a crash right after a rotation leaves an empty newest file: the chain
# and the sources come from the checkpoint that ends the file before
H=$(last 8)
NEWF=$(printf 'lens-audit.%06d.log' $((NF + 1)))
[ -e "$A/$NEWF" ] ||
    install -m 0640 -o _lensaudit -g lens /dev/null "$A/$NEWF"
mark
auditd_start -n 1000 -r 65536 $QUIET
since | grep -q "ready at seq $((R + 1)), file $(printf %06d $((NF + 1)))\$"
ok $? "4: empty newest file: ready at seq $((R + 1)) in it"
is "4: empty newest file: WELCOME still knows source early (from the checkpoint)" \
    "$(peer hello early)" "welcome 3 open"
auditd_stop
head -n 1 "$A/$NEWF" |
    grep -q "^{\"seq\":$((R + 1)),.*\"type\":\"audit.start\",.*,\"prev\":\"$H\","
ok $? "4: empty newest file: its first record chains to the previous file's last"
show "$A"
R=$(wc -l <"$T/rec")
verify_ok "4: empty newest file: verify passes" "$A" \
    "audit chain intact: $R records (seq 1 to $R) in $((NF + 1)) files, $(nck)"

# a file before the newest that does not end with a checkpoint
rm -rf "$T/rotbad"
cp -a "$A" "$T/rotbad"
sed -i '$d' "$T/rotbad/$LASTF"
cp "$T/rotbad/$NEWF" "$T/rotbad.newest"
try_fail "$T/rotbad" $QUIET
is "4: previous file without a final checkpoint: exit 1" "$rc" 1
grep -q "^writer\[[0-9]*\]: $LASTF: the last record is not a valid checkpoint\$" "$T/try.log"
ok $? "4: ... the writer names the file"
cmp -s "$T/rotbad/$NEWF" "$T/rotbad.newest"
ok $? "4: ... nothing appended"
fresh_dir case4

# --- 5. deduplication ----------------------------------------------------

auditd_start -n 1000 -r 64k $QUIET
KEYID=$(keyid "$A/audit.pub")
is "5: first connection: welcome 0, ack" "$(peer good dup)" \
    "welcome 0 ack 1000000 open"
is "5: same source again: welcome 1000000, the resent id acknowledged" \
    "$(peer good dup)" "welcome 1000000 ack 1000000 open"
show "$A"
is "5: one test.good record for source dup" \
    "$(awk -F'\t' '$3 == "dup" { printf "%s:%s ", $4, $5 }' "$T/rec")" \
    "1000000:test.good "
auditd_stop
auditd_start -n 1000 -r 64k $QUIET
is "5: after a clean restart: welcome 1000000, ack, not written again" \
    "$(peer good dup)" "welcome 1000000 ack 1000000 open"
stream crash 4
# a crash: kill -9 the writer (killing only the parent races: the writer
# may see the parent's socket close and checkpoint before PDEATHSIG)
kill -KILL "$(auditd_child writer)"
wait "$AUDITD_PID"
is "5: writer killed: lensauditd exits 1" "$?" 1
AUDITD_PID=
show "$A"
is "5: before the crash the last record is event 4 of crash (unsigned)" \
    "$(last 3)|$(last 4)|$(last 5)" "crash|4|test.event"
auditd_start -n 1000 -r 64k $QUIET
is "5: after the crash and restart: WELCOME carries 4, recovered from the records" \
    "$(peer hello crash)" "welcome 4 open"
stream crash 2
auditd_stop
show "$A"
is "5: crash events: ids 1-6 once each; dup: one record" \
    "$(awk -F'\t' '$3 == "crash" { printf "%s ", $4 }' "$T/rec")|$(grep -c '"source":"dup"' "$T/show.out")" \
    "1 2 3 4 5 6 |1"
R=$(wc -l <"$T/rec")
verify_ok "5: verify passes" "$A" \
    "audit chain intact: $R records (seq 1 to $R) in 1 file, $(nck)"

# --- 6. torn tail --------------------------------------------------------

off=$(stat -c %s "$A/$L1")
printf '{"seq":99' >>"$A/$L1"
mark
auditd_start -n 1000 $QUIET
WPID=$(auditd_child writer)
is "6: the writer logs the torn record it removed" \
    "$(since | grep torn)" \
    "writer[$WPID]: $L1: torn last record (9 bytes at offset $off) removed: it was never acknowledged"
show "$A"
is "6: audit.start details: key, pid, torn file, offset and bytes" \
    "$(rec $((R + 1)) 5)|$(rec $((R + 1)) 6)" \
    "audit.start|{\"key\":\"$(sed -n 's/.*"next":"\([0-9a-f]*\)".*/ed25519 \1/p' "$A/$HEAD" >"$T/cur.pub"; keyid "$T/cur.pub")\",\"pid\":$WPID,\"torn\":{\"bytes\":9,\"file\":\"$L1\",\"offset\":$off}}"
tail -c "+$((off + 1))" "$A/$L1" | head -n 1 |
    grep -q "^{\"seq\":$((R + 1)),\"time\":\"[^\"]*\",\"sandbox\":\"\",\"source\":\"lensauditd\",\"id\":0,\"type\":\"audit.start\","
ok $? "6: the partial bytes are gone: audit.start begins at offset $off"
is "6: every line of the file is a record (no leftover bytes)" \
    "$(wc -l <"$A/$L1")|$(tail -c 1 "$A/$L1" | od -An -c | tr -d ' ')" \
    "$((R + 1))|\\n"
auditd_stop
show "$A"
R=$(wc -l <"$T/rec")
verify_ok "6: verify passes after the cut" "$A" \
    "audit chain intact: $R records (seq 1 to $R) in 1 file, $(nck)"
# a torn record at the very start of a file
cp "$A/$L1" "$T/l1.saved"
head -c 100 "$T/l1.saved" >"$T/partial"
rm -rf "$T/tornfirst"
cp -a "$A" "$T/tornfirst"
install -m 0640 -o _lensaudit -g lens "$T/partial" \
    "$T/tornfirst/lens-audit.000002.log"
try "$T/tornfirst" -n 1000 $QUIET
is "6: torn first record of a file: the writer starts" "$rc" running
try_stop
grep -q '"details":{"key":"[0-9a-f]*","pid":[0-9]*,"torn":{"bytes":100,"file":"lens-audit.000002.log","offset":0}}' \
    "$T/tornfirst/lens-audit.000002.log"
ok $? "6: ... the cut is recorded with offset 0 and 100 bytes"
verify_ok "6: ... verify passes" "$T/tornfirst" \
    "audit chain intact: $((R + 2)) records (seq 1 to $((R + 2))) in 2 files, $(($(ckpts | wc -w) + 1)) checkpoints"

# --- 7. damage in the middle: refuse to start -----------------------------

cp "$A/$HEAD" "$T/head.saved"
# the dup record (seq 2) has details {"a":[1],"b":2}
sed -n 2p "$A/$L1" | grep -q '"details":{"a":\[1\],"b":2}'
ok $? "7: line 2 is the record to damage"
sed -i '2s/"details":{"a":\[1\],"b":2}/"details":{"a":[1],"b":3}/' "$A/$L1"
cp "$A/$L1" "$T/damaged"
try_fail "$A" $QUIET
is "7: edited details: lensauditd exits 1" "$rc" 1
grep -q "^writer\[[0-9]*\]: $L1 line 2: seq 2 does not continue the chain; the log was damaged or modified (see lensctl audit verify)\$" \
    "$T/try.log"
ok $? "7: ... the writer names the file and line"
grep -q '^parent\[[0-9]*\]: writer (pid [0-9]*) exited with status 1$' "$T/try.log" &&
    ! grep -q 'ready at seq' "$T/try.log"
ok $? "7: ... the parent reports the writer's exit; never ready"
cmp -s "$A/$L1" "$T/damaged" && cmp -s "$A/$HEAD" "$T/head.saved"
ok $? "7: ... nothing appended to the log, head file unchanged"
verify "$A"
is "7: ... and lensctl audit verify points at the same record" \
    "$vrc|$(head -n 1 "$T/verr")" \
    "1|lensctl: $L1:2: seq 2: record edited (content does not match its hash)"
# a deleted record
cp "$T/l1.saved" "$A/$L1"
sed -i 3d "$A/$L1"
cp "$A/$L1" "$T/damaged"
try_fail "$A" $QUIET
is "7: deleted record: exit 1" "$rc" 1
grep -q "^writer\[[0-9]*\]: $L1 line 3: seq 4 does not continue the chain;" "$T/try.log" &&
    cmp -s "$A/$L1" "$T/damaged"
ok $? "7: ... line 3 (seq 4) named, nothing appended"
# a line that is not a record
cp "$T/l1.saved" "$A/$L1"
sed -i '3s/.*/hello/' "$A/$L1"
cp "$A/$L1" "$T/damaged"
try_fail "$A" $QUIET
is "7: malformed line: exit 1" "$rc" 1
grep -q "^writer\[[0-9]*\]: $L1 line 3: .*; the log was damaged or modified" "$T/try.log" &&
    cmp -s "$A/$L1" "$T/damaged"
ok $? "7: ... line 3 named, nothing appended"
cp "$T/l1.saved" "$A/$L1"
verify_ok "7: the restored log verifies again" "$A" \
    "audit chain intact: $R records (seq 1 to $R) in 1 file, $(nck)"

# --- 8. keys ------------------------------------------------------------

cp "$A/audit.pub" "$T/pub.saved"
cp "$A/audit.key" "$T/key.saved"
"$MKAUDITLOG" -K -d "$T/otherkey" -e another-key >/dev/null 2>&1 &&
    [ -s "$T/otherkey/audit.pub" ] && ! cmp -s "$T/otherkey/audit.pub" "$T/pub.saved"
ok $? "8: another key pair made"
cp "$T/otherkey/audit.pub" "$A/audit.pub"
try_fail "$A" $QUIET
is "8: mismatched audit.pub: exit 1" "$rc" 1
is "8: ... with a message naming both files" "$(cat "$T/try.log")" \
    "parent[$(cat "$T/try.pid")]: $T/audit.pub does not match $A/audit.pub (the log's first public key): the log directory or the trusted key was replaced; find out which, and move the wrong one aside"
cmp -s "$A/$L1" "$T/l1.saved" && cmp -s "$A/audit.pub" "$T/otherkey/audit.pub"
ok $? "8: ... the log and the wrong audit.pub are left alone"
rm "$A/audit.pub"
try "$A" $QUIET
is "8: audit.pub missing: starts" "$rc" running
try_stop
cmp -s "$A/audit.pub" "$T/pub.saved" &&
    [ "$(stat -c '%a %U %G' "$A/audit.pub")" = "444 root lens" ]
ok $? "8: ... and publishes the same public key again (from the trusted copy), 0444"
# that run stepped the key: the saved one is erased history now
cp "$A/audit.key" "$T/key.saved"
echo garbage >"$A/audit.key"
try_fail "$A" $QUIET
is "8: malformed audit.key: exit 1" "$rc" 1
grep -q "^writer\[[0-9]*\]: no secret key for the next checkpoint: the log's last checkpoint names key [0-9a-f]*, but audit.key holds key none and audit.key.next key none" "$T/try.log"
ok $? "8: ... the writer names the key the log wants and the files it has"
cp "$T/key.saved" "$A/audit.key"
# the secret key lost while a log exists: a new key would orphan the
# log's signatures, so lensauditd refuses and leaves everything alone
NOKEY_MSG="audit.key is missing but the directory already holds a log or audit.pub; restore the key, or move the log aside to start a new chain"
rm -rf "$T/nokey"
cp -a "$A" "$T/nokey"
cp "$T/audit.pub" "$T/nokey.pub"
rm "$T/nokey/audit.key"
show "$T/nokey"
RK=$(wc -l <"$T/rec")
try_fail "$T/nokey" $QUIET
is "8: audit.key missing with a log and audit.pub: exit 1, named" \
    "$rc|$(cat "$T/try.log")" \
    "1|parent[$(cat "$T/try.pid")]: $T/nokey/$NOKEY_MSG"
[ ! -e "$T/nokey/audit.key" ] && cmp -s "$T/nokey/audit.pub" "$T/pub.saved" &&
    cmp -s "$T/nokey/$L1" "$A/$L1"
ok $? "8: ... no key made, audit.pub and the log unchanged"
verify_ok "8: ... the log still verifies with its audit.pub" "$T/nokey" \
    "audit chain intact: $RK records (seq 1 to $RK) in 1 file, $(nck)"
rm "$T/nokey/audit.pub"
try_fail "$T/nokey" $QUIET
is "8: audit.key and audit.pub missing, a log present: exit 1, named" \
    "$rc|$(cat "$T/try.log")" \
    "1|parent[$(cat "$T/try.pid")]: $T/nokey/$NOKEY_MSG"

# --- 9. socket, users, options ---------------------------------------------

auditd_start $QUIET
mark
is "9: default users: _lensnet may use source lensnet" \
    "$(as _lensnet "$TOOLS/auditpeer" "$SOCK" hello lensnet | tr '\n' ' ')" \
    "welcome 0 open "
is "9: default users: _lensnet may not use source lensvmm" \
    "$(as _lensnet "$TOOLS/auditpeer" "$SOCK" hello lensvmm | tr '\n' ' ')" \
    "closed "
since | grep -q "^listener\[[0-9]*\]: client [0-9]* (uid $(id -u _lensnet), pid [0-9]*): source name not allowed for this user; disconnected\$"
ok $? "9: ... the listener logs why"
is "9: default users: nobody is refused" \
    "$(as nobody "$TOOLS/auditpeer" "$SOCK" hello nobody | tr '\n' ' ')" \
    "closed "
since | grep -q "^listener\[[0-9]*\]: refused connection from uid 65534 gid [0-9]* (pid [0-9]*): not root or an audit client user\$"
ok $? "9: ... the listener logs the uid"
auditd_stop
auditd_start -u nobody $QUIET
mark
is "9: -u nobody: nobody may use source nobody" \
    "$(as nobody "$TOOLS/auditpeer" "$SOCK" hello nobody | tr '\n' ' ')" \
    "welcome 0 open "
is "9: -u nobody replaces the default list: _lensnet is refused" \
    "$(as _lensnet "$TOOLS/auditpeer" "$SOCK" hello lensnet | tr '\n' ' ')" \
    "closed "
since | grep -q "^listener\[[0-9]*\]: refused connection from uid $(id -u _lensnet) gid [0-9]* (pid [0-9]*): not root or an audit client user\$"
ok $? "9: ... the listener logs the uid"
auditd_stop

# -u with a user that does not exist
"$AUDITD" -d -D "$T/nouser" -s "$T/nouser.sock" -u _lensvmm,nosuchuser \
    >"$T/out" 2>"$T/err"
rc=$?
is "9: -u nosuchuser (-d): exit 1, message names the user" \
    "$rc|$(sed 's/^parent\[[0-9]*\]: //' "$T/err")" \
    "1|-u: user nosuchuser does not exist (etc/lens-users.sh creates the Lens users)"
[ ! -e "$T/nouser" ] && [ ! -e "$T/nouser.sock" ]
ok $? "9: ... nothing created"
# without -d too: errors before daemonizing go to stderr, not syslog
"$AUDITD" -D "$T/nouser" -s "$T/nouser.sock" -u nosuchuser \
    >"$T/out" 2>"$T/err"
rc=$?
is "9: -u nosuchuser without -d: exit 1, the message on stderr" \
    "$rc|$(sed 's/^parent\[[0-9]*\]: //' "$T/err")" \
    "1|-u: user nosuchuser does not exist (etc/lens-users.sh creates the Lens users)"

# no process of any lensauditd above died of its seccomp filter (in a
# sanitizer build, LeakSanitizer's exit check would: clone, ptrace)
is "9: no lensauditd process was killed by SIGSYS in this run" \
    "$(grep 'killed by SIGSYS' "$T/auditd.log")" ""

# option errors: exit 2, the flag and the value named, nothing created
NUM_N='expected a number from 1 to 100000000'
NUM_R='expected a number from 65536 to 1099511627776 (k, m, g suffixes allowed)'
NUM_T='expected a number from 1 to 86400'
NUM_F='expected a number from 0 to 1125899906842624 (k, m, g suffixes allowed)'
for c in "n|0|$NUM_N" "n|100000001|$NUM_N" "n|x|$NUM_N" "n|-1|$NUM_N" \
    "n|5k|$NUM_N" "r|65535|$NUM_R" "r|63k|$NUM_R" "r|1025g|$NUM_R" \
    "r|1t|$NUM_R" "t|0|$NUM_T" "t|86401|$NUM_T" "t|1.5|$NUM_T" \
    "F|1t|$NUM_F" "F|-1|$NUM_F"; do
	flag=${c%%|*}
	rest=${c#*|}
	val=${rest%%|*}
	msg=${rest#*|}
	timeout 10 "$AUDITD" -d -D "$T/opt" -s "$T/opt.sock" "-$flag" "$val" \
	    >"$T/out" 2>"$T/err"
	rc=$?
	is "9: -$flag $val: exit 2, named" "$rc|$(cat "$T/err")" \
	    "2|lensauditd: -$flag $val: $msg"
done
timeout 10 "$AUDITD" -d -D relative/dir -s "$T/opt.sock" >"$T/out" 2>"$T/err"
is "9: -D relative/dir: exit 2, named" "$?|$(cat "$T/err")" \
    "2|lensauditd: -D relative/dir: need an absolute path"
long=$T/$(printf '%0120d' 0).sock
timeout 10 "$AUDITD" -d -D "$T/opt" -s "$long" >"$T/out" 2>"$T/err"
is "9: -s with a path too long: exit 2, named" "$?|$(cat "$T/err")" \
    "2|lensauditd: -s $long: path too long"
timeout 10 "$AUDITD" -d -D "$T/opt" -s "$T/opt.sock" -x >"$T/out" 2>"$T/err"
is "9: unknown option: exit 2 and the usage" "$?|$(tail -n 1 "$T/err" | cut -c1-21)" \
    "2|usage: lensauditd [-d"
timeout 10 "$AUDITD" -d -D "$T/opt" -s "$T/opt.sock" extra >"$T/out" 2>"$T/err"
is "9: an operand: exit 2 and the usage" "$?|$(cut -c1-21 "$T/err")" \
    "2|usage: lensauditd [-d"
[ ! -e "$T/opt" ] && [ ! -e "$T/opt.sock" ]
ok $? "9: option errors create nothing"

tap_done
