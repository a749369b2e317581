#!/bin/sh
# A host address that appears after lensnetd started (a new interface, a
# docker bridge, a VPN) is the host's as much as those it had at start:
# an allowed name that resolves to it is stripped from DNS answers and
# the proxy refuses to connect to it, also when it had resolved the name
# before the address appeared (checked again right before connect).
# When the address goes away, the name works again.
#
# The attack: hostaddr.test (allowed, TTL 300) points at an address of
# the test internet; once the sandbox has used it, the host gets that
# address on a new interface and serves a secret on it.  Before the
# fix lensnetd knew only the addresses it had at start: the sandbox
# resolved the name and fetched the host's secret.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
. "$(dirname "$0")/../networld.sh"
netd_require
require_cmds curl dig dnsmasq busybox

tap_plan 16
tmpdir_setup
chmod 0755 "$T"
networld_octet
HA=198.19.$NW_O.99
DUMMY=lnwd$$
NW_DNSMASQ_ARGS="--host-record=hostaddr.test,$HA,300"
networld_up
at_exit "ip link del $DUMMY 2>/dev/null"
# the test internet's own server on that address
mkdir -p "$T/www-world" "$T/www-host"
echo world-web >"$T/www-world/index.html"
echo host-secret >"$T/www-host/index.html"
ip -n "$NW_NS" addr add "$HA/32" dev lo ||
    { echo "Bail out! cannot add $HA in the test internet"; exit 1; }
_nw_bg busybox httpd -f -p "$HA:80" -h "$T/www-world"

netrootfs_setup
deny_policy "$T/policy.yaml" <<EOF
    http:
      - {match: hostaddr.test, verdict: allow}
EOF
netstack_setup

SB=$(lctl run -d --name hostaddr --rootfs "$NR" --policy "$T/policy.yaml" \
    -- sleep 600)
ok $? "a sandbox with the policy starts ($SB)"
x() { lctl exec hostaddr -- "$@"; }
audit() {	# audit TYPE PATTERN: an event of TYPE whose line matches
	wait_until 5 sh -c "'$LENSCTL' audit show --json --dir '$T/audit' \
	    2>/dev/null | grep '\"type\":\"$1\"' | grep -q -- '$2'"
}
# a child applied an update: its log line (lensnetd -v)
applied() {	# applied ROLE ADDR WHAT
	wait_until 10 grep -q "^$1\[[0-9]*\]: host address $2 $3" \
	    "$T/netd.log"
}

# --- before: an ordinary public address of the test internet
out=$(x dig +short hostaddr.test)
[ "$out" = "$HA" ]
ok $? "hostaddr.test resolves to $HA ($out)"
out=$(x curl -sS --max-time 10 http://hostaddr.test/)
[ "$out" = world-web ]
ok $? "HTTP to it reaches the test internet ($out)"

# --- the host gets the address, and serves a secret on it
# a veth pair stands for the new interface (no dummy module everywhere)
ip link add "$DUMMY" type veth peer name "${DUMMY}p" &&
    ip addr add "$HA/32" dev "$DUMMY" && ip link set "$DUMMY" up
ok $? "the host has $HA now (new interface $DUMMY)"
(busybox httpd -f -p "$HA:80" -h "$T/www-host" >>"$T/hostweb.log" 2>&1 &
    echo $! >"$T/hostweb.pid")
at_exit 'kill $(cat "$T/hostweb.pid") 2>/dev/null'
wait_until 10 sh -c "curl -s --max-time 2 http://$HA/ | grep -q host-secret"
ok $? "the host serves host-secret on $HA"
applied dns "$HA" refused && applied proxy "$HA" refused
ok $? "lensnetd's dns and proxy learnt the new host address"

out=$(x dig +short hostaddr.test)
[ -z "$out" ]
ok $? "hostaddr.test: the host's address is stripped from the answer ('$out')"
audit dns.strip 'hostaddr.test'
ok $? "... and a dns.strip event"
# the proxy resolved the name before (TTL 300): judged again at connect
out=$(x curl -sS --noproxy '*' --max-time 10 http://hostaddr.test/ 2>&1)
! echo "$out" | grep -q host-secret
ok $? "transparent HTTP to hostaddr.test does not reach the host"
out=$(x curl -sS --max-time 10 http://hostaddr.test/ 2>&1)
! echo "$out" | grep -q host-secret
ok $? "HTTP_PROXY to hostaddr.test does not reach the host"
audit net.connect '"name":"hostaddr.test".*forbidden address (host)'
ok $? "... refused and audited as a host address"
out=$(x curl -sS --max-time 10 --resolve "hostaddr.test:80:$HA" \
    http://hostaddr.test/ 2>&1)
! echo "$out" | grep -q host-secret
ok $? "... also when the sandbox names the address itself"

# --- the address goes away: the set shrinks
ip addr del "$HA/32" dev "$DUMMY"
ok $? "the host drops $HA"
applied dns "$HA" "no longer refused" &&
    applied proxy "$HA" "no longer refused"
ok $? "dns and proxy no longer refuse it"
out=$(x dig +short hostaddr.test)
[ "$out" = "$HA" ]
ok $? "hostaddr.test resolves again ($out)"
out=$(x curl -sS --max-time 10 http://hostaddr.test/)
[ "$out" = world-web ]
ok $? "HTTP reaches the test internet's server again ($out)"

if [ "$_tap_failed" -ne 0 ]; then
	diag "lensnetd log:"
	sed 's/^/#   /' "$T/netd.log" | tail -n 60
fi
tap_done
