#!/bin/sh
# Attack (issue 21): a sandboxed agent talks to an MCP server (Streamable
# HTTP, one JSON-RPC message per POST) behind TLS interception, under
# mcp: rules that allow initialize, read_file under /repo and
# resources/read under file:///repo, and deny delete_*.  The permitted
# tools/call passes and reaches the server; another tool, a tool the
# deny entry names, an argument outside its glob, a resources/read
# outside the uri glob, a batch, a duplicate key, an Mcp-Name header
# that names another tool (plain and base64), a JSON-RPC response, and
# a GET on the endpoint (though a GET rule allows every path) are each
# refused with 403, the reason in the audit, and never reach the server.  Every request read as JSON-RPC is
# a net.mcp event with its tool and the SHA-256 of its arguments'
# canonical JSON, never the arguments.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
. "$(dirname "$0")/proxyworld.sh"

CREDD=$OBJ/lenscredd
CP=$TOOLS/credpeer
pw_need || exit 0
if [ ! -x "$CREDD" ] || [ ! -x "$CP" ] || ! id _lenscred >/dev/null 2>&1 ||
    ! command -v curl >/dev/null ||
    ! python3 -c 'import cryptography' 2>/dev/null; then
	echo "1..0 # SKIP needs lenscredd, credpeer, _lenscred, curl, python3-cryptography"
	exit 0
fi
tap_plan 31
tmpdir_setup
chmod 0755 "$T"
SBX=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
at_exit 'credd_stop'
SECRET=s3cr3t-argument-value

python3 "$(dirname "$0")/../tlscerts.py" "$T/pki" ||
    { echo "Bail out! cannot make the certificates"; exit 1; }
credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
"$CP" "$T/cred.sock" create "$SBX" "$T/sbxca.pem" >/dev/null &&
    [ -s "$T/sbxca.pem" ]
ok $? "lenscredd made the sandbox's CA"

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"
touch "$T/mcp.log"
chmod 0666 "$T/mcp.log"
bg "$I" python3 "$(dirname "$0")/mcpserver.py" "$T/pki/good.crt" \
    "$T/pki/good.key" $REAL 443 "$T/mcp.log" >"$T/mcp.out" 2>&1
deny_policy "$T/policy" <<EOF
    http:
      - match: good3.test
        verdict: allow
        tlsTerminate: true
        rules:
          - method: POST
            path: /mcp
            verdict: allow
            mcp:
              - {method: initialize}
              - {method: "notifications/*"}
              - method: tools/call
                tool: read_file
                arguments:
                  - {pointer: /path, glob: "/repo/**"}
              - {method: tools/call, tool: list_dir}
              - {method: resources/read, uri: "file:///repo/**"}
          - method: POST
            path: /mcp
            verdict: deny
            mcp:
              - {method: tools/call, tool: "delete_*"}
          - {method: GET, path: "/**", verdict: allow}
EOF
pw_proxy "$T/policy" -k "$T/cred.sock" -A "$T/pki/ca.crt" -B 1000 \
    -r good3.test=$REAL
ok $? "harness started the proxy (pid $PROXY)"
wait_for grep -q listening "$T/mcp.out"
ok $? "MCP test server on $REAL:443" || diag "$(cat "$T/mcp.out")"

URL=https://good3.test/mcp
# post NAME BODY [CURL-ARGS...]: POST BODY to the endpoint; $code, $T/NAME
post() {
	_n=$1 _b=$2
	shift 2
	code=$(inc env CURL_CA_BUNDLE="$T/sbxca.pem" curl -s --max-time 10 \
	    --resolve good3.test:443:$REAL -o "$T/$_n" -w '%{http_code}' \
	    -H 'Content-Type: application/json' \
	    -H 'Accept: application/json, text/event-stream' \
	    --data-binary "$_b" "$@" $URL)
}
call() {
	printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s}}' \
	    "$1" "$2" "$3"
}
# refused NAME REASON BODY [CURL-ARGS...]: 403 with REASON, audited, unseen
refused() {
	_name=$1 _why=$2 _body=$3
	shift 3
	mark
	post "$_name" "$_body" "$@"
	# the body has the reason as it is, the audit JSON-escaped
	[ "$code" = 403 ] && grep -qF -- "$(printf '%s' "$_why" |
	    sed 's/\\"/"/g')" "$T/$_name"
	ok $? "$_name: 403 ($code) \"$_why\"" || diag "$(cat "$T/$_name")"
	audit_has '"verdict":"deny"' '"status":403' "\"reason\":\"policy: $_why"
	ok $? "$_name: the reason is in the audit"
}

