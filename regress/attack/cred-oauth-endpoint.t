#!/bin/sh
# A hostile OAuth token endpoint (regress/tools/tokenserver.py, DIR/evil)
# against lenscredd's exchange: an access token with CR LF and a header
# after it, a token_type other than Bearer, expires_in 0, access_token
# twice, JSON with more after it, a body over 64 KiB, an HTML page, a
# malformed chunked body.  Each refresh is refused by the strict
# response parser: the request fails closed with 502 "credential
# refresh failed" naming why, nothing reaches the API, cred.refresh is
# audited as failed, and no token the endpoint sent is injected or
# returned.  Before oauth2Refresh was served the exchange answered
# "not served" for all of them.  Private paths only.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
. "$(dirname "$0")/../networld.sh"
CREDD=$OBJ/regress/lenscredd
XP=$TOOLS/exchpeer
TS=$(cd "$(dirname "$0")/.." && pwd)/tools/tokenserver.py
credd_require "$CREDD" "$XP" "$LENSCTL"
command -v python3 >/dev/null &&
    python3 -c 'import cryptography' 2>/dev/null ||
    { echo "1..0 # SKIP no python3 with cryptography"; exit 0; }
auditd_require

KINDS="crlf:access_token type:token_type expiry:expires_in dup:duplicate trailing:not.JSON huge:over.65536 html:not.JSON chunkbad:bad.response.body"
tap_plan 14
tmpdir_setup
chmod 0755 "$T"
at_exit 'log_if_failed lenscredd "$T/credd.log" 40; log_if_failed tokenserver "$ST/log" 20
    credd_stop; auditd_stop; [ -n "${TPID:-}" ] && kill $TPID 2>/dev/null'
S=$T/cred.sock
ST=$T/ts
mkdir -p "$ST"

networld_up
python3 "$(dirname "$0")/../tlscerts.py" "$T/tc" >/dev/null ||
    { echo "Bail out! cannot make the certificates"; exit 1; }
A=$NW_OK
ip netns exec "$NW_NS" python3 "$TS" --token "$A:9443" --api "$A:9444" \
    --cert "$T/tc/good.crt" --key "$T/tc/good.key" --state "$ST" \
    --refresh rt0 --expires 60 >"$T/ts.err" 2>&1 &
TPID=$!
wait_until 10 test -e "$ST/ready" ||
    { echo "Bail out! the token server did not start"; cat "$T/ts.err"; exit 1; }
PH=$(python3 -c 'import secrets
print("lens-ph-" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(32)))')

auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
credd_start -T "$T/tc/ca.crt" ||
    { echo "Bail out! lenscredd did not start"; exit 1; }
wait_until 20 sh -c "grep -q 'exchange.*ready:' '$T/credd.log' &&
    grep -q 'audit: connected to lensauditd' '$T/credd.log'" ||
    { echo "Bail out! the exchange did not start"; exit 1; }

for kw in $KINDS; do
	k=${kw%%:*} want=$(echo "${kw#*:}" | tr . ' ')
	printf 'rt0' | "$LENSCTL" cred add -k "$S" "e-$k" >/dev/null ||
	    { echo "Bail out! cred add"; exit 1; }
	echo "$k" >"$ST/evil"
	"$XP" -u https://good2.test:9443/token -a "$A:9443" -t /v1 \
	    -H "Authorization: Bearer $PH" "$S" sb1 "e-$k" "$PH" good.test 9444 \
	    "$A" oauth2Refresh '' '' >"$T/o-$k" 2>&1
	grep -q "^exch-error 502 credential refresh failed: .*$want" "$T/o-$k" &&
	    grep -q "^refresh evil $k " "$ST/log"
	ok $? "$k: 502 naming it ($(tr '\n' '|' <"$T/o-$k"))"
done
! grep -q '^api ' "$ST/log"
ok $? "nothing reached the API"
! grep -q 'at-evil-' "$T"/o-*
ok $? "no token of the endpoint came back to the proxy side"
wait_until 10 sh -c "'$LENSCTL' audit show --dir '$T/audit' 2>&1 | grep cred.refresh | grep -q e-chunkbad" || true
"$LENSCTL" audit show --dir "$T/audit" >"$T/audit.txt" 2>&1
n=$(grep cred.refresh "$T/audit.txt" | grep -c '"result":"failed"')
[ "$n" -eq 8 ]
ok $? "each refusal audited as cred.refresh failed ($n)"
! grep -q 'X-Injected' "$T/audit.txt" && ! grep -q 'at-evil-' "$T/audit.txt"
ok $? "no token or injected header in the audit log"
# the same credential again within 5 s: not asked again
n0=$(grep -c '^refresh ' "$ST/log")
"$XP" -u https://good2.test:9443/token -a "$A:9443" -t /v1 \
    -H "Authorization: Bearer $PH" "$S" sb1 e-crlf "$PH" good.test 9444 \
    "$A" oauth2Refresh '' '' >"$T/o-again" 2>&1
grep -q '^exch-error 502 .*not retried' "$T/o-again" &&
    [ "$(grep -c '^refresh ' "$ST/log")" -eq "$n0" ]
ok $? "asked again at once: refused without a new refresh ($(tr '\n' '|' <"$T/o-again"))"
X=$(credd_child exchange)
[ -n "$X" ] && kill -0 "$X"
ok $? "the exchange (pid $X) still runs"
