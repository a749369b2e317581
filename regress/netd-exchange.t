#!/bin/sh
# lensnetd's proxy on the credential exchange's path (issue 13): a
# request carrying, in its head, the placeholder of the credential bound
# to its host goes to the exchange and never upstream.  The harness
# plays lensnetd's parent (its check is exchreq.c's) and, with -E, a
# stub exchange that answers with what it received (lenscredd's real
# exchange is regress/cred-*.t's).  Checked here is the proxy's half:
#
#  - the head as the exchange gets it: method, origin-form target,
#    headers in order, trimmed, without hop-by-hop and framing fields;
#    a chunked body de-chunked; a Content-Length body as sent;
#  - the response relayed in the proxy's framing: chunked for a body of
#    unknown length, Content-Length when the exchange knows it, the
#    connection's close for an HTTP/1.0 client; keep-alive kept, the
#    next request on the same connection goes upstream as usual;
#  - the exchange's EXCH_ERROR (504) answered with its status, a body
#    before a head answered 502; each audited as net.http via exchange;
#  - the upstream sees none of the requests that went to the exchange.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/attack/proxyworld.sh"

pw_need || exit 0
tap_plan 20
tmpdir_setup
chmod 0755 "$T"
PH=lens-ph-abcdefghijklmnopqrstuvwxyz234567

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"
bg "$I" "$H" httpd $REAL:80 "$T/up.log" >"$T/up.out"
deny_policy "$T/policy" <<EOF
    http:
      - {match: good.test, verdict: allow}
      - {match: g.test, verdict: allow}
credentials:
  - id: api
    envVar: API_KEY
    injections:
      - {type: header, host: good.test, name: Authorization, value: "Bearer {secret}"}
  - id: goog
    envVar: GOOG
    injections:
      - {type: oauth2Refresh, host: g.test, tokenUrl: "https://tok.test:8443/t"}
EOF
PH2=lens-ph-222222abcdefghijklmnopqrstuvwxyz
pw_proxy "$T/policy" -E stub -r good.test=$REAL -r g.test=$REAL \
    -r tok.test=$EVIL -x $PH -x $PH2
ok $? "harness started the proxy with a stub exchange (pid $PROXY)"
wait_for grep -q listening "$T/up.out"
ok $? "logging upstream on $REAL:80"

# 1. a GET with the placeholder, then a clean GET, one connection
mark
out=$(inc "$H" seq $REAL:80 \
    "GET /a?q=1 HTTP/1.1\r\nHost: good.test\r\nAuthorization: Bearer $PH\r\nConnection: keep-alive\r\nX-A:  v v \r\nTE: trailers\r\n\r\n" \
    "GET /clean HTTP/1.1\r\nHost: good.test\r\n\r\n")
printf '%s\n' "$out" >"$T/get.out"
[ "$(grep -c '^status 200' "$T/get.out")" = 2 ] &&
    grep -q '^method GET target /a?q=1$' "$T/get.out" &&
    grep -q "^h Host: good.test$" "$T/get.out" &&
    grep -q "^h Authorization: Bearer $PH$" "$T/get.out" &&
    grep -q '^h X-A: v v$' "$T/get.out" &&
    ! grep -q -e '^h Connection' -e '^h TE' "$T/get.out" &&
    grep -q '^ok$' "$T/get.out"
ok $? "GET: to the exchange as sent, hop-by-hop fields left out; then a clean GET upstream" ||
    diag "$out"
audit_has 'net.http' '"path":"/a"' '"status":200' '"via":"exchange"'
ok $? "GET: audited net.http via exchange"

# 2. a chunked body, de-chunked for the exchange; the response chunked
out=$(inc "$H" send $REAL:80 \
    "POST /p HTTP/1.1\r\nHost: good.test\r\nX-Key: $PH\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" 2000)
printf '%s\n' "$out" | tr -d '\r' >"$T/post.out"
grep -q '^HTTP/1.1 200 OK$' "$T/post.out" &&
    grep -q '^Transfer-Encoding: chunked$' "$T/post.out" &&
    grep -q '^X-Stub: echo$' "$T/post.out" &&
    grep -q '^body hello world' "$T/post.out" &&
    ! grep -q -e '^h Transfer-Encoding' -e '^h Content-Length' "$T/post.out"
ok $? "chunked POST: the body de-chunked, the response chunked by the proxy" ||
    diag "$out"

# 3. a Content-Length body; the response with its length known
out=$(inc "$H" send $REAL:80 \
    "POST /length HTTP/1.1\r\nHost: good.test\r\nX-Key: $PH\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc" 2000)
printf '%s\n' "$out" | tr -d '\r' >"$T/len.out"
n=$(sed -n 's/^Content-Length: //p' "$T/len.out")
# what the stub answers: 103 bytes
b=$(printf 'method POST target /length\nh Host: good.test\nh X-Key: %s\nbody abc' \
    "$PH" | wc -c)