# 1. what the rules allow
mark
post init '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
[ "$code" = 200 ] && grep -q '"served": "initialize"' "$T/init"
ok $? "initialize: 200 from the server ($code)"
post call-ok "$(call 1 read_file "{\"path\":\"/repo/$SECRET\"}")" \
    -H 'Mcp-Method: tools/call' -H 'Mcp-Name: read_file'
[ "$code" = 200 ] && grep -q '"tool": "read_file"' "$T/call-ok"
ok $? "tools/call read_file /repo/...: 200 from the server ($code)"
HASH=$(printf '{"path":"/repo/%s"}' "$SECRET" | sha256sum | cut -d' ' -f1)
audit_has 'audit net.mcp' '"verdict":"allow"' '"tool":"read_file"' \
    '"method":"tools/call"' "\"args_sha256\":\"$HASH\"" '"rule":"good3.test"' \
    '"request_rule":0' '"name":"good3.test"'
ok $? "net.mcp: tool, verdict, rule, the arguments' SHA-256"
post call-b64 "$(call 2 list_dir '{}')" \
    -H 'Mcp-Name: =?base64?bGlzdF9kaXI=?='
[ "$code" = 200 ]
ok $? "tools/call list_dir, Mcp-Name in its base64 form: 200 ($code)"

# 2. what they do not
refused other-tool 'mcp: no entry covers tools/call \"write_file\"' \
    "$(call 3 write_file '{"path":"/repo/a"}')"
audit_has 'audit net.mcp' '"verdict":"deny"' '"tool":"write_file"'
ok $? "other-tool: a net.mcp event names the tool"
refused deny-entry 'denied by a request rule' \
    "$(call 4 delete_repo '{"path":"/repo"}')"
refused arg-outside 'mcp: no entry covers tools/call \"read_file\"' \
    "$(call 5 read_file '{"path":"/etc/passwd"}')"
refused resource-outside \
    'mcp: no entry covers resources/read \"file:///etc/passwd\"' \
    '{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}'
refused batch 'mcp: a JSON-RPC batch is refused' \
    "[$(call 7 read_file '{"path":"/repo/a"}')]"
refused dupkey 'request body: not strict JSON: byte 81: duplicate object key' \
    '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"read_file","name":"delete_repo","arguments":{"path":"/repo/a"}}}'
refused name-header 'mcp: Mcp-Name header does not agree with params.name' \
    "$(call 9 read_file '{"path":"/repo/a"}')" -H 'Mcp-Name: delete_repo'
refused name-b64 'mcp: Mcp-Name header does not agree with params.name' \
    "$(call 10 read_file '{"path":"/repo/a"}')" \
    -H 'Mcp-Name: =?base64?ZGVsZXRlX3JlcG8=?='
refused response 'mcp: a JSON-RPC response, not a request' \
    '{"jsonrpc":"2.0","id":11,"result":{"content":[]}}'
mark
code=$(inc env CURL_CA_BUNDLE="$T/sbxca.pem" curl -s --max-time 10 \
    --resolve good3.test:443:$REAL -o "$T/get" -w '%{http_code}' \
    -H 'Accept: text/event-stream' $URL)
[ "$code" = 403 ] && grep -q 'mcp: GET' "$T/get"
ok $? "GET on the endpoint (the old server-to-client stream): 403 ($code)"
audit_has 'audit net.http' '"method":"GET"' '"reason":"policy: mcp: GET'
ok $? "GET: the reason is in the audit"

# 3. what the server saw: the allowed requests only
n=$(grep -c '^POST /mcp ' "$T/mcp.log")
[ "$n" = 3 ] && ! grep -q -e write_file -e delete_repo -e /etc/passwd \
    -e '^GET' -e '"result"' "$T/mcp.log"
ok $? "the server received the 3 allowed requests, nothing refused ($n)" ||
    diag "$(cat "$T/mcp.log")"
! grep '^audit' "$T/h.out" | grep -q "$SECRET"
ok $? "the audit never holds an argument's value"
