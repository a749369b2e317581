#!/bin/sh
# Credentials at the boundary, end to end (issue 13): real lensauditd,
# lenscredd, lensnetd and lensvmm; jail sandboxes whose policies bind
# credentials from lenscredd's store to HTTPS APIs of the test internet
# (credupstream.py: *.api.test, a certificate of the test CA, trusted
# through the rule's caFile), which log what they receive and echo it
# back.  A sandbox sends only its placeholders; for each injection form
# (header, query, basic, uriPlaceholder, hmac, sigv4) the upstream
# receives the real value (the hmac recomputed from lenscredd(8)'s
# canonical string, the SigV4 signature recomputed by botocore), the
# sandbox's copy of the echo shows the placeholder and never the
# secret, and each use is audited cred.use (sandbox, credential, host,
# method, path, injection; never the value).  An upstream that echoes
# the Authorization header in a header and 2000 times in a body chunked
# every 7 bytes, as the reason phrase and in a header's name: the
# sandbox sees the placeholder every time; a compressed echo (which
# could not be scrubbed; the exchange asks for none) is refused, 502.  No
# upstream ever sees a placeholder; the audit never holds a secret.
# A placeholder where its injection does not put the secret (another
# header, another credential's host): 403, nothing sent upstream.
# lenscredd down: a credentialed request fails closed (502), nothing
# goes upstream, the failure is audited; lenscredd killed -9 and
# started again: injection resumes for the running sandbox, with no
# part for lensvmm (lensnetd reconnects; the sandbox CA is kept).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
. "$(dirname "$0")/credworld.sh"
cw_need

tap_plan 45
tmpdir_setup
chmod 0755 "$T"

HDR=$(cw_secret) QRY=$(cw_secret) BAS=$(cw_secret) URI=$(cw_secret)
MAC=$(cw_secret) AWSS=$(cw_secret)
AKID=AKIA$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
SECRETS="$HDR $QRY $BAS $URI $MAC $AWSS"
BASIC64=$(printf 'me:%s' "$BAS" | base64 -w0)
printf '{"hmac_key":"%s","hmac_header":"X-Signature","aws_akid":"%s","aws_secret":"%s"}\n' \
    "$MAC" "$AKID" "$AWSS" >"$T/secrets.json"

cw_up
for c in hdr:$HDR qry:$QRY bas:$BAS uri:$URI mac:$MAC aws:$AKID:$AWSS; do
	cw_store "${c%%:*}" "${c#*:}" >>"$T/store.out" 2>&1 ||
	    { echo "Bail out! cred add ${c%%:*}: $(cat "$T/store.out")"; exit 1; }
done

# cw1: forms the policy of main knew; cw2: the fields issue 13 added
deny_policy "$T/p1.yaml" <<'EOF'
    http:
      - {match: "*.api.test", verdict: allow, caFile: testca.pem}
credentials:
  - id: hdr
    envVar: HDR_KEY
    injections:
      - {type: header, host: hdr.api.test, name: Authorization, value: "Bearer {secret}"}
      - {type: header, host: echo.api.test, name: Authorization, value: "Bearer {secret}"}
  - id: qry
    envVar: QRY_KEY
    injections:
      - {type: query, host: qry.api.test, name: key, value: "{secret}"}
  - id: mac
    envVar: MAC_KEY
    injections:
      - {type: hmac, host: hmac.api.test, name: X-Signature}
EOF
deny_policy "$T/p2.yaml" <<'EOF'
    http:
      - {match: "*.api.test", verdict: allow, caFile: testca.pem}
credentials:
  - id: bas
    envVar: BASIC_PASSWORD
    injections:
      - {type: basic, host: basic.api.test, user: me}
  - id: uri
    envVar: BOT_TOKEN
    injections:
      - {type: uriPlaceholder, host: uri.api.test}
  - id: aws
    envVar: AWS_ACCESS_KEY_ID
    injections:
      - {type: awsSigv4, host: sig.api.test, region: eu-west-3, service: execute-api}
