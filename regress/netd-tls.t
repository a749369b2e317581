#!/bin/sh
# TLS interception in lensnetd's proxy, with real TLS on both sides:
# the harness plays lensnetd's parent and asks a real lenscredd for
# the leaves (-k), the upstreams are openssl s_server in the test
# internet with certificates of a test CA the proxy trusts (-A, as
# lensnetd -T), the sandbox trusts its sandbox CA only (SSL_CERT_FILE,
# CURL_CA_BUNDLE: what lens-init sets in a sandbox).
#
#  - an intercepted host (tlsTerminate) shows the leaf lenscredd signed
#    for the name with the sandbox CA, to openssl s_client, curl and
#    python3 urllib, transparent and through CONNECT; ALPN http/1.1,
#    never h2; a ClientHello without SNI, or with another name in a
#    tunnel, is refused;
#  - a passthrough host shows the upstream's own certificate;
#  - an upstream with a certificate for another name, expired,
#    self-signed: refused (502 naming the verify error), audited;
#  - a rule's caFile (-F, as lensnetd -C) lets a private CA's upstream
#    verify; the same upstream under a rule without it is refused;
#  - leaves are cached: one LEAF request per name;
#  - lenscredd killed: a new intercepted name fails closed with an
#    alert and an audit event, passthrough still works; restarted, it
#    works again;
#  - the sandbox CA's private key is nowhere in the proxy's memory.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/attack/proxyworld.sh"

CREDD=$OBJ/lenscredd
CP=$TOOLS/credpeer
pw_need || exit 0
if [ ! -x "$CREDD" ] || [ ! -x "$CP" ] || ! id _lenscred >/dev/null 2>&1 ||
    ! command -v openssl >/dev/null || ! command -v curl >/dev/null ||
    ! python3 -c 'import cryptography' 2>/dev/null; then
	echo "1..0 # SKIP needs lenscredd, credpeer, _lenscred, openssl, curl, python3-cryptography"
	exit 0
fi

tap_plan 40
tmpdir_setup
chmod 0755 "$T"
SBX=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
at_exit 'credd_stop'

python3 "$(dirname "$0")/tlscerts.py" "$T/pki" ||
    { echo "Bail out! cannot make the certificates"; exit 1; }
credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
"$CP" "$T/cred.sock" create "$SBX" "$T/sbxca.pem" >/dev/null &&
    [ -s "$T/sbxca.pem" ]
ok $? "lenscredd made the sandbox's CA"

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"
mkdir -p "$T/www"
echo "hello through interception" >"$T/www/index.html"
srv() {	# srv ADDR CERTBASE
	(cd "$T/www" && bg "$I" openssl s_server -quiet -WWW -accept "$1:443" \
	    -cert "$T/pki/$2.crt" -key "$T/pki/$2.key" \
	    >>"$T/srv.log" 2>&1)
}
srv $REAL good
srv $EVIL expired
srv $ECHO self
(cd "$T/www" && bg "$I" openssl s_server -quiet -WWW -accept "$REAL:8443" \
    -cert "$T/pki/private.crt" -key "$T/pki/private.key" >>"$T/srv.log" 2>&1)
(cd "$T/www" && bg "$I" openssl s_server -quiet -WWW -accept "$REAL:9443" \
    -cert "$T/pki/private.crt" -key "$T/pki/private.key" >>"$T/srv.log" 2>&1)
mkdir -p "$T/ca"
cp "$T/pki/pca.crt" "$T/ca/corp.pem"
deny_policy "$T/policy" <<EOF
    http:
      - {match: good.test, verdict: allow, tlsTerminate: true}
      - {match: good2.test, verdict: allow, tlsTerminate: true}
      - match: good3.test
        verdict: allow
        tlsTerminate: true
        rules:
          - {method: GET, path: "/**", verdict: allow}
          - {method: POST, path: "/**", verdict: deny}
      - {match: wrong.test, verdict: allow, tlsTerminate: true}
      - {match: expired.test, verdict: allow, tlsTerminate: true}
      - {match: self.test, verdict: allow, tlsTerminate: true}
      - {match: pass.test, verdict: allow}
      - {match: "private.test:8443", verdict: allow, tlsTerminate: true, caFile: corp.pem}
      - {match: "private.test:9443", verdict: allow, tlsTerminate: true}
