#!/bin/sh
# oauth2Refresh end to end in lenscredd's exchange: exchpeer plays
# lensnetd (the exchange request with the tokenUrl and the address its
# host resolved to, then the request head with the placeholder), a
# python3 token endpoint and API in the test internet
# (regress/tools/tokenserver.py: TLS with the test CA, short-lived
# tokens, a rotating refresh token, refreshes counted).  The API gets
# "Authorization: Bearer <access token>"; concurrent requests share one
# refresh; the token is reused until it expires, then refreshed once,
# with the refresh token the endpoint rotated to (stored by the vault);
# a revoked refresh token fails every request closed (502, nothing sent
# to the API) with cred.refresh result failed audited, and is not
# retried for 5 s; no token or refresh token in the audit log or in
# anything the proxy side got.  Private paths only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
CREDD=$OBJ/regress/lenscredd
XP=$TOOLS/exchpeer
TS=$(cd "$(dirname "$0")" && pwd)/tools/tokenserver.py
credd_require "$CREDD" "$XP" "$LENSCTL"
command -v python3 >/dev/null &&
    python3 -c 'import cryptography' 2>/dev/null ||
    { echo "1..0 # SKIP no python3 with cryptography"; exit 0; }
auditd_require

tap_plan 21
tmpdir_setup
chmod 0755 "$T"
at_exit 'log_if_failed lenscredd "$T/credd.log" 60; log_if_failed tokenserver "$ST/log" 40
    credd_stop; auditd_stop; [ -n "${TPID:-}" ] && kill $TPID 2>/dev/null'
S=$T/cred.sock
ST=$T/ts
EXP=8			# expires_in: usable for 8 - 8/4 = 6 s
mkdir -p "$ST"

networld_up
python3 "$(dirname "$0")/tlscerts.py" "$T/tc" >/dev/null ||
    { echo "Bail out! cannot make the certificates"; exit 1; }
A=$NW_OK
RT0=rt0-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
ip netns exec "$NW_NS" python3 "$TS" --token "$A:9443" --api "$A:9444" \
    --cert "$T/tc/good.crt" --key "$T/tc/good.key" --state "$ST" \
    --refresh "$RT0" --client-id lens-test --expires $EXP --rotate \
    >"$T/ts.err" 2>&1 &
TPID=$!
wait_until 10 test -e "$ST/ready" ||
    { echo "Bail out! the token server did not start"; cat "$T/ts.err"; exit 1; }

PH=$(python3 -c 'import secrets
print("lens-ph-" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(32)))')
TURL=https://good2.test:9443/oauth/token
refreshes() { cat "$ST/refreshes"; }
tslines() { wc -l <"$ST/log" 2>/dev/null || echo 0; }
# xp CRED OUT: one request to the API as lensnetd would hand it over
xp() {
	"$XP" -u "$TURL" -a "$A:9443" -i lens-test -t "/v1/items" \
	    -H "Authorization: Bearer $PH" -o "$2.body" \
	    "$S" sb1 "$1" "$PH" good.test 9444 "$A" oauth2Refresh '' '' >"$2"
}
oneline() { tr '\n' '|' <"$1"; }

auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
credd_start -v -T "$T/tc/ca.crt" ||
    { echo "Bail out! lenscredd did not start"; exit 1; }
wait_until 20 sh -c "grep -q 'exchange.*ready:' '$T/credd.log' &&
    grep -q 'audit: connected to lensauditd' '$T/credd.log'" ||
    { echo "Bail out! the exchange did not start"; exit 1; }
printf '%s' "$RT0" | "$LENSCTL" cred add -k "$S" oa >/dev/null &&
    printf 'rt-never-issued' | "$LENSCTL" cred add -k "$S" gone >/dev/null ||
    { echo "Bail out! cred add"; exit 1; }

# ---- single-flight: 5 requests while the first refresh is held
N=5
touch "$ST/hold"
waits0=$(grep -c 'waits for the refresh of credential oa' "$T/credd.log")
XPIDS=
for i in $(seq $N); do
	xp oa "$T/sf$i" &
	XPIDS="$XPIDS $!"
