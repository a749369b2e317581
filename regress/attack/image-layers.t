#!/bin/sh
# Attack: a hostile image layer (issue 14): its tar asks for paths out
# of the layer directory ('..', absolute, through a symbolic link to
# /etc or up the tree), hard links to the host's files, a whiteout of
# '..', device nodes, setuid files, a 10 GiB sparse file, a million
# entries, a gzip bomb.  lensvmm's unpacker (lensvmm/layer.c, driven
# here by regress/tools/layerunpack as root, more than the image
# child has) refuses each with the entry named, or neutralises it, and
# leaves nothing: no layer, no temp directory, no file anywhere else.
# Every layer is made by regress/images/mklayer.py.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
require_cmds python3 zstd
UNPACK=$OBJ/regress/tools/layerunpack
MK=$LENS_REGRESS/images/mklayer.py
require_built "$UNPACK"

tap_plan 39
tmpdir_setup
S=$T/store
mkdir -p "$S"
B=$T/blobs
mkdir -p "$B"
python3 "$MK" -a "$B" || { echo "Bail out! mklayer.py failed"; exit 1; }
links=$(stat -c %h /etc/passwd)
rm -f /tmp/lens-layer-escape /etc/lens-layer-escape

# state KIND: the store's paths (nothing may stay of a refused layer)
state() { (cd "$S" && find . | sort); }

# refused KIND PATTERN [layerunpack flags]: KIND is refused, the
# message matches PATTERN, and the store is as it was
refused() {
	_k=$1 _p=$2
	shift 2
	state >"$T/before"
	"$UNPACK" "$@" "$B/$_k.blob" "$S" "$(cat "$B/$_k.diffid")" \
	    >"$T/$_k.out" 2>&1
	_rc=$?
	diag "$_k: $_rc $(cat "$T/$_k.out")"
	[ $_rc = 1 ] && grep -q -- "$_p" "$T/$_k.out"
	ok $? "$_k: refused, naming the entry ($(head -c 120 "$T/$_k.out"))"
	state | cmp -s - "$T/before" && [ -z "$(ls -A "$S/tmp")" ]
	ok $? "$_k: nothing left in the store"
}

