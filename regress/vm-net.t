#!/bin/sh
# The microVM's network end to end: lensnetd makes a gateway namespace
# with a tap device and its nft table and hands the tap to lensvmm,
# whose vm process drives it as the guest's virtio-net; lens-init in the
# guest configures eth0 from lens.ip, lens.gw and lens.mtu on the kernel
# command line.  From inside the microVM: the address, MTU, default
# route, resolv.conf and HTTP_PROXY; ping to the gateway through
# virtio-net and the tap; DNS through the gateway's resolver; an allowed
# upstream fetched through HTTP_PROXY and transparently (nft redirect);
# a denied name and an address by IP refused; lensnetd's log and audit
# events for the attach (microvm, tap0) and the detach when it ends.
#
# The test internet: a network namespace behind a veth pair with
# busybox httpd on 198.19.7.10 (ok.test) and 198.19.7.11 (denied.test)
# and dnsmasq on 198.19.7.53, lensnetd's DNS upstream.
#
# Needs KVM that can boot Linux: /dev/kvm with vmx or svm (direct), or
# under `make regress-vm-nested' a nested KVM in QEMU TCG
# (regress/vmkvm.sh, with the netfilter and veth modules of KVM_MODS;
# many minutes).  Skipped with the reason elsewhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vmkvm.sh"

NTESTS=35
tap_plan $NTESTS
tmpdir_setup
chmod 0755 "$T"

GUEST=${GUEST:-$OBJ/guest}
KVM_LINUX=1	# boots Linux: nested where /dev/kvm is PVM (vmkvm.sh)
mode=$(kvm_linux_mode "$GUEST" "$OBJ/lensvmm" "$OBJ/lensauditd" \
    "$OBJ/lensctl" "$OBJ/lens-init" "$OBJ/lensnetd")
IPROUTE=$(command -v ip 2>/dev/null)
DNSMASQ=$(command -v dnsmasq 2>/dev/null)
NFT=$(command -v nft 2>/dev/null)
[ -n "$IPROUTE" ] && "$IPROUTE" -V 2>&1 | grep -q iproute2 ||
    mode="none: no iproute2 ip (the test internet's namespace)"
[ -n "$DNSMASQ" ] || mode="none: no dnsmasq (the test internet's DNS)"
[ -n "$NFT" ] || mode="none: no nft"
case $mode in
direct|nested)
	diag "KVM: $mode, guest $GUEST ($(cat "$GUEST/kernel.release" 2>/dev/null))"
	;;
*)
	skip_rest "${mode#none: }"
	;;
esac

. "$(dirname "$0")/daemon.sh"
rootfs_setup || { echo "Bail out! cannot build the test rootfs"; exit 1; }
mkdir -p "$T/w/guest"
cp -a "$ROOTFS" "$T/w/rootfs"
cp "$GUEST/vmlinuz" "$GUEST/initramfs.cpio" "$T/w/guest/"
kvm_linux_boot "$mode"
cp "$(dirname "$0")/vmlens.sh" "$T/w/"
cat >"$T/w/policy.yaml" <<'EOF'
version: 1
network:
  defaultVerdict: deny
  egress:
    http:
      - {match: ok.test, verdict: allow}
      - {match: denied.test, verdict: deny}
EOF

UPNS=lensup$$
cat >"$T/run.sh" <<EOF
AUDITD=$OBJ/lensauditd VMM=$OBJ/lensvmm LENSCTL=$OBJ/lensctl
INIT=$OBJ/lens-init NETD=$OBJ/lensnetd BOOT=$BOOT KARGS="$KARGS"
IP=$IPROUTE NFT=$NFT DNSMASQ=$DNSMASQ UPNS=$UPNS NETINST=vmnet$$
EOF
cat >>"$T/run.sh" <<'EOF'
VMM_FLAGS="-n $(pwd)/netd.sock"
. ./vmlens.sh
R="--rootfs $W/rootfs"
cleanup() {
	kill $UPPIDS $NETD_PID $VMM_PID $AUDITD_PID 2>/dev/null
	$IP netns del $UPNS 2>/dev/null	# the veth pair with it
	rm -f /run/lens/$NETINST.lock
}
trap cleanup EXIT

