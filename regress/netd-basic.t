#!/bin/sh
# lensnetd with real namespaces and a real nft table: a fake sandbox (a
# network namespace made with `ip netns add`) is attached with
# regress/tools/netdattach, which plays lensvmm.  Checks the veth pair,
# addresses and routes, the table in the gateway namespace and its
# counters, IPv6, teardown when the connection closes, fail closed when
# lensnetd is killed, bad requests, peer credentials, and the parent's
# privileges.  DNS and proxying are not tested here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

ATTACH=$OBJ/regress/tools/netdattach
BB=/bin/busybox
if [ "$(id -u)" -ne 0 ] || [ ! -x "$NETD" ] || [ ! -x "$ATTACH" ] ||
    ! command -v nft >/dev/null || ! command -v nsenter >/dev/null ||
    [ ! -x "$BB" ]; then
	echo "1..0 # SKIP needs root, lensnetd, netdattach, nft, nsenter, busybox"
	exit 0
fi

tap_plan 82
tmpdir_setup
chmod 0755 "$T"
SB=lnsb$$
INST=netdt$$
NETD_INST=$INST
at_exit 'netd_stop; auditd_stop; ip netns del $SB 2>/dev/null; rm -f /run/lens/$INST.lock'


# attach_bg NAME [netdattach flags]: attach $SB, holding the connection
# through the fifo $T/NAME.hold (fd 3 here... opened by attach_hold)
attach_bg() {
	_n=$1; shift
	rm -f "$T/$_n.hold" "$T/$_n.out"
	mkfifo "$T/$_n.hold"
	"$ATTACH" "$@" "$T/netd.sock" "/run/netns/$SB" <"$T/$_n.hold" \
	    >"$T/$_n.out" 2>&1 &
	ATTACH_PID=$!
}

