#!/bin/sh
# Approvals and live policy reload (lensnetd(8) APPROVALS, lensctl(8)):
# real daemons, a real sandbox, the test internet of networld.sh.  A
# connection whose verdict is ask is held until an operator answers
# through lensctl on lensnetd's approvals socket; --always writes the
# rule into the sandbox's policy file atomically and every new
# connection is judged by it; policy reload keeps established
# connections and refuses a file that does not validate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
netd_require
require_cmds curl python3 dnsmasq

tap_plan 53
tmpdir_setup
chmod 0755 "$T"
networld_up
netrootfs_setup
# 16 MiB for a download that lasts while the policy changes
dd if=/dev/zero of="$T/www-ok/big" bs=1M count=16 2>/dev/null

P=$T/pol/policy.yaml
mkdir -p "$T/pol"
cat >"$P" <<'EOF'
# the operator's policy: comments and order must survive --always
version: 1
network:
  defaultVerdict: deny
  egress:
    http:
      - {match: ok.test, verdict: allow}   # the mirror
      - {match: other.test, verdict: ask}
    tcp:
      - {match: "echo.test:2222", verdict: ask}
# the end
EOF
chmod 0640 "$P"
NETD_FLAGS="-A $T/appr.sock -w 15"
at_exit 'netd_stop; vmm_stop; auditd_stop'
auditd_start -u _lensnet || { echo "Bail out! lensauditd"; exit 1; }
# shellcheck disable=SC2086
netd_start "$NW_DNS" $NETD_FLAGS || { echo "Bail out! lensnetd"; exit 1; }
vmm_setup -n "$T/netd.sock"
A="$LENSCTL -s $VMM_SOCK"
at_exit 'log_if_failed lensnetd "$T/netd.log" 80'
export LENS_APPROVE_SOCKET=$T/appr.sock

SB=$(lctl run -d --name appr --pids 3000 --rootfs "$NR" --policy "$P" -- \
    sleep 600)
