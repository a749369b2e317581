#!/bin/sh
# lenscredd end to end, with credpeer as its client and openssl as the
# TLS peers: the sandbox CA and its leaves (verified, a real handshake,
# the name checked), the requests it refuses (unknown sandbox, bad
# names, wrong sizes, a peer that is not root or _lensnet, a member of
# group lens too), its privilege separation (the vault: _lenscred, no
# capability, seccomp without socket/connect, not dumpable), the CA key
# in the vault's memory only, and the master key (made on first start,
# refused when missing beside sealed CAs, of the wrong mode, owner or
# size, or another key; a restart keeps the CAs).  Private paths only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
CREDD=$OBJ/regress/lenscredd	# the SIGSYS and MSGSIZE hooks
CP=$TOOLS/credpeer
credd_require "$CREDD" "$CP"
command -v openssl >/dev/null || { echo "1..0 # SKIP no openssl"; exit 0; }

tap_plan 76
tmpdir_setup
chmod 0755 "$T"
at_exit 'credd_stop; [ -n "${SRV:-}" ] && kill $SRV 2>/dev/null'
S=$T/cred.sock
C=$T/cred

field() {	# field PID NAME
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
cp_() {		# credpeer on this lenscredd
	"$CP" "$S" "$@"
}
# epoch DATE-LINE: "notBefore=..." to seconds
epoch() {
	date -u -d "${1#*=}" +%s
}

# ---- first start
credd_start -L 20 || { echo "Bail out! lenscredd did not start"; exit 1; }
[ "$(stat -c '%U %a %s' "$C/master.key")" = "_lenscred 400 32" ]
ok $? "first start: master key made, 32 bytes, 0400 _lenscred ($(stat -c '%U %a %s' "$C/master.key"))"
[ "$(stat -c '%U %a' "$C")" = "_lenscred 700" ] &&
    [ "$(stat -c '%U %a' "$C/ca")" = "_lenscred 700" ]
ok $? "state directory and ca/ are 0700 _lenscred"

# ---- the CA
out=$(cp_ create sb1 "$T/ca.pem")
echo "$out" | grep -q '^ca created sb1 '
ok $? "CA_CREATE sb1: created ($out)"
openssl x509 -in "$T/ca.pem" -noout -text >"$T/ca.txt"
grep -A1 'Basic Constraints: critical' "$T/ca.txt" | grep -q 'CA:TRUE, pathlen:0' &&
    grep -A1 'Key Usage: critical' "$T/ca.txt" | grep -q 'Certificate Sign' &&
    grep -q 'ASN1 OID: prime256v1' "$T/ca.txt" &&
    grep -q 'Signature Algorithm: ecdsa-with-SHA256' "$T/ca.txt"
ok $? "the CA: P-256, CA:TRUE pathlen 0 (critical), keyCertSign"
nb=$(epoch "$(openssl x509 -in "$T/ca.pem" -noout -startdate)")
na=$(epoch "$(openssl x509 -in "$T/ca.pem" -noout -enddate)")
now=$(date +%s)
[ "$nb" -le "$now" ] && [ "$((na - nb))" -le $((90 * 86400 + 300)) ]
ok $? "the CA's validity is bounded: $(( (na - nb) / 86400 )) days"
out=$(cp_ create sb1 "$T/ca-again.pem")
echo "$out" | grep -q '^ca existing sb1 ' && cmp -s "$T/ca.pem" "$T/ca-again.pem"
ok $? "CA_CREATE sb1 again: the same CA ($out)"
cp_ get sb1 "$T/ca-get.pem" >/dev/null && cmp -s "$T/ca.pem" "$T/ca-get.pem"
ok $? "CA_GET sb1: the same CA"
[ -f "$C/ca/sb1.ca" ] && ! grep -q 'BEGIN' "$C/ca/sb1.ca" &&
    [ "$(head -c 8 "$C/ca/sb1.ca")" = LENSCA1 ]
ok $? "the CA is sealed in ca/sb1.ca (no PEM in it)"

# ---- a leaf
out=$(cp_ leaf sb1 api.example.test "$T/leaf.pem" "$T/key.pem")
echo "$out" | grep -q '^leaf sb1 '
ok $? "LEAF sb1 api.example.test ($out)"
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/leaf.pem")" -eq 2 ] &&
    grep -q 'BEGIN PRIVATE KEY' "$T/key.pem"
