#!/bin/sh
# LLM routing (issue 21): a sandboxed client calls the Anthropic
# Messages API at anthropic.api.test/v1/messages; the policy's llm:
# route sends it to an OpenAI-compatible backend of the test internet
# (credupstream.py at openai-backend.api.test, real TLS) with the model
# mapped and the request translated, the backend's key injected by
# lenscredd's exchange.  The attacker is the workload: it must not reach
# another model than the policy's, smuggle tools or images to a backend
# that declared it takes none, have a content block silently dropped,
# nor ever see the backend's key.
#   - routed: the backend gets /v1/chat/completions, model gpt-test, the
#     real key (not the sandbox's x-api-key); the client an Anthropic
#     message with the backend's answer and usage
#   - streamed: the backend's OpenAI SSE arrives as Anthropic SSE
#     (message_start ... message_stop), parsed here event by event
#   - a malformed backend stream ends in one Anthropic error event
#   - tools to a tools: false backend, an image to an images: false one,
#     an unknown content block: 400 naming it, nothing sent
#   - a deny route: 403 with the reason, nothing sent
#   - the key in neither the environment nor any response; the backend
#     itself, its host allowed for the exchange but every request of the
#     sandbox denied, not reachable around the routes with the key's
#     placeholder
#   - audit: net.llm with model asked, model served, backend, tokens
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
. "$(dirname "$0")/../networld.sh"
. "$(dirname "$0")/../credworld.sh"
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
cw_need

tap_plan 19
tmpdir_setup
chmod 0755 "$T"

KEY=$(cw_secret)
printf '{}\n' >"$T/secrets.json"
cw_up
cw_store backendkey "$KEY" >"$T/store.out" 2>&1 ||
    { echo "Bail out! cred add: $(cat "$T/store.out")"; exit 1; }

deny_policy "$T/p.yaml" <<'EOF'
    http:
      - match: anthropic.api.test
        verdict: allow
        caFile: testca.pem
      # no request rules: lensnetd itself refuses the sandbox's own
      # requests to an llm backend (the key serves the routes only)
      - match: openai-backend.api.test
        verdict: allow
        caFile: testca.pem
credentials:
  - id: backendkey
    envVar: BACKEND_KEY
    injections:
      - {type: header, host: openai-backend.api.test, name: Authorization, value: "Bearer {secret}"}
llm:
  backends:
    - name: local
      url: https://openai-backend.api.test/v1
      api: openai
      capabilities: {tools: false, images: false}
      models: {"claude-*": gpt-test}
  routes:
    - {domain: anthropic.api.test, path: /v1/messages, model: "claude-bad*", action: deny}
    - {domain: anthropic.api.test, path: /v1/messages, model: "claude-*", action: route, backend: local, translate: true}
EOF
cw_run ll "$T/p.yaml"
ok $? "sandbox ll runs" || diag "$(cat "$T/run-ll.out")"
ID=$CW_ID

# q NAME BODY: a request of the batch that one `lctl exec` runs
# (asks), each POSTed to the Messages API from the sandbox; then the
# response of NAME in $T/resp-NAME, its body in $T/body-NAME, its status
# in $T/code-NAME
SCRIPT=
q() {
	SCRIPT="$SCRIPT
cat >/tmp/$1.json <<'XEOF'
$2
XEOF
echo '=== $1'
curl -sS -N --max-time 20 -w '\ncode=%{http_code}\n' \
    -H 'Content-Type: application/json' -H 'x-api-key: sk-ant-sandbox' \
    -H 'anthropic-version: 2023-06-01' --data-binary @/tmp/$1.json \
    https://anthropic.api.test/v1/messages 2>&1"
}
asks() {
	cw_sh ll "$SCRIPT" >"$T/asks.out" 2>&1
	$CW_PY -c 'import sys, re
t, name, cur = sys.argv[1], None, []
def flush():
    if name is None:
        return
    txt = "".join(cur)
    open(t + "/resp-" + name, "w").write(txt)
    m = re.search(r"\ncode=(\d+)\n?$", "\n" + txt)
    open(t + "/code-" + name, "w").write(m.group(1) if m else "none")
    open(t + "/body-" + name, "w").write(txt[:m.start()] if m else txt)
for ln in open(t + "/asks.out"):
    if ln.startswith("=== "):
        flush()
        name, cur = ln[4:].strip(), []
    else:
        cur.append(ln)
flush()' "$T"
}
code() {
	cat "$T/code-$1" 2>/dev/null
}
nreq() {
	cw_log "r['target'] == '/v1/chat/completions'" | wc -l
}
# the backend's log never has TEXT
backend_never() {
	[ -z "$(cw_log "r['target'] == '/v1/chat/completions' and '$1' in r['body']")" ]
}