# the gateway namespace of the last attached sandbox, as a /proc path
gwns() {
	_ino=$(grep -o 'gateway netns net:\[[0-9]*\]' "$T/netd.log" | tail -n 1 |
	    grep -o '[0-9][0-9]*')
	for _f in /proc/"$NETD_PID"/fd/*; do
		[ "$(readlink "$_f")" = "net:[$_ino]" ] && { echo "$_f"; return 0; }
	done
	return 1
}

netfds() {	# how many network namespaces the parent holds
	for _f in /proc/"$NETD_PID"/fd/*; do readlink "$_f"; done |
	    grep -c '^net:'
}

counter() {	# counter NAME: packets of a named counter in the gateway
	nsenter --net="$GW" nft list counter inet lens "$1" |
	    awk '$1 == "packets" { print $2 }'
}

in_sb() {
	ip netns exec "$SB" "$@"
}

field() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# bad options: exit 2 with the reason
badopt() {	# badopt EXPECTED-TEXT lensnetd-args...
	_want=$1; shift
	"$NETD" -d -n "$INST" -s "$T/netd.sock" "$@" >"$T/opt.out" 2>&1
	_rc=$?
	[ "$_rc" -eq 2 ] && grep -q -- "$_want" "$T/opt.out" ||
	    { diag "lensnetd $*: exit $_rc: $(cat "$T/opt.out")"; return 1; }
}
r=0
# no -u: /etc/resolv.conf's first nameserver outside the pool; here
# (a mount namespace's own resolv.conf) there is none
printf 'nameserver 10.200.0.1\n' >"$T/resolv.pool"
unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
    sh "$T/resolv.pool" "$NETD" -d -n "$INST" -s "$T/netd.sock" \
    >"$T/opt.out" 2>&1
[ $? -eq 2 ] && grep -q 'no -u upstream and /etc/resolv.conf: no nameserver' \
    "$T/opt.out" || { diag "lensnetd without -u: $(cat "$T/opt.out")"; r=1; }
badopt '-u 300.1.2.3: need ADDRESS' -u 300.1.2.3 || r=1
badopt '-u 198.18.0.53:0: need ADDRESS' -u 198.18.0.53:0 || r=1
badopt '-p 10.200.0.1/16: host bits set' -u 198.18.0.53 -p 10.200.0.1/16 || r=1
badopt '-p 10.0.0.0/8: need an IPv4 network' -u 198.18.0.53 -p 10.0.0.0/8 || r=1
badopt '-n a/b: need at most 23' -u 198.18.0.53 -n a/b || r=1
ok $r "bad options are refused with exit 2, naming the option"

auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
ip netns add "$SB" || { echo "Bail out! ip netns add"; exit 1; }
netd_start 198.18.0.53
ok $? "lensnetd starts"

# --- attach ----------------------------------------------------------
attach_bg a1
exec 3>"$T/a1.hold"
wait_until 30 grep -q '^attached' "$T/a1.out"
ok $? "ATTACH is answered"
grep -q '^attached 10.200.0.2 10.200.0.1/30 eth0 3128 1500$' "$T/a1.out"
ok $? "ATTACHED: address 10.200.0.2, gateway 10.200.0.1/30, eth0, proxy 3128 ($(cat "$T/a1.out"))"
in_sb ip -4 -o addr show dev eth0 | grep -q 'inet 10.200.0.2/30'
ok $? "the sandbox has eth0 with 10.200.0.2/30"
in_sb ip link show dev eth0 | grep -q 'state UP'
ok $? "eth0 is up"
[ "$(in_sb ip route show default)" = "default via 10.200.0.1 dev eth0 proto static " ] ||
    in_sb ip route show default | grep -q '^default via 10.200.0.1 dev eth0'
ok $? "default route via the gateway"
[ -z "$(in_sb ip -6 addr show dev eth0)" ]
ok $? "no IPv6 address on the sandbox's eth0"
[ "$(in_sb cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)" = 1 ]
ok $? "IPv6 disabled on eth0"
GW=$(gwns)
[ -n "$GW" ]
ok $? "the parent holds the gateway namespace ($GW)"
[ "$(netfds)" -eq 2 ]
ok $? "the parent holds two network namespaces: the host's and the gateway"
nsenter --net="$GW" ip -4 -o addr show dev lens0 | grep -q 'inet 10.200.0.1/30'
ok $? "the gateway has lens0 with 10.200.0.1/30"
[ -z "$(nsenter --net="$GW" ip -6 addr show dev lens0)" ]
ok $? "no IPv6 address on the gateway's lens0"
[ "$(nsenter --net="$GW" cat /proc/sys/net/ipv4/ip_forward)" = 0 ]
ok $? "no forwarding in the gateway"
[ "$(nsenter --net="$GW" ip -o link show | wc -l)" -eq 2 ]
ok $? "nothing else in the gateway: lo and lens0"
ip -o link show | grep -q 'lens0' && r=1 || r=0
ok $r "nothing of it in the host's namespace"

nsenter --net="$GW" nft list ruleset >"$T/ruleset" 2>&1
ok $? "nft list ruleset in the gateway"
grep -q 'table inet lens' "$T/ruleset" &&
    grep -q 'iifname "lens0" udp dport 53 redirect to :53' "$T/ruleset" &&
    grep -q 'iifname "lens0" tcp dport 53 redirect to :53' "$T/ruleset" &&
    grep -q 'iifname "lens0" ip daddr 10.200.0.1 tcp dport 3128 accept' "$T/ruleset" &&
    grep -q 'iifname "lens0" meta l4proto tcp redirect to :15001' "$T/ruleset"
ok $? "nat: DNS to :53, explicit proxy port kept, other TCP to :15001"
grep -A1 'chain input' "$T/ruleset" | grep -q 'policy drop' &&
    grep -A1 'chain forward' "$T/ruleset" | grep -q 'policy drop' &&
    grep -q 'ct state established,related accept' "$T/ruleset" &&
    grep -q 'counter name "input_dropped" drop' "$T/ruleset"
ok $? "input and forward: policy drop, established allowed, counted drop"
grep -q 'meta nfproto ipv6 counter name "ipv6_dropped" drop' "$T/ruleset" &&
    grep -q 'iifname "lens0" counter name "dropped" drop' "$T/ruleset"
ok $? "prerouting: IPv6 and everything else from the sandbox counted and dropped"
[ "$(grep -c '^table' "$T/ruleset")" -eq 1 ]
ok $? "one table in the gateway"
[ -z "$(in_sb nft list ruleset 2>&1)" ]
ok $? "the table is not visible from the sandbox's namespace"
in_sb nft delete table inet lens 2>/dev/null
[ $? -ne 0 ]
ok $? "the sandbox's root cannot delete it"
in_sb setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    nft add table inet evil 2>/dev/null
[ $? -ne 0 ]
ok $? "an unprivileged workload cannot add nft rules"

# --- traffic ---------------------------------------------------------
in_sb $BB ping -c 1 -W 2 10.200.0.1 >/dev/null 2>&1
ok $? "the sandbox can ping its gateway"
in_sb ip route get 198.18.0.1 | grep -q 'via 10.200.0.1 dev eth0'
ok $? "198.18.0.1 routes through the gateway"
d0=$(counter dropped)
in_sb $BB ping -c 2 -W 1 198.18.0.1 >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "ICMP beyond the gateway gets no answer"
d1=$(counter dropped)
[ "$d1" -ge $((d0 + 2)) ]
ok $? "... and is counted as dropped ($d0 -> $d1)"
in_sb sh -c 'for i in 1 2 3; do echo x >/dev/udp/198.18.0.1/9999; done' 2>/dev/null ||
    in_sb python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3): s.sendto(b"x", ("198.18.0.1", 9999))'
d2=$(counter dropped)
[ "$d2" -ge $((d1 + 3)) ]
ok $? "UDP to another port is counted as dropped ($d1 -> $d2)"
in_sb python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2): s.sendto(b"x", ("10.200.0.1", 9999))'
d3=$(counter dropped)
[ "$d3" -ge $((d2 + 2)) ]
ok $? "UDP to the gateway's other ports too ($d2 -> $d3)"
# a hostile root in the sandbox turns IPv6 back on
in_sb sh -c 'echo 0 >/proc/sys/net/ipv6/conf/eth0/disable_ipv6' &&
    in_sb ip -6 addr add fd00:1::2/64 dev eth0 nodad
v0=$(counter ipv6_dropped)
in_sb $BB ping -6 -c 2 -W 1 fd00:1::1 >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "IPv6 gets no answer"
v1=$(counter ipv6_dropped)
[ "$v1" -gt "$v0" ]
ok $? "IPv6 is counted as dropped ($v0 -> $v1)"
f0=$(counter forward_dropped)
[ "$f0" -eq 0 ]
ok $? "nothing reached the forward chain ($f0)"

# --- audit -------------------------------------------------------------
wait_until 10 sh -c "cat '$T'/audit/*.log | grep -q '\"net.attach\"'"
ok $? "the attach is audited (net.attach)"
cat "$T"/audit/*.log | grep '"net.attach"' | grep -q '"source":"lensnet"'
ok $? "... with source lensnet"

"$ATTACH" "$T/netd.sock" "/run/netns/$SB" </dev/null >"$T/dup.out" 2>&1
grep -q '^error sandbox 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef is already attached' "$T/dup.out"
ok $? "a second attach of the same sandbox is refused ($(cat "$T/dup.out"))"

# --- privileges ----------------------------------------------------------
# CAP_KILL 5, CAP_NET_BIND_SERVICE 10, CAP_NET_ADMIN 12, CAP_SYS_ADMIN 21
[ "$(field "$NETD_PID" CapEff)" = 0000000000201420 ] &&
    [ "$(field "$NETD_PID" CapPrm)" = 0000000000201420 ] &&
    [ "$(field "$NETD_PID" CapBnd)" = 0000000000201420 ]
ok $? "parent keeps only CAP_KILL, NET_BIND_SERVICE, NET_ADMIN, SYS_ADMIN ($(field "$NETD_PID" CapEff))"
[ "$(field "$NETD_PID" NoNewPrivs)" = 1 ] && [ "$(field "$NETD_PID" Seccomp)" = 2 ]
ok $? "parent: NoNewPrivs 1, Seccomp 2"
lensnet_uid=$(id -u _lensnet)
for role in dns proxy; do
	pid=$(pgrep -P "$NETD_PID" -f "lensnetd: $role" | head -n 1)
	uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pid/status" 2>/dev/null)
	[ -n "$pid" ] && [ "$uids" = "$lensnet_uid $lensnet_uid $lensnet_uid $lensnet_uid" ] &&
	    [ "$(field "$pid" CapEff)" = 0000000000000000 ] &&
	    [ "$(field "$pid" NoNewPrivs)" = 1 ] && [ "$(field "$pid" Seccomp)" = 2 ]
	ok $? "$role child: _lensnet, no capability, NoNewPrivs, Seccomp 2"
done

# --- teardown ------------------------------------------------------------
exec 3>&-
wait_until 10 grep -q 'detached: connection closed' "$T/netd.log"
ok $? "closing the connection detaches the sandbox"
wait_until 10 sh -c "! ip netns exec $SB ip link show eth0 >/dev/null 2>&1"
ok $? "the sandbox's eth0 is gone"
[ "$(netfds)" -eq 1 ]
ok $? "the parent no longer holds the gateway namespace"
wait "$ATTACH_PID"
wait_until 10 sh -c "cat '$T'/audit/*.log | grep -q '\"net.detach\"'"
ok $? "the detach is audited (net.detach)"

# DETACH message; the address is reused
attach_bg a2 -d
exec 3>"$T/a2.hold"
wait_until 10 grep -q '^attached 10.200.0.2 ' "$T/a2.out"
ok $? "a second attach gets the freed address again"
in_sb ip link show eth0 >/dev/null 2>&1
ok $? "eth0 is back"
exec 3>&-
wait_until 10 grep -q 'detached: detach$' "$T/netd.log"
ok $? "DETACH detaches"
wait_until 10 sh -c "! ip netns exec $SB ip link show eth0 >/dev/null 2>&1"
ok $? "... and eth0 is gone"
wait "$ATTACH_PID"

# microvm: a tap in the gateway, its descriptor returned
"$ATTACH" -m "$T/netd.sock" - <"$T/a2.hold" >"$T/m.out" 2>&1 &
ATTACH_PID=$!
exec 3>"$T/a2.hold"
wait_until 10 grep -q '^attached 10.200.0.2 10.200.0.1/30 tap0 3128 1500 tapfd$' "$T/m.out"
ok $? "microvm: ATTACHED with a tap descriptor ($(cat "$T/m.out"))"
GW=$(gwns)
nsenter --net="$GW" ip -4 -o addr show dev tap0 | grep -q 'inet 10.200.0.1/30'
ok $? "microvm: the gateway has tap0 with 10.200.0.1/30"
nsenter --net="$GW" nft list ruleset | grep -q 'iifname "tap0" meta l4proto tcp redirect to :15001'
ok $? "microvm: the table is built for tap0"
exec 3>&-
wait "$ATTACH_PID"
wait_until 10 sh -c "[ \$(ls -l /proc/$NETD_PID/fd | grep -c 'net:') -eq 1 ]"
ok $? "microvm: detached, the gateway is gone"

# --- bad requests -------------------------------------------------------
badcase() {	# badcase BAD EXPECTED-ERROR-TEXT
	"$ATTACH" -b "$1" "$T/netd.sock" "/run/netns/$SB" </dev/null >"$T/bad.out" 2>&1
	grep -q "^error .*$2" "$T/bad.out" &&
	    grep -q "attach from uid 0 refused: .*$2" "$T/netd.log"
}
r=0
for c in "short:ATTACH: 104 bytes, need at least 112" \
    "nofd:needs the sandbox's network namespace as descriptor" \
    "fd-microvm:backend microvm takes no descriptor" \
    "id:sandbox id is not 64 lowercase hex digits" \
    "pad:padding not zero" "trailing:4 bytes after the last field" \
    "policylen:policy model of 1000000 bytes" \
    "type:expected ATTACH, got message 0x4e000003" \
    "notns:the descriptor is not a network namespace"; do
	badcase "${c%%:*}" "${c#*:}" || { r=1; diag "bad case ${c%%:*}: $(cat "$T/bad.out")"; }
done
ok $r "bad ATTACH requests are refused with a clear error, logged"
# re-attach requests (lensvmm's after a restart of lensnetd) that this
# lensnetd must not take
rebad() {	# rebad EXPECTED-ERROR-TEXT netdattach-flags...
	_e=$1
	shift
	"$ATTACH" "$@" "$T/netd.sock" "/run/netns/$SB" </dev/null >"$T/bad.out" 2>&1
	grep -q "^error .*$_e" "$T/bad.out" &&
	    grep -q "attach from uid 0 refused: .*$_e" "$T/netd.log"
}
r=0
rebad "instance not NUL-padded" -b instpad || r=1
rebad "names both its address and its lensnetd instance" -R 10.200.0.2 || r=1
rebad "names both its address and its lensnetd instance" -I "$NETD_INST" || r=1
rebad "only a jail is re-attached" -m -R 10.200.0.2 -I "$NETD_INST" || r=1
rebad "was attached to lensnetd instance other, this is instance $NETD_INST" \
    -R 10.200.0.2 -I other || r=1
rebad "address 192.0.2.2 is not in this lensnetd's pool 10.200.0.0/16" \
    -R 192.0.2.2 -I "$NETD_INST" || r=1
rebad "address 10.200.0.5 is not a sandbox's" -R 10.200.0.5 -I "$NETD_INST" || r=1
[ $r = 0 ] || diag "$(cat "$T/bad.out")"
ok $r "re-attaches of another instance, outside the pool, not a sandbox address, half-named: refused"
"$ATTACH" -b frame "$T/netd.sock" "/run/netns/$SB" </dev/null >"$T/bad.out" 2>&1
grep -q '^closed' "$T/bad.out" &&
    grep -q 'connection from uid 0: malformed frame; closed' "$T/netd.log"
ok $? "a malformed frame closes the connection, logged"
"$ATTACH" -p 127.0.0.1:99999:80 "$T/netd.sock" "/run/netns/$SB" </dev/null >"$T/bad.out" 2>&1
grep -q '^error -p 127.0.0.1:99999:80: host port "99999" is not a number' "$T/bad.out"
ok $? "a bad -p is refused ($(cat "$T/bad.out"))"
python3 -c 'import socket,sys,time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$T/busyport" &
PYPID=$!
wait_until 5 test -s "$T/busyport"
port=$(cat "$T/busyport")
"$ATTACH" -p "127.0.0.1:$port:80" "$T/netd.sock" "/run/netns/$SB" </dev/null >"$T/bad.out" 2>&1
grep -q "^error .*published port 127.0.0.1:$port: Address already in use" "$T/bad.out"
ok $? "a published port in use is refused ($(cat "$T/bad.out"))"
kill "$PYPID" 2>/dev/null
wait "$PYPID" 2>/dev/null
setpriv --reuid=65534 --regid=65534 --clear-groups "$ATTACH" "$T/netd.sock" - \
    </dev/null >"$T/bad.out" 2>&1
grep -q '^closed' "$T/bad.out" &&
    grep -q 'connection from uid 65534 (pid [0-9]*) refused: only root and _lensvmm' "$T/netd.log"
ok $? "a peer that is neither root nor _lensvmm is refused, logged ($(cat "$T/bad.out"))"
kill -0 "$NETD_PID" && [ "$(netfds)" -eq 1 ] && ! in_sb ip link show eth0 >/dev/null 2>&1
ok $? "after the bad requests: lensnetd runs, nothing left behind"

# published port: the listener goes to the proxy
"$ATTACH" -p "127.0.0.1:$port:80" "$T/netd.sock" "/run/netns/$SB" <"$T/a2.hold" \
    >"$T/p.out" 2>&1 &
ATTACH_PID=$!
exec 3>"$T/a2.hold"
wait_until 30 grep -q '^attached' "$T/p.out"
ok $? "attach with -p 127.0.0.1:$port:80"
grep -q 'attached (uid 0): jail, address 10.200.0.2, gateway netns net:\[[0-9]*\], 1 published' "$T/netd.log"
ok $? "... one port published"

# --- fail closed ----------------------------------------------------------
dnspid=$(pgrep -P "$NETD_PID" -f "lensnetd: dns" | head -n 1)
kill -KILL "$NETD_PID"
wait "$NETD_PID" 2>/dev/null
NETD_PID=
wait_until 10 sh -c "! ip netns exec $SB ip link show eth0 >/dev/null 2>&1"
ok $? "SIGKILL of lensnetd: the sandbox's eth0 dies with the gateway"
[ -z "$(in_sb ip -4 route show default)" ]
ok $? "... no route out of the sandbox"
wait_until 5 sh -c "! kill -0 $dnspid 2>/dev/null"
ok $? "... its children die with it"
wait "$ATTACH_PID"
grep -q '^closed' "$T/p.out"
ok $? "... and the attach connection is closed"
exec 3>&-
[ -S "$T/netd.sock" ]
ok $? "a stale socket is left behind"
netd_start 198.18.0.53
ok $? "a restarted lensnetd replaces the stale socket"
attach_bg a3
exec 3>"$T/a3.hold"
wait_until 10 grep -q '^attached 10.200.0.2 10.200.0.1/30 eth0' "$T/a3.out"
ok $? "the same sandbox attaches again after the restart"

# a child that dies ends the daemon, and every sandbox loses its network
dnspid=$(pgrep -P "$NETD_PID" -f "lensnetd: dns" | head -n 1)
kill -KILL "$dnspid"
wait "$NETD_PID"
rc=$?
NETD_PID=
[ "$rc" -eq 1 ]
ok $? "lensnetd exits 1 when a child dies (exit $rc)"
grep -q "dns (pid $dnspid) killed by SIGKILL" "$T/netd.log"
ok $? "... and logs how it died"
wait_until 10 sh -c "! ip netns exec $SB ip link show eth0 >/dev/null 2>&1"
ok $? "... the sandbox's network is gone"
exec 3>&-
wait "$ATTACH_PID"

# dns and proxy talk on a channel of their own: when one dies the other
# sees the channel end and goes too, on its own (the parent is stopped
# here and cannot act): neither hangs on a dead channel, the parent
# holds no end of it; once it runs again it exits 1 as for any child
ended() {	# ended PID: gone, or a zombie its stopped parent cannot reap
	[ ! -e "/proc/$1/status" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
for victim in dns proxy; do
	other=proxy
	[ "$victim" = proxy ] && other=dns
	netd_start 198.18.0.53 || { echo "Bail out! lensnetd did not start"; exit 1; }
	# once both have taken their titles (an ASan build starts slowly)
	wait_until 10 pgrep -P "$NETD_PID" -f "lensnetd: $victim"
	wait_until 10 pgrep -P "$NETD_PID" -f "lensnetd: $other"
	vpid=$(pgrep -P "$NETD_PID" -f "lensnetd: $victim" | head -n 1)
	opid=$(pgrep -P "$NETD_PID" -f "lensnetd: $other" | head -n 1)
	[ -n "$vpid" ] && [ -n "$opid" ] || { echo "Bail out! no $victim or $other child"; exit 1; }
	kill -STOP "$NETD_PID"
	kill -KILL "$vpid"
	wait_until 1 ended "$opid"
	ok $? "$victim killed, the parent stopped: $other ends within 1 s"
	kill -CONT "$NETD_PID"
	wait "$NETD_PID"
	rc=$?
	NETD_PID=
	[ "$rc" -eq 1 ] && grep -q "$victim (pid $vpid) killed by SIGKILL" "$T/netd.log"
	ok $? "... lensnetd then exits 1, naming how $victim died (exit $rc)"
	grep -q "$other (pid $opid) exited with status 0" "$T/netd.log"
	ok $? "... and $other ended of itself (exit 0)"
	rm -f "/run/lens/$NETD_INST.lock"
done

netd_start 198.18.0.53
ok $? "lensnetd starts again"
auditd_stop
wait_until 5 grep -q 'audit: lost lensauditd' "$T/netd.log"
"$ATTACH" "$T/netd.sock" "/run/netns/$SB" </dev/null >"$T/bad.out" 2>&1
grep -q '^error lensauditd is not reachable at .*: no sandbox gets a network without an audit log' "$T/bad.out"
ok $? "lensauditd down: no attach ($(cat "$T/bad.out"))"
! ip netns exec "$SB" ip link show eth0 >/dev/null 2>&1
ok $? "... and no network"
netd_stop
ok $? "SIGTERM: clean exit 0"
[ ! -e "$T/netd.sock" ]
ok $? "the socket is removed"
tap_done