ok $? "the answer: chain (leaf, CA) and the leaf's PKCS#8 key"
openssl verify -CAfile "$T/ca.pem" "$T/leaf.pem" >"$T/verify.out" 2>&1
ok $? "openssl verify -CAfile ca.pem leaf.pem: $(cat "$T/verify.out")"
openssl x509 -in "$T/leaf.pem" -noout -text >"$T/leaf.txt"
grep -A1 'Subject Alternative Name' "$T/leaf.txt" | grep -q '^ *DNS:api.example.test$'
ok $? "leaf: SAN DNS:api.example.test"
grep -A1 'Basic Constraints: critical' "$T/leaf.txt" | grep -q 'CA:FALSE' &&
    grep -A1 'Extended Key Usage' "$T/leaf.txt" | grep -q 'TLS Web Server Authentication' &&
    grep -A1 'X509v3 Key Usage: critical' "$T/leaf.txt" | grep -q '^ *Digital Signature$'
ok $? "leaf: CA:FALSE, EKU serverAuth, keyUsage digitalSignature only"
nb=$(epoch "$(openssl x509 -in "$T/leaf.pem" -noout -startdate)")
na=$(epoch "$(openssl x509 -in "$T/leaf.pem" -noout -enddate)")
now=$(date +%s)
[ "$nb" -le "$now" ] && [ "$nb" -ge $((now - 600)) ] &&
    [ "$((na - nb))" -le 86400 ] && [ "$na" -gt "$now" ]
ok $? "leaf: valid now, not-before a few minutes back ($((now - nb)) s), for at most 24 h ($((na - nb)) s)"
s1=$(openssl x509 -in "$T/leaf.pem" -noout -serial)
cp_ leaf sb1 api.example.test "$T/leaf2.pem" "$T/key2.pem" >/dev/null
s2=$(openssl x509 -in "$T/leaf2.pem" -noout -serial)
echo "${s1#serial=}" | grep -Eq '^[4-7][0-9A-F]{31}$' && [ "$s1" != "$s2" ] &&
    ! cmp -s "$T/key.pem" "$T/key2.pem"
ok $? "leaf: random positive 128-bit serials, a new key each ($s1, $s2)"
out=$(cp_ leaf sb1 198.18.0.7 "$T/leafip.pem" "$T/keyip.pem")
openssl x509 -in "$T/leafip.pem" -noout -ext subjectAltName 2>/dev/null |
    grep -q 'IP Address:198.18.0.7' &&
    openssl verify -CAfile "$T/ca.pem" "$T/leafip.pem" >/dev/null 2>&1
ok $? "an IP literal gets an iPAddress SAN ($out)"
out=$(cp_ leaf sb1 API.Example.TEST "$T/leafuc.pem" "$T/keyuc.pem")
openssl x509 -in "$T/leafuc.pem" -noout -ext subjectAltName 2>/dev/null |
    grep -q 'DNS:api.example.test'
ok $? "a name is lowercased ($out)"

# ---- a real TLS handshake with the leaf (a relative socket path:
# openssl takes a path with "-" and "." in it for something else)
cd "$T" || exit 1
openssl s_server -unix tls.sock -cert "$T/leaf.pem" -key "$T/key.pem" \
    -naccept 3 -quiet >"$T/srv.log" 2>&1 </dev/null &
SRV=$!
wait_until 10 test -S "$T/tls.sock"
openssl s_client -unix tls.sock -CAfile "$T/ca.pem" \
    -verify_hostname api.example.test -verify_return_error -brief \
    </dev/null >"$T/cli.out" 2>&1
r=$?
[ $r -eq 0 ] && grep -q 'Verification: OK' "$T/cli.out" &&
    grep -q 'Verified peername: api.example.test' "$T/cli.out"
r2=$?
ok $r2 "TLS: s_client trusting the sandbox CA verifies api.example.test (exit $r)"
[ $r2 -eq 0 ] || { sed 's/^/#   /' "$T/cli.out"; sed 's/^/#   srv /' "$T/srv.log"; }
openssl s_client -unix tls.sock -CAfile "$T/ca.pem" \
    -verify_hostname other.example.test -verify_return_error -brief \
    </dev/null >"$T/cli2.out" 2>&1
r=$?
[ $r -ne 0 ] && grep -q 'hostname mismatch' "$T/cli2.out"
ok $? "TLS: the same leaf for other.example.test fails (exit $r, hostname mismatch)"
cp_ create sb2 "$T/ca2.pem" >/dev/null
openssl s_client -unix tls.sock -CAfile "$T/ca2.pem" \
    -verify_hostname api.example.test -verify_return_error -brief \
    </dev/null >"$T/cli3.out" 2>&1
r=$?
[ $r -ne 0 ] && ! cmp -s "$T/ca.pem" "$T/ca2.pem"
ok $? "TLS: another sandbox's CA does not trust sb1's leaf (exit $r)"
wait $SRV 2>/dev/null
SRV=