q plain '{"model":"claude-3-test","max_tokens":64,"system":"be brief","messages":[{"role":"user","content":"hello"}]}'
q stream '{"model":"claude-3-test","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}'
q malformed '{"model":"claude-3-test","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"MALFORMED"}]}'
q long '{"model":"claude-3-test","max_tokens":64,"messages":[{"role":"user","content":"LONG"}]}'
q longstream '{"model":"claude-3-test","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"LONG"}]}'
q tools '{"model":"claude-3-test","max_tokens":64,"tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"weather?"}]}'
q image '{"model":"claude-3-test","max_tokens":64,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"text","text":"what is it?"}]}]}'
q block '{"model":"claude-3-test","max_tokens":64,"messages":[{"role":"user","content":[{"type":"text","text":"read this"},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]}'
q denied '{"model":"claude-bad-1","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'
q unrouted '{"model":"gpt-4o","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'
q notjson '{"model":"claude-3-test","model":"claude-bad-1","messages":[]}'
SCRIPT="$SCRIPT
echo '=== direct'
curl -sS --max-time 20 -w '\ncode=%{http_code}\n' \
    -H \"Authorization: Bearer \$BACKEND_KEY\" -H 'Content-Type: application/json' \
    --data '{\"model\":\"gpt-direct\",\"messages\":[]}' \
    https://openai-backend.api.test/v1/chat/completions 2>&1"
asks

[ "$(code plain)" = 200 ] && $CW_PY -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert r["type"] == "message" and r["role"] == "assistant", r
assert r["content"] == [{"type": "text", "text": "served gpt-test"}], r
assert r["stop_reason"] == "end_turn", r
assert r["usage"] == {"input_tokens": 11, "output_tokens": 7}, r' "$T/body-plain" 2>"$T/py.err"
ok $? "routed: an Anthropic message back with the backend's answer and usage ($(code plain))" ||
    diag "$(cat "$T/resp-plain" "$T/py.err")"

cw_log "r['target'] == '/v1/chat/completions'" >"$T/got-plain"
$CW_PY -c 'import json, sys
r = json.loads(open(sys.argv[1]).readline())
b = json.loads(r["body"])
assert r["sni"] == "openai-backend.api.test", r["sni"]
assert b["model"] == "gpt-test", b
assert b["messages"] == [{"role": "system", "content": "be brief"},
    {"role": "user", "content": "hello"}], b
assert b["max_tokens"] == 64, b
h = {n.lower(): v for n, v in r["headers"]}
assert h["authorization"] == "Bearer " + sys.argv[2], h
assert "x-api-key" not in h and "anthropic-version" not in h, h' \
    "$T/got-plain" "$KEY" 2>"$T/py.err"
ok $? "the backend got Chat Completions, model gpt-test, the real key, not the sandbox's" ||
    diag "$(cat "$T/got-plain" "$T/py.err")"

[ "$(code stream)" = 200 ] && $CW_PY -c 'import json, sys
ev, name, data = [], None, []
for ln in open(sys.argv[1]).read().split("\n"):
    if ln.startswith("event: "):
        name = ln[7:]
    elif ln.startswith("data: "):
        data.append(ln[6:])
    elif ln == "" and data:
        d = json.loads("\n".join(data))
        assert d["type"] == name, (name, d)
        ev.append(d)
        name, data = None, []
