#!/bin/sh
# The Linux guest of the microvm backend under QEMU TCG: the pinned
# Debian cloud kernel, the initramfs with lens-init as /init, the rootfs
# image on virtio-blk, the control channel on the virtio console port
# named lens.control (a Unix socket on the host side, driven by
# regress/tools/initdrive -c), virtio-net on a tap in a network
# namespace of the test, virtio-rng.  Device conventions as with lensvmm.
#
# Boots: (1) an erofs image, tmpfs upper layer, network, exit codes,
# 1 MiB through cat over the virtio console both ways, the log on hvc0;
# (2) an ext4 image, /dev/vdb as the upper layer, a pty, SHUTDOWN, the
# layer clean on disk afterwards; (3) no lens.control port; (4) a bad
# lens.ip: both end the machine with a message on the console.  `make guest` runs first (a no-op when done).
. "$(dirname "$0")/lib.sh"

N=34
tap_plan $N
tmpdir_setup
TOP=$(cd "$(dirname "$0")/.." && pwd)
DRIVE=$OBJ/regress/tools/initdrive
G=$OBJ/guest

[ "$(id -u)" -eq 0 ] || skip_rest "needs root (tap, network namespace)"
command -v qemu-system-x86_64 >/dev/null ||
    skip_rest "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
[ -c /dev/net/tun ] || skip_rest "no /dev/net/tun"
[ -x "$DRIVE" ] || skip_rest "no $DRIVE (make regress-bins)"
if ! make -s -C "$TOP" OBJ="$OBJ" guest >"$T/make.log" 2>&1; then
	sed 's/^/# /' "$T/make.log"
	skip_rest "make guest failed: $(grep mkguest.sh "$T/make.log" |
	    tail -1)"
fi

# a network namespace with the tap; QEMU runs in it
NS=lensvm$$
TAP=ltap$$
SUB=198.18.$(($$ % 200 + 20))
ip netns add "$NS" || skip_rest "cannot create a network namespace"
at_exit "ip netns del $NS 2>/dev/null"
ip netns exec "$NS" ip tuntap add dev "$TAP" mode tap &&
    ip netns exec "$NS" ip addr add "$SUB.1/30" dev "$TAP" &&
    ip netns exec "$NS" ip link set "$TAP" up &&
    ip netns exec "$NS" ip link set lo up || skip_rest "cannot set up the tap"

QPID=
ROOTIMG=rootfs.ext4
at_exit '[ -z "$QPID" ] || kill $QPID 2>/dev/null'

# boot APPEND [qemu args]: QEMU in the background; $T/console, $T/ctl
# -icount: under a loaded host TCG's PIT/TSC calibration fails without it
# and the kernel then stalls before the console.  reboot=t: the kernel's
# default reset sequence, when the ACPI reset is not taken at once, ends
# in a jump to the firmware, which boots the kernel again; a triple fault
# ends QEMU (-no-reboot) at once.
boot() {
	_a=$1
	shift
	rm -f "$T/ctl" "$T/console"
	ip netns exec "$NS" qemu-system-x86_64 -M microvm,acpi=on -accel tcg \
	    -icount shift=auto -m 512 -nodefaults -no-user-config \
	    -nographic -no-reboot -display none \
	    -serial "file:$T/console" \
	    -kernel "$G/vmlinuz" -initrd "$G/initramfs.cpio" \
	    -append "console=ttyS0 panic=-1 reboot=t $_a" \
	    -drive "file=$G/$ROOTIMG,if=none,id=vda,readonly=on,format=raw" \
	    -device virtio-blk-device,drive=vda \
	    -object rng-random,id=rng0,filename=/dev/urandom \
	    -device virtio-rng-device,rng=rng0 \
	    "$@" >"$T/qemu.out" 2>&1 &
	QPID=$!
}
CTL="-device virtio-serial-device \
    -chardev socket,id=ctl,path=$T/ctl,server=on,wait=on \
    -device virtserialport,chardev=ctl,name=lens.control,nr=1"
NET="-netdev tap,id=n0,ifname=$TAP,script=no,downscript=no \
    -device virtio-net-device,netdev=n0"

# wait_qemu SECS: 0 when QEMU ended by itself in time
wait_qemu() {
	_i=0
	while kill -0 $QPID 2>/dev/null; do
		if [ $_i -ge $(($1 * 10)) ]; then
			kill $QPID 2>/dev/null
			wait $QPID 2>/dev/null
			QPID=
			return 1
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	wait $QPID 2>/dev/null
	QPID=
	return 0
}
console_diag() { sed 's/^/#   /' "$T/console" | grep -i 'lens-init\|panic\|error' | tail -20; }

