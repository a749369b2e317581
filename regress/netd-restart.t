#!/bin/sh
# lensnetd killed (-9) under two running sandboxes and started again:
# meanwhile they stay fail closed (curl fails, not one IPv4 packet
# reaches the test internet), a lensnetd of another instance on the
# same socket and a listener that is not root get nothing; the same
# instance back, lensvmm re-attaches both without restarting them:
# the same address, ok.test reachable again, denied.test still
# refused, `ps` and `inspect` attached, the audit has
# sandbox.network_lost then sandbox.network_restored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
netd_require
require_cmds curl dnsmasq

tap_plan 17
tmpdir_setup
chmod 0755 "$T"
networld_up
netrootfs_setup
deny_policy "$T/policy.yaml" <<EOF
    http:
      - {match: ok.test, verdict: allow}
EOF
netstack_setup
NETD_INST0=$NETD_INST

# IPv4 packets into the test internet (its one link), counted there
_nif=lnw$$n
ip netns exec "$NW_NS" nft -f - <<EOF
table ip lenscount {
	chain in {
		type filter hook prerouting priority -300; policy accept;
		iifname "$_nif" counter
	}
}
EOF
upstream_pkts() {
	ip netns exec "$NW_NS" nft list table ip lenscount |
	    sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
addr_of() {
	lctl inspect "$1" | tr -d ' \n' |
	    sed -n 's/.*"network":{"address":"\([0-9.]*\)".*/\1/p'
}
state_is() {
	lctl inspect "$1" | tr -d ' \n' |
	    grep -q "\"network\":{[^}]*\"state\":\"$2\""
}
get() {
	lctl exec "$1" curl -sS --max-time "${3:-10}" "http://$2/" 2>&1
}

for s in r1 r2; do
	lctl run -d --name $s --rootfs "$NR" --policy "$T/policy.yaml" \
	    -- sleep 600 >/dev/null 2>&1 ||
	    { echo "Bail out! sandbox $s did not start"; exit 1; }
done
[ "$(get r1 ok.test)" = ok-web ] && [ "$(get r2 ok.test)" = ok-web ]
ok $? "two sandboxes reach ok.test"
A1=$(addr_of r1)
A2=$(addr_of r2)

netd_kill9
wait_until 10 sh -c "'$LENSCTL' -s '$VMM_SOCK' ps | grep ' r1 .*running (network lost)' &&
    '$LENSCTL' -s '$VMM_SOCK' ps | grep ' r2 .*running (network lost)'"
ok $? "lensnetd killed: ps says both lost"
before=$(upstream_pkts)
! get r1 ok.test 2 >/dev/null && ! lctl exec r1 curl -sS --max-time 2 \
    "http://$NW_OK/" >/dev/null 2>&1
ok $? "no network meanwhile: curl fails, by name and by address"
[ "$(upstream_pkts)" = "$before" ]
ok $? "and not one packet reached the test internet ($before, $(upstream_pkts))"

# a listener of uid 65534 on lensnetd's socket: nothing is sent to it
rm -f "$T/netd.sock"
python3 - "$T/netd.sock" "$T/fake.bytes" >"$T/fake.log" 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
os.setresgid(65534, 65534, 65534)
os.setgroups([])
os.setresuid(65534, 65534, 65534)
s.listen(16)            # SO_PEERCRED: the uid of listen()
n = 0
while True:
    c, _ = s.accept()
    c.settimeout(1)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
    except OSError:
        pass
    c.close()
    with open(sys.argv[2], "w") as f:
        f.write("%d\n" % n)
EOF
FAKE=$!
at_exit "kill $FAKE 2>/dev/null"
wait_until 10 grep -q 'served by uid 65534.*not root' "$T/vmm.log"
ok $? "a non-root listener on the socket: lensvmm refuses it ($(grep -o 'served by uid [^:]*' "$T/vmm.log" | head -n 1))"
[ "$(cat "$T/fake.bytes" 2>/dev/null || echo 0)" = 0 ] && state_is r1 lost
ok $? "it received nothing; the sandboxes stay lost"
kill "$FAKE" 2>/dev/null
wait "$FAKE" 2>/dev/null

# another instance on the same socket: not given these sandboxes
NETD_INST=x$$ netd_start "$NW_DNS" ||
    { echo "Bail out! lensnetd (other instance) did not start"; exit 1; }
wait_until 10 sh -c "'$LENSCTL' -s '$VMM_SOCK' inspect r1 | grep -q 'reattach_error.*attached to lensnetd instance $NETD_INST0, this is instance x$$'"
ok $? "lensnetd of another instance refuses the re-attach (inspect says why)"
state_is r1 lost && state_is r2 lost && ! get r1 ok.test 2 >/dev/null
ok $? "still lost, still no network"
netd_stop
rm -f "/run/lens/x$$.lock"

# the same instance back
NETD_INST=$NETD_INST0 netd_start "$NW_DNS" ||
    { echo "Bail out! lensnetd did not restart"; exit 1; }
wait_until 10 sh -c "'$LENSCTL' -s '$VMM_SOCK' ps | grep ' r1 ' | grep -v 'network lost' | grep -q running &&
    '$LENSCTL' -s '$VMM_SOCK' ps | grep ' r2 ' | grep -v 'network lost' | grep -q running"
ok $? "lensnetd back: ps says both running, not lost ($(lctl ps | grep ' r1 '))"
state_is r1 attached && state_is r2 attached
ok $? "inspect: attached"
[ "$(addr_of r1)" = "$A1" ] && [ "$(addr_of r2)" = "$A2" ] &&
    [ "$(lctl exec r1 ip -4 -o addr show dev eth0 | awk '{ print $4 }')" = "$A1/30" ]
ok $? "the same addresses ($A1, $A2), in the sandbox too"
[ "$(get r1 ok.test)" = ok-web ] && [ "$(get r2 ok.test)" = ok-web ]
ok $? "both reach ok.test again, not restarted"
out=$(get r1 denied.test)
case $out in *"lens proxy"*policy*) true ;; *) false ;; esac
ok $? "denied.test still refused ($out)"
lctl exec r1 sh -c 'cat /etc/resolv.conf; env' >"$T/r1.env" 2>&1
wait_until 5 sh -c "'$LENSCTL' audit show --json --dir '$T/audit' >'$T/a.json' &&
    [ \$(grep -c '\"type\":\"sandbox.network_restored\"' '$T/a.json') -ge 2 ]"
ok $? "the audit has sandbox.network_restored for both"
awk '/"type":"sandbox.network_lost"/ { l = NR } /"type":"sandbox.network_restored"/ { r = NR } END { exit !(l && r > l) }' "$T/a.json" &&
    grep '"type":"net.attach"' "$T/a.json" | grep -q '"reattach":true'
ok $? "lost before restored; lensnetd audits net.attach with reattach true"
grep -q 're-attached' "$T/netd.log" &&
    [ "$(grep -c 'sandbox .* re-attached' "$T/netd.log")" -eq 2 ]
ok $? "lensnetd logs two re-attaches"
lctl rm -f r1 r2 >/dev/null 2>&1
wait_until 10 sh -c "[ \$(grep -c 'detached: connection closed' '$T/netd.log') -ge 2 ]"
ok $? "removed: lensnetd tears their networks down (the parent's connections closed)"
log_if_failed lensvmm "$T/vmm.log" 30
log_if_failed lensnetd "$T/netd.log" 30
tap_done
