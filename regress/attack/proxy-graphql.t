#!/bin/sh
# Attack: a sandbox allowed GraphQL queries (graphql: request rules,
# issue 21) tries to get a mutation to the server anyway: as a plain
# mutation, behind an alias named like an allowed field, inside a
# fragment, as a second operation of the document, picked by
# operationName, as one element of a batch, as a persisted query's hash,
# with GraphQL parameters in the URL, in a body that is not JSON, has a
# duplicate "query" key or is larger than the proxy reads.  Each is
# refused with a reason (403, 413 over the bound) and reaches nobody;
# allowed queries reach the python3 GraphQL upstream intact
# (Content-Length and chunked with Expect: 100-continue), on the same
# kept-alive connection as refused ones.  Every decision is a net.http
# event with the operation, its name and its top-level fields.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/proxyworld.sh"

pw_need || exit 0
command -v curl >/dev/null && command -v python3 >/dev/null ||
    { echo "1..0 # skip needs curl and python3"; exit 0; }
tap_plan 30
tmpdir_setup

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"

: >"$T/gql.log"
bg "$I" python3 "$(dirname "$0")/gqlserver.py" $REAL:80 "$T/gql.log" \
    >"$T/gql.out"
deny_policy "$T/policy" <<EOF
    http:
      - match: gql.test
        verdict: allow
        rules:
          - method: POST
            path: /graphql
            verdict: allow
            graphql: {operations: [query], fields: [viewer, repo]}
          - method: POST
            path: /graphql
            verdict: deny
            graphql: {operations: [mutation, subscription]}
          - {method: GET, path: /health, verdict: allow}
EOF
pw_proxy "$T/policy" -r gql.test=$REAL -D 4096
ok $? "harness started the proxy (pid $PROXY), bodies up to 4096 bytes"
wait_for grep -q listening "$T/gql.out"
ok $? "python3 GraphQL upstream for gql.test ($REAL)"
at_exit '[ "$_tap_failed" -eq 0 ] || diag "gql.test received:" "$(tail -n 20 "$T/gql.log")" "net.http:" "$(grep "net.http " "$T/h.out" | tail -n 6)"'

seen() { wc -l <"$T/gql.log" | tr -d ' '; }
# gq BODY [curl args...]: the status, then the body; Content-Type $CT
CT=application/json
gq() {
	printf '%s' "$1" >"$T/body.json"; shift
	: >"$T/resp"
	_c=$(inc curl -sS --max-time 10 --resolve gql.test:80:$REAL \
	    -H "Content-Type: $CT" --data-binary @"$T/body.json" \
	    -o "$T/resp" -w '%{http_code}' "$@" http://gql.test/graphql)
	echo "$_c $(cat "$T/resp")"
}
# refused BODY STATUS WHY TEXT [curl args...]: STATUS with the reason,
# nothing reached the upstream
refused() {
	_b=$1 _s=$2 _w=$3 _t=$4; shift 4
	_n=$(seen)
	_o=$(gq "$_b" "$@")
	case $_o in "$_s lens proxy: "*"$_w"*) _r=0 ;; *) _r=1 ;; esac
	[ $_r = 0 ] && [ "$(seen)" = "$_n" ]
	ok $? "$_t: $_o"
}

mark
b='{"query":"query Q { viewer { login } }"}'
out=$(gq "$b")
[ "$out" = "200 {\"data\": {\"received\": ${#b}}}" ] && [ "$(seen)" = 1 ] &&
    grep -qF 'viewer { login }' "$T/gql.log"
ok $? "an allowed query reaches the upstream: $out"
audit_has 'net.http' '"verdict":"allow"' '"status":200' \
    '"graphql":{"fields":["viewer"],"name":"Q","op":"query"}'
ok $? "audit: the query, its name and its field"

mark
refused '{"query":"mutation { deleteRepo(id: 1) { id } }"}' 403 \
    "policy: denied by a request rule" "a mutation: 403"
audit_has 'net.http' '"verdict":"deny"' '"status":403' \
    '"reason":"policy: denied by a request rule"' '"op":"mutation"' \
    '"fields":["deleteRepo"]'
ok $? "audit: the mutation denied, its field named"

refused '{"query":"{ viewer: deleteRepo(id: 1) { id } }"}' 403 \
    "no request rule matches" "a field behind an alias named like an allowed one"
refused '{"query":"query { ...F } fragment F on Query { viewer ...G } fragment G on Query { deleteRepo }"}' \
    403 "no request rule matches" "a field behind nested fragments"
refused '{"query":"query { viewer ... on Query { deleteRepo } }"}' 403 \
    "no request rule matches" "a field behind an inline fragment"