# 1: erofs image (ext4 without mkfs.erofs), tmpfs upper layer, network,
# exit codes, 1 MiB through cat both ways, the log on hvc0 too
if [ -f "$G/rootfs.erofs" ]; then
	ROOTIMG=rootfs.erofs
	FSOPT=lens.rootfstype=erofs
else
	FSOPT=
fi
head -c 1048576 /dev/urandom >"$T/rand"
start=$(date +%s%N)
# shellcheck disable=SC2086
boot "stray lens.verbose $FSOPT lens.ip=$SUB.2/30 lens.gw=$SUB.1 \
    lens.mtu=1400 lens.hostname=vmtest console=hvc0" $CTL $NET \
    -chardev "file,id=con0,path=$T/hvc0" -device virtconsole,chardev=con0,nr=0
"$DRIVE" -v -T 90 -c "$T/ctl" -r -i -x true -x 'exit 3' \
    -x 'kill -USR1 $$' -- sh -c 'cat; {
	cat /etc/lens-image
	echo written >/etc/lens-write && cat /etc/lens-write
	awk "\$2 == \"/\" { print \"root:\", \$1, \$3, \$4 }" /proc/mounts
	echo "host: $(hostname)"
	ip -4 -o addr show dev eth0 | awk "{ print \"addr:\", \$4 }"
	ip -o link show dev eth0 | sed -n "s/.* mtu \([0-9]*\) .*/mtu: \1/p"
	ip route | sed -n "s/^default via \([0-9.]*\) .*/gw: \1/p"
	sed -n "s/^nameserver /ns: /p" /etc/resolv.conf
	ping -c 1 -W 3 '"$SUB.1"' >/dev/null 2>&1 && echo "ping: ok"
	echo "rng: $(cat /sys/class/misc/hw_random/rng_current)"
	echo "uid: $(id -u)"; } >&2' <"$T/rand" >"$T/rand.out" 2>"$T/out"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
ROOTIMG=rootfs.ext4
wait_qemu 20
ok $? "boot 1: the VM ends by itself when the channel closes"
diag "boot 1 took ${ms} ms from QEMU's start to the last EXIT"
grep -q "^initdrive: ready, version 1" "$T/out"
ok $? "READY over the lens.control port"
[ $rc -eq 0 ]
ok $? "exec 1 exits 0 (rc $rc)"
[ $rc -eq 0 ] || { sed 's/^/#   /' "$T/out"; console_diag; }
grep -q "^initdrive: exec 2: exit 0 sig 0" "$T/out"
ok $? "exec true: exit 0"
grep -q "^initdrive: exec 3: exit 3 sig 0" "$T/out"
ok $? "exec exit 3: exit 3"
grep -q "^initdrive: exec 4: exit 138 sig 10" "$T/out"
ok $? "exec killed by SIGUSR1: 138, signal 10"
cmp -s "$T/rand" "$T/rand.out"
ok $? "1 MiB of random bytes through cat over the virtio console, byte-exact"
grep -q "^lens guest rootfs, kernel " "$T/out"
ok $? "a file of the rootfs image is readable"
if [ -n "$FSOPT" ]; then
	grep -qi "erofs.*vda.*mounted" "$T/console"
	ok $? "/dev/vda mounted as erofs"
else
	skip "no rootfs.erofs (no mkfs.erofs: apt-get install erofs-utils)"
fi
grep -qx written "$T/out"
ok $? "a write into /etc lands (read-only image below)"
grep -q "^root: overlay overlay rw,.*lowerdir=/lens/lower,upperdir=/lens/rw/upper" \
    "$T/out"
ok $? "/ is the overlay over the image: $(grep '^root:' "$T/out" | cut -c1-60)"
grep -qx "host: vmtest" "$T/out"
ok $? "lens.hostname sets the hostname"
grep -qx "addr: $SUB.2/30" "$T/out"
ok $? "lens.ip on eth0: $(grep '^addr:' "$T/out")"
grep -qx "mtu: 1400" "$T/out"
ok $? "lens.mtu on eth0"
grep -qx "gw: $SUB.1" "$T/out"
ok $? "default route via lens.gw"
grep -qx "ns: $SUB.1" "$T/out"
ok $? "resolv.conf names the gateway"
grep -qx "ping: ok" "$T/out"
ok $? "the gateway answers a ping through virtio-net and the tap"
grep -q "^rng: virtio_rng" "$T/out"
ok $? "virtio-rng is the hwrng"
grep -qx "uid: 0" "$T/out"
ok $? "-r: root in the guest"
# lens-init's lines move to hvc0 once virtio_console is in
cat "$T/console" "$T/hvc0" >"$T/logs"
grep -q "lens-init: .* modules loaded" "$T/logs" &&
    grep -q "lens-init: control channel /dev/vport[0-9]*p1" "$T/logs" &&
    [ "$(grep -c 'Linux version' "$T/console")" -eq 1 ]
