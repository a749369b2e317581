#!/bin/bash
# mkguest.sh: the Linux guest of the microvm backend.
#
#   mkguest.sh build OUTDIR LENS-INIT
#	OUTDIR/vmlinuz		the Debian cloud kernel of kernel.pin
#	OUTDIR/initramfs.cpio	newc: LENS-INIT as /init, the modules it
#				loads and /lib/modules/load (their order)
#	OUTDIR/rootfs.ext4	a busybox rootfs (regress/mkrootfs.sh)
#	OUTDIR/rootfs.erofs	the same as erofs, when mkfs.erofs is there
#	OUTDIR/kernel.release	the kernel's uname -r
#   mkguest.sh pin
#	rewrite kernel.pin to the archive's current cloud kernel
#	(the package linux-image-cloud-amd64 depends on) and the sha256
#	from the archive's signed index
#
# The package is fetched with apt-get download and checked against the
# sha256 of kernel.pin before anything in it is used; OUTDIR/dl keeps it.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
PIN=$HERE/kernel.pin
META=linux-image-cloud-amd64
# what lens-init needs that the cloud kernel may build as modules
WANT="virtio_mmio virtio_blk virtio_net virtio_console virtio_rng overlay erofs"

die() { echo "mkguest.sh: $*" >&2; exit 1; }

read_pin() {
	local n=0 k v
	PKG= VER= SHA=
	while read -r k v; do
		n=$((n + 1))
		case $k in
		''|'#'*) continue ;;
		package) PKG=$v ;;
		version) VER=$v ;;
		sha256) SHA=$v ;;
		*) die "$PIN:$n: unknown key '$k'" ;;
		esac
	done <"$PIN"
	[[ $PKG =~ ^linux-image-[a-z0-9.+-]+-cloud-amd64$ ]] ||
	    die "$PIN: package '$PKG' is not a linux-image-*-cloud-amd64"
	[[ $VER =~ ^[0-9][A-Za-z0-9.+~:-]*$ ]] ||
	    die "$PIN: bad version '$VER'"
	[[ $SHA =~ ^[0-9a-f]{64}$ ]] ||
	    die "$PIN: sha256 '$SHA' is not 64 hex digits"
}

