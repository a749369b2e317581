#!/bin/sh
# lensvmm with lensnetd (lensvmm -n): a jail sandbox gets eth0 with its
# /30, a default route through its gateway, /etc/resolv.conf naming the
# gateway and HTTP_PROXY/HTTPS_PROXY/NO_PROXY in its commands'
# environment; its network goes when it ends; lensctl run -p reaches
# lensnetd; without lensnetd no sandbox starts (fail closed); a lensvmm
# without -n keeps loopback only.  DNS answers and proxying are not
# tested here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require
if [ ! -x "$NETD" ] || ! command -v nft >/dev/null ||
    ! command -v python3 >/dev/null; then
	echo "1..0 # SKIP needs lensnetd, nft and python3"
	exit 0
fi

tap_plan 27
tmpdir_setup
INST=netds$$
NETD_INST=$INST
at_exit 'netd_stop; rm -f /run/lens/$INST.lock'


chmod 0755 "$T"
auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
netd_start 198.18.0.53 || { echo "Bail out! lensnetd did not start"; exit 1; }
vmm_setup -n "$T/netd.sock"

lctl run --rm $R -- sh -c 'ip -4 -o addr show dev eth0; ip route' \
    >"$T/out" 2>"$T/err"
ok $? "a sandbox runs with lensnetd ($(cat "$T/err"))"
grep -q 'inet 10.200.0.2/30' "$T/out"
ok $? "it has eth0 with 10.200.0.2/30"
grep -q '^default via 10.200.0.1 dev eth0' "$T/out"
ok $? "its default route goes through the gateway"
grep -q 'sandbox [0-9a-f]* attached (uid 0): jail, address 10.200.0.2' "$T/netd.log"
ok $? "lensnetd attached it (as the jail process, uid 0)"
wait_until 10 grep -q 'detached: connection closed' "$T/netd.log"
ok $? "its network is torn down when it ends"

lctl run --rm $R -- cat /etc/resolv.conf >"$T/out" 2>"$T/err"
grep -q '^nameserver 10.200.0.1$' "$T/out"
ok $? "/etc/resolv.conf names the gateway ($(tr '\n' ' ' <"$T/out"))"
lctl run --rm $R -- ls -ln /etc/resolv.conf >"$T/out" 2>"$T/err"
awk '{ print $3 }' "$T/out" | grep -qx 0
ok $? "... owned by the sandbox's root"
lctl run --rm $R -- env >"$T/out" 2>"$T/err"
grep -qx 'HTTP_PROXY=http://10.200.0.1:3128' "$T/out" &&
    grep -qx 'HTTPS_PROXY=http://10.200.0.1:3128' "$T/out" &&
    grep -qx 'http_proxy=http://10.200.0.1:3128' "$T/out" &&
    grep -qx 'https_proxy=http://10.200.0.1:3128' "$T/out"
ok $? "HTTP_PROXY, HTTPS_PROXY (both cases) point at the gateway"
grep -qx 'NO_PROXY=localhost,127.0.0.1,::1' "$T/out"
ok $? "NO_PROXY keeps loopback direct"
lctl run --rm $R -e HTTP_PROXY=http://mine:1 -- env >"$T/out" 2>"$T/err"
[ "$(grep -c '^HTTP_PROXY=' "$T/out")" -eq 1 ] &&
    grep -qx 'HTTP_PROXY=http://mine:1' "$T/out"
ok $? "a command's own HTTP_PROXY is kept"
lctl run --rm $R -u root -- ping -c 1 -W 2 10.200.0.1 >"$T/out" 2>&1
ok $? "the sandbox reaches its gateway"
lctl run --rm $R -u root -- ping -c 1 -W 1 198.18.0.1 >"$T/out" 2>&1
[ $? -ne 0 ]
ok $? "... and nothing beyond it"

# exec in a running sandbox gets the proxy too
lctl run -d --name nd1 $R -- sleep 30 >"$T/out" 2>&1
ok $? "a detached sandbox"
lctl exec nd1 env >"$T/out" 2>&1
grep -qx 'HTTPS_PROXY=http://10.200.0.1:3128' "$T/out"
ok $? "exec: HTTPS_PROXY is set"
lctl inspect nd1 >"$T/out" 2>&1
grep -q '"gateway": "10.200.0.1"' "$T/out"
ok $? "inspect shows the network"
lctl rm -f nd1 >/dev/null 2>&1

# -p reaches lensnetd and is listened on
lctl run --rm $R -p 127.0.0.1:1:80/udp -- true >"$T/out" 2>&1
[ $? -eq 125 ] && grep -q 'only tcp' "$T/out"
ok $? "lensctl run -p refuses udp ($(cat "$T/out"))"
lctl run --rm $R -p 127.0.0.1:70000:80 -- true >"$T/out" 2>&1
[ $? -eq 125 ] && grep -q 'host port "70000" is not a number from 1 to 65535' "$T/out"
ok $? "lensctl run -p refuses a bad port ($(cat "$T/out"))"
port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
lctl run --rm $R -p "127.0.0.1:$port:80" -- true >"$T/out" 2>&1
ok $? "lensctl run -p 127.0.0.1:$port:80 ($(cat "$T/out"))"
grep -q 'attached (uid 0): jail, address 10.200.0.2, gateway netns net:\[[0-9]*\], 1 published' "$T/netd.log"
ok $? "... lensnetd published one port"

# lensnetd dies under a running sandbox: its network goes
lctl run -d --name nd2 $R -- sleep 60 >"$T/out" 2>&1
lctl exec nd2 ip -o link >"$T/out" 2>&1
grep -q ' eth0@' "$T/out"
ok $? "a running sandbox has eth0"
kill -KILL "$NETD_PID"
wait "$NETD_PID" 2>/dev/null
NETD_PID=
# (the gateway namespace, and with it the veth pair, goes in the
# kernel's netns cleanup work, some time after lensnetd's death)
wait_until 10 sh -c "! '$LENSCTL' -s '$VMM_SOCK' exec nd2 ip -o link |
    grep -q eth0"
lctl exec nd2 ip -o link >"$T/out" 2>&1
[ "$(grep -c . "$T/out")" -eq 1 ] && grep -q ' lo:' "$T/out"
ok $? "lensnetd killed: the running sandbox is left with loopback only ($(tr '\n' ' ' <"$T/out"))"
wait_until 5 grep -q 'lensnetd closed its connection: the sandbox has no network any more' "$T/vmm.log"
ok $? "... and lensvmm says so"
lctl rm -f nd2 >/dev/null 2>&1

# fail closed: lensnetd down, no sandbox
netd_stop
lctl run --rm $R -- true >"$T/out" 2>&1
rc=$?
[ "$rc" -eq 125 ]
ok $? "lensnetd down: the sandbox does not start (exit $rc)"
grep -q 'lensnetd is not reachable' "$T/out"
ok $? "... and says why ($(cat "$T/out"))"
netd_start 198.18.0.53
lctl run --rm $R -- true >"$T/out" 2>&1
ok $? "lensnetd back: sandboxes start again"

# a lensvmm without -n: loopback only, -p refused
vmm_stop
vmm_start
lctl run --rm $R -- ip -o link >"$T/out" 2>&1
[ "$(grep -c . "$T/out")" -eq 1 ] && grep -q ' lo:' "$T/out"
ok $? "without lensnetd: loopback only"
lctl run --rm $R -p 127.0.0.1:8080:80 -- true >"$T/out" 2>&1
[ $? -eq 125 ] && grep -q -- '-p needs lensnetd' "$T/out"
ok $? "without lensnetd: -p is refused ($(cat "$T/out"))"
tap_done