# --- the test internet: a namespace behind a veth pair
NS="nsenter --net=/run/netns/$UPNS"
mkdir -p /run/netns
$IP netns add $UPNS &&
$IP link add ${UPNS}h type veth peer name ${UPNS}n netns $UPNS &&
$IP addr add 198.18.7.1/30 dev ${UPNS}h &&
$IP link set ${UPNS}h up &&
$NS $IP link set lo up &&
$NS $IP addr add 198.18.7.2/30 dev ${UPNS}n &&
$NS $IP link set ${UPNS}n up &&
for a in 10 11 53; do
	$NS $IP addr add 198.19.7.$a/32 dev lo || exit 1
done &&
$NS $IP route add default via 198.18.7.1 &&
$IP route add 198.19.7.0/24 via 198.18.7.2 dev ${UPNS}h ||
    { echo "X: cannot build the test internet"; exit 1; }
for a in 10 11 53; do
	$IP route get 198.19.7.$a | grep -q "dev ${UPNS}h" ||
	    { echo "X: 198.19.7.$a is not routed into $UPNS"; exit 1; }
done
mkdir -p www-ok www-other
echo ok-web >www-ok/index.html
echo other-web >www-other/index.html
$NS busybox httpd -f -v -p 198.19.7.10:80 -h "$W/www-ok" 2>httpd-ok.log &
UPPIDS="$!"
$NS busybox httpd -f -v -p 198.19.7.11:80 -h "$W/www-other" 2>httpd-other.log &
UPPIDS="$UPPIDS $!"
$NS $DNSMASQ --keep-in-foreground --no-resolv --no-hosts --user=root \
    --bind-interfaces --listen-address=198.19.7.53 --port=53 --pid-file= \
    --log-queries --log-facility="$W/dnsmasq.log" \
    --address=/ok.test/198.19.7.10 --address=/denied.test/198.19.7.11 \
    >dnsmasq.out 2>&1 &
UPPIDS="$UPPIDS $!"
n=0
until timeout 5 wget -q -O - http://198.19.7.10/ >up.out 2>&1 &&
    grep -q 'query\|started' dnsmasq.log 2>/dev/null || [ $n -ge 60 ]; do
	sleep 1
	n=$((n + 1))
done
echo "UPHTTP: $(cat up.out)"
sed 's/^/DNSMASQ: /' dnsmasq.out dnsmasq.log 2>/dev/null | head -n 5

# --- lensnetd
$NETD -d -v -n $NETINST -s "$W/netd.sock" -a "$W/auditd.sock" \
    -u 198.19.7.53 >netd.log 2>&1 &
NETD_PID=$!
waitlog netd.log 'audit: connected to lensauditd' 120 && echo "NETDUP: yes"

# --- one microVM with the policy; commands by exec
t0=$(date +%s)
id=$($C run -d --name vmnet --backend microvm --policy "$W/policy.yaml" \
    $R -- sleep 3600 2>e1)
echo "R1: $? $id"
echo "T1: $(($(date +%s) - t0))"
sed 's/^/E1: /' e1
# (a hung exec must not take the whole run with it)
x() { timeout 300 $C exec vmnet -- "$@"; }
xr() { timeout 300 $C exec -u root vmnet -- "$@"; }
sed -n 's/.*\(sandbox [0-9a-f]* attached.*\)/ATTACHED: \1/p' netd.log
ino=$(sed -n 's/.*attached.*gateway netns net:\[\([0-9]*\)\].*/\1/p' netd.log |
    head -n 1)
GWNS=
for f in /proc/$NETD_PID/fd/*; do
	[ "$(readlink "$f")" = "net:[$ino]" ] && GWNS=$f
done
echo "GWNS: $GWNS"
gw() { nsenter --net="$GWNS" "$@"; }
[ -n "$GWNS" ] && gw $IP -d -4 -o addr show dev tap0 | sed 's/^/GWADDR: /'
[ -n "$GWNS" ] && gw $IP -d -o link show dev tap0 | sed 's/^/GWLINK: /'
$C inspect vmnet >insp
pid=$(sed -n 's/^ *"pid": \([0-9]*\).*/\1/p' insp | head -n 1)
for f in /proc/$pid/fd/*; do
	[ "$(readlink "$f")" = /dev/net/tun ] || continue
	sed -n 's/^iff:[[:space:]]*/VMTAP: /p' /proc/$pid/fdinfo/${f##*/}
