#!/bin/sh
# lensnetd's parent between its children, with test roles in place of
# the dns and proxy children ($OBJ/regress/lensnetd-routes, roles from
# regress/netd/routes.c): SANDBOX and the listeners reach both, DNSMAP
# goes dns -> proxy, RESOLVE proxy -> dns and RESOLVED back, AUDIT
# events reach lensauditd under the sandbox's id, an INWARD_REQUEST is
# answered with a socket made in the gateway namespace that reaches the
# sandbox, and a child that sends a malformed message ends the daemon.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

NETD=$OBJ/regress/lensnetd-routes
ATTACH=$OBJ/regress/tools/netdattach
if [ "$(id -u)" -ne 0 ] || [ ! -x "$NETD" ] || [ ! -x "$ATTACH" ] ||
    ! command -v python3 >/dev/null; then
	echo "1..0 # SKIP needs root, lensnetd-routes, netdattach, python3"
	exit 0
fi

tap_plan 15
tmpdir_setup
chmod 0755 "$T"
SB=lnrt$$
INST=netdr$$
NETD_INST=$INST
ID=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
at_exit 'netd_stop; auditd_stop; [ -n "${LPID:-}" ] && kill $LPID 2>/dev/null; ip netns del $SB 2>/dev/null; rm -f /run/lens/$INST.lock'


auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
ip netns add "$SB" || { echo "Bail out! ip netns add"; exit 1; }
# a service in the sandbox for the inward connection
ip netns exec "$SB" python3 -c 'import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(1)
open("'"$T"'/listening", "w").close()
c, a = s.accept()
open("'"$T"'/inward", "w").write(a[0] + " " + c.recv(100).decode())' &
LPID=$!
wait_until 5 test -e "$T/listening"
netd_start 198.18.0.53
ok $? "lensnetd with the test roles starts"

mkfifo "$T/hold"
"$ATTACH" -i "$ID" "$T/netd.sock" "/run/netns/$SB" <"$T/hold" >"$T/a.out" 2>&1 &
APID=$!
exec 3>"$T/hold"
wait_until 30 grep -q '^attached' "$T/a.out"
ok $? "attached ($(cat "$T/a.out"))"
wait_until 5 grep -q "dns: got SANDBOX 1 $ID addr 10.200.0.2 policy 0 bytes" "$T/netd.log" &&
    grep -q "proxy: got SANDBOX 1 $ID addr 10.200.0.2 policy 0 bytes" "$T/netd.log"
ok $? "both children get SANDBOX with the id, address and policy"
wait_until 5 sh -c "[ \$(grep -c 'dns: got 0x4e000102 for 1, 8 bytes, fd' '$T/netd.log') -eq 2 ]"
ok $? "dns gets two listeners (UDP and TCP)"
wait_until 5 sh -c "[ \$(grep -c 'proxy: got 0x4e000102 for 1, 8 bytes, fd' '$T/netd.log') -eq 2 ]"
ok $? "proxy gets two listeners (transparent and CONNECT)"
wait_until 5 grep -q "proxy: got DNSMAP example.test 198.18.0.7 from dns$" "$T/netd.log"
ok $? "DNSMAP goes from dns to proxy"
wait_until 5 grep -q "dns: got RESOLVE 42 example.test from proxy$" "$T/netd.log"
ok $? "RESOLVE goes from proxy to dns"
wait_until 5 grep -q "proxy: got RESOLVED 42 1 198.18.0.8 from dns$" "$T/netd.log"
ok $? "RESOLVED goes back from dns to proxy"
wait_until 5 grep -q 'proxy: got INWARD_SOCKET 7, connected to 10.200.0.2:8080' "$T/netd.log"
ok $? "INWARD_REQUEST is answered with a socket that reaches the sandbox"
wait_until 5 grep -q '^10.200.0.1 hello-inward' "$T/inward"
ok $? "... the sandbox's service sees it come from the gateway ($(cat "$T/inward" 2>/dev/null))"
wait_until 10 sh -c "cat '$T'/audit/*.log | grep '\"dns.test\"' | grep -q '\"sandbox\":\"$ID\"'"
ok $? "an AUDIT event of a child is logged under the sandbox's id"
cat "$T"/audit/*.log | grep '"dns.test"' | grep -q '"source":"lensnet"'
ok $? "... with source lensnet"
exec 3>&-
wait "$APID"
wait_until 5 grep -q 'dns: got 0x4e000103 for 1, 0 bytes' "$T/netd.log" &&
    grep -q 'proxy: got 0x4e000103 for 1, 0 bytes' "$T/netd.log"
ok $? "both children get SANDBOX_GONE at detach"
netd_stop

for role in dns proxy; do
	: >"$T/netd.log"
	LENS_ROUTES_BAD=$role "$NETD" -d -n "$INST" -s "$T/netd.sock" \
	    -a "$T/auditd.sock" -u 198.18.0.53 >>"$T/netd.log" 2>&1 &
	NETD_PID=$!
	wait "$NETD_PID"
	rc=$?
	NETD_PID=
	[ "$rc" -eq 1 ] &&
	    grep -q "$role: bad message 0x4e000106 (1 bytes): " "$T/netd.log" &&
	    grep -q "$role: bad message; exiting" "$T/netd.log"
	ok $? "$role sends a malformed DNSMAP: logged, lensnetd exits 1 (exit $rc)"
done
tap_done