EOF
cw_run cw1 "$T/p1.yaml"
ok $? "sandbox cw1 (header, query, hmac) runs" || diag "$(cat "$T/run-cw1.out")"
ID1=$CW_ID
cw_run cw2 "$T/p2.yaml"
ok $? "sandbox cw2 (basic, uriPlaceholder, sigv4) runs" || diag "$(cat "$T/run-cw2.out")"
ID2=$CW_ID
PHS=
for v in cw1:HDR_KEY cw1:QRY_KEY cw1:MAC_KEY cw2:BASIC_PASSWORD cw2:BOT_TOKEN \
    cw2:AWS_ACCESS_KEY_ID; do
	PHS="$PHS $(cw_ph "${v%%:*}" "${v#*:}")"
done
set -- $PHS
[ $# -eq 6 ] && ! printf '%s\n' "$PHS" | tr ' ' '\n' | grep -v '^lens-ph-[a-z2-7]\{32\}$' | grep -q .
ok $? "each credential's envVar holds a placeholder ($#)"
PH_HDR=$1 PH_QRY=$2 PH_MAC=$3 PH_BAS=$4 PH_URI=$5 PH_AWS=$6

# call SANDBOX NAME SCRIPT: the script's output (the response) in
# $T/resp-NAME; true when the last line says code=200
call() {
	cw_sh "$1" "$3" >"$T/resp-$2" 2>&1
	[ "$(tail -n 1 "$T/resp-$2")" = "code=200" ]
}
C='curl -sS --max-time 20 -w "\ncode=%{http_code}\n"'
# clean NAME PLACEHOLDER: the sandbox's response has the placeholder
# ("" for none) and none of the secrets
clean() {
	for _s in $SECRETS $BASIC64; do
		grep -aqF -- "$_s" "$T/resp-$1" && { diag "$1: a secret in the response"; return 1; }
	done
	[ "$(tail -n 1 "$T/resp-$1")" = "code=200" ] &&
	    { [ -z "$2" ] || grep -aqF -- "$2" "$T/resp-$1"; }
}
# form NAME SANDBOX-ID CREDENTIAL HOST METHOD PATH INJECTION PH PYEXPR
form() {
	call "$2" "$1" "$3"
	_r=$?
	ok $_r "$1: the sandbox's request answered 200"
	[ $_r = 0 ] || diag "$(tail -n 3 "$T/resp-$1")"
	[ -n "$(cw_log "$9")" ]
	ok $? "$1: the upstream received the real value"
	[ $_r != 0 ] || [ -n "$(cw_log "$9")" ] ||
	    diag "$(tail -n 1 "$CW_LOG" | cut -c 1-600)"
	clean "$1" "$8"
	ok $? "$1: the sandbox's copy of the echo shows the placeholder, no secret"
	# (a request that failed waits for no audit event)
	[ $_r = 0 ] && cw_audit '"type":"cred.use"' "\"sandbox\":\"$4\"" \
	    "\"credential\":\"$5\"" "\"host\":\"$6\"" "\"method\":\"$7\"" \
	    "\"path\":\"${10}\"" "\"injection\":\"${11}\""
	ok $? "$1: audited cred.use ($5, $6, $7 ${10}, ${11})"
}
# form NAME SANDBOX SCRIPT SANDBOX-ID CREDENTIAL HOST METHOD PH PYEXPR PATH INJECTION
form header cw1 "$C -H \"Authorization: Bearer \$HDR_KEY\" https://hdr.api.test/v1/h" \
    "$ID1" hdr hdr.api.test GET "Bearer $PH_HDR" \
    "r['target'] == '/v1/h' and ['Authorization', 'Bearer $HDR'] in r['headers']" \
    /v1/h header
form query cw1 "$C \"https://qry.api.test/v1/q?key=\$QRY_KEY&x=1\"" \
    "$ID1" qry qry.api.test GET "$PH_QRY" \
    "r['target'].startswith('/v1/q?') and sorted(r['target'].split('?')[1].split('&')) == ['key=$QRY', 'x=1']" \
    /v1/q query
form hmac cw1 "$C -X POST -H \"X-Signature: \$MAC_KEY\" --data-binary '{\"n\":1}' \"https://hmac.api.test/v1/m?b=2&a=1\"" \
    "$ID1" mac hmac.api.test POST "" \
    "r['target'].startswith('/v1/m?') and r['body'] == '{\"n\":1}' and r['checks'].get('hmac') == 'ok'" \
    /v1/m hmac
form basic cw2 "$C -u \"me:\$BASIC_PASSWORD\" https://basic.api.test/v1/b" \
    "$ID2" bas basic.api.test GET "" \
    "r['target'] == '/v1/b' and ['Authorization', 'Basic $BASIC64'] in r['headers']" \
    /v1/b basic
form uri cw2 "$C \"https://uri.api.test/bot\$BOT_TOKEN/getMe\"" \
    "$ID2" uri uri.api.test GET "$PH_URI" \
    "r['target'] == '/bot$URI/getMe'" \
    "/bot$PH_URI/getMe" uriPlaceholder
form sigv4 cw2 "D=\$(date -u +%Y%m%dT%H%M%SZ); $C -X POST -H \"X-Amz-Date: \$D\" -H \"Authorization: AWS4-HMAC-SHA256 Credential=\$AWS_ACCESS_KEY_ID/\${D%T*}/eu-west-3/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000\" --data-binary 'Action=List&Version=1' \"https://sig.api.test/v1/s?p=1\"" \
    "$ID2" aws sig.api.test POST "" \
    "r['target'] == '/v1/s?p=1' and r['checks'].get('sigv4') == 'ok'" \
    /v1/s awsSigv4
# the verifiers can say no: signatures made without the secrets, sent
# straight to the upstream from the host
D=$(date -u +%Y%m%dT%H%M%SZ)
direct() {
	_h=$1
	shift
	ip netns exec "$NW_NS" curl -sS --max-time 10 -o /dev/null \
	    --cacert "$T/pki/ca.crt" --resolve "$_h:443:$CW_ADDR" "$@" >&2
}
direct hmac.api.test -H "X-Lens-Timestamp: $(date +%s)" \
    -H "X-Signature: $(printf %064d 0)" https://hmac.api.test/forged/m
direct sig.api.test -H "X-Amz-Date: $D" -H "Authorization: AWS4-HMAC-SHA256 Credential=$AKID/${D%T*}/eu-west-3/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(printf %064d 0)" \
    https://sig.api.test/forged/s
[ -n "$(cw_log "r['target'] == '/forged/m' and r['checks'].get('hmac', '').startswith('bad: got')")" ] &&
    [ -n "$(cw_log "r['target'] == '/forged/s' and r['checks'].get('sigv4', '').startswith('bad: got')")" ]
ok $? "the upstream's hmac and SigV4 verifiers refuse signatures made without the secrets"
grep -v '/forged/' "$CW_LOG" | grep -q '"sigv4": "bad' && diag "$(grep -o '"sigv4": "bad[^"]*"' "$CW_LOG" | head -n 2)"
grep -v '/forged/' "$CW_LOG" | grep -q '"hmac": "bad' && diag "$(grep -o '"hmac": "bad[^"]*"' "$CW_LOG" | head -n 2)"

# 2. echo scrubbing: the Authorization echoed in a header and 2000
# times in a body chunked every 7 bytes (the secret split everywhere)
cw_sh cw1 "curl -sS --max-time 20 -D /tmp/echo.h -o /tmp/echo.b -w '%{http_code}' -H \"Authorization: Bearer \$HDR_KEY\" --data-binary 'tail-of-the-body' https://echo.api.test/echo-chunked >/tmp/echo.c; cat /tmp/echo.h; echo ====; cat /tmp/echo.b; echo; echo code=\$(cat /tmp/echo.c)" \
    >"$T/resp-echo" 2>&1
sed '1,/^====$/d;$d' "$T/resp-echo" >"$T/echo.body"
tr -d '\r' <"$T/resp-echo" | grep -qx "X-Echo-Auth: Bearer $PH_HDR" &&
    [ "$(grep -aoF "Bearer $PH_HDR|" "$T/echo.body" | wc -l)" -eq 2000 ] &&
    [ "$(tail -c 17 "$T/echo.body")" = "tail-of-the-body" ]
r=$?
ok $r "echo: the header and the 2000 echoes in the chunked body show the placeholder"
[ $r = 0 ] || diag "$(head -c 600 "$T/resp-echo")"
[ "$(cw_log "r['target'] == '/echo-chunked' and ['Authorization', 'Bearer $HDR'] in r['headers']" | wc -l)" -eq 1 ]
ok $? "echo: the upstream received the real Authorization"
clean echo "Bearer $PH_HDR"
ok $? "echo: no secret anywhere in what the sandbox got"

# ... as the reason phrase and in a header's name
cw_sh cw1 "curl -sS --max-time 20 -D - -o /dev/null -H \"Authorization: Bearer \$HDR_KEY\" https://echo.api.test/echo-reason; echo code=200" \
    >"$T/resp-reason" 2>&1
tr -d '\r' <"$T/resp-reason" | grep -q "^HTTP/1.1 200 Bearer $PH_HDR\$" &&
    clean reason ""
r=$?
ok $r "echo: the reason phrase shows the placeholder; no secret in a header's name"
[ $r = 0 ] || diag "$(head -n 5 "$T/resp-reason")"

# ... compressed (Content-Encoding: gzip): the sandbox decodes it
call cw1 gzip "$C --compressed -H \"Authorization: Bearer \$HDR_KEY\" https://echo.api.test/echo-gzip"
[ "$(tail -n 1 "$T/resp-gzip")" = code=502 ] &&
    grep -q 'Content-Encoding) cannot be scrubbed' "$T/resp-gzip" &&
    ! grep -aqF "$HDR" "$T/resp-gzip" &&
    [ -n "$(cw_log "r['target'] == '/echo-gzip' and not [h for h in r['headers'] if h[0].lower() == 'accept-encoding']")" ]
ok $? "echo: gzip'd (not asked for: no Accept-Encoding upstream), refused 502, never the secret ($(head -n 1 "$T/resp-gzip"))"

# answers without a body (an API's 204, an empty 200)
call cw1 e204 "$C -H \"Authorization: Bearer \$HDR_KEY\" https://hdr.api.test/status/204"
call cw1 e200 "$C -H \"Authorization: Bearer \$HDR_KEY\" https://hdr.api.test/status/200"
[ "$(tail -n 1 "$T/resp-e204")" = code=204 ] && [ "$(tail -n 1 "$T/resp-e200")" = code=200 ]
ok $? "a 204 and an empty 200 (Content-Length: 0) reach the sandbox ($(tail -qn 1 "$T/resp-e204" "$T/resp-e200" | tr '\n' ' '))"

! grep -aq 'lens-ph-' "$CW_LOG"
ok $? "no upstream ever received a placeholder" ||
    diag "$(grep -a 'lens-ph-' "$CW_LOG" | head -n 2 | cut -c 1-400)"
leak=0
for s in $SECRETS; do
	grep -raqF -- "$s" "$T/audit" && leak=1
done
"$LENSCTL" audit show --json --dir "$T/audit" >"$T/audit.json" 2>&1
uses=$(grep -c '"type":"cred.use"' "$T/audit.json")
[ $leak = 0 ] && [ "$uses" -ge 7 ] &&
    ! grep -qF -e "$HDR" -e "$AWSS" -e "$BASIC64" "$T/audit.json"
ok $? "the audit has the $uses uses and never a secret"

# the placeholder where its injection does not put the secret: in
# another header to its own host, or to the host of another credential
call cw1 other "$C -H \"Authorization: Bearer \$HDR_KEY\" -H \"X-Copy: \$HDR_KEY\" https://hdr.api.test/v1/copy"
[ "$(tail -n 1 "$T/resp-other")" = "code=403" ] &&
    grep -q 'placeholder outside its injection' "$T/resp-other" &&
    [ -z "$(cw_log "r['target'] == '/v1/copy'")" ]
ok $? "the placeholder also in another header: 403, nothing upstream ($(head -n 1 "$T/resp-other"))"
call cw1 cross "$C -H \"X-Api-Key: \$HDR_KEY\" \"https://qry.api.test/v1/cross?key=\$QRY_KEY\""
[ "$(tail -n 1 "$T/resp-cross")" = "code=403" ] &&
    [ -z "$(cw_log "r['target'].startswith('/v1/cross')")" ] &&
    cw_audit '"type":"cred.leak_attempt"' '"host":"qry.api.test"' "$ID1"
ok $? "hdr's placeholder to qry's host: 403, audited cred.leak_attempt, nothing upstream"

# 4. lenscredd down: fail closed
credd_stop
call cw1 down "$C -H \"Authorization: Bearer \$HDR_KEY\" https://hdr.api.test/v1/down"
[ "$(tail -n 1 "$T/resp-down")" = "code=502" ]
ok $? "lenscredd down: the credentialed request fails closed ($(tail -n 1 "$T/resp-down"))"
[ -z "$(cw_log "r['target'] == '/v1/down'")" ]
ok $? "lenscredd down: nothing reached the upstream"
cw_audit '"type":"net.http"' '"path":"/v1/down"' '"status":502' "$ID1"
ok $? "lenscredd down: the failure is audited (net.http 502)"
kill -0 "$NETD_PID"
ok $? "lensnetd runs on"

# 5. lenscredd back (killed -9 this time): it needs nothing from
# lensvmm.  lensnetd reconnects, injection resumes for the running
# sandbox, its CA is the one it trusts (kept in lenscredd's state),
# and lensvmm saw no network loss
credd_start || { echo "Bail out! lenscredd did not restart"; exit 1; }
CAFILE_SUM=$(sha256sum "$T/cred/ca/$ID1.ca" | cut -d' ' -f1)
credd_kill9
credd_start || { echo "Bail out! lenscredd did not restart"; exit 1; }
wait_until 10 sh -c "[ \$(grep -c 'lenscredd: connected' '$T/netd.log') -gt 2 ]"
call cw1 back "$C -H \"Authorization: Bearer \$HDR_KEY\" https://hdr.api.test/v1/back" &&
    [ -n "$(cw_log "r['target'] == '/v1/back' and ['Authorization', 'Bearer $HDR'] in r['headers']")" ]
ok $? "lenscredd killed and back: the running sandbox's credential is injected again"
[ -n "$CAFILE_SUM" ] && [ "$(sha256sum "$T/cred/ca/$ID1.ca" | cut -d' ' -f1)" = "$CAFILE_SUM" ] &&
    [ "$(grep -c 'ready: 2 sandbox CAs' "$T/credd.log")" -ge 2 ]
ok $? "the sandbox CA the sandbox trusts is kept (the same sealed file, loaded again)"
! grep -q 'network lost\|re-attach' "$T/vmm.log" &&
    lctl ps | grep ' cw1 ' | grep -v 'network lost' | grep -q running
ok $? "lensvmm took no part: no network lost, no re-attach"
log_if_failed lensnetd "$T/netd.log" 30
log_if_failed lenscredd "$T/credd.log" 30
tap_done