EOF
pw_proxy "$T/policy" -k "$T/cred.sock" -A "$T/pki/ca.crt" -F "$T/ca" \
    -r good.test=$REAL -r good2.test=$REAL -r good3.test=$REAL \
    -r wrong.test=$REAL -r pass.test=$REAL -r expired.test=$EVIL \
    -r self.test=$ECHO -r private.test=$REAL
ok $? "harness started the proxy (pid $PROXY)"
HPID=${PIDS##* }
wait_for sh -c "ip netns exec $I ss -ltn | grep -q '$REAL:443 ' &&
    ip netns exec $I ss -ltn | grep -q '$EVIL:443 ' &&
    ip netns exec $I ss -ltn | grep -q '$ECHO:443 ' &&
    ip netns exec $I ss -ltn | grep -q '$REAL:8443 ' &&
    ip netns exec $I ss -ltn | grep -q '$REAL:9443 '"
ok $? "upstreams: $REAL (good, pass, wrong), $EVIL (expired), $ECHO (self-signed)"

# the sandbox's view: its CA is all it trusts
sx() { inc env SSL_CERT_FILE="$T/sbxca.pem" CURL_CA_BUNDLE="$T/sbxca.pem" \
    REQUESTS_CA_BUNDLE="$T/sbxca.pem" "$@"; }
# sclient NAME [ARGS]: openssl s_client to NAME at $REAL, transparent
sclient() {
	_n=$1; shift
	echo | sx timeout 10 openssl s_client -connect "$REAL:443" \
	    -servername "$_n" -verify_return_error "$@" 2>&1
}
leaves() { grep -c "harness: leaf $1: ok" "$T/h.err"; }

# 1. intercepted: the sandbox CA's leaf for the name
mark
sclient good.test -showcerts >"$T/s1.out"
grep -q 'Verify return code: 0 (ok)' "$T/s1.out"
ok $? "openssl s_client good.test: verified with the sandbox CA alone" ||
    diag "$(tail -n 20 "$T/s1.out")"
sed -n '/BEGIN CERT/,/END CERT/p' "$T/s1.out" | sed -n '1,/END CERT/p' \
    >"$T/leaf1.pem"
openssl x509 -in "$T/leaf1.pem" -noout -issuer -ext subjectAltName \
    >"$T/leaf1.txt" 2>&1
grep -q "$SBX" "$T/leaf1.txt" && grep -q 'DNS:good.test' "$T/leaf1.txt" &&
    ! grep -q 'lens tls test CA' "$T/leaf1.txt"
ok $? "the certificate is for good.test, issued by the sandbox CA" ||
    diag "$(cat "$T/leaf1.txt")"
audit_has '"name":"good.test"' '"tls":"intercepted"' '"verdict":"allow"'
ok $? "audited as intercepted"
out=$(sx curl -sS --max-time 10 --resolve good.test:443:$REAL \
    https://good.test/index.html 2>&1)
[ "$out" = "hello through interception" ]
ok $? "curl https://good.test/ (no flags but the sandbox's CA bundle): $out"
# no resolver in this world: python goes by the CONNECT port
out=$(sx env HTTPS_PROXY=http://$GW:3128 python3 -c 'import urllib.request as u; print(u.urlopen("https://good.test/index.html", timeout=10).read().decode().strip())' 2>&1 </dev/null)
[ "$out" = "hello through interception" ]
ok $? "python3 urllib through the CONNECT port: $out"
out=$(sx curl -sS --max-time 10 -x http://$GW:3128 \
    https://good.test/index.html 2>&1)
[ "$out" = "hello through interception" ]
ok $? "curl through CONNECT, intercepted: $out"
[ "$(leaves good.test)" -eq 1 ]
ok $? "four connections to good.test, one leaf asked of lenscredd ($(leaves good.test))"

# 2. ALPN: http/1.1, never h2
sclient good.test -alpn h2,http/1.1 >"$T/a1.out"
grep -q 'ALPN protocol: http/1.1' "$T/a1.out"
ok $? "ALPN h2,http/1.1 offered: http/1.1 selected"
sclient good.test -alpn h2 >"$T/a2.out"
grep -q 'No ALPN negotiated' "$T/a2.out" && grep -q 'Verify return code: 0' "$T/a2.out"
ok $? "ALPN h2 only: none selected (never h2)"

# 3. SNI: none, or another name in a tunnel
mark
echo | sx timeout 10 openssl s_client -proxy $GW:3128 -connect good.test:443 \
    -noservername >"$T/n1.out" 2>&1
grep -q 'no peer certificate available' "$T/n1.out" &&
    grep -q 'unrecognized name' "$T/n1.out"
ok $? "CONNECT good.test, ClientHello without SNI: alert, no certificate" ||
    diag "$(cat "$T/n1.out")"
audit_has '"name":"good.test"' 'without SNI' '"verdict":"deny"'
ok $? "audited: ClientHello without SNI"
mark
echo | sx timeout 10 openssl s_client -proxy $GW:3128 -connect good.test:443 \
    -servername pass.test >"$T/n2.out" 2>&1
grep -q 'no peer certificate available' "$T/n2.out" &&
    grep -q 'unrecognized name' "$T/n2.out"
ok $? "CONNECT good.test with SNI pass.test: alert, no certificate" ||
    diag "$(cat "$T/n2.out")"
audit_has 'SNI pass.test in a connection to good.test' '"verdict":"deny"'
ok $? "audited: the other name"

# 4. passthrough: the upstream's own certificate
mark
echo | inc timeout 10 openssl s_client -connect "$REAL:443" \
    -servername pass.test -CAfile "$T/pki/ca.crt" -verify_return_error \
    >"$T/p1.out" 2>&1
grep -q 'Verify return code: 0' "$T/p1.out" &&
    grep -q 'issuer=CN *= *lens tls test CA' "$T/p1.out"
ok $? "pass.test: the upstream's certificate, from the test CA" ||
    diag "$(grep -e issuer -e Verify "$T/p1.out")"
audit_has '"name":"pass.test"' '"verdict":"allow"'
ok $? "pass.test audited, not intercepted"

# 5. upstream certificates that must not verify
bad() {	# bad NAME ADDR VERIFY-ERROR
	mark
	out=$(sx curl -sS --max-time 10 --resolve "$1:443:$2" \
	    -w '%{http_code}' "https://$1/index.html" 2>&1)
	case $out in *"certificate verify failed: $3"*502) true ;; *) false ;; esac
	ok $? "$1: 502 naming the error ($(echo "$out" | tail -n 1))"
	audit_has "\"name\":\"$1\"" '"verdict":"deny"' "certificate verify failed: $3"
	ok $? "$1: audited with the verify error"
}
bad wrong.test $REAL 'hostname mismatch'
bad expired.test $EVIL 'certificate has expired'
bad self.test $ECHO 'self-signed certificate'

# 5b. a private CA through the rule's caFile
mark
out=$(sx curl -sS --max-time 10 --resolve private.test:8443:$REAL \
    https://private.test:8443/index.html 2>&1)
[ "$out" = "hello through interception" ]
ok $? "private.test:8443, rule with caFile corp.pem: verified ($out)"
audit_has '"name":"private.test"' '"port":8443' '"tls":"intercepted"' '"verdict":"allow"'
ok $? "audited as intercepted and allowed"
mark
out=$(sx curl -sS --max-time 10 --resolve private.test:9443:$REAL \
    -w '%{http_code}' https://private.test:9443/index.html 2>&1)
case $out in *"certificate verify failed: unable to get local issuer certificate"*502) true ;; *) false ;; esac
ok $? "private.test:9443, the same upstream, rule without caFile: refused ($(echo "$out" | tail -n 1))"
audit_has '"port":9443' '"verdict":"deny"' 'unable to get local issuer certificate'
ok $? "audited with the verify error"

# 6. the CA's key is not in the proxy's memory
key=$("$CP" cakey "$T/cred/master.key" "$T/cred/ca/$SBX.ca")
[ -n "$key" ] && [ "$("$CP" memscan "$(credd_child vault)" "$key")" -gt 0 ]
ok $? "the sandbox CA's key, read from its sealed file, is in the vault's memory"
n=$("$CP" memscan "$PROXY" "$key")
[ "$n" = 0 ]
ok $? "and not in the proxy's ($n times)"

# 7. lenscredd away: fail closed for a name without a leaf yet
credd_stop
mark
sclient good2.test >"$T/k1.out"
grep -q 'no peer certificate available' "$T/k1.out" &&
    grep -q 'alert internal error' "$T/k1.out"
ok $? "lenscredd down: good2.test gets a TLS alert" || diag "$(tail -n 5 "$T/k1.out")"
audit_has '"name":"good2.test"' 'no leaf certificate for good2.test: lenscredd is not connected' '"verdict":"error"'
ok $? "audited with the reason"
echo | inc timeout 10 openssl s_client -connect "$REAL:443" \
    -servername pass.test -CAfile "$T/pki/ca.crt" -verify_return_error \
    >"$T/k2.out" 2>&1
grep -q 'Verify return code: 0' "$T/k2.out"
ok $? "passthrough pass.test unaffected"
out=$(sx curl -sS --max-time 10 --resolve good.test:443:$REAL \
    https://good.test/index.html 2>&1)
[ "$out" = "hello through interception" ]
ok $? "good.test's cached leaf still serves: $out"
credd_start || { echo "Bail out! lenscredd did not restart"; exit 1; }
sclient good2.test >"$T/k3.out"
grep -q 'Verify return code: 0 (ok)' "$T/k3.out"
ok $? "lenscredd back: good2.test intercepted" || diag "$(tail -n 5 "$T/k3.out")"

# 8. many connections for a new name at once: one request
mp=
for i in 1 2 3 4 5 6; do
	sclient good3.test >"$T/m$i.out" &
	mp="$mp $!"
done
wait $mp
n=$(grep -l 'Verify return code: 0 (ok)' "$T"/m*.out | wc -l)
[ "$n" -eq 6 ] && [ "$(leaves good3.test)" -eq 1 ]
ok $? "6 connections to good3.test at once: all intercepted ($n), one leaf asked ($(leaves good3.test))"

# 9. per request over interception (httpx.c): GET allowed, POST
# denied on the same keep-alive TLS connection
o="-sS --max-time 10 --resolve good3.test:443:$REAL -w %{http_code}\n -o /dev/null"
out=$(sx curl $o https://good3.test/index.html --next $o -d x \
    https://good3.test/index.html --next $o https://good3.test/index.html \
    2>&1 | tr '\n' ' ')
[ "$out" = "200 403 200 " ]
ok $? "good3.test intercepted: GET 200, POST 403, GET 200 ($out)"

kill -0 "$PROXY" && [ "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$PROXY/status")" = 2 ]
ok $? "the proxy runs on, under seccomp"
# the harness's SIGTERM stops the proxy
kill "$HPID"
wait_for grep -q '^proxy ' "$T/h.out"
grep -q '^proxy exited with status 0$' "$T/h.out" &&
    ! grep -q -e SIGSYS -e fatal "$T/h.err"
ok $? "proxy stopped on SIGTERM, no seccomp trap: $(grep '^proxy ' "$T/h.out")"
