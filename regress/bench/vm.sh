#!/bin/sh
# make bench, microVM part (called by regress/bench/run.sh).
#
# 1. Round trips from the test guest to the VMM's device models under
# real KVM: N MMIO
# reads of a virtio-mmio register and N port reads of the uart, each an
# exit to the vCPU thread and back.  The figure is (time of a run with N
# - time of a run with 0) / exits, so VM set-up is not counted.  Where
# /dev/kvm is missing, KVM comes from a nested QEMU TCG guest
# (regress/vmkvm.sh) and every instruction is emulated: the figure then
# says so and is not comparable with a machine that has vmx/svm.
#
# 2. Where a Linux guest boots (vmx/svm, or the nested KVM), with the
# guest of `make guest': start to first exec, `lensctl run --rm
# --backend microvm -- /bin/echo first' from lensctl's start to the
# first byte of the echo on the host (regress/tools/firstout), against
# QEMU -M microvm booting the same kernel, initramfs, rootfs image and
# writable layer with the same lens-init, driven over the same console
# port by regress/tools/initdrive, from QEMU's start to the first byte.
# Then the host memory of one idle microVM beyond guest RAM: the Pss of
# every mapping but the guest RAM memfd, of lensvmm's vm process plus
# its per-sandbox process, against QEMU's (guest RAM as a
# memory-backend-memfd there).
#
# Environment (all optional):
#   BENCH_VM_N     round trips of each kind (default 200000 direct,
#                  20000 nested)
#   BENCH_VM_RUNS  starts per side (default 20 direct, 4 nested)
#   GUEST          the guest directory (default $OBJ/guest)
#   BENCH_VM_OUT   a copy of what the start run printed, for a look
set -u

: "${OBJ:=$(cd "$(dirname "$0")/../.." && pwd)/obj}"
HERE=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/lens-bench-vm.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

say() { printf '%s\n' "$*"; }
. "$HERE/vmkvm.sh"

VMRUN=$OBJ/regress/tools/vmrun
if [ ! -x "$VMRUN" ] || [ ! -f "$OBJ/testguest.bin" ]; then
	say ""
	say "microVM benchmark: skipped (vmrun or testguest.bin not built)"
	exit 0
fi
# without /dev/kvm, the nested KVM (minutes; VM_NESTED=0 skips it)
VM_NESTED=${VM_NESTED:-1}
export VM_NESTED
mode=$(kvm_mode)
case $mode in
direct) N=${BENCH_VM_N:-200000} ;;
nested) N=${BENCH_VM_N:-20000} ;;
*)
	say ""
	say "microVM benchmark: skipped (${mode#none: })"
	exit 0
	;;
esac
mkdir "$T/w"
cp "$OBJ/testguest.bin" "$T/w/"
cat >"$T/run.sh" <<EOI
for n in 0 $N 0 $N; do
	$VMRUN -m 32 -T testguest.bin -t "bench n=\$n" >out 2>err
	echo "RUN \$n \$? \$(sed -n 's/^vmrun: \([0-9.]*\) s, \([0-9]*\) mmio exits, \([0-9]*\) pio exits$/\1 \2 \3/p' err)"
done
EOI
KVM_BINS=$VMRUN
kvm_run "$T/run.sh" "$T/w" "$T/out" || { say "bench: vm: run failed"; cat "$T/out"; exit 1; }
# best of two for each N
awk -v n="$N" -v mode="$mode" '
$1 == "RUN" && $3 != 0 { bad = 1 }
$1 == "RUN" && $2 == 0 && (t0 == "" || $4 < t0) { t0 = $4 }
$1 == "RUN" && $2 == n && (t1 == "" || $4 < t1) { t1 = $4; ex = $5 + $6 }
END {
	if (bad || t0 == "" || t1 == "") { print "bench: vm: a run failed"; exit 1 }
	d = t1 - t0
	if (d <= 0) d = 0.000001
	printf "\nmicroVM exits (%s KVM, test guest, %d MMIO + %d port reads)\n", mode, n, n
	printf "  %-34s %12s\n", "what", "value"
	printf "  %-34s %12.0f\n", "round trips per second", (2 * n) / d
	printf "  %-34s %12.2f\n", "microseconds per round trip", d * 1e6 / (2 * n)
	printf "  %-34s %12d\n", "exits counted by the VMM", ex
}' "$T/out"

# ---- 2. start to first exec and memory, beside QEMU -M microvm
GUEST=${GUEST:-$OBJ/guest}
KVM_LINUX=1
mode=$(kvm_linux_mode "$GUEST" "$OBJ/lensvmm" "$OBJ/lensauditd" \
    "$OBJ/lensctl" "$OBJ/lens-init" "$OBJ/regress/tools/firstout" \
    "$OBJ/regress/tools/initdrive")
