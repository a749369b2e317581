#!/bin/sh
# lenscredd's credential store through lensctl cred add/ls/rotate/rm:
# the value read from standard input or --from-file only (never argv,
# never the environment), audited (cred.add/rotate/rm, names only; no
# change while lensauditd is away), sealed one record a file (0600 _lenscred,
# never in clear, a nonce each, the name bound inside), root's only
# (_lensnet and a group-lens user refused), a tampered, renamed,
# truncated, re-versioned or foreign record refused naming the file
# while lenscredd serves on, and the store kept across a restart.
# Private paths only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
CREDD=$OBJ/regress/lenscredd
CP=$TOOLS/credpeer
credd_require "$CREDD" "$CP" "$LENSCTL"
command -v python3 >/dev/null || { echo "1..0 # SKIP no python3"; exit 0; }
auditd_require

tap_plan 59
tmpdir_setup
chmod 0755 "$T"
at_exit 'credd_stop; auditd_stop; [ -n "${LP:-}" ] && kill $LP 2>/dev/null'
S=$T/cred.sock
C=$T/cred
D=$C/secrets

cred() {	# lensctl cred CMD on this lenscredd
	_c=$1; shift
	"$LENSCTL" cred "$_c" -k "$S" "$@"
}
hex() {		# the bytes of a string, in hex
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}
# flip FILE OFFSET: xor one byte with 0x01
flip() {
	python3 -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[o] ^= 1
open(p, "r+b").write(b)' "$1" "$2"
}
val() {		# the value of record NAME, read with the master key
	"$CP" credval "$C/master.key" "$D/$1" | awk '{ print $4 }'
}
# fresh random values; none of them is ever on a command line
rnd() {
	printf 'lens-secret-%s' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}
V1=$(rnd) V2=$(rnd) V3=$(rnd) V4=$(rnd)
# credd_audited BEFORE: lenscredd said "audit: connected" more than
# BEFORE times (its changes are refused until then)
credd_audited() {
	wait_until 20 sh -c "[ \$(grep -c 'parent.*audit: connected to lensauditd' \
	    '$T/credd.log') -gt $1 ]"
}
audit_show() {
	"$LENSCTL" audit show --dir "$T/audit" 2>&1
}

auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
credd_audited 0 || { echo "Bail out! lenscredd did not reach lensauditd"; exit 1; }
[ "$(stat -c '%U %a' "$D")" = "_lenscred 700" ]
ok $? "secrets/ is 0700 _lenscred"

# ---- add from standard input and from a file
printf '%s' "$V1" | cred add api-token
ok $? "cred add api-token < stdin"
printf '%s' "$V2" >"$T/v2"
cred add --from-file "$T/v2" file-token
ok $? "cred add --from-file file-token"
[ "$(stat -c '%U %G %a' "$D/api-token")" = "_lenscred _lenscred 600" ] &&
    [ "$(stat -c '%U %G %a' "$D/file-token")" = "_lenscred _lenscred 600" ]
ok $? "records are 0600 _lenscred ($(stat -c '%U %a' "$D/api-token"))"
[ "$(head -c 8 "$D/api-token")" = "LENSCR1" ]
ok $? "a record starts with its versioned header LENSCR1"
[ "$(val api-token)" = "$(hex "$V1")" ] && [ "$(val file-token)" = "$(hex "$V2")" ]
ok $? "the records open with the master key to the values given, byte for byte"
! grep -raF -e "$V1" -e "$V2" "$C" "$T/credd.log"
ok $? "neither value is in clear in the state directory or the log (grep -r)"
[ "$(od -An -tx1 -j8 -N24 "$D/api-token")" != "$(od -An -tx1 -j8 -N24 "$D/file-token")" ]
ok $? "each record has its own nonce"

# ---- the value never on a command line or in the environment: lensctl
# blocks opening a FIFO while its argv and environment are read
mkfifo "$T/fifo"
"$LENSCTL" cred add -k "$S" --from-file "$T/fifo" fifo-token &
LP=$!
wait_until 10 grep -q -- --from-file "/proc/$LP/cmdline"
ok $? "lensctl cred add --from-file FIFO is running (pid $LP)"
# (the pattern in a file: a grep given it as an argument would be in ps)
printf '%s\n' "$V4" >"$T/pat"
ps -eo args >"$T/ps.out"
! tr '\0' '\n' <"/proc/$LP/cmdline" | grep -qFf "$T/pat" &&
    grep -q 'lensctl cred add' "$T/ps.out" && ! grep -qFf "$T/pat" "$T/ps.out"
