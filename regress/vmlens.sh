# Sourced by the scripts that regress/vmkvm.sh's kvm_run runs under KVM
# (vm-sandbox.t, vm-net.t, regress/bench/vm.sh), from their working
# directory W, which holds guest/ (make guest's vmlinuz and
# initramfs.cpio) and rootfs/: starts lensauditd and lensvmm (microvm
# guest guest/, boot limit $BOOT s, kernel arguments $KARGS, more lensvmm
# flags in $VMM_FLAGS if set, e.g. "-n SOCKET" for lensnetd) and sets C,
# the lensctl command for that lensvmm, and AUDITD_PID, VMM_PID.  Needs
# AUDITD VMM LENSCTL INIT BOOT KARGS; exits 1 if a daemon does not come
# up.  Defines waitlog FILE PATTERN SECS.
W=$(pwd)
if ! grep -q '^_lensvmm:' /etc/passwd 2>/dev/null; then
	# the nested guest: no users, no cgroup file system yet
	mkdir -p /etc /run/lens /var/lib/lens
	printf 'root:x:0:0::/root:/bin/sh\n_lensvmm:x:990:990::/:/bin/false\n_lensaudit:x:991:991::/:/bin/false\n_lensnet:x:992:992::/:/bin/false\n_lenscred:x:993:993::/:/bin/false\n' >>/etc/passwd
	printf 'root:x:0:\nlens:x:989:\n_lensvmm:x:990:\n_lensaudit:x:991:\n_lensnet:x:992:\n_lenscred:x:993:\n' >>/etc/group
	grep -q cgroup2 /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
fi
chmod 0755 "$W"
waitlog() {	# waitlog FILE PATTERN SECS
	_n=$(($3 * 10))
	while [ $_n -gt 0 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	echo "X: $1 has no '$2':"; sed 's/^/X:   /' "$1"
	return 1
}
$AUDITD -d -D "$W/audit" -s "$W/auditd.sock" -P "$W/audit.pub" \
    >"$W/auditd.log" 2>&1 &
AUDITD_PID=$!
waitlog "$W/auditd.log" 'ready at seq' 60 || exit 1
$VMM -d -v -s "$W/vmm.sock" -D "$W/state" -a "$W/auditd.sock" -i "$INIT" \
    -c lens-vmsbx -g "$W/guest" -T "$BOOT" -k "$KARGS" ${VMM_FLAGS:-} \
    >"$W/vmm.log" 2>&1 &
VMM_PID=$!
waitlog "$W/vmm.log" 'started: socket' 60 || exit 1
C="$LENSCTL -s $W/vmm.sock"
