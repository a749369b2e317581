#!/bin/sh
# Attack class: escape from a jail sandbox to the host.  The sandbox's
# root (and uid 1000) try what breaks containers out: new namespaces,
# ptrace of lens-init, device nodes, a cgroup mount, the chroot
# break-out, raising rlimits, the kernel's memory and log, the host's
# sysctls (core_pattern: the classic way to run a program as host
# root), /sys, /proc/1/root, capabilities left in the bounding set.
# regress/sandbox/escapeprobe.c makes the attempts that need a system
# call; the rest are shell.  Every case is checked from the host too
# where the host can see it (core_pattern, the cgroup, the marker).
#
# Already covered case for case elsewhere (not repeated here):
#   regress/sandbox-seccomp.t (sysprobe.c): mount, umount2, pivot_root,
#     open_tree, move_mount, mount_setattr, fsopen..fspick, setns,
#     unshare/clone(CLONE_NEWUSER), clone3, keyctl, add_key, bpf,
#     userfaultfd, perf_event_open, kexec, modules, iopl/ioperm,
#     open_by_handle_at, name_to_handle_at, io_uring_*, TIOCSTI/TIOCLINUX,
#     personality, reboot, syslog, clock setting, swapon, acct.
#   regress/attack/sandbox-pidfd.t: pidfd_open/pidfd_getfd of lens-init,
#     /proc/1/fd.
#   regress/sandbox-isolation.t: host processes, host files, other
#     sandboxes' files, uid maps, loopback only.
#   regress/attack/sandbox-volume-symlink.t, sandbox-rootfs-owner.t: -v
#     and --rootfs sources.
#   regress/sandbox-limits.t: pids, memory, cpu in the cgroup.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
vmm_require

NPROBE=$(grep -c '^	forked("' "$LENS_REGRESS/sandbox/escapeprobe.c")
tap_plan $((NPROBE * 2 + 13))
tmpdir_setup
vmm_setup

mkdir -p "$ROOTFS/usr/local/bin"
gcc -static -O1 -o "$ROOTFS/usr/local/bin/escapeprobe" \
    "$LENS_REGRESS/sandbox/escapeprobe.c"
ok $? "escapeprobe built static into the rootfs"

# a host file the chroot break-out looks for
echo host-marker >"$T/host-marker"
chmod 0644 "$T/host-marker"
for who in root 1000; do
	lctl run --rm $R -u $who -- /usr/local/bin/escapeprobe \
	    "$T/host-marker" >"$T/probe.$who" 2>"$T/err.$who"
	diag "as $who: $(tr '\n' ' ' <"$T/probe.$who")"
	for name in $(sed -n 's/^	forked("\([a-z_]*\)".*/\1/p' \
	    "$LENS_REGRESS/sandbox/escapeprobe.c"); do
		res=$(sed -n "s/^$name //p" "$T/probe.$who")
		# any errno is a refusal; "ok" is an escape, nothing a bug
		case $res in ''|ok|harness*) false ;; *) true ;; esac
		ok $? "as $who: $name refused (errno $res)"
	done
done

# /proc/sys: the host's kernel settings.  core_pattern with a pipe runs
# a program as host root on the next crash anywhere on the machine.
cp0=$(cat /proc/sys/kernel/core_pattern)
lctl run --rm $R -u root -- sh -c 'for f in kernel/core_pattern \
    kernel/modprobe kernel/sysrq kernel/hotplug vm/drop_caches \
    kernel/panic; do [ -e /proc/sys/$f ] || continue; \
    echo "|/tmp/pwn" >/proc/sys/$f 2>/dev/null && echo "WROTE $f"; done; \
    echo b >/proc/sysrq-trigger 2>/dev/null && echo "WROTE sysrq-trigger"; \
    true' >"$T/sysctl" 2>/dev/null
[ ! -s "$T/sysctl" ] && [ "$(cat /proc/sys/kernel/core_pattern)" = "$cp0" ]
ok $? "the host's sysctls and sysrq-trigger are not writable ($(tr '\n' ' ' <"$T/sysctl"))"

# /sys: not mounted, and cannot be
out=$(lctl run --rm $R -u root -- sh -c 'ls -A /sys; mount -t sysfs sysfs /sys 2>/dev/null && echo MOUNTED; echo x >/sys/kernel/uevent_helper && echo WROTE; true' 2>/dev/null)
[ -z "$out" ]
ok $? "/sys is empty and stays so ($out)"