QEMU=$(command -v qemu-system-x86_64 2>/dev/null) ||
    mode="none: no qemu-system-x86_64 for the peer"
case $mode in
direct|nested)
	;;
*)
	say ""
	say "microVM start and memory: skipped (${mode#none: })"
	exit 0
	;;
esac
kvm_linux_boot "$mode"
if [ "$mode" = nested ]; then
	RUNS=${BENCH_VM_RUNS:-4}
else
	RUNS=${BENCH_VM_RUNS:-20}
fi
MEM=256
. "$HERE/daemon.sh"
LENS_REGRESS=$HERE rootfs_setup >/dev/null 2>&1 ||
    { say "bench: vm: cannot build the test rootfs"; exit 1; }
rm -rf "$T/w"
mkdir -p "$T/w/guest" "$T/w/qemu-fw"
cp -a "$ROOTFS" "$T/w/rootfs"
cp "$GUEST/vmlinuz" "$GUEST/initramfs.cpio" "$T/w/guest/"
cp "$HERE/vmlens.sh" "$T/w/"
for f in bios-microvm.bin linuxboot_dma.bin pvh.bin kvmvapic.bin; do
	[ ! -e "/usr/share/qemu/$f" ] ||
	    cp -L "/usr/share/qemu/$f" "$T/w/qemu-fw/"
done
# the peer: QEMU with the devices lensvmm gives a sandbox (the rootfs
# image read-only on vda, a fresh writable ext4 on vdb, lens.control on
# console port 1, rng); its arguments: the command lens-init runs
cat >"$T/w/qrun.sh" <<EOF
rm -f ctl
$QEMU -M microvm,acpi=on,memory-backend=ram \\
    -object memory-backend-memfd,id=ram,size=${MEM}M -m $MEM \\
    -accel kvm -cpu host -smp 1 -nodefaults -no-user-config \\
    -display none -no-reboot -L qemu-fw -serial file:qemu.console \\
    -kernel guest/vmlinuz -initrd guest/initramfs.cpio \\
    -append "console=ttyS0 quiet panic=-1 reboot=k lens.rootfstype=\$FSTYPE lens.hostname=bench $KARGS" \\
    -drive file=\$IMG,if=none,id=vda,readonly=on,format=raw \\
    -device virtio-blk-device,drive=vda \\
    -drive file=vdb.img,if=none,id=vdb,format=raw \\
    -device virtio-blk-device,drive=vdb \\
    -device virtio-serial-device \\
    -chardev socket,id=ctl,path=ctl,server=on,wait=on \\
    -device virtserialport,chardev=ctl,name=lens.control,nr=1 \\
    -object rng-random,id=rng0,filename=/dev/urandom \\
    -device virtio-rng-device,rng=rng0 >qemu.out 2>&1 &
echo \$! >qemu.pid
$OBJ/regress/tools/initdrive -c ctl -T $BOOT -- "\$@"
wait
EOF
cat >"$T/run.sh" <<EOF
AUDITD=$OBJ/lensauditd VMM=$OBJ/lensvmm LENSCTL=$OBJ/lensctl
INIT=$OBJ/lens-init BOOT=$BOOT KARGS="$KARGS"
FIRSTOUT=$OBJ/regress/tools/firstout
. ./vmlens.sh
# "OTHER RAM": Pss (KiB) of a process's mappings but guest RAM, of guest RAM
ovh() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { ram = (\$0 ~ /memfd:(lens-guest-ram|memory-backend-memfd)/); next }
	    /^Pss:/ { if (ram) g += \$2; else s += \$2 }
	    END { printf "%d %d", s, g }' /proc/\$1/smaps
}
R="--backend microvm --memory ${MEM}m --rootfs \$W/rootfs"
\$FIRSTOUT \$C run --rm \$R -- /bin/echo first | sed 's/^firstout/COLD/'
i=0
while [ \$i -lt $RUNS ]; do
	\$FIRSTOUT \$C run --rm \$R -- /bin/echo first | sed 's/^firstout/LENS/'
	i=\$((i + 1))
done
\$C run -d --name memvm \$R -- sleep 3600 >/dev/null
\$C exec memvm -- true
vmpid=\$(\$C inspect memvm | sed -n 's/^ *"pid": \([0-9]*\).*/\1/p')
if [ -n "\$vmpid" ]; then
	jpid=\$(awk '{ print \$4 }' /proc/\$vmpid/stat)
	echo "MEMLENS \$(ovh \$vmpid) \$(ovh \$jpid)"