cmd_pin() {
	local cand dep pkg ver sha
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -q >/dev/null ||
		    die "apt-get update failed"
	fi
	cand=$(apt-cache policy "$META" | awk '/Candidate:/ { print $2 }')
	[ -n "$cand" ] && [ "$cand" != "(none)" ] ||
	    die "no candidate for $META in the apt lists"
	dep=$(apt-cache show "$META=$cand" |
	    sed -n 's/^Depends: .*\(linux-image-[^ ,]*-cloud-amd64\) (= \([^)]*\)).*/\1 \2/p' |
	    head -1)
	[ -n "$dep" ] || die "$META $cand: no linux-image dependency"
	pkg=${dep% *}
	ver=${dep#* }
	sha=$(apt-cache show "$pkg=$ver" | awk '/^SHA256:/ { print $2; exit }')
	[[ $sha =~ ^[0-9a-f]{64}$ ]] || die "$pkg $ver: no SHA256 in the index"
	cat >"$PIN.new" <<EOF
# The guest kernel of the microvm backend: a Debian cloud kernel package,
# checked against this sha256 before use (lensvmm/guest/mkguest.sh).
# Move it to the archive's current version with: make guest-pin
package $pkg
version $ver
sha256 $sha
EOF
	mv -f "$PIN.new" "$PIN"
	echo "mkguest.sh: kernel.pin: $pkg $ver sha256 $sha"
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

fetch() {
	local dl=$1 f got
	mkdir -p "$dl"
	DEB=
	# keep the pinned package only: an old pin's .deb goes
	for f in "$dl"/*.deb; do
		[ -f "$f" ] || continue
		case $(basename "$f") in
		"${PKG}"_*)
			if [ -z "$DEB" ] && [ "$(sha_of "$f")" = "$SHA" ]; then
				DEB=$f
				continue
			fi ;;
		esac
		rm -f "$f"
	done
	[ -z "$DEB" ] || return 0
	if ! apt-cache show "$PKG=$VER" >/dev/null 2>&1; then
		die "the pinned guest kernel $PKG $VER is no longer in the" \
		    "Debian archive (or apt-get update was never run here)." \
		    "Move the pin with: make guest-pin"
	fi
	# _apt cannot write into a private directory: apt-get warns, works
	(cd "$dl" && apt-get download -q "$PKG=$VER" 2>&1 |
	    grep -v 'unsandboxed as root' >&2) ||
	    die "apt-get download $PKG=$VER failed"
	for f in "$dl"/"${PKG}"_*.deb; do
		[ -f "$f" ] || continue
		got=$(sha_of "$f")
		if [ "$got" != "$SHA" ]; then
			rm -f "$f"
			die "$PKG $VER: sha256 $got, but kernel.pin says $SHA"
		fi
		DEB=$f
		return 0
	done
	die "apt-get download $PKG=$VER left no .deb in $dl"
}

# module name (dashes as underscores) -> file, from the index
mod_file() { awk -v m="$1" '$1 == m { print $2; exit }' "$IDX"; }

# a module's file, decompressed if the package compresses them
mod_plain() {
	local f=$1 out=$2
	case $f in
	*.ko) cp "$f" "$out" ;;
	*.ko.xz) xz -dc "$f" >"$out" ;;
	*.ko.zst) zstd -qdc "$f" >"$out" ;;
	*.ko.gz) gzip -dc "$f" >"$out" ;;
	*) die "$f: unknown module format" ;;
	esac
}

# depth first: dependencies before the module
visit() {
	local m=$1 f dep
	case " $SEEN " in *" $m "*) return 0 ;; esac
	SEEN="$SEEN $m"
	if grep -qx "$m" "$BUILTIN"; then
		return 0
	fi
	f=$(mod_file "$m")
	[ -n "$f" ] || die "module $m: neither built in nor in $PKG"
	mod_plain "$MODDIR/$f" "$STAGE/lib/modules/$m.ko"
	dep=$(objcopy -O binary --only-section=.modinfo \
	    "$STAGE/lib/modules/$m.ko" /dev/stdout 2>/dev/null |
	    tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' ')
	for d in $dep; do
		visit "${d//-/_}"
	done
	echo "$m.ko" >>"$STAGE/lib/modules/load"
}

cmd_build() {
	local out=$1 init=$2 kver w
	[ -x "$init" ] || die "$init: no lens-init (make it first)"
	if LC_ALL=C od -An -c -N 4096 "$init" | tr -d ' \n' |
	    grep -q 'ld-linux'; then
		die "$init is not static"
	fi
	for t in dpkg-deb objcopy cpio mkfs.ext4 apt-get; do
		command -v "$t" >/dev/null ||
		    die "$t missing (make deps installs it)"
	done
	read_pin
	mkdir -p "$out"
	fetch "$out/dl"
	echo "mkguest.sh: $PKG $VER ($(basename "$DEB")), sha256 ok"

	w=$out/work
	rm -rf "$w"
	mkdir -p "$w/x"
	dpkg-deb -x "$DEB" "$w/x"
	kver=$(ls "$w/x/lib/modules")
	[ -n "$kver" ] && [ -f "$w/x/boot/vmlinuz-$kver" ] ||
	    die "$DEB: no vmlinuz or no modules directory"
	MODDIR=$w/x/lib/modules/$kver
	IDX=$w/modules.idx
	BUILTIN=$w/modules.builtin
	(cd "$MODDIR" && find kernel -name '*.ko*' -type f) |
	    awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n);
		gsub(/-/, "_", n); print n, $0 }' >"$IDX"
	sed 's,.*/,,; s,\.ko.*,,; s,-,_,g' "$MODDIR/modules.builtin" \
	    >"$BUILTIN"

	STAGE=$w/initramfs
	mkdir -p "$STAGE/lib/modules" "$STAGE/dev" "$STAGE/proc" \
	    "$STAGE/sys" "$STAGE/lens"
	: >"$STAGE/lib/modules/load"
	SEEN=
	for m in $WANT; do
		visit "$m"
	done
	install -m 0755 "$init" "$STAGE/init"
	(cd "$STAGE" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	    cpio --null -o -H newc -R 0:0 --quiet) >"$out/initramfs.cpio.new"
	mv -f "$out/initramfs.cpio.new" "$out/initramfs.cpio"
	cp "$w/x/boot/vmlinuz-$kver" "$out/vmlinuz"
	echo "$kver" >"$out/kernel.release"
	echo "mkguest.sh: kernel $kver, modules:" \
	    $(tr '\n' ' ' <"$STAGE/lib/modules/load")

	"$TOP/regress/mkrootfs.sh" "$out/rootfs"
	echo "lens guest rootfs, kernel $kver" >"$out/rootfs/etc/lens-image"
	rm -f "$out/rootfs.ext4.new"
	mkfs.ext4 -q -F -t ext4 -O ^has_journal -L lens-root \
	    -E root_owner=0:0 -d "$out/rootfs" "$out/rootfs.ext4.new" 32M \
	    >/dev/null
	mv -f "$out/rootfs.ext4.new" "$out/rootfs.ext4"
	rm -f "$out/rootfs.erofs"
	if command -v mkfs.erofs >/dev/null; then
		mkfs.erofs --quiet -T0 "$out/rootfs.erofs.new" "$out/rootfs"
		mv -f "$out/rootfs.erofs.new" "$out/rootfs.erofs"
	fi
	rm -rf "$w"
	echo "mkguest.sh: $out/vmlinuz $out/initramfs.cpio $out/rootfs.ext4"
}

case ${1:-} in
build)	[ $# -eq 3 ] || die "usage: mkguest.sh build OUTDIR LENS-INIT"
	cmd_build "$2" "$3" ;;
pin)	[ $# -eq 1 ] || die "usage: mkguest.sh pin"
	cmd_pin ;;
*)	echo "usage: mkguest.sh build OUTDIR LENS-INIT | pin" >&2; exit 2 ;;
esac