ok $? "a sandbox with ask rules starts ($SB)"
x() { lctl exec appr -- "$@"; }
audit() {	# audit TYPE PATTERN: an event of TYPE whose line matches
	wait_until 5 sh -c "'$LENSCTL' audit show --json --dir '$T/audit' \
	    2>/dev/null | grep '\"type\":\"$1\"' | grep -q -- '$2'"
}
# pending NAME [KIND]: the id of the first pending approval for NAME
# (of KIND), waited for
pending() {
	_i=0
	while [ $_i -lt 200 ]; do
		_id=$($A approvals --json 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["name"] == sys.argv[1] and e["state"] == "pending" and \
       sys.argv[2] in ("", e["kind"]):
        print(e["id"]); break' "$1" "${2:-}")
		[ -n "$_id" ] && { echo "$_id"; return 0; }
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}
npending() {
	$A approvals --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# --- once
$A approvals -f --json >"$T/follow" 2>&1 &
fol=$!
x curl -sS --max-time 20 http://other.test/ >"$T/c1" 2>&1 &
cpid=$!
id=$(pending other.test)
ok $? "an ask is pending: $id"
$A approvals >"$T/list"
grep -q "^$id http    ${SB%"${SB#????????????}"} other.test:80 rule=other.test" "$T/list"
ok $? "approvals lists it: $(cat "$T/list")"
! grep -q . "$T/c1"
ok $? "... and the connection is held, unanswered"
audit approval.request "\"id\":\"$id\""
ok $? "approval.request audited"
$A approve "$id"
ok $? "approve $id"
wait $cpid
[ "$(cat "$T/c1")" = other-web ]
ok $? "the held connection proceeds ($(cat "$T/c1"))"
audit approval.decision "\"id\":\"$id\".*\"scope\":\"once\".*\"uid\":0,\"user\":\"root\""
ok $? "approval.decision audited: once, uid 0, root"
wait_until 5 grep -q "\"id\":\"$id\".*\"state\":\"allowed\"" "$T/follow"
r=$?
grep -q "\"id\":\"$id\".*\"state\":\"pending\"" "$T/follow" && [ $r -eq 0 ]
ok $? "approvals -f --json followed it: pending, then allowed"
kill $fol
wait $fol 2>/dev/null
$A approve "$id" 2>"$T/err"
[ $? -eq 1 ] && grep -q "no pending approval $id" "$T/err"
ok $? "an id answers once ($(cat "$T/err"))"

x curl -sS --max-time 20 http://other.test/ >"$T/c2" 2>&1 &
cpid=$!
id2=$(pending other.test)
[ -n "$id2" ] && [ "$id2" != "$id" ]
ok $? "a second identical connection asks again ($id2)"
$A deny "$id2"
ok $? "deny $id2 (once)"
wait $cpid
grep -q 'lens proxy: policy: ask denied by the operator' "$T/c2"
ok $? "the denied connection is refused ($(cat "$T/c2"))"

# --- a second sandbox: defaultVerdict ask (a name no rule lists is held
# at its DNS query), and a request rule that asks
Q=$T/pol/askd.yaml
cat >"$Q" <<'EOF'
version: 1
network:
  defaultVerdict: ask
  egress:
    http:
      - match: ok.test
        verdict: allow
        rules:
          - {method: GET, path: "/", verdict: allow}
          - {method: GET, path: "/asked", verdict: ask}
EOF
chmod 0640 "$Q"
echo asked-web >"$T/www-ok/asked"
lctl run -d --name askd --rootfs "$NR" --policy "$Q" -- sleep 600 >/dev/null
ok $? "a sandbox with defaultVerdict ask and a request rule's ask"
y() { lctl exec askd -- "$@"; }
dq() { y dig +tries=1 +time=25 other.test A; }

dq >"$T/d1" 2>&1 &
dpid=$!
idd=$(pending other.test dns)
r=$?
! grep -q . "$T/d1"
r2=$?
# answered at once: -w 15 runs from the query's arrival
$A approve "$idd"
ok $r "a DNS query for a name only defaultVerdict ask covers is held ($idd)"
ok $r2 "... unanswered until approved"
wait $dpid
audit approval.request "\"id\":\"$idd\",\"kind\":\"dns\",\"name\":\"other.test\""
ok $? "approval.request audited: kind dns, the name"
grep -q 'status: NOERROR' "$T/d1" &&
    grep -Eq "^other\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+$NW_OTHER\$" "$T/d1"
r=$?
ok $r "approved once: answered with the upstream's address ($NW_OTHER)"
[ $r -eq 0 ] || sed 's/^/# /' "$T/d1"
dq >"$T/d2" 2>&1 &
dpid=$!
idd2=$(pending other.test dns)
[ -n "$idd2" ] && [ "$idd2" != "$idd" ] && [ "$(npending)" -eq 1 ]
ok $? "a second query asks again, one approval ($idd2)"
$A deny "$idd2"
wait $dpid
grep -q 'status: NXDOMAIN' "$T/d2"
ok $? "denied: answered NXDOMAIN, as a denied name"
audit dns.deny '"name":"other.test".*ask denied by the operator'
ok $? "... and dns.deny audited with the reason"

# a request rule's ask
y curl -sS --max-time 20 http://ok.test/asked >"$T/r1" 2>&1 &
rp=$!
idr=$(pending ok.test request)
ok $? "a request whose request rule asks is held ($idr)"
$A approvals --json >"$T/lr"
grep -q '"request": "GET /asked"' "$T/lr" && grep -q '"rule": "ok.test"' "$T/lr" && ! grep -q . "$T/r1"
ok $? "... listed with its method and path, and its rule; unanswered"
$A approve "$idr"
wait $rp
[ "$(cat "$T/r1")" = asked-web ]
ok $? "approved once: forwarded, 200 ($(cat "$T/r1"))"
y curl -sS --max-time 20 -w ' %{http_code}' http://ok.test/asked >"$T/r2" 2>&1 &
rp=$!
idr2=$(pending ok.test request)
[ -n "$idr2" ] && [ "$idr2" != "$idr" ]
ok $? "the next identical request asks again ($idr2)"
$A deny "$idr2"
wait $rp
[ "$(tr '\n' ' ' <"$T/r2")" = "lens proxy: policy: ask denied by the operator  403" ]
ok $? "denied: 403 with the reason ($(cat "$T/r2"))"
y curl -sS --max-time 20 http://ok.test/asked >"$T/r3" 2>&1 &
rp=$!
idr3=$(pending ok.test request)
$A approve --always "$idr3" >"$T/out" 2>&1
ok $? "approve --always $idr3 ($(cat "$T/out"))"
wait $rp
grep -q '^          - {method: GET, path: "/asked", verdict: allow}$' "$Q" &&
    [ "$(cat "$T/r3")" = asked-web ]
ok $? "the request rule is in the host rule's rules; the request passed"
out=$(y curl -sS --max-time 10 http://ok.test/asked)
[ "$out" = asked-web ] && [ "$(npending)" -eq 0 ]
ok $? "the next request passes without asking ($out)"

# --- timeout: -w 15, a TLS connection and a DNS query at once
x curl -sS --noproxy "*" --max-time 30 --insecure https://other.test/ >"$T/c3" 2>&1 &
cpid=$!
dq >"$T/d3" 2>&1 &
dpid=$!
id3=$(pending other.test tls)
ok $? "a TLS connection asks ($id3)"
idd3=$(pending other.test dns)
wait $cpid
audit approval.timeout "\"id\":\"$id3\".*\"kind\":\"tls\""
ok $? "unanswered for 15 s: approval.timeout, denied ($(tr "\n" " " <"$T/c3"))"
wait $dpid
audit approval.timeout "\"id\":\"$idd3\".*\"kind\":\"dns\"" &&
    grep -q 'status: NXDOMAIN' "$T/d3"
ok $? "a held DNS query unanswered: approval.timeout, NXDOMAIN"
[ "$(npending)" -eq 0 ]
ok $? "... and no longer pending"

# --- always
before=$(sha256sum "$P" | cut -c1-64)
ino=$(stat -c %i "$P")
x curl -sS --max-time 20 http://other.test/ >"$T/c4" 2>&1 &
cpid=$!
id4=$(pending other.test)
$A approve --always "$id4" >"$T/out" 2>&1
ok $? "approve --always $id4 ($(cat "$T/out"))"
wait $cpid
[ "$(cat "$T/c4")" = other-web ]
ok $? "the held connection proceeds"
after=$(sha256sum "$P" | cut -c1-64)
grep -q '^      - {match: "other.test:80", verdict: allow}$' "$P" &&
    head -n 1 "$P" | grep -q '^# the operator' &&
    tail -n 1 "$P" | grep -q '^# the end' && grep -q '# the mirror' "$P"
ok $? "the rule is in the http section, comments and order kept"
"$LENSCTL" policy check "$P" >/dev/null
ok $? "the file validates"
[ "$(stat -c '%a %u %g' "$P")" = "640 0 0" ] && [ "$(stat -c %i "$P")" != "$ino" ]
ok $? "mode and owner kept, a new inode (renamed into place): $(stat -c '%a %u %g' "$P")"
[ -z "$(find "$T/pol" -name '.policy.yaml.*')" ]
ok $? "no temporary file left"
audit approval.decision "\"id\":\"$id4\".*\"policy_after\":\"$after\",\"policy_before\":\"$before\".*\"scope\":\"always\""
ok $? "approval.decision names the file's sha256 before and after"
out=$(x curl -sS --max-time 10 http://other.test/)
[ "$out" = other-web ] && [ "$(npending)" -eq 0 ]
ok $? "the next connection is allowed without asking ($out)"

# --- deny always (tcp)
x sh -c 'echo ping | busybox nc echo.test 2222' >"$T/c5" 2>&1 &
cpid=$!
id5=$(pending echo.test)
$A approvals --json >"$T/l5"
grep -q '"kind": "tcp"' "$T/l5"
r=$?
ok $r "raw TCP asks ($id5, kind tcp)"
[ $r -eq 0 ] || sed 's/^/# /' "$T/l5"
$A deny --always "$id5" >"$T/out" 2>&1
ok $? "deny --always $id5"
wait $cpid
grep -q '{match: "echo.test:2222", verdict: deny}' "$P" && [ ! -s "$T/c5" ]
ok $? "a deny rule in the tcp section; the connection refused"
out=$(x sh -c 'echo ping | busybox nc -w 3 echo.test 2222' 2>&1)
[ -z "$out" ] && [ "$(npending)" -eq 0 ]
ok $? "the next one is denied without asking"

# --- deny always wins
sed -i 's/^      - {match: other.test, verdict: ask}$/&\n      - {match: "other.test:8080", verdict: ask}/' "$P"
$A policy reload appr >/dev/null
x curl -sS --max-time 20 http://other.test:8080/ >"$T/c6" 2>&1 &
cpid=$!
id6=$(pending other.test)
cp "$P" "$T/p.save"
printf '      - {match: "other.test:8080", verdict: deny}\n' >"$T/line"
sed -i "/^      - {match: \"other.test:8080\", verdict: ask}\$/r $T/line" "$P"
$A approve --always "$id6" >"$T/out" 2>&1
[ $? -eq 1 ] && grep -q 'the deny rule "other.test:8080" covers other.test:8080, and a deny always wins' "$T/out"
ok $? "allow --always under an explicit deny: refused ($(cat "$T/out"))"
$A deny "$id6"
wait $cpid

# --- live reload under traffic
x curl -sS --max-time 60 --limit-rate 4M -o /tmp/big http://ok.test/big \
    >"$T/dl" 2>&1 &
dpid=$!
# the download runs: its first bytes are in the sandbox
wait_until 10 x test -s /tmp/big
cp "$P" "$T/p.before-reload"
sed -i 's/{match: ok.test, verdict: allow}/{match: ok.test, verdict: deny}/' "$P"
$A policy reload appr >"$T/out" 2>&1
ok $? "policy reload during a download ($(cat "$T/out"))"
audit policy.reload "\"sha256\":\"$(sha256sum "$P" | cut -c1-64)\""
ok $? "policy.reload audited with the file's sha256"
out=$(x curl -sS --max-time 5 http://ok.test/ 2>&1)
echo "$out" | grep -q 'name not allowed'
ok $? "a newly denied host is refused on the next connection"
wait $dpid
size=$(x stat -c %s /tmp/big)
[ "$size" = $((16 * 1048576)) ] && [ ! -s "$T/dl" ]
ok $? "the running download kept going to its end ($size bytes $(cat "$T/dl"))"

printf 'version: 1\nnetwork:\n  egress: {bogus: 1}\n' >"$P"
$A policy reload appr >"$T/out" 2>&1
[ $? -eq 1 ] && grep -q "^$P:3:12: network.egress: unknown key \"bogus\"" "$T/out"
ok $? "an invalid file is refused with file:line:col ($(head -n 1 "$T/out"))"
out=$(x curl -sS --max-time 10 http://other.test/)
[ "$out" = other-web ]
ok $? "... and the old policy stays ($out)"

lctl rm -f appr >/dev/null
out=$("$LENSCTL" audit verify --dir "$T/audit" --pubkey "$T/audit.pub" \
    --witness "$T/audit.witness" 2>&1)
ok $? "the audit log verifies"
tap_done