grep -q '^X-Stub: length$' "$T/len.out" &&
    ! grep -q '^Transfer-Encoding' "$T/len.out" &&
    [ -n "$n" ] && [ "$n" -eq "$b" ] &&
    grep -q '^body abc$' "$T/len.out"
ok $? "Content-Length POST: the body as sent, the response with Content-Length $n" ||
    diag "$out"

# 4. an HTTP/1.0 client: the response delimited by the close
out=$(inc "$H" send $REAL:80 \
    "GET /old HTTP/1.0\r\nHost: good.test\r\nX-Key: $PH\r\n\r\n" 2000)
printf '%s\n' "$out" | tr -d '\r' >"$T/old.out"
grep -q '^HTTP/1.1 200 OK$' "$T/old.out" &&
    ! grep -q -e '^Transfer-Encoding' -e '^Content-Length' "$T/old.out" &&
    grep -q '^Connection: close$' "$T/old.out" &&
    grep -q '^method GET target /old$' "$T/old.out"
ok $? "HTTP/1.0: no chunked framing, the response ends with the connection" ||
    diag "$out"

# 5. the exchange's error, and a stream that breaks the protocol
mark
out=$(inc "$H" seq $REAL:80 \
    "GET /error HTTP/1.1\r\nHost: good.test\r\nX-Key: $PH\r\n\r\n" \
    "GET /clean2 HTTP/1.1\r\nHost: good.test\r\n\r\n")
printf '%s\n' "$out" | grep -q '^status 504' &&
    printf '%s\n' "$out" | grep -q 'credential exchange: stub timed out' &&
    [ "$(printf '%s\n' "$out" | grep -c '^status')" = 2 ]
ok $? "EXCH_ERROR 504: answered with its status and message, the connection goes on" ||
    diag "$out"
audit_has 'net.http' '"path":"/error"' '"status":504' '"via":"exchange"' \
    '"reason":"credential exchange: stub timed out"'
ok $? "EXCH_ERROR: audited"
out=$(inc "$H" seq $REAL:80 \
    "GET /bad HTTP/1.1\r\nHost: good.test\r\nX-Key: $PH\r\n\r\n")
printf '%s\n' "$out" | grep -q '^status 502' &&
    printf '%s\n' "$out" | grep -q 'credential exchange: a body before its head'
ok $? "a body before the head: 502" || diag "$out"

# 6. a head of hop-by-hop only, a HEAD request: no body relayed
out=$(inc "$H" send $REAL:80 \
    "HEAD /h HTTP/1.1\r\nHost: good.test\r\nX-Key: $PH\r\nConnection: close\r\n\r\n" 2000)
printf '%s\n' "$out" | tr -d '\r' >"$T/head.out"
grep -q '^HTTP/1.1 200 OK$' "$T/head.out" &&
    ! grep -q '^method' "$T/head.out"
ok $? "HEAD: the head only" || diag "$out"

# 7. a body far beyond the proxy's queue (64 KiB): streamed through it
head -c 600000 /dev/urandom >"$T/big"
inc curl -s --max-time 30 -H "Host: good.test" -H "X-Key: $PH" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$T/big" \
    -o "$T/big.out" -w '%{http_code}' http://$REAL/length >"$T/big.code"
# the stub's prefix is the head's lines, then the body as received
[ "$(cat "$T/big.code")" = 200 ] &&
    tail -c 600000 "$T/big.out" | cmp -s - "$T/big"
ok $? "a 600000-byte body: through the bounded queue to the exchange and back whole ($(cat "$T/big.code"), $(wc -c <"$T/big.out") bytes)"

# 7b. oauth2Refresh: the token endpoint resolved as upstreams are
out=$(inc "$H" seq $REAL:80 \
    "GET /tok HTTP/1.1\r\nHost: g.test\r\nAuthorization: Bearer $PH2\r\n\r\n")
printf '%s\n' "$out" | grep -q '^status 200' &&
    printf '%s\n' "$out" | grep -q '^method GET target /tok$'
ok $? "oauth2Refresh: to the exchange ($(printf '%s' "$out" | head -1))"
grep -q "harness: exchange g.test: stub, token $EVIL:8443" "$T/h.err"
ok $? "oauth2Refresh: the tokenUrl's host resolved by the dns side, its port, sent along"

# 8. what the upstream received
tr -d '\r' <"$T/up.log" | grep -q '^GET /clean ' &&
    tr -d '\r' <"$T/up.log" | grep -q '^GET /clean2 '
ok $? "the clean requests reached the upstream"
! tr -d '\r' <"$T/up.log" | grep -q -e '^GET /a' -e '^POST' -e '^GET /old' \
    -e '^GET /error' -e '^GET /bad' -e '^HEAD'
ok $? "the upstream never saw a request that went to the exchange"
! grep -aq "${PH#lens-ph-}" "$T/up.log"
ok $? "the upstream never saw the placeholder"
kill -0 "$PROXY"
ok $? "the proxy still runs"
# the harness's stub is a test double: the parent's check came first
grep -q "harness: exchange good.test: stub" "$T/h.err"
ok $? "each went through the parent's check (exchreq.c) first"
tap_done
