# Helpers for tests that need real KVM (sourced after lib.sh).
#
#	kvm_mode		prints "direct" (a usable /dev/kvm here),
#				"nested" (VM_NESTED=1, and no /dev/kvm or
#				one without vmx/svm (PVM) while KVM_LINUX=1
#				says the test boots Linux, and QEMU
#				TCG with an emulated AMD-V and a Debian cloud
#				kernel can give us one) or "none: REASON".
#				Nested runs take many minutes on two cores,
#				so only `make regress-vm-nested' (and make
#				bench) ask for them.
#	kvm_run SCRIPT DIR OUT	runs `sh SCRIPT' with DIR as its working
#				directory under real KVM and puts what it
#				printed in OUT.  Nested: DIR and every
#				binary named in $KVM_BINS (with its shared
#				libraries) go into an initramfs; the script
#				runs as root in a throwaway QEMU guest with
#				kvm-amd loaded.  Direct: it runs here in a
#				fresh network namespace (unshare -n).
#
#	kvm_linux_mode GUEST [BIN...]
#				kvm_mode narrowed to what a microVM with
#				Linux needs: vmx/svm where /dev/kvm is
#				direct (a PVM one does not boot Linux), the
#				binaries BIN built, GUEST holding the kernel
#				and initramfs of `make guest', root.
#	kvm_linux_boot MODE	sets BOOT (lensvmm -T, seconds) and KARGS
#				(kernel arguments) for that mode.
#
#	KVM_MODS		(nested) more kernel modules for the guest,
#				by name ("nf_tables nft_ct veth"): with
#				what they depend on (modules.dep, made with
#				busybox depmod if the kernel has none) they
#				go into the initramfs and are loaded in
#				dependency order before the script runs; the
#				kernel's own module requests (request_module,
#				/proc/sys/kernel/modprobe) are served from
#				them too, and what it asks for that is not
#				there is logged in /tmp/kvm-modprobe.log
#				and after the script as "KVMRUN: modprobe".
#				A name the kernel has built in is skipped;
#				one it does not have at all fails kvm_run.
#
# The kernel for the nested guest: $VM_KERNEL (a vmlinuz whose modules
# are under $VM_KMODDIR), else $VM_KERNEL_DEB, else a Debian
# linux-image-*-cloud-amd64 package in $OBJ/vmkernel/ (fetched there
# with `apt-get download' once if it is missing).

# KVM_QEMU_TIMEOUT: seconds for a nested run (900 unless the caller sets
# it, e.g. KVM_QEMU_TIMEOUT=${KVM_QEMU_TIMEOUT:-1500} kvm_run ...)