# ---- refused requests, each with the reason, the daemon serving on
out=$(cp_ leaf nosuch api.example.test)
[ "$out" = "error 0x43000004 sandbox nosuch has no CA" ]
ok $? "LEAF for an unknown sandbox: $out"
out=$(cp_ get nosuch)
[ "$out" = "error 0x43000002 sandbox nosuch has no CA" ]
ok $? "CA_GET for an unknown sandbox: $out"
for bad in '-bad.test' 'a..b.test' 'bad-.test' '01.2.3.4' '1.2.3' \
    'sp ace.test' '::ffff:1.2.3.4x' \
    "$(printf 'a%.0s' $(seq 64)).test"; do
	out=$(cp_ leaf sb1 "$bad")
	echo "$out" | grep -q "^error 0x43000004 sandbox sb1: name "
	ok $? "LEAF name '$bad' refused: $out"
done
long=$(printf 'abcdefghij.%.0s' $(seq 23))x
out=$(cp_ leaf sb1 "$long")
echo "$out" | grep -q '^error 0x43000004 sandbox sb1: name .*longer than 253'
ok $? "LEAF name of ${#long} bytes refused: $out"
unterm=$(printf 'a%.0s' $(seq 300))
out=$(cp_ leaf sb1 "$unterm")
[ "$out" = "error 0x43000004 name: not NUL-terminated" ]
ok $? "LEAF name filling its field unterminated refused: $out"
out=$(cp_ create '../x')
echo "$out" | grep -q '^error 0x43000001 sandbox "*\.\./x"*: not a sandbox id or name'
ok $? "CA_CREATE of sandbox ../x refused: $out"
out=$(cp_ raw 43000002 71 sb1 | tr '\n' '|')
[ "$out" = "error 0x43000002 bad request 0x43000002 (71 bytes): its size is 72|ca existing sb1 $(cp_ get sb1 | awk '{print $4}')|" ]
ok $? "a CA_GET one byte short: refused naming type and size, the next request on that connection answered ($out)"
out=$(cp_ raw 43000004 329 sb1 | head -n 1)
[ "$out" = "error 0x43000004 bad request 0x43000004 (329 bytes): its size is 328" ]
ok $? "a LEAF one byte long: refused ($out)"
out=$(cp_ raw 43000005 72 sb1 | head -n 1)
[ "$out" = "error 0x43000005 bad request 0x43000005 (72 bytes): unknown type" ]
ok $? "a reply type sent as a request: refused as unknown ($out)"
out=$(cp_ raw 43000004 65536 sb1 | head -n 1)
echo "$out" | grep -q '^error 0x43000004 bad request 0x43000004 (65536 bytes)'
ok $? "a 64 KiB LEAF: refused ($out)"
out=$(cp_ badframe)
[ "$out" = closed ]
ok $? "a malformed frame ends that connection ($out)"
# (the listener's log goes through the parent: wait for it)
wait_until 5 grep -q 'listener.*client [0-9]* (uid 0, pid [0-9]*): bad message 0x43000002 (71 bytes): its size is 72' "$T/credd.log"
ok $? "the listener logs peer, type and size"
cp_ get sb1 >/dev/null && kill -0 "$CREDD_PID"
ok $? "lenscredd serves on"

# ---- leaves per sandbox and hour (-L 20): 4 leaves so far
out=$(cp_ leaves sb1 api.example.test 20 | tr '\n' '|')
[ "$out" = 'error 0x43000004 sandbox sb1: 20 leaves this hour, the most it may have (-L)|16 ok|' ]
ok $? "-L 20: the 21st leaf of the hour is refused ($out)"
out=$(cp_ leaf sb2 api.example.test)
echo "$out" | grep -q '^leaf sb2 '
ok $? "... another sandbox's leaves are counted apart ($out)"

# ---- who may connect
out=$(credd_as _lensnet _lensnet '' "$CP" "$S" create sb-net 2>&1)
echo "$out" | grep -q '^ca created sb-net '
ok $? "_lensnet may use lenscredd ($out)"
out=$(credd_as nobody nogroup lens "$CP" "$S" leaf sb1 api.example.test 2>&1)
[ "$out" = closed ]
ok $? "uid nobody in group lens (supplementary) is refused ($out)"
out=$(credd_as nobody lens '' "$CP" "$S" get sb1 2>&1)
[ "$out" = closed ]
ok $? "uid nobody with primary group lens is refused ($out)"
out=$(credd_as _lenscred _lenscred '' "$CP" "$S" get sb1 2>&1)
[ "$out" = closed ]
ok $? "lenscredd's own user _lenscred is refused too ($out)"
wait_until 5 grep -q "refused connection from uid $(id -u nobody) gid $(getent group lens | cut -d: -f3) (pid [0-9]*): not root or a user lenscredd serves" "$T/credd.log"
ok $? "the refusal is logged with uid, gid and pid"