done

x cat /proc/cmdline | tr ' ' '\n' | sed -n 's/^lens\.\(ip\|gw\|mtu\)=/K\1: /p'
x ip -4 -o addr show dev eth0 | sed 's/^/ETH0: /'
echo "MTU: $(x cat /sys/class/net/eth0/mtu)"
x ip route | sed 's/^/ROUTE: /'
x cat /etc/resolv.conf | sed 's/^/RESOLV: /'
x env | grep -i '_proxy=' | sed 's/^/ENV: /'
pkts() {	# packets in, out of the gateway's tap0 (its /proc/net/dev)
	gw cat /proc/net/dev | sed -n 's/^ *tap0: *//p' |
	    awk '{ print $2, $10 }'
}
set -- $(pkts)
r0=${1:-0} s0=${2:-0}
G=$(x sed -n 's/^nameserver //p' /etc/resolv.conf)
xr ping -c 2 -W 10 "$G" >ping.out 2>&1
echo "PING: $? $(grep -c 'bytes from' ping.out)"
set -- $(pkts)
echo "TAPPKTS: $((${1:-0} - r0)) $((${2:-0} - s0))"
dropped() {
	gw $NFT list counter inet lens dropped 2>/dev/null |
	    sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
d0=$(dropped)
xr ping -c 1 -W 5 198.19.7.10 >ping2.out 2>&1
echo "PINGUP: $?"
echo "DROPPED: $d0 $(dropped)"
x nslookup ok.test 2>&1 | sed 's/^/NSOK: /'
x nslookup denied.test 2>&1 | sed 's/^/NSDENY: /'
x timeout 30 wget -q -O - http://ok.test/ >w1 2>&1
echo "HTTPP: $? $(cat w1)"
x env -u http_proxy -u HTTP_PROXY timeout 30 wget -q -O - http://ok.test/ \
    >w2 2>&1
echo "HTTPT: $? $(cat w2)"
x timeout 30 wget -q -O - http://denied.test/ >w3 2>&1
echo "DENYP: $? $(cat w3)"
x env -u http_proxy -u HTTP_PROXY timeout 15 wget -q -O - http://198.19.7.11/ \
    >w4 2>&1
echo "DENYIPT: $? $(cat w4)"
x timeout 30 wget -q -O - http://198.19.7.11/ >w5 2>&1
echo "DENYIPP: $? $(cat w5)"
echo "HTTPD: $(grep -c response httpd-ok.log) $(grep -c . httpd-other.log)"
sleep 2
$LENSCTL audit show --json --dir "$W/audit" >audit1 2>&1
grep '"type":"net\.' audit1 | sed 's/^/AUDIT1: /'

$C stop -t 10 vmnet >/dev/null 2>&1
$C rm vmnet >/dev/null 2>&1
waitlog netd.log "sandbox $id detached" 120 >/dev/null
sed -n 's/.*\(sandbox [0-9a-f]* detached.*\)/DETACHED: \1/p' netd.log
gone=yes
for f in /proc/$NETD_PID/fd/*; do
	[ "$(readlink "$f")" = "net:[$ino]" ] && gone=no
done
echo "GWGONE: $gone"
sleep 2
$LENSCTL audit show --json --dir "$W/audit" >audit2 2>&1
grep '"type":"net\.detach"' audit2 | sed 's/^/AUDIT2: /'

# a microVM whose command is the fetch: run --rm, to its end
out=$(timeout 600 $C run --rm --backend microvm --policy "$W/policy.yaml" \
    $R -- wget -q -O - http://ok.test/ 2>e2)
echo "RUN2: $? $out"
sed 's/^/E2: /' e2
n=0
while [ "$(grep -c ' detached: ' netd.log)" -lt 2 ] && [ $n -lt 600 ]; do
	sleep 0.1
	n=$((n + 1))
done
grep ' attached \| detached: ' netd.log | sed -n '3,$s/^/NETD2: /p'
$LENSCTL audit verify --dir "$W/audit" --pubkey "$W/audit.pub" >verify 2>&1
echo "VERIFY: $? $(cat verify)"
sed 's/^/N: /' netd.log | tail -n 40
sed 's/^/L: /' vmm.log | tail -n 30
EOF

KVM_BINS="$OBJ/lensauditd $OBJ/lensvmm $OBJ/lensctl $OBJ/lens-init"
KVM_BINS="$KVM_BINS $OBJ/lensnetd $IPROUTE $NFT $DNSMASQ"
for b in mkfs.erofs mkfs.ext4; do
	p=$(command -v $b 2>/dev/null) && KVM_BINS="$KVM_BINS $p"
done
# what lensnetd's gateway needs (nft.c): the nf_tables core, ct, redir,
# objref (counters) and the nat chain type; veth for the test internet
KVM_MODS="nf_tables nft_ct nft_redir nft_objref nft_chain_nat nf_nat
    nf_conntrack veth"
out=$T/out
t0=$(date +%s)
KVM_QEMU_TIMEOUT=${KVM_QEMU_TIMEOUT:-2400} kvm_run "$T/run.sh" "$T/w" "$out" ||
    { diag "kvm run failed:"; tail -n 60 "$out" | sed 's/^/#   /'; }
diag "the run took $(($(date +%s) - t0)) s"
cp "$out" "${VM_NET_OUT:-/dev/null}" 2>/dev/null
v() { sed -n "s/^$1: //p" "$out" | head -n 1; }
grep '^KVMRUN: modprobe ' "$out" | sed 's/^/# /'
grep '^X: ' "$out" | head -n 20 | sed 's/^/# /'

[ "$(v UPHTTP)" = ok-web ]
ok $? "the test upstream answers from lensnetd's side ($(v UPHTTP))"
[ "$(v NETDUP)" = yes ]
ok $? "lensnetd runs and reached lensauditd"
set -- $(v R1)
[ "${1:-}" = 0 ] && [ ${#2} -eq 64 ]
ok $? "lensctl run -d --backend microvm with a policy: started in $(v T1) s ($(v E1))"
ID=${2:-none}
A=$(v ATTACHED)
echo "$A" | grep -q "^sandbox $ID attached (uid [0-9]*): microvm, address 10\.200\.[0-9.]*, gateway netns net:\[[0-9]*\]"
ok $? "lensnetd attached it as a microvm ($A)"
ADDR=$(echo "$A" | sed -n 's/.*address \([0-9.]*\),.*/\1/p')
GW=$(echo "$ADDR" | awk -F. '{ printf "%s.%s.%s.%d", $1, $2, $3, $4 - 1 }')
grep "^AUDIT1: " "$out" | grep '"type":"net.attach"' | grep "$ID" |
    grep '"backend":"microvm"' | grep '"interface":"tap0"' |
    grep -q "\"address\":\"$ADDR\""
ok $? "... and audited net.attach: microvm, tap0, $ADDR"
[ -n "$(v GWNS)" ] && v GWADDR | grep -q "inet $GW/30 "
ok $? "the gateway namespace has tap0 with $GW/30 ($(v GWADDR))"
v GWLINK | grep -q '<[A-Z_,]*,UP[,>]' &&
    v GWLINK | grep -q 'tun type tap.*vnet_hdr on'
ok $? "... a tap with a vnet header, up ($(v GWLINK | sed 's/.*\(tun type [^\\]*\).*/\1/'))"
[ "$(v VMTAP)" = tap0 ]
ok $? "the vm process holds the tap (iff $(v VMTAP))"
[ -n "$ADDR" ] && [ "$(v Kip)" = "$ADDR/30" ] && [ "$(v Kgw)" = "$GW" ] &&
    [ -n "$(v Kmtu)" ]
ok $? "the guest's command line: lens.ip=$(v Kip) lens.gw=$(v Kgw) lens.mtu=$(v Kmtu)"
v ETH0 | grep -q "inet $ADDR/30 "
ok $? "eth0 has $ADDR/30 ($(v ETH0 | awk '{ print $4 }'))"
[ -n "$(v MTU)" ] && [ "$(v MTU)" = "$(v Kmtu)" ]
ok $? "eth0's MTU is lens.mtu ($(v MTU))"
grep -q "^ROUTE: default via $GW dev eth0" "$out"
ok $? "the default route goes through the gateway ($(grep '^ROUTE: default' "$out"))"
[ "$(grep -c '^RESOLV: nameserver' "$out")" -eq 1 ] &&
    grep -qx "RESOLV: nameserver $GW" "$out"
ok $? "/etc/resolv.conf names the gateway only"
grep -qx "ENV: HTTP_PROXY=http://$GW:3128" "$out" &&
    grep -qx "ENV: http_proxy=http://$GW:3128" "$out" &&
    grep -qx "ENV: HTTPS_PROXY=http://$GW:3128" "$out"
ok $? "HTTP_PROXY, http_proxy and HTTPS_PROXY point at the gateway"
set -- $(v PING)
[ "${1:-}" = 0 ] && [ "${2:-0}" -eq 2 ]
ok $? "ping the gateway from the guest ($(v PING))"
set -- $(v TAPPKTS)
[ "${1:-0}" -ge 2 ] && [ "${2:-0}" -ge 2 ]
ok $? "... through the tap (packets in, out: $(v TAPPKTS))"
[ "$(v PINGUP)" != 0 ]
ok $? "ping beyond the gateway: no answer ($(v PINGUP))"
set -- $(v DROPPED)
[ -n "${2:-}" ] && [ "$2" -gt "$1" ]
ok $? "... dropped by the gateway's nft table (counter dropped: $(v DROPPED))"
sed -n '/^NSOK: Name:.*ok.test/,$p' "$out" | grep -q '^NSOK: Address.*198\.19\.7\.10'
ok $? "DNS through the gateway: ok.test is 198.19.7.10"
! grep '^NSDENY: ' "$out" | grep -q '198\.19\.7\.11' &&
    grep -q '^NSDENY: ' "$out"
ok $? "denied.test: no address ($(grep '^NSDENY: ' "$out" | tail -n 1))"
[ "$(v HTTPP)" = "0 ok-web" ]
ok $? "an allowed upstream through HTTP_PROXY ($(v HTTPP))"
[ "$(v HTTPT)" = "0 ok-web" ]
ok $? "... and transparently, without a proxy ($(v HTTPT))"
grep "^AUDIT1: " "$out" | grep '"type":"net.connect"' |
    grep '"name":"ok.test"' | grep -q '"verdict":"allow"'
ok $? "... audited as allowed net.connect to ok.test"
set -- $(v DENYP)
[ "${1:-0}" != 0 ] && ! v DENYP | grep -q other-web
ok $? "a denied name through HTTP_PROXY: refused ($(v DENYP))"
set -- $(v DENYIPT)
[ "${1:-0}" != 0 ] && ! v DENYIPT | grep -q other-web
ok $? "an address by IP, transparently: refused ($(v DENYIPT))"
set -- $(v DENYIPP)
[ "${1:-0}" != 0 ] && ! v DENYIPP | grep -q other-web
ok $? "... and through HTTP_PROXY ($(v DENYIPP))"
set -- $(v HTTPD)
[ "${1:-0}" -ge 3 ] && [ "${2:-}" = 0 ]
ok $? "the denied upstream saw no request, the allowed one 3 or more ($(v HTTPD))"
grep "^AUDIT1: " "$out" | grep '"type":"net.connect"' |
    grep '"name":"denied.test"' | grep -q '"verdict":"deny"'
ok $? "... audited as denied net.connect to denied.test"
v DETACHED | grep -q "^sandbox $ID detached"
ok $? "the microVM stopped: lensnetd detached it ($(v DETACHED))"
grep "^AUDIT2: " "$out" | grep -q "$ID"
ok $? "... audited net.detach"
[ "$(v GWGONE)" = yes ] && [ -n "$(v GWNS)" ]
ok $? "... and let its gateway namespace go"
[ "$(v RUN2)" = "0 ok-web" ]
ok $? "run --rm --backend microvm -- wget http://ok.test/: its own HTTP_PROXY ($(v RUN2))"
grep '^NETD2: ' "$out" | grep -q 'attached (uid [0-9]*): microvm' &&
    grep '^NETD2: ' "$out" | grep -q 'detached: '
ok $? "... attached and detached again ($(grep -c '^NETD2: ' "$out") lines)"
v VERIFY | grep -q '^0 '
ok $? "the audit log verifies ($(v VERIFY))"
! grep -q '^KVMRUN: modprobe ' "$out"
ok $? "the nested kernel asked for no module the initramfs lacks"
tap_done
