#!/bin/sh
# Attack: a sandbox allowed GraphQL subscriptions over WebSocket
# (graphql: with websocket: true, issue 21) tries to get a mutation or
# a denied field to the server through the socket: as a subscribe, as
# a field behind an alias or a fragment, split over fragmented frames
# (a ping between them), as a graphql-ws "start", with a duplicate
# "payload" key; or to get a frame past the judge the server would
# read differently: unmasked, a control frame over 125 bytes, a text
# frame that is not UTF-8, a binary frame, a reserved bit, a
# permessage-deflate the proxy must not let be agreed, a subprotocol it
# does not judge; a server agreeing to what was never offered.  A denied subscribe gets an "error" message from the
# proxy and reaches nobody, the second closes with 4403; a frame it
# cannot parse closes the socket (1002, 1003, 1007, 4403).  Allowed
# subscriptions reach the python3 server whole and their events come
# back.  Each subscribe is a net.http event with its graphql detail.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/proxyworld.sh"

pw_need || exit 0
command -v python3 >/dev/null || { echo "1..0 # skip needs python3"; exit 0; }
tap_plan 25
tmpdir_setup
WS="$(dirname "$0")/wsgql.py"

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"

: >"$T/ws.log"
bg "$I" python3 "$WS" serve $REAL:80 "$T/ws.log" >"$T/ws.out"
deny_policy "$T/policy" <<EOF2
    http:
      - match: gql.test
        verdict: allow
        rules:
          - method: GET
            path: /graphql
            websocket: true
            verdict: allow
            graphql: {operations: [subscription], fields: [tick]}
          - method: GET
            path: /graphql
            verdict: deny
            graphql: {operations: [mutation]}
EOF2
pw_proxy "$T/policy" -r gql.test=$REAL -D 4096
ok $? "harness started the proxy (pid $PROXY)"
wait_for grep -q listening "$T/ws.out"
ok $? "python3 graphql-transport-ws server for gql.test ($REAL)"
at_exit '[ "$_tap_failed" -eq 0 ] || diag "server log:" "$(tail -n 20 "$T/ws.log")"'

# cl SCENARIO: the client's view, one line per event
cl() { inc python3 "$WS" client $REAL:80 gql.test "$1" 2>&1; }
has() { printf '%s\n' "$1" | grep -qF -- "$2"; }
nlog() { grep -c "^$1 " "$T/ws.log"; }

mark
out=$(cl allowed)
has "$out" "status 101" && has "$out" "protocol ['graphql-transport-ws']" &&
    has "$out" '"payload": {"data": {"tick": 1}}' &&
    has "$out" '"payload": {"data": {"tick": 2}}' &&
    has "$out" '{"id": "1", "type": "complete"}' && has "$out" "close 1000"
ok $? "an allowed subscription passes, its events arrive: $(echo $out | cut -c1-160)"
audit_has 'net.http' '"upgrade":"websocket"' '"ws_id":"1"' '"verdict":"allow"' \
    '"graphql":{"fields":["tick"],"name":"S","op":"subscription"}'
ok $? "audit: the subscribe, its operation and field"
grep -q '^upgrade extensions=- protocols=graphql-transport-ws$' "$T/ws.log"
ok $? "permessage-deflate stripped from the upgrade: $(grep upgrade "$T/ws.log" | head -1)"

mark
out=$(cl denied)
has "$out" '{"id": "m1", "payload": [{"message": "lens proxy: policy: denied by a request rule"}], "type": "error"}' &&
    has "$out" '{"id": "2", "type": "complete"}' &&
    has "$out" "close 4403 policy: no request rule matches"
ok $? "a mutation as subscribe: error; then an allowed one passes; an alias hiding a denied field: 4403"
audit_has 'net.http' '"ws_id":"m1"' '"verdict":"deny"' '"op":"mutation"' \
    '"reason":"policy: denied by a request rule"'
ok $? "audit: the mutation denied"
audit_has 'net.http' '"ws_id":"a1"' '"verdict":"deny"' '"fields":["deleteRepo"]'
ok $? "audit: the alias named the field it hid"

out=$(cl fragment)
has "$out" '"id": "f1", "payload": [{"message": "lens proxy: policy: no request rule matches"}], "type": "error"'
ok $? "a denied field in a fragment: error"

out=$(cl split)
has "$out" '{"id": "3", "type": "complete"}' && has "$out" '"id": "4", "payload"' &&
    has "$out" '"type": "error"' && grep -q '"id\\": \\"3\\"' "$T/ws.log"
ok $? "a subscribe in three frames (a ping between) reassembled, judged, passed; a split mutation refused"

out=$(cl legacy)
has "$out" "protocol ['graphql-ws']" && has "$out" '{"id": "l1", "type": "complete"}' &&
    has "$out" '{"id": "l2", "payload": {"message": "lens proxy: policy: denied by a request rule"}, "type": "error"}'
ok $? "graphql-ws: start judged the same way"

n=$(nlog message)
for s in "unmasked 1002 unmasked" "bigping 1002 over 125 bytes" \
    "badutf8 1007 not UTF-8" "binary 1003 binary frame" \
    "rsv 1002 reserved bits" "notjson 4403 duplicate"; do
	set -- $s
	sc=$1 code=$2; shift 2
	out=$(cl $sc)
	has "$out" "close $code" && has "$out" "$*"
	ok $? "$sc: closed $code ($(echo $out | sed 's/.*close/close/'))"
done
# only the connection_init of each reached the server
[ "$(nlog message)" = $((n + 6)) ]
ok $? "none of their frames reached the server ($(nlog message) messages)"

out=$(cl subprotocol)
has "$out" "status 403"
ok $? "subprotocol chat on a judged endpoint: 403"
out=$(cl noproto)
has "$out" "status 403"
ok $? "no subprotocol on a judged endpoint: 403"

out=$(cl evil-ext)
has "$out" "status 502"
ok $? "a 101 agreeing to an extension the proxy stripped: 502 ($out)"
out=$(cl evil-noproto)
has "$out" "status 502"
ok $? "a 101 picking no subprotocol: 502 ($out)"

! grep -q 'deleteRepo\|mutation' "$T/ws.log"
ok $? "no denied operation ever reached the server"
kill -0 "$PROXY" && ! grep -q Sanitizer "$T/h.err"
ok $? "the proxy still runs, no sanitizer report"

tap_done