refused '{"query":"query A { viewer } mutation B { deleteRepo }"}' 403 \
    "2 operations and no operationName" "a second operation, no operationName"
refused '{"query":"query A { viewer } mutation B { deleteRepo }","operationName":"B"}' \
    403 "denied by a request rule" "operationName picking the mutation"
out=$(gq '{"query":"query A { viewer } mutation B { deleteRepo }","operationName":"A"}')
case $out in "200 "*) true ;; *) false ;; esac && [ "$(seen)" = 2 ]
ok $? "operationName picking the query: $out"
refused '[{"query":"{ viewer }"},{"query":"mutation { deleteRepo }"}]' 403 \
    "denied by a request rule" "a mutation as a batch element"
out=$(gq '[{"query":"{ viewer }"},{"query":"{ repo }"}]')
case $out in "200 "*) true ;; *) false ;; esac && [ "$(seen)" = 3 ]
ok $? "a batch of allowed queries: $out"
refused '{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"0a1b"}}}' \
    403 "persisted query without its document" "a persisted query's hash alone"
refused '{"query":"{ viewer }"}' 403 "GraphQL parameters in the URL" \
    "a mutation in the URL's query parameter" \
    --url-query 'query=mutation{x}'
refused 'mutation { deleteRepo }' 403 "not strict JSON" "a body that is not JSON"
refused '{"query":"{ viewer }","query":"mutation { deleteRepo }"}' 403 \
    "duplicate" "a duplicate query key"
refused '{"query":"{ viewer }"} {"query":"mutation { deleteRepo }"}' 403 \
    "not strict JSON" "a second JSON value after the first"
CT=application/x-www-form-urlencoded
refused '{"query":"{ viewer }"}' 403 "is not JSON" "a form Content-Type"
CT=application/json
refused '{"query":"{ viewer }"}' 403 "two Content-Type headers" \
    "a second Content-Type header" -H 'Content-Type: text/plain'

big=$(printf '{"query":"{ viewer }","pad":"%s"}' "$(head -c 5000 /dev/zero | tr '\0' x)")
refused "$big" 413 "over the 4096 rules read" \
    "a 5 KB body over the bound, Content-Length"
refused "$big" 413 "over the 4096 bytes rules read" \
    "a 5 KB body over the bound, chunked" -H 'Transfer-Encoding: chunked'

# chunked with Expect: 100-continue: the proxy says continue, judges the
# whole body, sends it on
ok_body=$(printf '{"query":"{ viewer }","pad":"%s"}' "$(head -c 3000 /dev/zero | tr '\0' y)")
printf '%s' "$ok_body" >"$T/body.json"
out=$(inc curl -sS -v --max-time 10 --resolve gql.test:80:$REAL \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    -H 'Expect: 100-continue' --data-binary @"$T/body.json" \
    http://gql.test/graphql 2>"$T/curl.err")
[ "$out" = "{\"data\": {\"received\": ${#ok_body}}}" ] && [ "$(seen)" = 4 ] &&
    grep -q '< HTTP/1.1 100 Continue' "$T/curl.err"
ok $? "chunked, Expect: 100-continue: 100 from the proxy, all ${#ok_body} bytes upstream: $out"

# one kept-alive connection: refused, allowed, refused, allowed
q='{"query":"{ viewer }"}' m='{"query":"mutation { deleteRepo }"}'
req() { printf 'POST /graphql HTTP/1.1\\r\\nHost: gql.test\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n%s' ${#1} "$1"; }
mark
out=$(inc "$H" seq $REAL:80 "$(req "$m")" "$(req "$q")" "$(req "$m")" "$(req "$q")")
[ "$(printf '%s\n' "$out" | grep '^status' | tr '\n' ' ')" = \
    "status 403 status 200 status 403 status 200 " ] && [ "$(seen)" = 6 ]
ok $? "one connection: mutation 403, query 200, mutation 403, query 200"
audit_has 'net.connect' '"requests":4'
ok $? "audit: the four on one connection"

# a GET where only rules that read no body apply: no body needed
out=$(inc curl -sS --max-time 10 --resolve gql.test:80:$REAL \
    -w '%{http_code}' http://gql.test/health | tr -d '\n')
[ "$out" = "ok200" ]
ok $? "GET /health (no graphql rule): served ($out)"

# the only document with the mutation in it is the one whose
# operationName ran the query
[ "$(grep -c deleteRepo "$T/gql.log")" = 1 ] &&
    grep deleteRepo "$T/gql.log" | grep -qF '\"operationName\":\"A\"'
ok $? "no mutation that would run ever reached the upstream"
kill -0 "$PROXY" && ! grep -q Sanitizer "$T/h.err"
ok $? "the proxy still runs, no sanitizer report"

tap_done
