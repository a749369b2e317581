# Helpers for tests that need real KVM (sourced after lib.sh).
#
#	kvm_mode		prints "direct" (a usable /dev/kvm here),
#				"nested" (no /dev/kvm, VM_NESTED=1, and QEMU
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
# The kernel for the nested guest: $VM_KERNEL (a vmlinuz whose modules
# are under $VM_KMODDIR), else $VM_KERNEL_DEB, else a Debian
# linux-image-*-cloud-amd64 package in $OBJ/vmkernel/ (fetched there
# with `apt-get download' once if it is missing).

KVM_QEMU_TIMEOUT=${KVM_QEMU_TIMEOUT:-900}

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
		echo direct
		return
	fi
	if [ "${VM_NESTED:-0}" != 1 ]; then
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
		case $_f in
		*.xz) xz -dc "$_f" >"$_r/mod/$(basename "$_m").ko" ;;
		*.zst) zstd -qdc "$_f" >"$_r/mod/$(basename "$_m").ko" ;;
		*) cp "$_f" "$_r/mod/$(basename "$_m").ko" ;;
		esac
	done
	for _b in $KVM_BINS; do
		_kvm_copy_bin "$_r" "$_b"
	done
	cp -R "$_dir/." "$_r/kvmwork/"
	cp "$_script" "$_r/kvmwork/.kvm-script"
	cat >"$_r/init" <<-'EOI'
	#!/bin/busybox sh
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	mount -t tmpfs tmp /tmp
	for m in irqbypass kvm kvm-amd tun; do
		[ ! -f /mod/$m.ko ] || insmod /mod/$m.ko ||
		    echo "KVMRUN: insmod $m failed"
	done
	[ -c /dev/kvm ] || echo "KVMRUN: no /dev/kvm in the nested guest"
	ip link set lo up
	echo "KVMRUN: begin"
	cd /kvmwork && sh .kvm-script 2>&1
	echo "KVMRUN: end $?"
	poweroff -f
	EOI
	chmod +x "$_r/init"
	(cd "$_r" && find . | cpio -o -H newc 2>/dev/null | gzip -1) \
	    >"$_r.cpio.gz" || return 1
	timeout "$KVM_QEMU_TIMEOUT" qemu-system-x86_64 -M microvm \
	    -accel tcg,thread=multi -cpu max,+svm -smp 2 -m 1024 \
	    -nographic -no-reboot -nodefaults -serial stdio \
	    -kernel "$VM_KERNEL" -initrd "$_r.cpio.gz" \
	    -append "console=ttyS0 panic=-1 tsc_early_khz=2000000 lpj=4000000 no_timer_check ${KVM_APPEND:-quiet loglevel=3}" \
	    </dev/null 2>&1 | tr -d '\r' | tee "$_out.raw" |
	    sed -n '/^KVMRUN: begin$/,/^KVMRUN: end/p' >"$_out"
	rm -rf "$_r" "$_r.cpio.gz"
	grep -q '^KVMRUN: end' "$_out"
}
