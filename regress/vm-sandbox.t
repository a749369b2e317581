#!/bin/sh
# The microvm backend end to end: lensauditd, lensvmm (-g the guest of
# `make guest') and lensctl run --backend microvm -- /bin/true, a
# command's stdout, stderr and exit status through the console port,
# auto picking microvm, exec into a running microVM, its writable
# layer, the cached rootfs image, and the vm process confined like
# Firecracker's jailer (own uid, chroot in the sandbox's root
# directory, no capabilities, NO_NEW_PRIVS, seccomp).
#
# Needs KVM that can boot Linux: /dev/kvm with vmx or svm in
# /proc/cpuinfo (direct), or, under `make regress-vm-nested', a nested
# KVM in QEMU TCG (regress/vmkvm.sh; minutes).  Skipped with the reason
# elsewhere, e.g. on a PVM /dev/kvm or without /dev/kvm at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vmkvm.sh"
. "$(dirname "$0")/daemon.sh"

NTESTS=21
tap_plan $NTESTS
tmpdir_setup
chmod 0755 "$T"

GUEST=${GUEST:-$OBJ/guest}
KVM_LINUX=1	# boots Linux: nested where /dev/kvm is PVM (vmkvm.sh)
mode=$(kvm_linux_mode "$GUEST" "$OBJ/lensvmm" "$OBJ/lensauditd" \
    "$OBJ/lensctl" "$OBJ/lens-init")
case $mode in
direct|nested)
	diag "KVM: $mode, guest $GUEST ($(cat "$GUEST/kernel.release" 2>/dev/null))"
	;;
*)
	skip_rest "${mode#none: }"
	;;
esac

rootfs_setup || { echo "Bail out! cannot build the test rootfs"; exit 1; }
mkdir -p "$T/w/guest"
cp -a "$ROOTFS" "$T/w/rootfs"
cp "$GUEST/vmlinuz" "$GUEST/initramfs.cpio" "$T/w/guest/"
kvm_linux_boot "$mode"

cp "$(dirname "$0")/vmlens.sh" "$T/w/"
cat >"$T/run.sh" <<EOF
AUDITD=$OBJ/lensauditd VMM=$OBJ/lensvmm LENSCTL=$OBJ/lensctl
INIT=$OBJ/lens-init BOOT=$BOOT KARGS="$KARGS"
. ./vmlens.sh
R="--rootfs \$W/rootfs"