ok $? "console log: modules loaded, control channel on port 1, one boot"
grep -q "lens-init: control channel /dev/vport[0-9]*p1" "$T/logs" ||
    grep 'lens-init' "$T/logs" | sed 's/^/#   /'
grep -q "lens-init: kernel command line word for init ignored: stray" \
    "$T/console" "$T/hvc0"
ok $? "a word the kernel hands to init as an argument is ignored"
grep -q "lens-init: set up in" "$T/hvc0"
ok $? "console=hvc0: the log on virtio console port 0 once the module is in"

# 2: /dev/vdb as the upper layer; SHUTDOWN; the layer is clean afterwards
truncate -s 64M "$T/vdb.img"
mkfs.ext4 -q -F -L lens-rw "$T/vdb.img" >/dev/null 2>&1
# shellcheck disable=SC2086
boot "lens.verbose" $CTL \
    -drive "file=$T/vdb.img,if=none,id=vdb,format=raw" \
    -device virtio-blk-device,drive=vdb
start=$(date +%s%N)
"$DRIVE" -v -T 60 -c "$T/ctl" -t -S 1000@1500 -- sh -c \
    'trap "" TERM; tty; cat /etc/lens-image; echo persisted >/home/alice/kept;
    sync; sleep 60' \
    >"$T/out" 2>"$T/err"
rc=$?
wait_qemu 20
ok $? "boot 2: lens-init ends the machine after SHUTDOWN"
ms=$((($(date +%s%N) - start) / 1000000))
[ $rc -eq 137 ]
ok $? "SHUTDOWN: a process ignoring SIGTERM is SIGKILLed (rc $rc, ${ms} ms)"
[ $rc -eq 137 ] || { sed 's/^/#   /' "$T/err"; console_diag; }
grep -q "^/dev/pts/[0-9]" "$T/out"
ok $? "-t: a pty from the guest's devpts ($(tr -d '\r' <"$T/out" | head -1))"
grep -q "EXT4-fs (vda): mounted" "$T/console" &&
    grep -q "^lens guest rootfs, kernel " "$T/out"
ok $? "an ext4 image: mounted, a file of it readable"
grep -q "lens-init: rootfs mounted, upper layer /dev/vdb" "$T/console"
ok $? "console: upper layer /dev/vdb"
debugfs -R "cat /upper/home/alice/kept" "$T/vdb.img" 2>/dev/null >"$T/kept"
grep -qx persisted "$T/kept"
ok $? "the write is in /dev/vdb's upper directory"
# unmounted or remounted read-only: no journal left to replay
dumpe2fs -h "$T/vdb.img" 2>/dev/null >"$T/sb"
e2fsck -fn "$T/vdb.img" >"$T/fsck" 2>&1 &&
    ! grep -q needs_recovery "$T/sb" && grep -q '^Filesystem state: *clean$' "$T/sb"
r=$?
ok $r "/dev/vdb is clean after the end (remounted read-only)"
[ $r -eq 0 ] || grep -i 'features\|state' "$T/sb" "$T/fsck" | sed 's/^/#   /'

# 3: no lens.control port: a clear message, the machine ends
boot "lens.timeout=2"
wait_qemu 30
ok $? "boot 3: without lens.control the machine ends"
grep -q "lens-init: no virtio console port named lens.control after 2 s" \
    "$T/console"
ok $? "console: no virtio console port named lens.control"
grep -q "lens-init: waiting for the virtio console port named lens.control" \
    "$T/console"
ok $? "console: it said what it waited for"

# 4: a bad command line
boot "lens.ip=198.18.0.300/24"
wait_qemu 30
ok $? "boot 4: a bad lens.ip ends the machine"
grep -q 'lens-init: kernel command line: lens.ip: bad value "198.18.0.300/24"' \
    "$T/console"
ok $? "console: names the key and the value"

tap_done
