#!/bin/sh
# Attack: a sandbox allowed to reach ok.test over plain HTTP smuggles
# requests for bad.test (denied by its own rule) past the proxy's
# decision: a second request on the kept-alive connection, an
# absolute-form target naming another host, a request pipelined in the
# same write or behind a chunked body, a CONNECT tunnel to ok.test:80
# whose first bytes (sent before the 200) are a request for bad.test,
# plain HTTP through the proxy port with a second request behind it,
# a Connection header naming a framing field.  Every request is decided
# on its own: each of these gets a 403 (or a 400) from the proxy, the
# connection stays usable after a 403, and an allowed request behind it
# still reaches ok.test.  The upstream of ok.test is a keep-alive server
# that records every byte it receives (and ignores "Connection:
# close"): what it recorded is checked, and every attempt must be
# audited as a deny.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/proxyworld.sh"

pw_need || exit 0
tap_plan 48
tmpdir_setup

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"

bg "$I" "$H" httpd $REAL:80 "$T/real.log" >"$T/real.out"
bg "$I" "$H" httpd $EVIL:80 "$T/evil.log" >"$T/evil.out"
deny_policy "$T/policy" <<EOF
    http:
      - {match: ok.test, verdict: allow}
      - {match: bad.test, verdict: deny}
EOF
pw_proxy "$T/policy" -r ok.test=$REAL -r bad.test=$EVIL
ok $? "harness started the proxy (pid $PROXY)"
wait_for grep -q listening "$T/real.out" &&
    wait_for grep -q listening "$T/evil.out"
ok $? "recording upstreams for ok.test ($REAL) and bad.test ($EVIL)"

# the requests the upstream of ok.test (or bad.test's address) received
# with this marker in their target
got() { tr -d '\r' <"$T/real.log" | grep -c "^[A-Z]* [^ ]*$1 HTTP/1"; }
evil() { [ -s "$T/evil.log" ]; }
# the head of the request with this marker, as ok.test received it
head_of() {
	tr -d '\r' <"$T/real.log" | awk -v m="$1" '
	    !on && $2 ~ ("^[^ ]*" m "$") { on = 1 }
	    on && $0 == "" { exit }
	    on { print }'
}
at_exit '[ "$_tap_failed" -eq 0 ] || diag "ok.test received:" "$(tr -d "\r" <"$T/real.log" | tail -n 40)"'

R1='GET /ka1 HTTP/1.1\r\nHost: ok.test\r\nConnection: keep-alive\r\n\r\n'

# 1. a second request on the kept-alive connection, Host bad.test
mark
out=$(inc "$H" converse $REAL:80 "$R1" \
    'GET /ka2 HTTP/1.1\r\nHost: bad.test\r\n\r\n')
[ "$(got /ka1)" = 1 ]
ok $? "keep-alive: the first request (ok.test) reached ok.test"
[ "$(got /ka2)" = 0 ] && ! evil
ok $? "keep-alive: the second request (Host bad.test) reached no upstream"
! head_of /ka1 | grep -qi '^connection:' &&
    ! head_of /ka1 | grep -qi 'keep-alive'
ok $? "the request went upstream without the client's hop-by-hop headers"
audit_has 'net.http' '"verdict":"deny"' '"status":403' '"path":"/ka2"' \
    'request for bad.test on a connection to ok.test'
ok $? "audit: the second request refused, naming bad.test"
case $out in "HTTP/1.1 200"*"HTTP/1.1 403"*"[eof]"*) true ;; *) false ;; esac
ok $? "the client got the first response, then a 403"