_kvm_kernel() {
	[ -n "${VM_KERNEL:-}" ] && [ -n "${VM_KMODDIR:-}" ] && return 0
	_kd=$OBJ/vmkernel
	mkdir -p "$_kd" || return 1
	_deb=${VM_KERNEL_DEB:-}
	if [ -z "$_deb" ]; then
		_deb=$(ls "$_kd"/linux-image-*-cloud-amd64_*.deb 2>/dev/null |
		    tail -n 1)
	fi
	if [ -z "$_deb" ]; then
		_pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		    sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' |
		    head -n 1)
		[ -n "$_pkg" ] || return 1
		(cd "$_kd" && apt-get download -q "$_pkg" >/dev/null 2>&1) ||
		    return 1
		_deb=$(ls "$_kd"/linux-image-*-cloud-amd64_*.deb 2>/dev/null |
		    tail -n 1)
		[ -n "$_deb" ] || return 1
	fi
	_x=$_kd/x.$(basename "$_deb" .deb)
	if [ ! -d "$_x" ]; then
		dpkg-deb -x "$_deb" "$_x.tmp" && mv "$_x.tmp" "$_x" || return 1
	fi
	VM_KERNEL=$(ls "$_x"/boot/vmlinuz-* | head -n 1)
	VM_KMODDIR=$(ls -d "$_x"/lib/modules/* | head -n 1)
	[ -f "$VM_KERNEL" ] && [ -d "$VM_KMODDIR" ]
}

kvm_mode() {
	if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		# a PVM /dev/kvm runs small guests, not Linux: a test that
		# boots Linux (KVM_LINUX=1) takes the nested path when asked
		if [ "${KVM_LINUX:-0}" != 1 ] || [ "${VM_NESTED:-0}" != 1 ] ||
		    grep -qw -e vmx -e svm /proc/cpuinfo; then
			echo direct
			return
		fi
	elif [ "${VM_NESTED:-0}" != 1 ]; then
		echo "none: no /dev/kvm here (make regress-vm-nested runs this under a nested KVM in QEMU TCG)"
		return
	fi
	if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
		echo "none: no /dev/kvm and no qemu-system-x86_64 for a nested one"
		return
	fi
	for _t in busybox cpio gzip; do
		if ! command -v $_t >/dev/null 2>&1; then
			echo "none: no /dev/kvm, and $_t is missing for a nested one"
			return
		fi
	done
	if ! _kvm_kernel; then
		echo "none: no /dev/kvm, and no Debian cloud kernel for a nested one"
		return
	fi
	echo nested
}

kvm_linux_mode() {
	_g=$1
	shift
	_m=$(kvm_mode)
	if [ "$_m" = direct ] && ! grep -qw -e vmx -e svm /proc/cpuinfo; then
		_m="none: /dev/kvm without vmx/svm (PVM): a Linux guest does not boot here"
	fi
	for _b; do
		[ -x "$_b" ] || _m="none: $_b not built"
	done
	[ -f "$_g/vmlinuz" ] && [ -f "$_g/initramfs.cpio" ] ||
	    _m="none: no guest in $_g (make guest)"
	[ "$(id -u)" -eq 0 ] || _m="none: not root"
	echo "$_m"
}

kvm_linux_boot() {
	if [ "$1" = nested ]; then
		BOOT=900
		KARGS="tsc_early_khz=2000000 lpj=4000000 no_timer_check"
	else
		BOOT=60
		KARGS="no_timer_check"
	fi
}

_kvm_unpack_mod() {	# unpack_mod FILE DEST: a .ko, .ko.xz or .ko.zst
	case $1 in
	*.xz) xz -dc "$1" >"$2" ;;
	*.zst) zstd -qdc "$1" >"$2" ;;
	*.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# _kvm_mods ROOT: the modules of $KVM_MODS and their dependencies into
# ROOT/mod (as NAME.ko, NAME with _ for -), their names in load order in
# ROOT/mod/order, their aliases in ROOT/mod/modules.alias
_kvm_mods() {
	: >"$1/mod/order"
	: >"$1/mod/modules.alias"
	[ -n "${KVM_MODS:-}" ] || return 0
	if [ ! -f "$VM_KMODDIR/modules.dep" ]; then
		case $VM_KMODDIR in
		*/lib/modules/*)
			busybox depmod -b "${VM_KMODDIR%/lib/modules/*}" \
			    "$(basename "$VM_KMODDIR")" 2>/dev/null
			;;
		esac
	fi
	if [ ! -f "$VM_KMODDIR/modules.dep" ]; then
		echo "kvm_run: KVM_MODS: no modules.dep in $VM_KMODDIR" >&2
		return 1
	fi
	# depth first over modules.dep: a module after all it needs
	_paths=$(awk -v want="$KVM_MODS" '
	function norm(s) {
		sub(/.*\//, "", s)
		sub(/\.ko(\.(xz|zst|gz))?:?$/, "", s)
		gsub(/-/, "_", s)
		return s
	}
	function visit(p,	i, n, d) {
		if (p in done)
			return
		done[p] = 1
		n = split(deps[p], d, " ")
		for (i = 1; i <= n; i++)
			visit(d[i])
		print p
	}
	FILENAME ~ /modules\.builtin$/ { builtin[norm($1)] = 1; next }
	{
		p = $1
		sub(/:$/, "", p)
		path[norm(p)] = p
		deps[p] = ""
		for (i = 2; i <= NF; i++)
			deps[p] = deps[p] " " $i
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			x = norm(w[i])
			if (x in path)
				visit(path[x])
			else if (!(x in builtin)) {
				print "kvm_run: KVM_MODS: no module " w[i] \
				    " in this kernel" >"/dev/stderr"
				bad = 1
			}
		}
		exit bad
	}' $(ls "$VM_KMODDIR/modules.builtin" 2>/dev/null) \
	    "$VM_KMODDIR/modules.dep") || return 1
	for _p in $_paths; do
		_n=$(basename "$_p")
		_n=$(echo "${_n%%.ko*}" | tr - _)
		_kvm_unpack_mod "$VM_KMODDIR/$_p" "$1/mod/$_n.ko" || return 1
		echo "$_n" >>"$1/mod/order"
	done
	# the aliases of what is shipped, for the kernel's module requests
	[ ! -f "$VM_KMODDIR/modules.alias" ] ||
	    awk 'NR == FNR { have[$1] = 1; next }
		$1 == "alias" && ($3 in have) { print $2, $3 }' \
	    "$1/mod/order" "$VM_KMODDIR/modules.alias" \
	    >"$1/mod/modules.alias"
}

_kvm_copy_bin() {	# root binary: the binary and its shared libraries
	mkdir -p "$1$(dirname "$2")"
	cp "$2" "$1$2"
	ldd "$2" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' |
	while read -r _l; do
		mkdir -p "$1$(dirname "$_l")"
		cp -L "$_l" "$1$_l"
	done
}

kvm_run() {
	_script=$1 _dir=$2 _out=$3
	case $(kvm_mode) in
	direct)
		(_s=$(cd "$(dirname "$_script")" && pwd)/$(basename "$_script"); cd "$_dir" && unshare -n sh -c 'ip link set lo up 2>/dev/null;
		    sh "$0"' "$_s") >"$_out" 2>&1
		return
		;;
	nested)
		;;
	*)
		return 1
		;;
	esac
	_kvm_kernel || return 1
	_r=$(mktemp -d "${T:-/tmp}/kvmroot.XXXXXX")
	mkdir -p "$_r/bin" "$_r/mod" "$_r/proc" "$_r/sys" "$_r/dev" \
	    "$_r/tmp" "$_r/kvmwork"
	cp "$(command -v busybox)" "$_r/bin/busybox"
	# kvm for the nested /dev/kvm; tun where it is a module
	for _m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd \
	    drivers/net/tun; do
		_f=$(ls "$VM_KMODDIR"/kernel/$_m.ko* 2>/dev/null | head -n 1)
		[ -n "$_f" ] || continue
		_kvm_unpack_mod "$_f" "$_r/mod/$(basename "$_m").ko"
	done
	_kvm_mods "$_r" || { rm -rf "$_r"; return 1; }
	# the kernel's request_module(): from /mod, what is missing logged
	cat >"$_r/bin/kvm-modprobe" <<-'EOM'
	#!/bin/busybox sh
	for a; do n=$a; done
	m=$(awk -v a="$n" '$1 == a { print $2; exit }' /mod/modules.alias)
	m=$(echo "${m:-$n}" | tr - _)
	if [ -f "/mod/$m.ko" ]; then
		[ -d "/sys/module/$m" ] && exit 0
		insmod "/mod/$m.ko" && exit 0
	fi
	echo "$n: not in the initramfs" >>/tmp/kvm-modprobe.log
	exit 1
	EOM
	chmod +x "$_r/bin/kvm-modprobe"
	for _b in $KVM_BINS; do
		_kvm_copy_bin "$_r" "$_b"
	done
	# binaries keep their host paths (a checkout may be under /tmp):
	# the initramfs's root is writable already, so /tmp is no mount
	cp -R "$_dir/." "$_r/kvmwork/"
	cp "$_script" "$_r/kvmwork/.kvm-script"
	cat >"$_r/init" <<-'EOI'
	#!/bin/busybox sh
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	for m in irqbypass kvm kvm-amd tun; do
		[ ! -f /mod/$m.ko ] || insmod /mod/$m.ko ||
		    echo "KVMRUN: insmod $m failed"
	done
	echo /bin/kvm-modprobe >/proc/sys/kernel/modprobe
	while read -r m; do
		[ -d "/sys/module/$m" ] ||
		    insmod "/mod/$m.ko" || echo "KVMRUN: insmod $m failed"
	done </mod/order
	[ -c /dev/kvm ] || echo "KVMRUN: no /dev/kvm in the nested guest"
	ip link set lo up
	echo "KVMRUN: begin"
	cd /kvmwork && sh .kvm-script 2>&1
	rc=$?
	[ ! -s /tmp/kvm-modprobe.log ] ||
	    sed 's/^/KVMRUN: modprobe /' /tmp/kvm-modprobe.log
	echo "KVMRUN: end $rc"
	poweroff -f
	EOI
	chmod +x "$_r/init"
	(cd "$_r" && find . | cpio -o -H newc 2>/dev/null | gzip -1) \
	    >"$_r.cpio.gz" || return 1
	timeout "${KVM_QEMU_TIMEOUT:-900}" qemu-system-x86_64 -M microvm \
	    -accel tcg,thread=multi -cpu max,+svm -smp 2 -m 1024 \
	    -nographic -no-reboot -nodefaults -serial stdio \
	    -kernel "$VM_KERNEL" -initrd "$_r.cpio.gz" \
	    -append "console=ttyS0 panic=-1 tsc_early_khz=2000000 lpj=4000000 no_timer_check ${KVM_APPEND:-quiet loglevel=3}" \
	    </dev/null 2>&1 | tr -d '\r' | tee "$_out.raw" |
	    sed -n '/^KVMRUN: begin$/,/^KVMRUN: end/p' >"$_out"
	rm -rf "$_r" "$_r.cpio.gz"
	grep -q '^KVMRUN: end' "$_out"
}
