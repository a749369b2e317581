#!/bin/sh
# The governed network end to end: lensauditd, lensnetd and lensvmm as
# they run in production, a sandbox with real clients (curl, dig,
# openssl, busybox) under a policy, and the test internet of
# regress/networld.sh.  A sandbox reaches exactly what its policy allows
# and every decision is audited.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
netd_require
require_cmds curl dig openssl dnsmasq

tap_plan 49
tmpdir_setup
chmod 0755 "$T"
networld_up
netrootfs_setup
cp "$NW_CA" "$T/ca.crt"
chmod 0644 "$T/ca.crt"
mkdir -p "$T/pki" && chmod 0755 "$T/pki"

deny_policy "$T/policy.yaml" <<EOF
    http:
      - {match: ok.test, verdict: allow}
      - {match: other.test, verdict: allow}
      - {match: rebind.test, verdict: allow}
      - {match: mixed.test, verdict: allow}
      - {match: private.test, verdict: allow}
      - {match: meta.test, verdict: allow}
      - {match: denied.test, verdict: deny}
    tcp:
      - {match: "echo.test:2222", verdict: allow}
EOF
netstack_setup
RUN="--rootfs $NR -v $T/ca.crt:/ca.crt:ro --policy $T/policy.yaml"

# one sandbox for most cases, commands run with exec
SB=$(lctl run -d --name e2e $RUN -- sleep 600)
ok $? "a sandbox with the policy starts ($SB)"
GW=$(lctl exec e2e -- sed -n 's/^nameserver //p' /etc/resolv.conf)
x() { lctl exec e2e -- "$@"; }
audit() {	# audit TYPE PATTERN: an event of TYPE whose line matches
	wait_until 5 sh -c "'$LENSCTL' audit show --json --dir '$T/audit' \
	    2>/dev/null | grep '\"type\":\"$1\"' | grep -q -- '$2'"
}

