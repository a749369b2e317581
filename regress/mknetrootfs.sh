#!/bin/sh
# mknetrootfs.sh DIR: the test rootfs of mkrootfs.sh plus real network
# clients copied from the host with the libraries they load: curl,
# openssl, dig (busybox brings nc, wget and nslookup).  Idempotent: a
# rootfs already made from the same host binaries is left as it is.
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
stamp="$DIR/.lens-netrootfs"
# shellcheck disable=SC2086
want="v1 $(cksum $paths | tr '\n' ' ')"
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
for path in $paths; do
	copy "$path"
	# "libx.so => /lib/.../libx.so (0x...)" and the loader's own line
	ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
	    $1 ~ /^\// { print $1 }' | while read -r lib; do
		copy "$lib"
	done
done
printf 'hosts: files dns\n' >"$DIR/etc/nsswitch.conf"
chmod 0644 "$DIR/etc/nsswitch.conf"
echo "$want" >"$stamp"
