#!/bin/sh
# A credentialed host whose request rules read the body (issues 13 and
# 21): an MCP endpoint of the test internet, its token injected by
# lenscredd's exchange, under an mcp: rule that allows tools/call of
# read_* only.  The body is judged before the exchange is asked for: an
# allowed call (Content-Length and chunked, the latter with Expect:
# 100-continue) reaches the upstream with the real token and the body
# whole; a call of another tool is refused with 403 and never reaches
# lenscredd (no cred.use) nor the upstream; a body over the bound is
# refused with 413 and nothing is sent; the placeholder in a judged
# body is refused as everywhere.  The sandbox never sees the token.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
. "$(dirname "$0")/credworld.sh"
cw_need

tap_plan 12
tmpdir_setup
chmod 0755 "$T"

TOK=$(cw_secret)
printf '{}\n' >"$T/secrets.json"
cw_up
cw_store mcptok "$TOK" >"$T/store.out" 2>&1 ||
    { echo "Bail out! cred add: $(cat "$T/store.out")"; exit 1; }

deny_policy "$T/p.yaml" <<'EOF'
    http:
      - match: mcp.api.test
        verdict: allow
        caFile: testca.pem
        rules:
          - method: POST
            path: /mcp
            verdict: allow
            mcp:
              - {method: tools/call, tool: "read_*"}
credentials:
  - id: mcptok
    envVar: MCP_TOKEN
    injections:
      - {type: header, host: mcp.api.test, name: Authorization, value: "Bearer {secret}"}
EOF
cw_run cj "$T/p.yaml"
ok $? "sandbox cj runs" || diag "$(cat "$T/run-cj.out")"
ID=$CW_ID
PH=$(cw_ph cj MCP_TOKEN)
case $PH in lens-ph-*) true ;; *) false ;; esac
ok $? "MCP_TOKEN holds a placeholder"

# post NAME TOOL [CURL-ARGS...]: a tools/call of TOOL from the sandbox,
# the response in $T/resp-NAME, its status in $code
post() {
	_n=$1 _t=$2
	shift 2
	cw_sh cj "curl -sS --max-time 20 -w '\ncode=%{http_code}\n' \
	    -H \"Authorization: Bearer \$MCP_TOKEN\" \
	    -H 'Content-Type: application/json' $* \
	    --data '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$_t\",\"arguments\":{\"path\":\"/repo/$_n\"}}}' \
	    https://mcp.api.test/mcp" >"$T/resp-$_n" 2>&1
	code=$(sed -n 's/^code=//p' "$T/resp-$_n" | tail -n 1)
}
upstream_got() {
	[ -n "$(cw_log "r['target'] == '/mcp' and '/repo/$1' in r['body'] and ['Authorization', 'Bearer $TOK'] in r['headers']")" ]
}
uses() {
	"$LENSCTL" audit show --json --dir "$T/audit" 2>/dev/null |
	    grep -F '"type":"cred.use"' | grep -cF "$ID"
}

post allowed read_file
[ "$code" = 200 ]
ok $? "an allowed tools/call through the exchange: 200 ($code)" ||
    diag "$(tail -n 3 "$T/resp-allowed")"
upstream_got allowed
ok $? "the upstream received the body and the real token"
! grep -aqF -- "$TOK" "$T/resp-allowed" && grep -aqF -- "$PH" "$T/resp-allowed"
ok $? "the sandbox's copy of the echo has the placeholder, never the token"
cw_audit '"type":"cred.use"' "$ID" '"path":"/mcp"' '"credential":"mcptok"'
ok $? "audited cred.use"

post chunked read_dir -H "'Transfer-Encoding: chunked'" -H "'Expect: 100-continue'"
[ "$code" = 200 ] && upstream_got chunked
ok $? "a chunked body with Expect: 100-continue, judged, then exchanged whole ($code)" ||
    diag "$(tail -n 3 "$T/resp-chunked")"

post denied delete_repo
[ "$code" = 403 ] && grep -q 'mcp: no entry covers' "$T/resp-denied"
ok $? "a tools/call of another tool: 403 with the rule's reason ($code)" ||
    diag "$(tail -n 3 "$T/resp-denied")"
cw_audit '"type":"net.mcp"' "$ID" '"tool":"delete_repo"' '"verdict":"deny"'
ok $? "the refusal is audited as net.mcp"
[ -z "$(cw_log "'/repo/denied' in r['body']")" ] && [ "$(uses)" = 2 ]
ok $? "the refused call reached neither the upstream nor lenscredd (cred.use: $(uses))"

# the placeholder in the judged body itself
cw_sh cj "curl -sS --max-time 20 -w '\ncode=%{http_code}\n' \
    -H \"Authorization: Bearer \$MCP_TOKEN\" -H 'Content-Type: application/json' \
    --data \"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":1,\\\"method\\\":\\\"tools/call\\\",\\\"params\\\":{\\\"name\\\":\\\"read_file\\\",\\\"arguments\\\":{\\\"path\\\":\\\"/repo/ph-\$MCP_TOKEN\\\"}}}\" \
    https://mcp.api.test/mcp" >"$T/resp-phbody" 2>&1
[ "$(tail -n 1 "$T/resp-phbody")" = "code=403" ] &&
    [ -z "$(cw_log "'/repo/ph-' in r['body']")" ]
ok $? "the placeholder inside a judged body: 403, nothing upstream" ||
    diag "$(tail -n 3 "$T/resp-phbody")"

# over lensnetd's body bound (1 MiB by default)
cw_sh cj "head -c 1100000 /dev/zero >/tmp/big &&
    curl -sS --max-time 20 -o /dev/null -w 'code=%{http_code}\n' \
    -H \"Authorization: Bearer \$MCP_TOKEN\" -H 'Content-Type: application/json' \
    --data-binary @/tmp/big https://mcp.api.test/mcp" >"$T/resp-big" 2>&1
[ "$(tail -n 1 "$T/resp-big")" = "code=413" ] && [ "$(uses)" = 2 ]
ok $? "a body over the bound: 413, lenscredd never asked ($(tail -n 1 "$T/resp-big"))"