done
wait_until 20 sh -c "[ \$(grep -c 'waits for the refresh of credential oa' '$T/credd.log') -ge $((waits0 + N)) ] &&
    [ \"\$(cat '$ST/pending')\" = 1 ]"
ok $? "$N requests wait for one refresh, held at the token endpoint (pending $(cat "$ST/pending"))"
rm -f "$ST/hold"
wait $XPIDS
good=0
for i in $(seq $N); do
	grep -q '^status 200' "$T/sf$i" && grep -q '^end$' "$T/sf$i" &&
	    good=$((good + 1))
done
[ $good -eq $N ]
ok $? "all $N got the API's 200 ($(oneline "$T/sf1"))"
[ "$(refreshes)" = 1 ] && [ "$(grep -c '^refresh ' "$ST/log")" = 1 ]
ok $? "one refresh for the $N ($(refreshes) answered, $(grep -c '^refresh ' "$ST/log") asked)"
AT1=$(sed -n 's/^refresh 1 rt=[^ ]* client_id=lens-test -> \(at-[^ ]*\) .*/\1/p' "$ST/log")
grep -q "^refresh 1 rt=$RT0 client_id=lens-test -> at-" "$ST/log"
ok $? "the token endpoint got the stored refresh token and the clientId"
[ -n "$AT1" ] && [ "$(grep -c "^api GET /v1/items authorization=Bearer $AT1 -> 200" "$ST/log")" -eq $N ]
ok $? "the API got Authorization: Bearer <the access token> $N times"
! grep -q "$PH" "$ST/log"
ok $? "the placeholder never reached the API or the token endpoint"
! grep -q -e "$AT1" -e "$RT0" -e 'rt-1-' "$T"/sf[0-9]* 
ok $? "neither the access token nor a refresh token came back to the proxy side"

# ---- reuse until the expiry less the skew, then one refresh
xp oa "$T/r1"
xp oa "$T/r2"
grep -q '^status 200' "$T/r1" && grep -q '^status 200' "$T/r2" &&
    [ "$(refreshes)" = 1 ] &&
    [ "$(grep -c "authorization=Bearer $AT1 -> 200" "$ST/log")" -eq $((N + 2)) ]
ok $? "within its lifetime the token is reused: no refresh (refreshes $(refreshes))"
# the token's lifetime passing is what is tested: wait it out
sleep $EXP
xp oa "$T/r3"
AT2=$(sed -n 's/^refresh 2 rt=[^ ]* client_id=lens-test -> \(at-[^ ]*\) .*/\1/p' "$ST/log")
grep -q '^status 200' "$T/r3" && [ "$(refreshes)" = 2 ] && [ -n "$AT2" ] &&
    grep -q "authorization=Bearer $AT2 -> 200" "$ST/log"
ok $? "expired: refreshed once, the new token sent ($(oneline "$T/r3"))"
grep -q "^refresh 2 rt=rt-1-[0-9a-f]* client_id=lens-test -> $AT2" "$ST/log"
ok $? "the second refresh used the refresh token the first rotated to (the vault stored it)"
xp oa "$T/r4"
grep -q '^status 200' "$T/r4" && [ "$(refreshes)" = 2 ]
ok $? "and that token is reused"
"$LENSCTL" cred ls -k "$S" >"$T/ls" 2>&1
grep oa "$T/ls" | grep -qv -e ' - *$' && ! grep -q -e "$RT0" -e 'rt-[0-9]-' "$T/ls"
ok $? "cred ls shows oa rotated, no value ($(grep oa "$T/ls" | tr -s ' '))"

# ---- revoked: every waiter fails closed, audited, not retried for 5 s
touch "$ST/revoked"
api0=$(grep -c '^api ' "$ST/log")
n0=$(tslines)
xp gone "$T/v1"
grep -q '^exch-error 502 credential refresh failed: .*HTTP 400 invalid_grant' "$T/v1"
ok $? "a revoked refresh token: 502 credential refresh failed ($(oneline "$T/v1"))"
[ "$(grep -c '^api ' "$ST/log")" -eq "$api0" ] &&
    grep -q '^refresh [0-9]* rt=rt-never-issued .*-> invalid_grant (revoked)' "$ST/log"
ok $? "nothing reached the API; the token endpoint said invalid_grant"
n1=$(tslines)
xp gone "$T/v2"
grep -q '^exch-error 502 credential refresh failed: .*not retried' "$T/v2" &&
    [ "$(tslines)" -eq "$n1" ]
ok $? "asked again at once: failed closed without asking the endpoint ($(oneline "$T/v2"))"
sleep $EXP	# the cached token of oa expires too
xp oa "$T/v3"
grep -q '^exch-error 502 credential refresh failed' "$T/v3" &&
    [ "$(grep -c '^api ' "$ST/log")" -eq "$api0" ]
ok $? "oa's expired token is not used once its refresh fails ($(oneline "$T/v3"))"

# ---- the audit: cred.refresh ok and failed, never a token
wait_until 10 sh -c "'$LENSCTL' audit show --dir '$T/audit' 2>&1 | grep cred.refresh | grep -q '\"result\":\"failed\"'" || true
"$LENSCTL" audit show --dir "$T/audit" >"$T/audit.txt" 2>&1
grep cred.refresh "$T/audit.txt" | grep sb1 | grep '"credential":"oa"' |
    grep '"result":"ok"' | grep "\"expires_in\":$EXP" | grep -q '"rotated":true'
ok $? "cred.refresh audited: sandbox, credential, expires_in, rotated"
grep cred.refresh "$T/audit.txt" | grep '"credential":"gone"' |
    grep '"result":"failed"' | grep -q 'invalid_grant'
ok $? "cred.refresh result failed audited with why"
! grep -q -e "$AT1" -e "$AT2" -e "$RT0" -e 'rt-[0-9]-' "$T/audit.txt" "$T/credd.log"
ok $? "no access or refresh token in the audit log or lenscredd's log"
[ "$(grep -c '^refresh ' "$ST/log")" -eq 4 ]
ok $? "four refreshes asked in all: one per expiry, one per 5 s when failing ($(grep -c '^refresh ' "$ST/log"))"

# ---- no refresh token left in the exchange's memory
X=$(credd_child exchange)
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
found=
for rt in "$RT0" $(sed -n 's/.* rotated to \(rt-[0-9a-f-]*\)$/\1/p' "$ST/log"); do
	n=$("$OBJ/regress/tools/credpeer" memscan "$X" "$(hex "$rt")")
	[ "$n" = 0 ] || found="$found $rt:$n"
done
[ -n "$X" ] && [ -z "$found" ]
ok $? "exchange (pid $X): no refresh token in its memory once the refreshes ended${found:+ (found$found)}"