# 1b. the same connection goes on serving allowed requests after a 403
mark
out=$(inc "$H" seq $REAL:80 'GET /kb1 HTTP/1.1\r\nHost: ok.test\r\n\r\n' \
    'GET /kb2 HTTP/1.1\r\nHost: bad.test\r\n\r\n' \
    'GET /kb3 HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$(printf '%s\n' "$out" | grep '^status' | tr '\n' ' ')" = \
    "status 200 status 403 status 200 " ] &&
    printf '%s\n' "$out" | grep -q '^\[done\]'
ok $? "keep-alive: 200, 403 for Host bad.test, then 200 on the same connection"
[ "$(got /kb1)" = 1 ] && [ "$(got /kb2)" = 0 ] && [ "$(got /kb3)" = 1 ] && ! evil
ok $? "ok.test got the first and third requests, nobody the second"
audit_has 'net.connect' '"requests":3' '"listener":"transparent"'
ok $? "audit: one connection carried three requests"

# 2. the second request names bad.test in absolute form, Host ok.test
mark
out=$(inc "$H" converse $REAL:80 \
    'GET /ab1 HTTP/1.1\r\nHost: ok.test\r\n\r\n' \
    'GET http://bad.test/ab2 HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$(got /ab1)" = 1 ] && [ "$(got /ab2)" = 0 ] && ! evil
ok $? "keep-alive: absolute-form http://bad.test/ second request refused"
audit_has 'net.http' '"verdict":"deny"' '"status":400' \
    'Host header disagrees with the URL'
ok $? "audit: refused"

# 3. absolute form disagreeing with Host in the first request
mark
out=$(inc "$H" send $REAL:80 \
    'GET http://bad.test/ab3 HTTP/1.1\r\nHost: ok.test\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 400"*) true ;; *) false ;; esac
ok $? "absolute form http://bad.test/ with Host ok.test: $out"
[ "$(got /ab3)" = 0 ] && ! evil
ok $? "it reached no upstream"
audit_has '"verdict":"deny"' 'Host header disagrees with the URL'
ok $? "audit: deny, Host disagrees with the URL"

mark
out=$(inc "$H" send $REAL:80 \
    'GET http://ok.test:8080/ab4 HTTP/1.1\r\nHost: ok.test\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 400"*) true ;; *) false ;; esac
ok $? "absolute form on another port than Host's: $out"

# absolute form agreeing with Host: sent on in origin form
mark
out=$(inc "$H" send $REAL:80 \
    'GET http://OK.test/ab5?x HTTP/1.1\r\nHost: ok.test:80\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 200"*) true ;; *) false ;; esac
ok $? "absolute form naming Host's host: $out"
tr -d '\r' <"$T/real.log" | grep -qx 'GET /ab5?x HTTP/1.1'
ok $? "it went upstream in origin form"

# 4. pipelined in the same write
mark
out=$(inc "$H" send $REAL:80 'GET /pl1 HTTP/1.1\r\nHost: ok.test\r\n\r\nGET /pl2 HTTP/1.1\r\nHost: bad.test\r\n\r\n')
[ "$(got /pl1)" = 1 ] && [ "$(got /pl2)" = 0 ] && ! evil
ok $? "pipelined second request (Host bad.test) in the same write refused"
[ "$(printf '%s\n' "$out" | grep '^HTTP/1.1' | tr -d '\r' | tr '\n' ' ')" = \
    "HTTP/1.1 200 OK HTTP/1.1 403 Forbidden " ]
ok $? "the responses in order: 200 for the first, 403 for the second"
audit_has 'net.http' '"verdict":"deny"' '"path":"/pl2"' 'request for bad.test'
ok $? "audit: the pipelined request refused, naming bad.test"

# 5. behind a body: chunked, then Content-Length
mark
out=$(inc "$H" send $REAL:80 'POST /ch1 HTTP/1.1\r\nHost: ok.test\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\nGET /ch2 HTTP/1.1\r\nHost: bad.test\r\n\r\n')
[ "$(got /ch1)" = 1 ] && [ "$(got /ch2)" = 0 ] && ! evil
ok $? "a request behind a chunked body refused, the body passed"
tr -d '\r' <"$T/real.log" | grep -qx 'T: v'
ok $? "the chunked body's trailer reached ok.test"
audit_has 'net.http' '"verdict":"deny"' '"path":"/ch2"' 'request for bad.test'
ok $? "audit: refused"

mark
out=$(inc "$H" send $REAL:80 'POST /cl1 HTTP/1.1\r\nHost: ok.test\r\nContent-Length: 7\r\n\r\nhello\r\nGET /cl2 HTTP/1.1\r\nHost: bad.test\r\n\r\n')
[ "$(got /cl1)" = 1 ] && [ "$(got /cl2)" = 0 ] && ! evil
ok $? "a request behind a Content-Length body refused"

# 6. requests whose framing is ambiguous: refused before any upstream
for req in \
    'POST /tc1 HTTP/1.1\r\nHost: ok.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /tc1b HTTP/1.1\r\nHost: bad.test\r\n\r\n|Transfer-Encoding with Content-Length' \
    'POST /tc2 HTTP/1.1\r\nHost: ok.test\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nGET /tc2b|several Content-Length headers' \
    'POST /tc3 HTTP/1.1\r\nHost: ok.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n|Transfer-Encoding other than chunked' \
    'POST /tc4 HTTP/1.1\r\nHost: ok.test\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\nGET /tc4b HTTP/1.1\r\nHost: bad.test\r\n\r\n|bad chunk size' \
    'GET /tc5 HTTP/1.1\r\nHost: ok.test\r\nX: a\r\n b\r\n\r\n|obsolete line folding' \
    'GET /tc6 HTTP/1.1\r\nHost: ok.test\rX: a\r\n\r\n|bare CR' \
    'POST /tc7 HTTP/1.1\r\nHost: ok.test\r\nConnection: Content-Length\r\nContent-Length: 44\r\n\r\nGET /tc7b HTTP/1.1\r\nHost: bad.test\r\n\r\n|Connection names a framing or routing field' \
    'GET /tc8 HTTP/1.1\r\nHost: ok.test\r\nConnection: close, Transfer-Encoding\r\n\r\n|Connection names a framing or routing field'; do
	mark
	out=$(inc "$H" send $REAL:80 "${req%|*}" | head -n 1)
	m=$(printf '%s' "$req" | sed 's/^[A-Z]* \([^ ]*\) .*/\1/')
	[ "$(got "$m")" = 0 ] && ! evil && audit_has '"verdict":"deny"' "${req#*|}"
	ok $? "$m (${req#*|}): nothing reached ok.test, audited deny: $out"
done

# 7. Host with user information, whitespace, twice
for req in \
    'GET /h1 HTTP/1.1\r\nHost: u@ok.test\r\n\r\n|user information in Host' \
    'GET /h2 HTTP/1.1\r\nHost: ok.test bad.test\r\n\r\n|whitespace in Host' \
    'GET /h3 HTTP/1.1\r\nHost: ok.test\r\nHost: bad.test\r\n\r\n|several Host headers'; do
	mark
	out=$(inc "$H" send $REAL:80 "${req%|*}" | head -n 1)
	m=$(printf '%s' "$req" | sed 's/^[A-Z]* \([^ ]*\) .*/\1/')
	case $out in "HTTP/1.1 400"*) true ;; *) false ;; esac &&
	    [ "$(got "$m")" = 0 ] &&
	    audit_has '"verdict":"deny"' "bad request: ${req#*|}"
	ok $? "$m: 400 and audited deny, ${req#*|}: $out"
done

# 8. plain HTTP through the proxy port
mark
out=$(inc "$H" send $GW:3128 'GET http://ok.test/fw1 HTTP/1.1\r\nHost: ok.test\r\nProxy-Connection: keep-alive\r\nKeep-Alive: 300\r\n\r\nGET http://bad.test/fw2 HTTP/1.1\r\nHost: bad.test\r\n\r\n')
[ "$(got /fw1)" = 1 ] && [ "$(got /fw2)" = 0 ] && ! evil
ok $? "forward: second request for bad.test behind the first refused"
[ "$(head_of /fw1 | grep -ci 'connection\|keep-alive')" = 0 ] &&
    head_of /fw1 | head -n 1 | grep -qx 'GET /fw1 HTTP/1.1'
ok $? "forward: origin form, no hop-by-hop headers left"
audit_has 'net.http' '"verdict":"deny"' '"listener":"connect"' \
    'request for bad.test on a connection to ok.test'
ok $? "audit: refused, naming bad.test"

mark
out=$(inc "$H" converse $GW:3128 \
    'GET http://ok.test/fw3 HTTP/1.1\r\nHost: ok.test\r\nConnection: keep-alive\r\n\r\n' \
    'GET http://bad.test/fw4 HTTP/1.1\r\nHost: bad.test\r\n\r\n')
[ "$(got /fw3)" = 1 ] && [ "$(got /fw4)" = 0 ] && ! evil &&
    [ "$(head_of /fw3 | grep -ci '^connection:')" = 0 ]
ok $? "forward: keep-alive second request refused, no Connection header upstream"

# 9. CONNECT to ok.test:80 with bytes pipelined before the 200
mark
out=$(inc "$H" send $GW:3128 'CONNECT ok.test:80 HTTP/1.1\r\nHost: ok.test:80\r\n\r\nGET /cn1 HTTP/1.1\r\nHost: bad.test\r\n\r\n')
[ "$(got /cn1)" = 0 ] && ! evil
ok $? "CONNECT ok.test:80 with a pipelined request for bad.test: not relayed"
audit_has 'net.http' '"verdict":"deny"' '"listener":"connect"' \
    'request for bad.test on a connection to ok.test'
ok $? "audit: deny, naming bad.test"

mark
out=$(inc "$H" send $GW:3128 'CONNECT ok.test:80 HTTP/1.1\r\n\r\nGET /cn2 HTTP/1.1\r\nHost: ok.test\r\n\r\nGET /cn3 HTTP/1.1\r\nHost: bad.test\r\n\r\n')
[ "$(got /cn2)" = 1 ] && [ "$(got /cn3)" = 0 ] && ! evil
ok $? "CONNECT: a request for ok.test relayed, the one behind it (bad.test) not"
audit_has 'net.http' '"verdict":"deny"' '"path":"/cn3"' 'request for bad.test'
ok $? "audit: refused"

mark
out=$(inc "$H" send $GW:3128 'CONNECT ok.test:80 HTTP/1.1\r\n\r\nGET http://bad.test/cn4 HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$(got /cn4)" = 0 ] && ! evil
ok $? "CONNECT: an absolute-form request for bad.test in the tunnel refused"

# the upstream saw nothing it should not have
[ "$(tr -d '\r' <"$T/real.log" | grep -ci '^host: bad.test')" = 0 ] &&
    ! tr -d '\r' <"$T/real.log" | grep -qi 'http://bad.test'
ok $? "ok.test never received a request naming bad.test"
kill -0 "$PROXY" && ! grep -q Sanitizer "$T/h.err"
ok $? "the proxy still runs, no sanitizer report"

tap_done