# unpacked KIND: $L the new layer directory
unpacked() {
	_d=$(cat "$B/$1.diffid")
	"$UNPACK" "$B/$1.blob" "$S" "$_d" >"$T/$1.out" 2>&1 || {
		diag "$1: $(cat "$T/$1.out")"
		return 1
	}
	L=$S/sha256/${_d#sha256:}
	[ -d "$L" ]
}

# 1. a well-formed layer, three ways compressed
unpacked good
ok $? "good layer (gzip): unpacked ($(cat "$T/good.out"))"
[ "$(cat "$L/bin/hello")" = "$(printf '#!/bin/sh\necho hi')" ] &&
    [ "$(stat -c %i "$L/bin/hello")" = "$(stat -c %i "$L/bin/again")" ] &&
    [ "$(readlink "$L/lib")" = usr/lib ] && [ -f "$L/usr/lib/x.so" ] &&
    [ "$(stat -c %a "$L/bin")" = 555 ] && [ "$(stat -c %a "$L/etc/f")" = 600 ]
ok $? "good: contents, hard link, symlink, modes"
python3 - "$L" <<'P'
import os, sys
L = sys.argv[1]
x = lambda p: {n: os.getxattr(p, n) for n in os.listxattr(p)}
ok = (x(L + '/etc/f') == {'user.note': b'kept'} and
      x(L + '/etc/passwd') == {'user.overlay.whiteout': b''} and
      os.stat(L + '/etc/passwd').st_size == 0 and
      x(L + '/etc') == {'user.overlay.opaque': b'x'} and
      x(L + '/var') == {'user.overlay.opaque': b'y'})
sys.exit(0 if ok else 1)
P
ok $? "good: whiteout and opaque directory as overlayfs xattrs; user.* kept, security.capability and user.overlay.* of the tar dropped"
rm -rf "$L"
unpacked good-none && rm -rf "$L" && unpacked good-zstd
ok $? "good layer: plain tar and zstd unpacked too"
rm -rf "$L"
"$UNPACK" "$B/good-bzip2.blob" "$S" "$(cat "$B/good-bzip2.diffid")" \
    >"$T/bz.out" 2>&1
[ $? = 1 ] && [ ! -e "$L" ] && grep -q "refused: layer tar" "$T/bz.out"
ok $? "a bzip2 layer: refused ($(cat "$T/bz.out"))"
d=$(cat "$B/good.diffid")
"$UNPACK" "$B/good.blob" "$S" \
    sha256:0000000000000000000000000000000000000000000000000000000000000000 \
    >"$T/wrong.out" 2>&1
[ $? = 1 ] && grep -q "layer content is $d, not sha256:0000" "$T/wrong.out" &&
    [ -z "$(ls -A "$S/sha256")" ] && [ -z "$(ls -A "$S/tmp")" ]
ok $? "a layer whose content is not its diff id: refused, nothing kept"

# the whiteouts as overlayfs reads them: base and top as lower layers
unpacked base && LB=$L && unpacked top && LT=$L &&
    mkdir -p "$T/ov/u" "$T/ov/w" "$T/ov/m" &&
    mount -t overlay lens-test -o "userxattr,lowerdir=$LT:$LB,upperdir=$T/ov/u,workdir=$T/ov/w" "$T/ov/m"
ok $? "overlayfs (userxattr) of two unpacked layers mounted"
[ ! -e "$T/ov/m/etc/passwd" ] && [ "$(cat "$T/ov/m/etc/keep")" = kept ] &&
    [ "$(ls "$T/ov/m/var")" = new ]
ok $? "the top layer's whiteout hides etc/passwd, its opaque var/ hides var/old ($(ls "$T/ov/m/etc" "$T/ov/m/var" | tr '\n' ' '))"
umount "$T/ov/m" 2>/dev/null
rm -rf "$LB" "$LT"

# 2. out of the layer
refused dotdot "entry a/\.\./.*: a '\.\.' component in the path"
refused absolute "entry /tmp/lens-layer-escape: absolute path"
refused symlink-etc "entry etc/lens-layer-escape: its path leaves the layer"
refused symlink-up "entry up/lens-layer-escape: its path leaves the layer"
refused hardlink-out "entry passwd: a '\.\.' component in the hard link target"
refused hardlink-abs "entry passwd: absolute hard link target"
refused hardlink-via-symlink "entry passwd: hard link target e/passwd: its path leaves the layer"
refused whiteout-dotdot "entry a/\.wh\.\.\.: a whiteout of '\.\.'"
refused whiteout-dot "entry \.wh\.\.: a whiteout of '\.'"

# 3. neutralised: no device, no fifo, no setuid bit
unpacked device && [ -f "$L/ok" ] && [ -d "$L/dev" ] &&
    [ -z "$(ls -A "$L/dev")" ] && grep -q "dropped 2" "$T/device.out"
ok $? "device node and fifo: dropped, the rest unpacked"
unpacked setuid && [ "$(stat -c %a "$L/su")" = 755 ] &&
    [ "$(stat -c %a "$L/tmp")" = 1777 ]
ok $? "setuid/setgid file: mode 755 ($(stat -c %a "$L/su")); sticky directory keeps 1777 without setgid"

# 4. bounded
refused sparse "entry big: a file of 10737418240 bytes, over the limit"
t0=$(date +%s)
refused many "more than 5000 entries" -e 5000
t1=$(date +%s)
[ $((t1 - t0)) -le 20 ]
ok $? "a million entries: refused at the limit of 5000 in $((t1 - t0)) s"
refused bomb "entry zeros: a file of 1073741824 bytes, over what the size limit leaves" -b 64M
refused trailer-bomb "layer is over the size limit of 67108864 bytes" -b 64M
du=$(du -sk "$S" | cut -f1)
[ "$du" -lt 16384 ]
ok $? "the store holds $du KiB after the bombs"

# 5. nothing anywhere else
[ ! -e /tmp/lens-layer-escape ] && [ ! -e /etc/lens-layer-escape ] &&
    [ "$(stat -c %h /etc/passwd)" = "$links" ] &&
    [ -z "$(find "$T" -name lens-layer-escape -print)" ]
ok $? "no file named lens-layer-escape in /tmp, /etc or the test directory, /etc/passwd's link count $links"
tap_done