r1=$?
printf '%s' "$V4" >"$T/fifo"
wait $LP
r2=$?
LP=
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$(val fifo-token)" = "$(hex "$V4")" ]
ok $? "the value written to the FIFO is stored, and was in no argv (ps) while lensctl ran"
out=$(cred add argv-token "$V1" 2>&1)
r=$?
[ $r -eq 2 ] && [ ! -e "$D/argv-token" ]
ok $? "a value as an argument is a usage error, nothing stored (exit $r)"

# ---- values: empty, too long, binary
out=$(cred add empty </dev/null 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q 'the value is empty' && [ ! -e "$D/empty" ]
ok $? "an empty value is refused: $out"
head -c 32769 /dev/zero | tr '\0' x >"$T/big"
out=$(cred add --from-file "$T/big" big 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q 'longer than 32768 bytes' && [ ! -e "$D/big" ]
ok $? "a value of 32769 bytes is refused: $out"
head -c 32768 "$T/big" | cred add max
ok $? "a value of 32768 bytes is stored"
printf 'a\000b\nc' | cred add binary && [ "$(val binary)" = 6100620a63 ]
ok $? "NUL bytes and newlines are kept as given ($(val binary))"

# ---- names
for bad in '../x' '.hidden' 'a/b' '_x' "$(printf 'n%.0s' $(seq 65))"; do
	out=$(printf v | cred add "$bad" 2>&1)
	[ $? -eq 2 ] && echo "$out" | grep -q 'not a credential name'
	ok $? "name '$bad' refused by lensctl: $out"
done
out=$("$CP" "$S" raw 4300000b 72 '../x' | head -n 1)
echo "$out" | grep -q '^error 0x4300000b credential "*\.\./x"*: not a credential name'
ok $? "... and by the vault (RM ../x sent raw): $out"
ls "$D" >"$T/ls.out"
! grep -qv -e '^api-token$' -e '^file-token$' -e '^fifo-token$' -e '^max$' -e '^binary$' "$T/ls.out"
ok $? "secrets/ holds the five records and nothing else: $(tr '\n' ' ' <"$T/ls.out")"

# ---- ls, rotate, rm
cred ls >"$T/ls1" 2>"$T/ls1.err"	# stderr: no lensvmm for bindings
r=$?
[ $r -eq 0 ] && [ "$(awk 'NR > 1 { print $1 }' "$T/ls1" | tr '\n' ' ')" = "api-token binary fifo-token file-token max " ] &&
    awk '$1 == "api-token" { exit !($2 ~ /^20[0-9-]*T[0-9:]*Z$/ && $3 == "-") }' "$T/ls1"
ok $? "cred ls: the names sorted, created times, never rotated"
! grep -qF -e "$V1" -e "$V2" -e "$V4" "$T/ls1" "$T/ls1.err"
ok $? "... and no value"
cp -p "$D/api-token" "$T/api-before"
created=$(awk '$1 == "api-token" { print $2 }' "$T/ls1")
printf '%s' "$V3" | cred rotate api-token
ok $? "cred rotate api-token < stdin"
cred ls >"$T/ls2"
[ "$(val api-token)" = "$(hex "$V3")" ] &&
    awk -v c="$created" '$1 == "api-token" { exit !($2 == c && $3 ~ /^20/) }' "$T/ls2"
ok $? "rotate: the new value, created kept ($created), rotated set ($(awk '$1 == "api-token" { print $3 }' "$T/ls2"))"
[ "$(od -An -tx1 -j8 -N24 "$D/api-token")" != "$(od -An -tx1 -j8 -N24 "$T/api-before")" ]
ok $? "rotate: a new nonce"
out=$(printf x | cred add api-token 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'credential api-token exists' &&
    [ "$(val api-token)" = "$(hex "$V3")" ]
ok $? "add of an existing name refused, value kept: $out"
out=$(printf x | cred rotate nosuch 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'credential nosuch does not exist' && [ ! -e "$D/nosuch" ]
ok $? "rotate of a missing name refused: $out"
cred rm max && [ ! -e "$D/max" ] && ! cred ls | grep -q '^max '
ok $? "cred rm max: its record gone"
out=$(cred rm max 2>&1)
[ $? -eq 1 ] && [ "$out" = "lensctl: credential max does not exist" ]
ok $? "rm of a missing name is an error: $out"

# ---- audit: names and the client's pid, never a value
audit_show >"$T/audit.out"
grep -q ' lenscred - cred\.add {"credential":"api-token","pid":[0-9]*,"uid":0}$' "$T/audit.out" &&
    grep -q ' lenscred - cred\.add {"credential":"file-token",' "$T/audit.out" &&
    grep -q ' lenscred - cred\.rotate {"credential":"api-token",' "$T/audit.out" &&
    grep -q ' lenscred - cred\.rm {"credential":"max",' "$T/audit.out"
ok $? "audited: cred.add, cred.rotate, cred.rm with the name ($(grep -c 'cred\.' "$T/audit.out") events)"
# 5 adds, 1 rotate, 1 rm succeeded; the rest was refused
[ "$(grep -c ' lenscred - cred\.' "$T/audit.out")" -eq 7 ] &&
    [ "$(grep -c 'cred\.add {"credential":"api-token"' "$T/audit.out")" -eq 1 ] &&
    ! grep -q '"credential":"\(empty\|big\|nosuch\|argv-token\)"' "$T/audit.out"
ok $? "... exactly the 7 changes made, nothing for what was refused"
! grep -raF -e "$V1" -e "$V2" -e "$V3" -e "$V4" "$T/audit" "$T/audit.out"
ok $? "no value in the audit log"
# lensauditd away: the store is read-only
c=$(grep -c 'parent.*audit: connected to lensauditd' "$T/credd.log")
auditd_stop
wait_until 10 grep -q 'parent.*audit: lost lensauditd' "$T/credd.log"
out=$(printf x | cred add unaudited 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'lensauditd is not reachable: no change to the credential store without an audit log' &&
    [ ! -e "$D/unaudited" ]
ok $? "lensauditd away: add refused, nothing stored: $out"
out=$(cred rm api-token 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'lensauditd is not reachable' && [ -e "$D/api-token" ]
ok $? "lensauditd away: rm refused, the record kept"
cred ls >/dev/null
ok $? "lensauditd away: ls still works"
auditd_start || { echo "Bail out! lensauditd did not restart"; exit 1; }
credd_audited "$c" && printf x | cred add audited-again && cred rm audited-again
ok $? "lensauditd back: changes are made again"

# ---- who may: root only
for cmd in ls "rm api-token"; do
	out=$(credd_as _lensnet _lensnet '' "$LENSCTL" cred $cmd -k "$S" 2>&1)
	[ $? -eq 1 ] && echo "$out" | grep -q 'only root may add, rotate, remove or list stored credentials'
	ok $? "_lensnet: cred $cmd refused: $out"
done
out=$(printf '%s' "$V1" | credd_as _lensnet _lensnet '' "$LENSCTL" cred rotate -k "$S" api-token 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'only root may' && [ "$(val api-token)" = "$(hex "$V3")" ] &&
    [ -e "$D/api-token" ]
ok $? "_lensnet: rotate refused, the record unchanged"
wait_until 5 grep -q "listener.*client [0-9]* (uid $(id -u _lensnet), pid [0-9]*): refused request 0x4300000b: the credential store is root's only" "$T/credd.log"
ok $? "the listener logs the refusal with peer and type"
out=$(credd_as nobody nogroup lens "$LENSCTL" cred ls -k "$S" 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'closed the connection'
ok $? "uid nobody in group lens: refused at connect: $out"
out=$(credd_as _lenscred _lenscred '' "$LENSCTL" cred ls -k "$S" 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'closed the connection'
ok $? "lenscredd's own user: refused at connect: $out"

# ---- damaged records: refused naming the file, lenscredd serves on
cp -p "$D/file-token" "$T/file-saved"
flip "$D/file-token" 60
out=$(cred ls 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q "credential file-token cannot be used: $D/file-token: the master key does not open it"
ok $? "a flipped byte in the box: $(echo "$out" | grep cannot)"
out=$(printf x | cred rotate file-token 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q "$D/file-token: the master key does not open it.*cred rm"
ok $? "rotate of the damaged record refused: $out"
cp -p "$T/file-saved" "$D/file-token"
flip "$D/file-token" 3
out=$(cred ls 2>&1)
echo "$out" | grep -q "$D/file-token: not a credential record (no LENSCR1 header)"
ok $? "a flipped byte in the header: $(echo "$out" | grep cannot)"
cp -p "$T/file-saved" "$D/file-token"
flip "$D/file-token" 6
out=$(cred ls 2>&1)
echo "$out" | grep -q "$D/file-token: a credential record of another version (0; this lenscredd reads 1)"
ok $? "another version: $(echo "$out" | grep cannot)"
cp -p "$T/file-saved" "$D/file-token"
truncate -s 60 "$D/file-token"
out=$(cred ls 2>&1)
echo "$out" | grep -q "$D/file-token: truncated: 60 bytes, a credential record has at least"
ok $? "a truncated record: $(echo "$out" | grep cannot)"
mv "$T/file-saved" "$D/file-token"
mv "$D/fifo-token" "$D/stolen"
out=$(cred ls 2>&1)
echo "$out" | grep -q "credential stolen cannot be used: $D/stolen: sealed for another name, not stolen"
ok $? "a record renamed to another name: $(echo "$out" | grep cannot)"
"$CP" "$S" create sb1 >/dev/null && cp -p "$C/ca/sb1.ca" "$D/sb1" &&
    printf 'LENSCR1\n' | dd of="$D/sb1" conv=notrunc status=none
out=$(cred ls 2>&1)
echo "$out" | grep -q "$D/sb1: sealed as another kind of record, not a credential record"
ok $? "a CA file relabelled as a credential: $(echo "$out" | grep 'sb1 cannot')"
mkfifo "$D/fifo" && chown _lenscred "$D/fifo"
out=$(cred ls 2>&1)
echo "$out" | grep -q "credential fifo cannot be used: $D/fifo: not a regular file"
ok $? "a FIFO among the records: refused, the vault does not hang: $(echo "$out" | grep 'fifo cannot')"
rm -f "$D/fifo"
kill -0 "$CREDD_PID" && [ "$(val file-token)" = "$(hex "$V2")" ] &&
    cred ls 2>/dev/null | grep -q '^file-token .*Z'
ok $? "lenscredd serves on; the restored record is sound again"
cred rm stolen && cred rm sb1 && cred ls >/dev/null
ok $? "damaged records can be removed; ls is clean again"

# ---- the value in memory: zeroed after use in every process
printf '%s' "$V1" | cred add mem-token
n0=$("$CP" memscan "$(credd_child vault)" "$(hex "$V1")")
n1=$("$CP" memscan "$(credd_child listener)" "$(hex "$V1")")
n2=$("$CP" memscan "$CREDD_PID" "$(hex "$V1")")
[ "$n0" = 0 ] && [ "$n1" = 0 ] && [ "$n2" = 0 ]
ok $? "after add: the value in no process of lenscredd (vault $n0, listener $n1, parent $n2)"

# ---- restart keeps the store
cred ls >"$T/ls-before"
credd_stop
ok $? "SIGTERM: lenscredd exits 0"
c=$(grep -c 'parent.*audit: connected to lensauditd' "$T/credd.log")
credd_start || { echo "Bail out! lenscredd did not restart"; exit 1; }
credd_audited "$c"
cred ls >"$T/ls-after" && cmp -s "$T/ls-before" "$T/ls-after" &&
    [ "$(val api-token)" = "$(hex "$V3")" ]
ok $? "restart: the same credentials and times, values intact"
grep -q 'vault.*4 credentials in' "$T/credd.log"
ok $? "restart: the vault checks the 4 records"
credd_stop
mv "$C/master.key" "$T/master.saved"
rm -rf "$C/ca"/*
timeout 20 "$CREDD" -d -D "$C" -s "$S" >"$T/refuse.log" 2>&1
r=$?
[ $r -eq 1 ] && grep -q 'master.key is missing but .*/secrets holds sealed credentials' "$T/refuse.log" &&
    [ ! -e "$C/master.key" ]
ok $? "a missing master key beside sealed credentials: refused, none made (exit $r)"
tap_done