# ---- destroy
out=$(cp_ destroy sb1)
[ "$out" = "destroyed sb1" ] && [ ! -e "$C/ca/sb1.ca" ]
ok $? "CA_DESTROY sb1: $out, its file removed"
out=$(cp_ leaf sb1 api.example.test)
[ "$out" = "error 0x43000004 sandbox sb1 has no CA" ]
ok $? "LEAF after CA_DESTROY: $out"
out=$(cp_ destroy sb1)
[ "$out" = "error 0x43000003 sandbox sb1 has no CA" ]
ok $? "CA_DESTROY twice: $out"

# ---- privilege separation
V=$(credd_child vault)
L=$(credd_child listener)
cu=$(id -u _lenscred)
for p in "vault:$V" "listener:$L"; do
	role=${p%%:*} pid=${p#*:}
	uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pid/status")
	[ "$uids" = "$cu $cu $cu $cu" ] &&
	    [ "$(field "$pid" CapEff)" = 0000000000000000 ] &&
	    [ "$(field "$pid" CapPrm)" = 0000000000000000 ] &&
	    [ "$(field "$pid" CapBnd)" = 0000000000000000 ] &&
	    [ "$(field "$pid" NoNewPrivs)" = 1 ] &&
	    [ "$(field "$pid" Seccomp)" = 2 ]
	ok $? "$role ($pid): uid _lenscred ($uids), CapEff/Prm/Bnd 0, NoNewPrivs 1, Seccomp 2"
done
[ "$(readlink "/proc/$V/root")" = "$C" ] &&
    [ "$(readlink "/proc/$L/root")" = /var/lib/lens/empty ]
ok $? "vault chrooted to the state directory, listener to the empty one"
# (the uid change alone does it while fs.suid_dumpable is 0; the
# vault's PR_SET_DUMPABLE 0 holds whatever it is)
[ "$(stat -c %U "/proc/$V/status")" = root ]
ok $? "the vault is not dumpable (/proc/PID owned by root)"
[ "$(field "$CREDD_PID" CapEff)" = 0000000000000020 ] &&
    [ "$(field "$CREDD_PID" Seccomp)" = 2 ]
ok $? "parent keeps only CAP_KILL, Seccomp 2"

# ---- the CA key is in the vault's memory and nowhere else
cp_ leaf sb2 api.example.test >/dev/null
key=$("$CP" cakey "$C/master.key" "$C/ca/sb2.ca")
[ "${#key}" -eq 64 ]
ok $? "sb2's CA key read back from its sealed file with the master key"
n=$("$CP" memscan "$V" "$key")
[ "$n" -ge 1 ]
ok $? "the scan finds it in the vault's memory ($n times): the scan works"
n1=$("$CP" memscan "$L" "$key")
n2=$("$CP" memscan "$CREDD_PID" "$key")
[ "$n1" = 0 ] && [ "$n2" = 0 ]
ok $? "... and not in the listener's ($n1) or the parent's ($n2)"

# ---- restart keeps the CAs
cp -p "$T/ca2.pem" "$T/ca2-before.pem"
credd_stop
ok $? "SIGTERM: lenscredd exits 0"
[ ! -e "$S" ]
ok $? "... and removes its socket"
credd_start -L 20 || { echo "Bail out! lenscredd did not restart"; exit 1; }
grep 'vault.*ready:' "$T/credd.log" | tail -n 1 | grep -q 'ready: 2 sandbox CAs'
ok $? "restart: the vault opens the 2 sealed CAs"
cp_ get sb2 "$T/ca2-after.pem" >/dev/null && cmp -s "$T/ca2-before.pem" "$T/ca2-after.pem" &&
    cp_ leaf sb2 api.example.test "$T/leaf3.pem" "$T/key3.pem" >/dev/null &&
    openssl verify -CAfile "$T/ca2-before.pem" "$T/leaf3.pem" >/dev/null 2>&1
ok $? "restart: sb2 has the same CA, its new leaves verify against the old CA file"

# ---- the master key
credd_stop
cp -p "$C/master.key" "$T/master.saved"
# starts STATE...: lenscredd refuses to start; its message matches
refuses() {
	: >"$T/refuse.log"
	"$CREDD" -d -D "$C" -s "$S" >"$T/refuse.log" 2>&1 &
	_p=$!
	( sleep 10; kill "$_p" 2>/dev/null ) &
	_g=$!
	wait "$_p"
	_rc=$?
	kill "$_g" 2>/dev/null
	[ "$_rc" -eq 1 ] && grep -q "$1" "$T/refuse.log"
}
chmod 0440 "$C/master.key"
refuses "master.key: mode 0440, not 0400"
ok $? "master key of mode 0440 refused: $(tail -n 1 "$T/refuse.log")"
chmod 0400 "$C/master.key"
chown root "$C/master.key"
refuses "master.key: owned by uid 0, not _lenscred"
ok $? "master key owned by root refused: $(tail -n 1 "$T/refuse.log")"
chown _lenscred "$C/master.key"
chmod 0600 "$C/master.key"
head -c 31 "$T/master.saved" >"$C/master.key"
chmod 0400 "$C/master.key"
refuses "master.key: 31 bytes, not 32"
ok $? "master key of 31 bytes refused: $(tail -n 1 "$T/refuse.log")"
rm -f "$C/master.key"
refuses "master.key is missing but .*/ca holds sealed CAs"
r=$?
[ $r -eq 0 ] && [ ! -e "$C/master.key" ]
ok $? "missing master key beside sealed CAs refused, none made: $(tail -n 1 "$T/refuse.log")"
head -c 32 /dev/urandom >"$C/master.key"
chown _lenscred "$C/master.key"
chmod 0400 "$C/master.key"
refuses "the master key does not open it"
ok $? "another master key: the vault refuses the CA files: $(grep -o 'sb[0-9a-z-]*\.ca: the master key does not open it' "$T/refuse.log" | head -n 1)"
cp -p "$T/master.saved" "$C/master.key"
credd_start || { echo "Bail out! lenscredd did not restart"; exit 1; }
cp_ get sb2 "$T/ca2-again.pem" >/dev/null && cmp -s "$T/ca2-before.pem" "$T/ca2-again.pem"
ok $? "the right master key back: sb2's CA is there again"
credd_stop

# ---- a compromised listener: sizes checked by the vault
for how in short long; do
	: >"$T/credd.log"
	LENS_REGRESS_MSGSIZE=listener:43000004:$how "$CREDD" -d -D "$C" -s "$S" \
	    -a "$T/auditd.sock" >>"$T/credd.log" 2>&1 &
	CREDD_PID=$!
	wait_until 20 grep -q 'vault.*ready:' "$T/credd.log"
	out=$(cp_ leaf sb2 api.example.test)
	# bounded: a vault that took the message serves on
	( sleep 10; kill -TERM "$CREDD_PID" 2>/dev/null ) &
	guard=$!
	wait "$CREDD_PID"
	rc=$?
	kill "$guard" 2>/dev/null
	CREDD_PID=
	[ "$rc" -eq 1 ] &&
	    grep -q "vault.*listener: bad message 0x43000004 ([0-9]* bytes): its size is 328" "$T/credd.log"
	ok $? "listener's $how LEAF: the vault names peer, type and size, lenscredd exits 1 (exit $rc)"
	[ "$out" = closed ] && ! grep -q 'leaf for' "$T/credd.log"
	ok $? "listener's $how LEAF: no leaf issued ($out)"
done

# ---- seccomp: the vault has no socket or connect
for call in socket-unix connect; do
	: >"$T/credd.log"
	# bounded: a vault that survives the call serves on
	LENS_REGRESS_SIGSYS=vault:$call timeout 20 "$CREDD" -d -D "$C" \
	    -s "$S" -a "$T/auditd.sock" >>"$T/credd.log" 2>&1
	rc=$?
	sc=${call%-unix}
	[ "$rc" -eq 1 ] &&
	    grep -q "vault (pid [0-9]*) killed by SIGSYS: forbidden syscall $sc " "$T/credd.log"
	ok $? "vault tries $sc: killed by SIGSYS, named, lenscredd exits 1 (exit $rc)"
done

# ---- at most 256 sandboxes have a CA
credd_start -D "$T/many" || { echo "Bail out! lenscredd did not start"; exit 1; }
out=$(cp_ creates m 260 | tr '\n' '|')
[ "$out" = "error 0x43000001 sandbox m257: 256 sandboxes have a CA, the most lenscredd keeps|256 ok|" ] &&
    [ "$(ls "$T/many/ca" | wc -l)" -eq 256 ]
ok $? "the 257th CA is refused, 256 sealed ($out)"
cp_ destroy m1 >/dev/null
out=$(cp_ create m300)
echo "$out" | grep -q '^ca created m300 '
ok $? "a destroyed CA frees its slot ($out)"
credd_stop
tap_done
