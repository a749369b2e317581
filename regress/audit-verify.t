#!/bin/sh
# lensctl audit verify and audit show on logs written by mkauditlog:
# intact, and tampered with in each way lens-audit(5) says is detected.
# Every verify failure is checked for the exact record and reason.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

tap_plan 47
tmpdir_setup

require_built "$LENSCTL" "$MKAUDITLOG"

L=lens-audit.000001.log

# run lensctl ARGS: sets $rc, $T/out, $T/err; audit verify gets the
# trusted key $T/trusted.pub first (a later --pubkey wins)
run() {
	if [ "$#" -ge 2 ] && [ "$1 $2" = "audit verify" ]; then
		shift 2
		set -- audit verify --pubkey "$T/trusted.pub" "$@"
	fi
	"$LENSCTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# a fresh copy of the base log in $T/d
fresh() {
	rm -rf "$T/d"
	cp -a "$T/base" "$T/d"
}

# expect_err DESC WANT [verify args]: verify of $T/d exits 1 with WANT as
# its first line on stderr
expect_err() {
	_desc=$1
	_want=$2
	shift 2
	run audit verify --dir "$T/d" "$@"
	_got=$(head -n 1 "$T/err")
	if [ "$rc" -eq 1 ] && [ "$_got" = "$_want" ]; then
		ok 0 "$_desc"
	else
		ok 1 "$_desc"
		diag "exit $rc (want 1)" "got:  $_got" "want: $_want"
	fi
}

# same_file DESC GOT WANT: byte-identical files
same_file() {
	if cmp -s "$2" "$3" && [ -s "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diff "$3" "$2" | head -n 10 | sed 's/^/# /'
	fi
}

# the first seq of a log file
first_seq() {
	sed -n '1s/^{"seq":\([0-9]*\),.*/\1/p' "$1"
}

# 100 events, a checkpoint after every 10: 110 lines, line n is seq n,
# the checkpoints are seq 11, 22, ... 110
"$MKAUDITLOG" -d "$T/base" -k -e regress-seed -n 100 -c 10 ||
    { echo "Bail out! mkauditlog failed"; exit 1; }
KEY=$(sed 's/.*"key":"\([0-9a-f]*\)".*/\1/' "$T/base/lens-audit.head")
# the trusted copy of the key, outside the log directory
cp "$T/base/audit.pub" "$T/trusted.pub"

# 1-4: intact
fresh
run audit verify --dir "$T/d"
ok $rc "intact log verifies"
grep -qx 'audit chain intact: 110 records (seq 1 to 110) in 1 file, 10 checkpoints' "$T/out"
ok $? "summary counts records, files and checkpoints"
grep -qx 'last signed seq 109, 0 unsigned records after the last checkpoint' "$T/out" &&
    grep -qx 'head file matches: checkpoint after seq 109' "$T/out"
ok $? "summary names the last signed seq and the head file"
run audit verify --quiet --dir "$T/d"
[ "$rc" -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ]
ok $? "--quiet prints nothing for an intact log"

# 5-6: the format against independent implementations
if command -v b2sum >/dev/null && command -v xxd >/dev/null; then
	line=$(sed -n 2p "$T/d/$L")
	prev=$(printf %s "$line" | sed 's/.*"prev":"\([0-9a-f]*\)".*/\1/')
	want=$(printf %s "$line" | sed 's/.*"hash":"\([0-9a-f]*\)".*/\1/')
	got=$({ printf %s "$prev" | xxd -r -p
	    printf %s "${line%%,\"hash\":*}"; } | b2sum -l 256 | cut -c1-64)
	[ "$got" = "$want" ]
	ok $? "hash is BLAKE2b-256(prev || line up to ,\"hash\") (b2sum)"
else
	skip "no b2sum or xxd"
fi
if command -v openssl >/dev/null && command -v xxd >/dev/null; then
	line=$(sed -n 11p "$T/d/$L")
	head=$(printf %s "$line" | sed 's/.*{"head":"\([0-9a-f]*\)".*/\1/')
	sig=$(printf %s "$line" | sed 's/.*"sig":"\([0-9a-f]*\)".*/\1/')
	{ printf lens-audit-ckpt2; xxd -r -p "$T/d/audit.logid"
	    printf '%016x' 10 | xxd -r -p
	    printf %s "$head" | xxd -r -p; } >"$T/msg"
	{ printf 302a300506032b6570032100; cut -d' ' -f2 "$T/d/audit.pub"; } |
	    xxd -r -p >"$T/pk.der"
	printf %s "$sig" | xxd -r -p >"$T/sig"
	openssl pkeyutl -verify -pubin -inkey "$T/pk.der" -keyform DER \
	    -rawin -in "$T/msg" -sigfile "$T/sig" >/dev/null 2>&1
	ok $? "checkpoint signature verifies with openssl (Ed25519)"
else
	skip "no openssl or xxd"
fi

# 7-8: edited
fresh
sed -i '50s/[a-z]"},"prev"/X"},"prev"/' "$T/d/$L"
expect_err "edited detail byte: that record, edited" \
    "lensctl: $L:50: seq 50: record edited (content does not match its hash)"
fresh
sed -i '34s/"sandbox":"sb-[0-9]"/"sandbox":"sb-9"/' "$T/d/$L"
expect_err "edited sandbox: that record, edited" \
    "lensctl: $L:34: seq 34: record edited (content does not match its hash)"

# 9-10: deleted
fresh
sed -i 50d "$T/d/$L"
expect_err "deleted record: the missing seq, deleted" \
    "lensctl: $L:50: seq 51: record deleted (seq 50 is missing)"
fresh
sed -i 50,52d "$T/d/$L"
expect_err "three deleted records: the missing seqs, deleted" \
    "lensctl: $L:50: seq 53: records deleted (seq 50 to 52 are missing)"

# 11-14: inserted
fresh
sed -n 20p "$T/d/$L" >"$T/line"
sed -i "50r $T/line" "$T/d/$L"
expect_err "copy of an earlier record: inserted" \
    "lensctl: $L:51: seq 20: record inserted (seq 20 is not above the previous record's seq 50)"
fresh
sed -n 50p "$T/d/$L" >"$T/line"
sed -i "50r $T/line" "$T/d/$L"
expect_err "duplicated record: inserted" \
    "lensctl: $L:51: seq 50: record inserted (a copy of the record before it)"
fresh
sed -n 50p "$T/d/$L" | sed 's/"pad":"/&FORGED/' >"$T/line"
sed -i "49r $T/line" "$T/d/$L"
"$MKAUDITLOG" -R 50-50 "$T/d/$L"
expect_err "forged record with recomputed prev and hash: inserted" \
    "lensctl: $L:50: seq 50: record inserted (the records after it chain to the record before it)"
fresh
sed -n 50p "$T/d/$L" | sed 's/^{"seq":50,/{"seq":1000,/' >"$T/line"
sed -i "50r $T/line" "$T/d/$L"
"$MKAUDITLOG" -R 51-51 "$T/d/$L"
expect_err "forged record with a made-up seq: inserted" \
    "lensctl: $L:51: seq 1000: record inserted (seq out of place; the next record chains to the record before it)"

# 15: reordered
fresh
sed -i '50{h;d};51G' "$T/d/$L"
expect_err "two records swapped: reordered" \
    "lensctl: $L:50: seq 51: records reordered (seq 50 comes after it)"

# 16-18: truncated
fresh
sed -i '100,$d' "$T/d/$L"
expect_err "log cut after a checkpoint: truncated (head file)" \
    "lensctl: $L:99: seq 99: log truncated (it ends at seq 99; lens-audit.head names the checkpoint at seq 110)"
rm "$T/d/lens-audit.head"
run audit verify --lenient --dir "$T/d"
[ "$rc" -eq 0 ] && grep -qx "lensctl: warning: no lens-audit.head: truncation after the last checkpoint cannot be detected" "$T/err"
ok $? "--lenient: without the head file the same cut is only a warning"
fresh
head -c -30 "$T/base/$L" >"$T/d/$L"
expect_err "torn last line: truncated" \
    "lensctl: $L:110: seq 110: log truncated (last line torn: no newline at the end of the file)"

# 19-20: signatures
fresh
sed -i '55{s/"sig":"0/"sig":"1/;t;s/"sig":"[1-9a-f]/"sig":"0/}' "$T/d/$L"
"$MKAUDITLOG" -R 55 "$T/d/$L"
expect_err "modified checkpoint signature (chain recomputed): bad signature" \
    "lensctl: $L:55: seq 55: bad signature (checkpoint signature does not verify with key $KEY)"
"$MKAUDITLOG" -d "$T/other" -k -e another-key -n 1 -c 1
KEY2=$(sed 's/.*"key":"\([0-9a-f]*\)".*/\1/' "$T/other/lens-audit.head")
fresh
rm "$T/d/audit.pub"
expect_err "verify with another public key: wrong key" \
    "lensctl: $L:11: seq 11: wrong key (checkpoint signed by key $KEY, public key is $KEY2)" \
    --pubkey "$T/other/audit.pub"

# 21-22: the head file
fresh
sed -i 's/"head_seq":109,/"head_seq":98,/' "$T/d/lens-audit.head"
expect_err "head file with another head_seq: bad signature" \
    "lensctl: lens-audit.head:1: bad signature (head file signature does not verify with key $KEY)"
fresh
printf 'garbage\n' >"$T/d/lens-audit.head"
expect_err "malformed head file" \
    "lensctl: lens-audit.head:1: malformed head file (does not start with {\"file\":)"

# 23: malformed line
fresh
sed -i '10a hello' "$T/d/$L"
expect_err "a line that is not a record: malformed" \
    "lensctl: $L:11: malformed record (line too short)"

# 24-28: several files
"$MKAUDITLOG" -d "$T/multi" -k -e regress-seed -n 300 -c 25 -f 3
run audit verify --dir "$T/multi"
[ "$rc" -eq 0 ] && grep -qx 'audit chain intact: 312 records (seq 1 to 312) in 3 files, 12 checkpoints' "$T/out"
ok $? "three-file chain verifies"
M=$T/multi
s2=$(first_seq "$M/lens-audit.000002.log")
s3=$(first_seq "$M/lens-audit.000003.log")
rm -rf "$T/d"
cp -a "$M" "$T/d"
rm "$T/d/lens-audit.000002.log"
expect_err "file missing from the middle: deleted, file named" \
    "lensctl: lens-audit.000003.log:1: seq $s3: records deleted (seq $s2 to $((s3 - 1)) are missing; lens-audit.000002.log is missing)"
run audit verify "$M/lens-audit.000002.log" "$M/lens-audit.000003.log"
grep -qx "lensctl: $M/lens-audit.000002.log:1: seq $s2: records deleted (seq 1 to $((s2 - 1)) are missing; lens-audit.000001.log is missing)" "$T/err"
ok $? "chain not starting at seq 1: deleted"
run audit verify --first-seq "$s2" "$M/lens-audit.000002.log" "$M/lens-audit.000003.log"
[ "$rc" -eq 0 ] && grep -q "(seq $s2 to 312) in 2 files" "$T/out"
ok $? "--first-seq verifies a later part of the chain"
rm -rf "$T/d"
cp -a "$M" "$T/d"
sed -n 1p "$T/d/lens-audit.000003.log" >"$T/line"
sed -i 1d "$T/d/lens-audit.000003.log"
cat "$T/line" >>"$T/d/lens-audit.000002.log"
run audit verify --dir "$T/d"
ok $rc "records moved across a file boundary still chain"

# 29-31: unsigned tail, --strict
"$MKAUDITLOG" -d "$T/strict" -k -e regress-seed -n 20 -c 10 -u 2
run audit verify --lenient --dir "$T/strict"
[ "$rc" -eq 0 ] && grep -qx "lensctl: warning: 2 records after seq 22 are not covered by a signature" "$T/err"
ok $? "--lenient: old records after the last checkpoint: a warning"
sed -i '24s/"details":{"i":\([0-9]*\),"pad":"\([a-z]*\)"}/"details":{"pad":"\2","i":\1}/' \
    "$T/strict/$L"
"$MKAUDITLOG" -R 24 "$T/strict/$L"
run audit verify --lenient --dir "$T/strict"
ok $rc "details with unsorted keys pass the structural check"
rm -rf "$T/d"
cp -a "$T/strict" "$T/d"
expect_err "--strict: details not canonical JSON" \
    "lensctl: $L:24: seq 24: malformed record (details: not canonical (compact, sorted keys, ASCII))" \
    --strict

# 32-34: usage and unreadable input
run
[ "$rc" -eq 2 ] && grep -q '^usage: lensctl' "$T/err"
ok $? "no command: usage, exit 2"
run audit verify --bogus
[ "$rc" -eq 2 ] && grep -q "unrecognized option '--bogus'" "$T/err"
ok $? "unknown option: exit 2"
fresh
mkdir "$T/d/lens-audit.000002.log"
run audit verify --dir "$T/d"
[ "$rc" -eq 2 ] && grep -qx "lensctl: lens-audit.000002.log: Is a directory" "$T/err"
ok $? "unreadable log: exit 2, file and errno named"

# 35-36: missing key, bad key
fresh
run audit verify --dir "$T/d" --pubkey "$T/nonexistent.pub"
[ "$rc" -eq 2 ] && grep -qx "lensctl: $T/nonexistent.pub: No such file or directory" "$T/err"
ok $? "missing public key: exit 2, file named"
echo "ed25519 xyz" >"$T/bad.pub"
run audit verify --dir "$T/d" --pubkey "$T/bad.pub"
[ "$rc" -eq 2 ] && grep -q "bad.pub: not an ed25519 public key" "$T/err"
ok $? "malformed public key: exit 2"

# 37-47: audit show
cat "$M"/lens-audit.00000[123].log >"$T/all"
# the human layout, by an independent route
human() {
	sed 's/^{"seq":\([0-9]*\),"time":"\([^"]*\)","sandbox":"\([^"]*\)","source":"\([^"]*\)","id":[0-9]*,"type":"\([^"]*\)","details":\(.*\),"prev":.*$/\2 \1 \4 \3 \5 \6/' |
	    sed 's/^\([^ ]* [^ ]* [^ ]*\)  /\1 - /'
}
run audit show --dir "$M" --json
same_file "show --json prints every line in order" "$T/out" "$T/all"
run audit show --dir "$M" --sandbox sb-2 --json
grep '"sandbox":"sb-2"' "$T/all" >"$T/want"
same_file "show --sandbox" "$T/out" "$T/want"
run audit show --dir "$M" --type net.deny
grep '"type":"net.deny"' "$T/all" | human >"$T/want"
same_file "show --type, human output" "$T/out" "$T/want"
run audit show --dir "$M" --type audit.checkpoint
grep '"type":"audit.checkpoint"' "$T/all" | human >"$T/want"
same_file "show: no sandbox is printed as -" "$T/out" "$T/want"
run audit show --dir "$M" --since 2026-01-01T01:00:00.05+01:00 --json
sed -n '51,$p' "$T/all" >"$T/want"
same_file "show --since with an offset and a fraction" "$T/out" "$T/want"
run audit show --dir "$M" --since 2026-01-01T00:00:00.0505Z --json
sed -n '52,$p' "$T/all" >"$T/want"
same_file "show --since with sub-millisecond precision" "$T/out" "$T/want"
run audit show --dir "$M" --sandbox sb-1 --type 'net.*' \
    --since 2026-01-01T00:00:00.2Z --json
sed -n '201,$p' "$T/all" | grep '"sandbox":"sb-1"' |
    grep -E '"type":"net\.(allow|deny)"' >"$T/want"
same_file "show with every filter and a type pattern" "$T/out" "$T/want"
run audit show --json "$M/lens-audit.000002.log"
same_file "show of one named log" "$T/out" "$M/lens-audit.000002.log"
run audit show --dir "$M" --since yesterday
[ "$rc" -eq 2 ] && grep -q "^lensctl: --since: not an RFC 3339 time: yesterday" "$T/err"
ok $? "show --since with a bad time: exit 2"
run audit show --json "$T/strict/$L"
[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/strict/$L"
ok $? "show prints details that are JSON but not canonical"
fresh
sed -i '10a hello' "$T/d/$L"
run audit show --dir "$T/d" --json
[ "$rc" -eq 1 ] && [ "$(cat "$T/err")" = "lensctl: $L:11: malformed record (line too short)" ] &&
    [ "$(wc -l <"$T/out")" -eq 110 ]
ok $? "show skips and reports a line that is not a record, exit 1"

tap_done
