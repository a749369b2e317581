#!/bin/sh
# Attack: on one kept-alive plain HTTP connection to an allowed host, a
# sandbox sends requests its request rules deny (POST under /admin, a
# websocket where the rule allows none) between allowed ones, pipelined,
# with bodies that look like requests, with Expect: 100-continue.  Each
# request is decided on its own: a denied one gets a 403 with a reason,
# its body is dropped by its framing (never read as a request), the
# connection goes on serving allowed requests, responses come in order.
# Allowed traffic works in full: 100-continue, a websocket the rule
# allows, 10 MiB chunked up and down intact (sha256 on both sides).
# Every request is a net.http audit event.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/proxyworld.sh"

pw_need || exit 0
command -v curl >/dev/null || { echo "1..0 # skip needs curl"; exit 0; }
tap_plan 29
tmpdir_setup

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"

bg "$I" "$H" httpd $REAL:80 "$T/real.log" >"$T/real.out"
deny_policy "$T/policy" <<EOF
    http:
      - match: ok.test
        verdict: allow
        rules:
          - {method: GET, path: "/**", verdict: allow}
          - {method: HEAD, path: "/**", verdict: allow}
          - {method: PUT, path: "/up/**", verdict: allow}
          - {method: POST, path: "/up/**", verdict: allow}
          - {method: GET, path: /ws, websocket: true, verdict: allow}
          - {method: "*", path: "/admin/**", verdict: deny}
EOF
pw_proxy "$T/policy" -r ok.test=$REAL
ok $? "harness started the proxy (pid $PROXY)"
wait_for grep -q listening "$T/real.out"
ok $? "keep-alive upstream for ok.test ($REAL)"

got() { tr -d '\r' <"$T/real.log" | grep -ac "^[A-Z]* [^ ]*$1 HTTP/1"; }
statuses() { printf '%s\n' "$1" | grep '^status' | tr '\n' ' '; }
at_exit '[ "$_tap_failed" -eq 0 ] || diag "ok.test received:" "$(tr -d "\r" <"$T/real.log" | tail -n 40)"'

