#!/bin/sh
# Attack: a sandbox allowed to reach ok.test over HTTP(S) by a port-less
# http rule uses it to reach another port of that host, a raw TCP
# service on :2222: through a CONNECT tunnel and through the
# transparent listener with an HTTP request naming ok.test.  A port-less
# allow covers 80 and 443 only; a port named in a rule (ok.test:8080) is
# reachable; a port-less deny still covers every port.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/proxyworld.sh"

pw_need || exit 0
tap_plan 12
tmpdir_setup

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"

bg "$I" "$H" httpd $REAL:80 "$T/p80.log" >"$T/p80.out"
bg "$I" "$H" httpd $REAL:2222 "$T/p2222.log" >"$T/p2222.out"
bg "$I" "$H" httpd $REAL:8080 "$T/p8080.log" >"$T/p8080.out"
bg "$I" "$H" httpd $EVIL:2222 "$T/evil.log" >"$T/evil.out"
deny_policy "$T/policy" <<EOF
    http:
      - {match: ok.test, verdict: allow}
      - {match: "ok.test:8080", verdict: allow}
      - {match: bad.test, verdict: deny}
EOF
pw_proxy "$T/policy" -r ok.test=$REAL -r bad.test=$EVIL
ok $? "harness started the proxy (pid $PROXY)"
wait_for grep -q listening "$T/p80.out" &&
    wait_for grep -q listening "$T/p2222.out" &&
    wait_for grep -q listening "$T/p8080.out" &&
    wait_for grep -q listening "$T/evil.out"
ok $? "upstreams on ok.test ($REAL) :80, :2222, :8080"

# 1. CONNECT to a port the rule does not name
mark
out=$(inc "$H" send $GW:3128 'CONNECT ok.test:2222 HTTP/1.1\r\nHost: ok.test:2222\r\n\r\nGET /c2222 HTTP/1.1\r\nHost: ok.test:2222\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 403"*) true ;; *) false ;; esac
ok $? "CONNECT ok.test:2222 under a port-less http rule: $out"
! [ -s "$T/p2222.log" ]
ok $? "nothing reached ok.test:2222"
audit_has '"verdict":"deny"' '"listener":"connect"' '"name":"ok.test"' '"port":2222'
ok $? "audit: CONNECT ok.test:2222 denied"

# 2. the transparent listener: HTTP to ok.test's address on :2222
mark
out=$(inc "$H" send $REAL:2222 'GET /t2222 HTTP/1.1\r\nHost: ok.test:2222\r\n\r\n' | head -n 1)
! [ -s "$T/p2222.log" ]
ok $? "transparent HTTP to ok.test:2222 did not reach it ($out)"

# 3. the named port and the implicit ones still work
out=$(inc "$H" send $GW:3128 'CONNECT ok.test:8080 HTTP/1.1\r\nHost: ok.test:8080\r\n\r\nGET /c8080 HTTP/1.1\r\nHost: ok.test:8080\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 200"*) true ;; *) false ;; esac &&
    wait_for grep -q c8080 "$T/p8080.log"
ok $? "CONNECT ok.test:8080, named in a rule: $out, request relayed"
out=$(inc "$H" send $GW:3128 'CONNECT ok.test:80 HTTP/1.1\r\nHost: ok.test:80\r\n\r\nGET /c80 HTTP/1.1\r\nHost: ok.test\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 200"*) true ;; *) false ;; esac &&
    wait_for grep -q c80 "$T/p80.log"
ok $? "CONNECT ok.test:80 under the port-less rule: $out, request relayed"
out=$(inc "$H" send $REAL:80 'GET /t80 HTTP/1.1\r\nHost: ok.test\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 200"*) true ;; *) false ;; esac
ok $? "transparent HTTP to ok.test:80: $out"

# 4. a port-less deny covers every port
mark
out=$(inc "$H" send $GW:3128 'CONNECT bad.test:2222 HTTP/1.1\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 403"*) true ;; *) false ;; esac && ! [ -s "$T/evil.log" ]
ok $? "CONNECT bad.test:2222 under a port-less deny: $out"
audit_has '"verdict":"deny"' '"name":"bad.test"' '"rule":"bad.test"'
ok $? "audit: denied by the bad.test rule"

tap_done