# --- allowed names
out=$(x dig +short ok.test)
[ "$out" = "$NW_OK" ]
ok $? "dig ok.test through the gateway's DNS: $NW_OK ($out)"
out=$(x curl -sS --max-time 10 http://ok.test/)
[ "$out" = ok-web ]
ok $? "HTTP to an allowed name ($out)"
audit net.connect '"name":"ok.test".*"verdict":"allow"'
ok $? "... audited as allowed"
out=$(x curl -sS --max-time 10 --cacert /ca.crt https://ok.test/index.html)
[ "$out" = ok-web ]
ok $? "HTTPS passed through: the sandbox verifies the real certificate ($out)"
out=$(x sh -c 'unset HTTP_PROXY http_proxy; curl -sS --max-time 10 \
    --cacert /ca.crt https://other.test/index.html')
[ "$out" = other-web ]
ok $? "HTTPS to a second allowed name ($out)"
out=$(x sh -c 'curl -sS -v --max-time 10 --cacert /ca.crt \
    --proxy "$HTTPS_PROXY" https://ok.test/index.html 2>&1')
echo "$out" | grep -q '^ok-web' && echo "$out" | grep -q 'CONNECT ok.test:443'
ok $? "HTTPS_PROXY CONNECT to an allowed name ($(echo "$out" | tail -n 1))"
out=$(x sh -c 'echo ping | busybox nc echo.test 2222')
[ "$out" = ping ]
ok $? "raw TCP to a name and port a tcp rule allows ($out)"

# --- denied names
out=$(x dig ok.test denied.test +noall +comments | grep -c NXDOMAIN)
[ "$out" -eq 1 ]
ok $? "denied.test: NXDOMAIN"
audit dns.deny 'denied.test'
ok $? "... and a dns.deny event"
out=$(x dig unknown.test +noall +comments | grep -c NXDOMAIN)
[ "$out" -eq 1 ]
ok $? "a name no rule allows: NXDOMAIN"
# curl -f: a refusal is an HTTP error or no connection at all; every
# case goes through the transparent proxy (--noproxy) and through the
# proxy the sandbox's HTTP_PROXY names
refused() {	# refused URL: neither way gets a 2xx answer
	! x curl -sSf --noproxy '*' --max-time 5 -o /dev/null "$1" \
	    2>/dev/null &&
	! x curl -sSf --max-time 5 -o /dev/null "$1" 2>/dev/null
}
refused "http://$NW_OTHER/"
ok $? "plain HTTP to an allowed name's address by IP: refused"
out=$(x sh -c "echo hi | busybox nc -w 3 $NW_OTHER 80" 2>&1)
[ -z "$out" ]
ok $? "raw TCP to an address DNS never handed out: refused"

# --- spoofing: SNI or Host decides, the address the sandbox picks not
out=$(x curl -sS --max-time 10 --resolve "ok.test:80:$NW_OTHER" http://ok.test/)
[ "$out" = ok-web ]
ok $? "Host ok.test sent to other.test's address ends at ok.test ($out)"
out=$(x curl -sS --max-time 10 --cacert /ca.crt \
    --resolve "ok.test:443:$NW_OTHER" https://ok.test/index.html)
[ "$out" = ok-web ]
ok $? "SNI ok.test sent to other.test's address ends at ok.test ($out)"
out=$(x curl -sS --max-time 10 --resolve "denied.test:80:$NW_OK" \
    http://denied.test/ 2>&1)
! echo "$out" | grep -q -- '-web'
ok $? "Host denied.test sent to ok.test's address: refused"
audit net.connect '"name":"denied.test".*"verdict":"deny"'
ok $? "... audited as denied"

# --- private and special destinations
for dst in 127.0.0.1 "$GW:22" "$GW:8080" 169.254.169.254 10.1.2.3 \
    "$NW_PRIVATE" 172.16.0.1 192.168.1.1 100.64.0.1; do
	refused "http://$dst/"
	ok $? "http://$dst/ refused, transparent and by HTTP_PROXY"
done
for dst in 127.0.0.1:80 "[::ffff:127.0.0.1]:80" "[::ffff:10.1.2.3]:80" \
    169.254.169.254:80 "$NW_PRIVATE:80"; do
	code=$(x sh -c "curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	    -p --proxy \"\$HTTP_PROXY\" http://$dst/")
	[ "$code" != 200 ]
	ok $? "CONNECT $dst refused ($code)"
done
out=$(x curl -sS --max-time 5 http://private.test/ 2>&1)
! echo "$out" | grep -q private-web
ok $? "an allowed name whose answer is private: never reached"

# --- DNS rebinding
out=$(x dig +short rebind.test)
[ -z "$out" ]
ok $? "rebind.test (127.0.0.1 upstream): the answer is stripped ('$out')"
out=$(x dig +short mixed.test | sort | tr '\n' ' ')
[ "$out" = "$NW_OK " ]
ok $? "mixed.test: only the public address is left ($out)"
out=$(x dig +short meta.test)
[ -z "$out" ]
ok $? "meta.test (169.254.169.254): stripped ('$out')"

# --- other traffic is dropped
# the gateway redirects port 53 to its own resolver: the answer is ours
out=$(x dig +short +time=2 +tries=1 "@$NW_DNS" denied.test 2>&1)
[ -z "$out" ]
ok $? "DNS to another server is answered by the gateway's resolver"
x dig +time=2 +tries=1 -p 5353 "@$NW_DNS" ok.test >/dev/null 2>&1
[ $? -eq 9 ]
ok $? "UDP other than to port 53 (DNS to port 5353): no answer"
lctl exec -u root e2e -- ping -c 1 -W 2 "$NW_OK" >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "ICMP beyond the gateway: dropped"
out=$(x ip -6 addr show scope global 2>&1)
[ -z "$out" ]
ok $? "no global IPv6 address in the sandbox"
lctl exec -u root e2e -- ping -6 -c 1 -W 2 ff02::1%eth0 >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "IPv6 to the gateway: dropped"

# --- the sandbox cannot change the gateway's rules
out=$(lctl exec -u root e2e -- sh -c 'cat /proc/net/nf_conntrack 2>&1;
    ip link add x type dummy 2>&1; echo done')
out=$(x curl -sS --max-time 5 http://denied.test/ 2>&1)
! echo "$out" | grep -q -- '-web'
ok $? "still denied after root in the sandbox played with its network"

# --- published ports, and other sandboxes
HP=$(( 20000 + $$ % 20000 ))
PUB=$(lctl run -d --name e2e-pub -p "127.0.0.1:$HP:8000" $RUN -- \
    busybox httpd -f -p 8000 -h /etc)
ok $? "a sandbox with -p 127.0.0.1:$HP:8000"
wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$HP/hostname"
out=$(curl -sS --max-time 5 "http://127.0.0.1:$HP/hostname")
[ -n "$out" ]
ok $? "the published port is reachable from the host ($out)"
PUBADDR=$(lctl inspect e2e-pub | sed -n 's/.*"address": "\(.*\)".*/\1/p' | head -n 1)
refused "http://$PUBADDR:8000/hostname"
ok $? "another sandbox cannot reach it ($PUBADDR:8000)"
lctl rm -f e2e-pub >/dev/null

# --- policy show for a running sandbox
lctl policy show e2e >"$T/show" 2>&1 && grep -q 'denied.test' "$T/show"
ok $? "lensctl policy show ID prints the sandbox's policy"

# --- fail closed: lensnetd killed, then restarted
netd_kill9
x curl -sS --max-time 5 -o /dev/null http://ok.test/ 2>/dev/null
[ $? -ne 0 ]
ok $? "lensnetd killed: the sandbox has no network"
lctl run --rm $RUN -- true 2>/dev/null
[ $? -eq 125 ]
ok $? "... and no new sandbox starts"
netd_start "$NW_DNS" || { echo "Bail out! lensnetd did not restart"; exit 1; }
out=$(lctl run --rm $RUN -- curl -sS --max-time 10 http://ok.test/)
[ "$out" = ok-web ]
ok $? "a restarted lensnetd serves new sandboxes ($out)"

lctl rm -f e2e >/dev/null
out=$("$LENSCTL" audit verify --dir "$T/audit" --pubkey "$T/audit.pub" \
    --witness "$T/audit.witness" 2>&1)
ok $? "the audit log verifies ($out)"
tap_done