# 1. allowed GET, denied POST with a body, allowed GET: one connection
mark
out=$(inc "$H" seq $REAL:80 'GET /a1 HTTP/1.1\r\nHost: ok.test\r\n\r\n' \
    'POST /admin/a2 HTTP/1.1\r\nHost: ok.test\r\nContent-Length: 36\r\n\r\nGET /a2x HTTP/1.1\r\nHost: ok.test\r\n\r\n' \
    'GET /a3 HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$(statuses "$out")" = "status 200 status 403 status 200 " ] &&
    printf '%s\n' "$out" | grep -q '^\[done\]'
ok $? "GET 200, POST /admin 403, GET 200 on one connection: $(statuses "$out")"
[ "$(got /a1)" = 1 ] && [ "$(got /a2)" = 0 ] && [ "$(got /a2x)" = 0 ] &&
    [ "$(got /a3)" = 1 ]
ok $? "the denied POST and the request-shaped body behind it reached nobody"
printf '%s\n' "$out" | grep -q '^lens proxy: policy: '
ok $? "the 403 says why"
audit_has 'net.http' '"verdict":"deny"' '"method":"POST"' '"path":"/admin/a2"' \
    '"status":403' '"rule":"ok.test"' '"request_rule":5'
ok $? "audit: the POST denied by request rule 5 of ok.test"
audit_has 'net.http' '"verdict":"allow"' '"method":"GET"' '"path":"/a3"' \
    '"status":200' '"request_rule":0'
ok $? "audit: the GET after it allowed by request rule 0"
audit_has 'net.connect' '"requests":3'
ok $? "audit: one connection, three requests"

# 2. a denied chunked body is skipped by its framing
mark
out=$(inc "$H" seq $REAL:80 \
    'POST /admin/c1 HTTP/1.1\r\nHost: ok.test\r\nTransfer-Encoding: chunked\r\n\r\n24\r\nGET /c1x HTTP/1.1\r\nHost: ok.test\r\n\r\n\r\n0\r\n\r\n' \
    'GET /c2 HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$(statuses "$out")" = "status 403 status 200 " ] && [ "$(got /c1x)" = 0 ] &&
    [ "$(got /c2)" = 1 ]
ok $? "denied chunked POST skipped, the GET behind it served: $(statuses "$out")"

# 3. pipelined in one write: responses in order
mark
out=$(inc "$H" send $REAL:80 'GET /p1 HTTP/1.1\r\nHost: ok.test\r\n\r\nDELETE /admin/p2 HTTP/1.1\r\nHost: ok.test\r\n\r\nGET /p3 HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$(printf '%s\n' "$out" | grep '^HTTP/1.1' | tr -d '\r' | tr '\n' ' ')" = \
    "HTTP/1.1 200 OK HTTP/1.1 403 Forbidden HTTP/1.1 200 OK " ]
ok $? "pipelined GET, DELETE /admin, GET: 200, 403, 200 in order"
[ "$(got /p1)" = 1 ] && [ "$(got /p2)" = 0 ] && [ "$(got /p3)" = 1 ]
ok $? "only the allowed ones reached ok.test"

# 4. a denied request with Expect: 100-continue: 403, its body never
# read as a request (the connection closes)
mark
out=$(inc "$H" send $REAL:80 'POST /admin/e1 HTTP/1.1\r\nHost: ok.test\r\nExpect: 100-continue\r\nContent-Length: 36\r\n\r\nGET /e1x HTTP/1.1\r\nHost: ok.test\r\n\r\n')
case $out in "HTTP/1.1 403"*"Connection: close"*"[eof]"*) true ;; *) false ;; esac &&
    [ "$(got /e1)" = 0 ] && [ "$(got /e1x)" = 0 ] &&
    ! printf '%s\n' "$out" | grep -q '^HTTP/1.1 100'
ok $? "denied Expect: 100-continue: 403 and close, no 100, the body went nowhere"

# 5. allowed Expect: 100-continue, 10 MiB chunked up: the 100 relayed,
# the body intact upstream
"$H" pattern 10485760 >"$T/up.bin"
want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
mark
out=$(inc curl -sS -v --max-time 60 -T "$T/up.bin" \
    -H 'Transfer-Encoding: chunked' -H 'Expect: 100-continue' \
    --resolve ok.test:80:$REAL http://ok.test/up/big 2>"$T/curl.err")
[ "$out" = "$want" ]
ok $? "10 MiB chunked PUT: sha256 at ok.test is the sender's ($out)"
grep -q '< HTTP/1.1 100 Continue' "$T/curl.err"
ok $? "the upstream's 100 Continue reached the client"
audit_has 'net.http' '"method":"PUT"' '"path":"/up/big"' '"status":200'
ok $? "audit: the PUT"
audit_has 'net.http' '"path":"/up/big"' '"bytes_out":1048'
ok $? "audit: its bytes upstream (about 10 MiB)"

# 6. 10 MiB chunked down, intact
want=$("$H" pattern 10485760 | sha256sum | cut -d' ' -f1)
got=$(inc curl -sS --max-time 60 --resolve ok.test:80:$REAL \
    http://ok.test/big/10485760 | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ]
ok $? "10 MiB chunked GET: sha256 at the client is the upstream's"

# 7. curl keep-alive: two URLs, one connection, the second denied
mark
out=$(inc curl -s --max-time 10 --resolve ok.test:80:$REAL \
    -w '%{http_code}\n' -o /dev/null http://ok.test/k1 --next \
    --resolve ok.test:80:$REAL -w '%{http_code}\n' -o /dev/null \
    -X DELETE http://ok.test/admin/k2)
[ "$(printf '%s\n' "$out" | tr '\n' ' ')" = "200 403 " ]
ok $? "curl: GET then DELETE /admin: $(printf '%s' "$out" | tr '\n' ' ')"
audit_has 'net.connect' '"requests":2'
ok $? "audit: both on one connection"

# 8. websocket: allowed by its rule, relayed as bytes after the 101
mark
out=$(inc "$H" converse $REAL:80 \
    'GET /ws HTTP/1.1\r\nHost: ok.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' \
    'ws-frame-bytes')
case $out in "HTTP/1.1 101"*"ws-frame-bytes"*) true ;; *) false ;; esac
ok $? "websocket on /ws: 101 and the bytes echoed through"
audit_has 'net.http' '"path":"/ws"' '"status":101' '"upgrade":"websocket"'
ok $? "audit: the upgrade"

mark
out=$(inc "$H" seq $REAL:80 \
    'GET /nows HTTP/1.1\r\nHost: ok.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' \
    'GET /after HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$(statuses "$out")" = "status 403 status 200 " ] && [ "$(got /nows)" = 0 ]
ok $? "websocket where the rule allows none: 403, then the connection serves a GET"
audit_has 'net.http' '"path":"/nows"' '"verdict":"deny"' 'websocket not allowed'
ok $? "audit: websocket refused"

# 9. HEAD (no body in its response), then a GET
out=$(inc "$H" seq $REAL:80 'HEAD /h1 HTTP/1.1\r\nHost: ok.test\r\n\r\n' \
    'GET /h2 HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$(statuses "$out")" = "status 200 status 200 " ] &&
    printf '%s\n' "$out" | grep -q '^\[done\]'
ok $? "HEAD then GET on one connection"

# 10. HTTP/1.0 and Connection: close are honoured
out=$(inc "$H" send $REAL:80 'GET /v0 HTTP/1.0\r\nHost: ok.test\r\n\r\nGET /v0b HTTP/1.0\r\nHost: ok.test\r\n\r\n')
case $out in "HTTP/1.1 200"*"Connection: close"*"[eof]"*) true ;; *) false ;; esac &&
    [ "$(printf '%s\n' "$out" | grep -c '^HTTP/1.1')" = 1 ] && [ "$(got /v0b)" = 0 ]
ok $? "HTTP/1.0: one request, Connection: close, then EOF"
out=$(inc "$H" send $REAL:80 'GET /cc HTTP/1.1\r\nHost: ok.test\r\nConnection: close\r\n\r\nGET /ccb HTTP/1.1\r\nHost: ok.test\r\n\r\n')
case $out in "HTTP/1.1 200"*"Connection: close"*"[eof]"*) true ;; *) false ;; esac &&
    [ "$(got /ccb)" = 0 ]
ok $? "Connection: close: one request, then EOF"

# 11. the query in the audit is cut at 128 bytes
q=$(printf 'x%.0s' $(seq 1 300))
mark
inc "$H" seq $REAL:80 "GET /q?$q HTTP/1.1\r\nHost: ok.test\r\n\r\n" >/dev/null
audit_has 'net.http' '"path":"/q"' "\"query\":\"$(printf 'x%.0s' $(seq 1 128))\"" \
    '"query_cut":true'
ok $? "audit: path /q, query cut at 128 bytes"

kill -0 "$PROXY" && ! grep -q Sanitizer "$T/h.err"
ok $? "the proxy still runs, no sanitizer report"

tap_done