kinds = [e["type"] for e in ev]
assert kinds == ["message_start", "content_block_start",
    "content_block_delta", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop"], kinds
text = "".join(e["delta"]["text"] for e in ev
    if e["type"] == "content_block_delta")
assert text == "served gpt-test", text
md = ev[5]
assert md["delta"]["stop_reason"] == "end_turn", md
assert md["usage"]["output_tokens"] == 7, md' "$T/body-stream" 2>"$T/py.err"
ok $? "streamed: the OpenAI SSE arrives as Anthropic SSE, event by event ($(code stream))" ||
    diag "$(cat "$T/resp-stream" "$T/py.err")"
cw_log "'\"stream\": true' in r['body'] or '\"stream\":true' in r['body']" |
    grep -q include_usage
ok $? "the streamed request asked the backend for usage"

[ "$(code malformed)" = 200 ] && [ "$(grep -c '^event: error$' "$T/body-malformed")" = 1 ] &&
    ! grep -q message_stop "$T/body-malformed" &&
    grep -q 'not a JSON object' "$T/body-malformed"
ok $? "a malformed backend stream ends in one clean error event" ||
    diag "$(cat "$T/resp-malformed")"

[ "$(code long)" = 200 ] && [ "$(code longstream)" = 200 ] && $CW_PY -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert r["content"][0]["text"] == "0123456789" * 30000
n, text, last = 0, [], None
for ln in open(sys.argv[2]).read().split("\n"):
    if ln.startswith("data: "):
        d = json.loads(ln[6:])
        last = d["type"]
        if d["type"] == "content_block_delta":
            text.append(d["delta"]["text"])
assert "".join(text) == "0123456789" * 30000 and last == "message_stop"' \
    "$T/body-long" "$T/body-longstream" 2>"$T/py.err"
ok $? "300 kB answers, whole and streamed (30000 events), past the proxy's 64 kB buffers" ||
    diag "$(head -c 300 "$T/resp-long")" "$(tail -n 5 "$T/resp-longstream")" "$(cat "$T/py.err")"
[ "$(code tools)" = 400 ] && grep -q 'no tools capability' "$T/body-tools"
ok $? "tools to a tools: false backend: 400 with the reason ($(code tools))" ||
    diag "$(cat "$T/resp-tools")"
[ "$(code image)" = 400 ] && grep -q 'no images capability' "$T/body-image"
ok $? "an image to an images: false backend: 400 with the reason ($(code image))" ||
    diag "$(cat "$T/resp-image")"
[ "$(code block)" = 400 ] && grep -q 'content block "document" has no translation' "$T/body-block"
ok $? "an unknown content block: 400 naming it, not dropped ($(code block))" ||
    diag "$(cat "$T/resp-block")"
[ "$(code denied)" = 403 ] && grep -q 'denied by route 0' "$T/body-denied"
ok $? "a deny route: 403 with the reason ($(code denied))" || diag "$(cat "$T/resp-denied")"
[ "$(code unrouted)" = 403 ] && grep -q 'no route covers model "gpt-4o"' "$T/body-unrouted"
ok $? "a model no route covers: 403 ($(code unrouted))" || diag "$(cat "$T/resp-unrouted")"
[ "$(code notjson)" = 400 ] && grep -q 'not strict JSON' "$T/body-notjson"
ok $? "a duplicate model key: 400, never guessed ($(code notjson))" || diag "$(cat "$T/resp-notjson")"
backend_never get_weather && backend_never iVBORw0KGgo &&
    backend_never 'read this' && backend_never claude-bad-1 &&
    backend_never gpt-4o && [ "$(nreq)" = 5 ]
ok $? "none of the refused requests reached the backend ($(nreq) did: plain, stream, malformed, long ones)"

[ "$(code direct)" = 403 ] && backend_never gpt-direct
ok $? "the sandbox calling the backend around the routes with the key's placeholder: 403 ($(code direct))" ||
    diag "$(cat "$T/resp-direct")"
lctl exec ll env >"$T/env" 2>&1
! grep -qF -- "$KEY" "$T/env" && grep -q '^BACKEND_KEY=lens-ph-' "$T/env"
ok $? "the sandbox's environment holds a placeholder, never the key"
! cat "$T"/resp-* | grep -qF -- "$KEY"
ok $? "no response the sandbox got holds the key"

cw_audit '"type":"net.llm"' "$ID" '"model":"claude-3-test"' '"served":"gpt-test"' \
    '"backend":"local"' '"tokens_in":11' '"tokens_out":7' '"stream":true'
ok $? "net.llm: model asked and served, backend, tokens of the stream"
cw_audit '"type":"net.llm"' "$ID" '"model":"claude-bad-1"' '"verdict":"deny"' \
    '"action":"deny"' 'denied by route 0'
ok $? "net.llm: the deny with its reason"
