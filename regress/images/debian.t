#!/bin/sh
# A real layer: Debian bookworm minbase made by mmdebstrap --format=tar
# (about 3.5 minutes here, so it is built once, cached as
# obj/regress/bookworm.tar for the SANITIZE half too, and this test is
# `make regress-images-slow', not check).  lensvmm's unpacker
# (regress/tools/layerunpack) gives the tree GNU tar gives, but for the
# device nodes of /dev it drops and the setuid/setgid bits it clears,
# and the layer's digest is checked against its diff id.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
require_cmds mmdebstrap python3
UNPACK=$OBJ/regress/tools/layerunpack
require_built "$UNPACK"
CACHE=${LENS_IMAGE_CACHE:-$(dirname "$OBJ")/obj/regress}
DEB=$CACHE/bookworm.tar

tap_plan 5
tmpdir_setup
if [ ! -s "$DEB" ]; then
	mkdir -p "$CACHE"
	mmdebstrap --variant=minbase --format=tar bookworm "$DEB.tmp" \
	    >"$T/mm.log" 2>&1 && mv "$DEB.tmp" "$DEB" ||
	    { tail -n 20 "$T/mm.log" | sed 's/^/# /'; rm -f "$DEB.tmp"; }
fi
[ -s "$DEB" ]
ok $? "Debian bookworm minbase tarball ($DEB, $(du -m "$DEB" | cut -f1) MiB)"
gzip -1 -c "$DEB" >"$T/layer.gz"
D=sha256:$(sha256sum <"$DEB" | cut -d' ' -f1)
mkdir -p "$T/store" "$T/tar"
t0=$(date +%s)
"$UNPACK" "$T/layer.gz" "$T/store" "$D" >"$T/out" 2>&1
ok $? "unpacked in $(($(date +%s) - t0)) s: $(cat "$T/out")"
L=$T/store/sha256/${D#sha256:}
tar -xf "$DEB" -C "$T/tar"
(cd "$L" && find . -printf '%y %p %s\n' | sort) >"$T/ours"
(cd "$T/tar" && find . ! -type c ! -type b -printf '%y %p %s\n' | sort) >"$T/gnu"
cmp -s "$T/ours" "$T/gnu"
ok $? "the same tree as GNU tar's but for device nodes ($(wc -l <"$T/ours") entries)"
[ -z "$(find "$L" -perm /6000)" ] && [ -n "$(find "$T/tar" -perm /6000)" ] &&
    [ -z "$(find "$L" -type c -o -type b)" ]
ok $? "no setuid/setgid file ($(find "$T/tar" -perm /6000 | wc -l) in the tarball), no device"
cmp -s "$L/usr/bin/dpkg" "$T/tar/usr/bin/dpkg" &&
    [ "$(readlink "$L/bin")" = "$(readlink "$T/tar/bin")" ]
ok $? "file contents and symbolic links as in the tarball"
tap_done
