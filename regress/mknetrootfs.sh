#!/bin/sh
# mknetrootfs.sh DIR: the test rootfs of mkrootfs.sh plus real network
# clients copied from the host with the libraries they load: curl,
# openssl, dig (busybox brings nc, wget and nslookup).  Idempotent: a
# rootfs already made from the same host binaries is left as it is.
# MKNETROOTFS_EXTRA: more programs (paths, space-separated, e.g. the
# netbench test tool) copied to /usr/local/bin with their libraries.
set -eu

[ $# -eq 1 ] || { echo "usage: mknetrootfs.sh DIR" >&2; exit 2; }
DIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
PROGS="curl openssl dig"

sh "$HERE/mkrootfs.sh" "$DIR"

paths=
for p in $PROGS; do
	path=$(command -v "$p") ||
	    { echo "mknetrootfs.sh: $p missing (make deps)" >&2; exit 1; }
	paths="$paths $path"
done
extra=
for path in ${MKNETROOTFS_EXTRA:-}; do
	[ -f "$path" ] && [ -x "$path" ] ||
	    { echo "mknetrootfs.sh: $path: not an executable file" >&2; exit 1; }
	extra="$extra $path"
done
stamp="$DIR/.lens-netrootfs"
# shellcheck disable=SC2086
want="v1 $(cksum $paths $extra | tr '\n' ' ')"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi

copy() {
	# the file at the same place, through links, keeping the mode
	src=$(readlink -f "$1")
	mkdir -p "$DIR$(dirname "$1")"
	cp -f "$src" "$DIR$1.new"
	mv -f "$DIR$1.new" "$DIR$1"
}
libs() {
	# "libx.so => /lib/.../libx.so (0x...)" and the loader's own line
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
	    $1 ~ /^\// { print $1 }' | while read -r lib; do
		copy "$lib"
	done
}
for path in $paths; do
	copy "$path"
	libs "$path"
done
for path in $extra; do
	mkdir -p "$DIR/usr/local/bin"
	cp -f "$path" "$DIR/usr/local/bin/$(basename "$path").new"
	mv -f "$DIR/usr/local/bin/$(basename "$path").new" \
	    "$DIR/usr/local/bin/$(basename "$path")"
	libs "$path"
done
printf 'hosts: files dns\n' >"$DIR/etc/nsswitch.conf"
chmod 0644 "$DIR/etc/nsswitch.conf"
echo "$want" >"$stamp"
