#!/bin/sh
# mkrootfs.sh DIR: a small rootfs for the sandbox tests, from Debian's
# busybox-static: every applet as a symlink to /bin/busybox at its usual
# place, /etc/passwd and /etc/group with root, alice (1000) and bob
# (1001), their homes, /tmp (1777) and empty mount points for /proc,
# /dev and /sys.  Idempotent and fast: a rootfs that is already
# complete for this busybox is left as it is.
#
# Extra test programs are put in by the tests themselves (for example a
# static binary compiled into DIR/usr/local/bin).
set -eu

[ $# -eq 1 ] || { echo "usage: mkrootfs.sh DIR" >&2; exit 2; }
DIR=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}

[ -x "$BUSYBOX" ] ||
    { echo "mkrootfs.sh: $BUSYBOX missing (apt-get install busybox-static)" >&2;
    exit 1; }
file_static() {
	# a dynamic busybox would need its libraries in the rootfs
	! LC_ALL=C "$BUSYBOX" od -An -c -N 4096 "$1" 2>/dev/null |
	    tr -d ' \n' | grep -q 'ld-linux'
}
file_static "$BUSYBOX" ||
    { echo "mkrootfs.sh: $BUSYBOX is not static (need busybox-static)" >&2;
    exit 1; }

stamp="$DIR/.lens-rootfs"
want="v1 $(cksum <"$BUSYBOX")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi

umask 022
mkdir -p "$DIR"
for d in bin sbin usr/bin usr/sbin usr/local/bin etc root home/alice \
    home/bob proc dev sys tmp var/tmp run mnt; do
	mkdir -p "$DIR/$d"
done
chmod 1777 "$DIR/tmp" "$DIR/var/tmp"
chmod 0700 "$DIR/root"
chown 1000:1000 "$DIR/home/alice" 2>/dev/null || true
chown 1001:1001 "$DIR/home/bob" 2>/dev/null || true

cp "$BUSYBOX" "$DIR/bin/busybox.new"
chmod 0755 "$DIR/bin/busybox.new"
mv -f "$DIR/bin/busybox.new" "$DIR/bin/busybox"

# busybox --install -s, without running anything inside DIR: the links
# are absolute, so they resolve inside the sandbox
"$BUSYBOX" --list-full | while read -r path; do
	[ "$path" = bin/busybox ] && continue
	ln -sfn /bin/busybox "$DIR/$path"
done

cat >"$DIR/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:alice:/home/alice:/bin/sh
bob:x:1001:1001:bob:/home/bob:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$DIR/etc/group" <<'EOF'
root:x:0:
alice:x:1000:
bob:x:1001:
users:x:100:alice,bob
nogroup:x:65534:
EOF
echo lens >"$DIR/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$DIR/etc/hosts"
: >"$DIR/etc/resolv.conf"
chmod 0644 "$DIR/etc/passwd" "$DIR/etc/group" "$DIR/etc/hostname" \
    "$DIR/etc/hosts" "$DIR/etc/resolv.conf"

echo "$want" >"$stamp"
