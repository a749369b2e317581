#!/bin/sh
# Attack: a sandbox whose requests' bodies rules read (a graphql: rule)
# opens 100 connections and sends on each the head of a 1 MiB body,
# hoping the proxy holds 100 MiB while it waits for them.  Held bodies
# are under one budget across all connections (lensnetd -b; here
# 16 MiB): what would go over it is refused at once with 503 and the
# reason, audited; the held ones are judged as ever.  The budget comes
# back on every path (allowed, denied, the client gone): the proxy's
# debug log ends at 0 held bytes, and a second round holds as many.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/proxyworld.sh"

pw_need || exit 0
command -v python3 >/dev/null || { echo "1..0 # skip needs python3"; exit 0; }
tap_plan 9
tmpdir_setup

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"

: >"$T/gql.log"
bg "$I" python3 "$(dirname "$0")/gqlserver.py" $REAL:80 "$T/gql.log" \
    >"$T/gql.out"
deny_policy "$T/policy" <<EOF2
    http:
      - match: gql.test
        verdict: allow
        rules:
          - method: POST
            path: /graphql
            verdict: allow
            graphql: {operations: [query], fields: [viewer]}
EOF2
MiB=1048576
pw_proxy "$T/policy" -r gql.test=$REAL -J $((16 * MiB)) -V
ok $? "harness started the proxy (pid $PROXY), held bodies up to 16 MiB"
wait_for grep -q listening "$T/gql.out"
ok $? "python3 GraphQL upstream for gql.test ($REAL)"

mark
out=$(inc python3 "$(dirname "$0")/heldclient.py" $REAL:80 gql.test 100 $MiB 2>&1)
case $out in "refused 84 held 16 gone 4 statuses 200*8 403*4 reason lens proxy: request bodies held for rules over the proxy's budget of $((16 * MiB)) bytes") true ;; *) false ;; esac
ok $? "100 heads of 1 MiB bodies, 16 MiB budget: 84 refused with 503 at once, 16 held and judged: $out"
audit_has 'net.http' '"status":503' '"reason":"request bodies held for rules over'
ok $? "audit: a 503 with its reason"
[ "$(wc -l <"$T/gql.log" | tr -d ' ')" = 8 ] && ! grep -q mutation "$T/gql.log"
ok $? "the 8 allowed bodies reached the upstream whole"
# the proxy's debug lines: the bytes held after each release
held() { grep -o 'proxy: held bytes [0-9]*$' "$T/h.err" | awk '{ print $4 }'; }
wait_for sh -c "grep -o 'proxy: held bytes [0-9]*\$' '$T/h.err' | tail -n 1 | grep -qx 'proxy: held bytes 0'"
ok $? "the budget came back to 0 (allowed, denied, client gone): $(held | wc -l) releases, the last $(held | tail -n 1)"
[ "$(held | sort -n | tail -n 1)" -le $((16 * MiB)) ] && [ "$(held | wc -l)" -ge 12 ]
ok $? "at most 16 MiB held after any release"

out=$(inc python3 "$(dirname "$0")/heldclient.py" $REAL:80 gql.test 16 $MiB 2>&1)
case $out in "refused 0 held 16 "*) true ;; *) false ;; esac
ok $? "a second round holds 16 again: $out"

tap_done