fi
\$C stop -t 2 memvm >/dev/null
\$C rm memvm >/dev/null
IMG=\$(ls \$W/state/images/*.erofs \$W/state/images/*.ext4 2>/dev/null | head -n 1)
FSTYPE=\${IMG##*.}
export IMG FSTYPE
# a fresh writable layer for each boot, made before the clock starts
# (lensvmm makes its own inside its start)
vdb() {
	rm -f vdb.img
	truncate -s 2G vdb.img
	mkfs.ext4 -q -F -E nodiscard vdb.img
}
i=0
while [ \$i -lt $RUNS ]; do
	vdb
	\$FIRSTOUT sh qrun.sh /bin/echo first | sed 's/^firstout/QEMU/'
	i=\$((i + 1))
done
vdb
sh qrun.sh sh -c 'echo up; exec sleep 3600' >qmem.out 2>&1 &
drv=\$!
waitlog qmem.out '^up' $BOOT >/dev/null
qpid=\$(cat qemu.pid)
[ -d /proc/\$qpid ] && echo "MEMQEMU \$(ovh \$qpid)"
kill \$qpid 2>/dev/null
wait \$drv
grep -i 'error\|warn' qemu.out | head -n 5 | sed 's/^/QEMUERR: /'
EOF
KVM_BINS="$OBJ/lensauditd $OBJ/lensvmm $OBJ/lensctl $OBJ/lens-init $QEMU \
    $OBJ/regress/tools/firstout $OBJ/regress/tools/initdrive"
for b in mkfs.erofs mkfs.ext4; do
	p=$(command -v $b 2>/dev/null) && KVM_BINS="$KVM_BINS $p"
done
KVM_QEMU_TIMEOUT=${KVM_QEMU_TIMEOUT:-2400} \
    kvm_run "$T/run.sh" "$T/w" "$T/out2"
rc=$?
cp "$T/out2" "${BENCH_VM_OUT:-/dev/null}" 2>/dev/null
[ $rc -eq 0 ] ||
    { say "bench: vm: start run failed"; tail -n 40 "$T/out2"; exit 1; }
awk -v mode="$mode" -v mem="$MEM" '
function sort(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
}
function row(what, a, b, r, tgt) {
	printf "  %-42s | %10s | %10s | %6s | %s\n", what, a, b, r, tgt
}
$1 == "COLD" { cold = $2 }
($1 == "LENS" || $1 == "QEMU") && ($2 < 0 || $4 != 0) { bad = bad " " $0 }
$1 == "LENS" && $2 >= 0 { l[++nl] = $2 }
$1 == "QEMU" && $2 >= 0 { q[++nq] = $2 }
$1 == "MEMLENS" { lvm = $2; lram = $3; ljail = $4 }
$1 == "MEMQEMU" { qo = $2; qram = $3 }
END {
	if (bad != "" || nl == 0 || nq == 0 || lvm == "" || qo == "") {
		print "bench: vm: a start failed:" bad; exit 1
	}
	sort(l, nl); sort(q, nq)
	lp = l[int((nl + 1) / 2)] / 1000; qp = q[int((nq + 1) / 2)] / 1000
	lo = (lvm + ljail) / 1024
	printf "\nmicroVM start and memory (%s KVM, %d MiB guest, 1 vCPU, %d starts each)\n", mode, mem, nl
	row("what", "lensvmm", "QEMU", "ratio", "target")
	if (mode == "direct")
		v = (lp < 150 && lp <= qp / 3) ? "met" : "MISSED"
	else
		v = "n/a nested"
	row("start to first exec p50 ms", sprintf("%.1f", lp),
	    sprintf("%.1f", qp), sprintf("%.2f", lp / qp),
	    "< 150 and <= 0.33: " v)
	row("start to first exec min ms", sprintf("%.1f", l[1] / 1000),
	    sprintf("%.1f", q[1] / 1000), sprintf("%.2f", l[1] / q[1]), "info")
	row("first start (builds the rootfs image) ms",
	    sprintf("%.1f", cold / 1000), "-", "-", "info")
	row("host memory beyond guest RAM MiB", sprintf("%.2f", lo),
	    sprintf("%.2f", qo / 1024), sprintf("%.2f", lo * 1024 / qo),
	    "< 5: " (lo < 5 ? "met" : "MISSED"))
	row("  lensvmm: the vm process MiB", sprintf("%.2f", lvm / 1024),
	    "", "", "")
	row("  lensvmm: the per-sandbox process MiB",
	    sprintf("%.2f", ljail / 1024), "", "", "")
	row("guest RAM touched, idle MiB", sprintf("%.1f", lram / 1024),
	    sprintf("%.1f", qram / 1024), "", "info")
	if (mode == "nested")
		print "  nested: KVM in QEMU TCG, every instruction emulated: compare the ratios, not the times"
}' "$T/out2" || { tail -n 40 "$T/out2"; exit 1; }