# cgroups: the sandbox sees its own root in every hierarchy, cannot
# mount a cgroup file system (to write a parent's cgroup.procs), and
# its processes stay in the sandbox's cgroup after trying
lctl run -d --name esc-cg $R -u root -- sh -c 'exec sleep 600' >/dev/null
out=$(lctl exec -u root esc-cg -- sh -c 'grep -v ":/$" /proc/self/cgroup; \
    mkdir -p /tmp/cg; mount -t cgroup2 none /tmp/cg && echo MOUNTED2; \
    mount -t cgroup -o pids none /tmp/cg && echo MOUNTED1; \
    echo 1 >/proc/1/cgroup && echo WROTE; true' 2>/dev/null)
[ -z "$out" ]
ok $? "in the sandbox: its own cgroup root everywhere, no cgroupfs to mount ($out)"
hp=$(pgrep -f '^sleep 600$' | while read -r p; do
	grep -q "lens-$(basename "$T")" "/proc/$p/cgroup" 2>/dev/null && echo "$p"
done | head -n 1)
[ -n "$hp" ]
ok $? "from the host: the workload is still in the sandbox's cgroup ($hp: $(cat /proc/$hp/cgroup 2>/dev/null))"
lctl rm -f esc-cg >/dev/null

# capabilities: none of those that reach past the namespace, for root
# inside; none at all for uid 1000; no new privileges; filtered
# CAP_DAC_READ_SEARCH 2, NET_ADMIN 12, SYS_MODULE 16, SYS_RAWIO 17,
# SYS_PTRACE 19, SYS_ADMIN 21, SYS_BOOT 22, SYS_RESOURCE 24, SYS_TIME 25,
# SYSLOG 34, PERFMON 38, BPF 39, CHECKPOINT_RESTORE 40
DANGER=$(( (1<<2)|(1<<12)|(1<<16)|(1<<17)|(1<<19)|(1<<21)|(1<<22)|(1<<24)|(1<<25)|(1<<34)|(1<<38)|(1<<39)|(1<<40) ))
st() { sed -n "s/^$2:[[:space:]]*//p" "$T/status.$1"; }
for who in root 1000; do
	lctl run --rm $R -u $who -- cat /proc/self/status >"$T/status.$who"
done
bnd=$(st root CapBnd)
[ -n "$bnd" ] && [ $(( 0x$bnd & DANGER )) -eq 0 ]
ok $? "as root: no dangerous capability in the bounding set (CapBnd $bnd)"
[ "$(st 1000 CapEff)" = 0000000000000000 ] && [ "$(st 1000 CapPrm)" = 0000000000000000 ] &&
    [ "$(st 1000 CapAmb)" = 0000000000000000 ]
ok $? "as 1000: no capability ($(st 1000 CapEff) $(st 1000 CapPrm) $(st 1000 CapAmb))"
[ "$(st root NoNewPrivs)" = 1 ] && [ "$(st 1000 NoNewPrivs)" = 1 ] &&
    [ "$(st root Seccomp)" = 2 ] && [ "$(st 1000 Seccomp)" = 2 ]
ok $? "NoNewPrivs 1, Seccomp 2 for both"

# device nodes: only the harmless ones, and none can be added
out=$(lctl run --rm $R -u root -- sh -c 'ls -A /dev | tr "\n" " "; \
    find / -xdev \( -type b -o -type c \) 2>/dev/null | grep -v "^/dev/" ')
[ "$out" = "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero " ]
ok $? "/dev: the harmless devices only ($out)"
out=$(lctl run --rm $R -u root -- sh -c 'ls /dev/pts | grep -v ptmx; \
    for d in sda vda nvme0n1 mem kmem port kmsg fuse net/tun kvm; do \
    [ -e /dev/$d ] && echo $d; done; true')
[ -z "$out" ]
ok $? "no disk, memory, kvm, tun or fuse device ($out)"

# /proc/*/root: every process's root is the sandbox's, not the host's
out=$(lctl run --rm $R -u root -- sh -c "for p in /proc/[0-9]*; do \
    cat \$p/root$T/host-marker 2>/dev/null; \
    [ \"\$(ls -A \$p/root/ 2>/dev/null)\" = \"\$(ls -A /)\" ] || \
    { [ -d \$p/root/ ] && echo \"\$p differs\"; }; done; \
    cat /proc/self/root/../../..$T/host-marker 2>/dev/null; true")
[ -z "$out" ]
ok $? "/proc/PID/root of every process is the sandbox's own root ($out)"
[ "$(cat "$T/host-marker")" = host-marker ]
ok $? "(the host marker is there, unchanged)"

# the writable layer cannot plant a device or a setuid file that the
# host would honour: the overlay is nosuid,nodev
out=$(lctl run --rm $R -u root -- sh -c 'grep " / overlay " /proc/mounts')
echo "$out" | grep -q 'nosuid' && echo "$out" | grep -q 'nodev'
ok $? "the root overlay is nosuid,nodev ($out)"
tap_done