t0=\$(date +%s)
\$C run --rm --backend microvm \$R -- /bin/true >o1 2>e1
echo "R1: \$?"
echo "T1: \$((\$(date +%s) - t0))"
sed 's/^/E1: /' e1
\$C run --rm --backend microvm \$R -- sh -c 'echo hello-vm; echo err-vm >&2; exit 3' >o2 2>e2
echo "R2: \$?"
sed 's/^/O2: /' o2
sed 's/^/E2: /' e2
# auto, detached, lensctl -v: it runs until stopped and says its backend
id=\$(\$C -v run -d --name vmbox --cpus 2 --memory 300m \$R -- sleep 3600 2>e3)
echo "R3: \$? \$id"
sed 's/^/E3: /' e3
\$C inspect vmbox >insp
sed -n 's/^ *"backend": "\(.*\)",*\$/BACKEND: \1/p; s/^ *"pid": \([0-9]*\).*/PID: \1/p' insp
\$C ps | sed 's/^/PS: /'
\$C exec vmbox -- uname -r | sed 's/^/UNAME: /'
\$C exec vmbox -- grep -c '^processor' /proc/cpuinfo | sed 's/^/NCPU: /'
\$C exec vmbox -- sed -n 's/^MemTotal: *\([0-9]*\) kB/MEMKB: \1/p' /proc/meminfo
\$C exec -u root vmbox -- sh -c 'echo kept >/etc/newfile; cat /etc/newfile' | sed 's/^/WRITE: /'
pid=\$(sed -n 's/^ *"pid": \([0-9]*\).*/\1/p' insp)
if [ -n "\$pid" ] && [ -d /proc/\$pid ]; then
	grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff):' /proc/\$pid/status | tr -s '\t ' ' ' | sed 's/^/VMPROC: /'
	echo "VMROOT: \$(readlink /proc/\$pid/root)"
	echo "VMTHREADS: \$(ls /proc/\$pid/task | wc -l)"
	for t in /proc/\$pid/task/*; do grep '^Seccomp:' \$t/status; done | sort | uniq -c | sed 's/^/VMTSECCOMP: /'
	echo "VMFDS: \$(ls /proc/\$pid/fd | wc -l)"
	for f in /proc/\$pid/fd/*; do readlink \$f; done | grep -c 'cgroup' | sed 's/^/VMCGFDS: /'
fi
echo "SBDIR: \$W/state/sandboxes/\$id/root"
\$C stop -t 5 vmbox >/dev/null 2>&1
\$C rm vmbox >/dev/null 2>&1
# what a microVM cannot do: volumes
\$C run --rm --backend microvm -v /tmp:/mnt \$R -- true >/dev/null 2>e4
echo "R4: \$?"
sed 's/^/E4: /' e4
timeout 60 \$C -v run --rm -v /tmp:/mnt \$R -- true >/dev/null 2>e5
sed -n 1p e5 | sed 's/^/E5: /'
echo "IMAGES: \$(ls \$W/state/images | grep -c 'erofs\$\\|ext4\$')"
grep -c 'cached image' vmm.log | sed 's/^/CACHED: /'
sed 's/^/L: /' vmm.log | tail -n 40
EOF

KVM_BINS="$OBJ/lensauditd $OBJ/lensvmm $OBJ/lensctl $OBJ/lens-init"
for b in mkfs.erofs mkfs.ext4; do
	p=$(command -v $b 2>/dev/null) && KVM_BINS="$KVM_BINS $p"
done
out=$T/out
KVM_QEMU_TIMEOUT=${KVM_QEMU_TIMEOUT:-1500} kvm_run "$T/run.sh" "$T/w" "$out" ||
    { diag "kvm run failed:"; tail -n 40 "$out" | sed 's/^/#   /'; }
cp "$out" "${VM_SANDBOX_OUT:-/dev/null}" 2>/dev/null
v() { sed -n "s/^$1: //p" "$out" | head -n 1; }

[ "$(v R1)" = 0 ]
ok $? "lensctl run --backend microvm -- /bin/true: exit $(v R1) in $(v T1) s"
[ "$(v R2)" = 3 ]
ok $? "a command's exit status comes back from the guest ($(v R2))"
[ "$(v O2)" = hello-vm ]
ok $? "its stdout ($(v O2))"
[ "$(v E2)" = err-vm ]
ok $? "its stderr, apart ($(v E2))"
! grep -q '^E1: ' "$out"
ok $? "--backend microvm says nothing of its own on stderr"
set -- $(v R3)
[ "${1:-}" = 0 ] && [ ${#2} -eq 64 ]
ok $? "auto, -d: started ($*)"
v E3 | grep -q '^lensctl: backend microvm (auto: /dev/kvm with'
ok $? "auto picks microvm and says why ($(v E3))"
[ "$(v BACKEND)" = microvm ]
ok $? "inspect: backend microvm"
grep '^PS: ' "$out" | grep vmbox | grep -qw microvm
ok $? "ps: backend microvm"
[ "$(v UNAME)" = "$(cat "$GUEST/kernel.release" 2>/dev/null)" ]
ok $? "exec runs in the guest kernel ($(v UNAME))"
[ "$(v NCPU)" = 2 ]
ok $? "--cpus 2: the guest has 2 vCPUs ($(v NCPU))"
m=$(v MEMKB)
[ "${m:-0}" -gt 250000 ] && [ "${m:-0}" -le 307200 ]
ok $? "--memory 300m: the guest's MemTotal is ${m:-none} kB (300 MiB less the kernel's own)"
[ "$(v WRITE)" = kept ]
ok $? "the rootfs is writable through the overlay on vdb ($(v WRITE))"
grep -q '^VMPROC: Uid: [1-9]' "$out" && grep -q '^VMPROC: CapEff: 0*$' "$out"
ok $? "the vm process: its own uid, no capabilities ($(grep '^VMPROC: Uid' "$out"))"
grep -q '^VMPROC: NoNewPrivs: 1' "$out" && grep -q '^VMPROC: Seccomp: 2' "$out"
ok $? "the vm process: NO_NEW_PRIVS and seccomp"
[ -n "$(v VMROOT)" ] && [ "$(v VMROOT)" = "$(v SBDIR)" ]
ok $? "the vm process is chrooted in the sandbox's root directory ($(v VMROOT))"
n=$(v VMTHREADS)
[ "${n:-0}" -ge 3 ] && ! grep '^VMTSECCOMP: ' "$out" | grep -qv 'Seccomp:[[:space:]]*2$'
ok $? "every thread of the vm process (${n:-0}) is under seccomp"
n=$(v VMFDS)
[ "${n:-0}" -gt 0 ] && [ "$(v VMCGFDS)" = 0 ]
ok $? "the vm process holds no cgroup descriptor (cgroup.procs closed before the guest runs: $(v VMCGFDS) of ${n:-0})"
[ "$(v R4)" = 125 ] && v E4 | grep -q 'backend microvm unavailable: -v volumes need the jail'
ok $? "--backend microvm -v: refused, the reason named ($(v R4): $(v E4))"
v E5 | grep -q '^lensctl: backend jail (microvm unavailable: -v volumes need the jail)'
ok $? "auto with -v: the jail, and why ($(v E5))"
[ "$(v IMAGES)" = 1 ] && [ "$(v CACHED)" -ge 2 ]
ok $? "one rootfs image, built once and reused ($(v IMAGES) image, $(v CACHED) reuses)"
tap_done
