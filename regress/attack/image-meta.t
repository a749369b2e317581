#!/bin/sh
# The root parent of lensvmm parses no image JSON: images, rmi and
# prune read the meta files (blobs/meta/<hex>) the fetch process wrote,
# with a strict line parser.  A config blob corrupted in the store after
# the pull changes nothing for them; a hostile meta file (what a
# compromised fetch process could write) is refused naming file:line.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
vmm_require
require_cmds python3

tap_plan 9
tmpdir_setup
chmod 0755 "$T"
at_exit 'vmm_stop; auditd_stop'
vmm_start || { echo "Bail out! lensvmm did not start"; exit 1; }
MK="python3 $(dirname "$0")/../tools/mkoci.py"
S=$T/state

A=$($MK "$T/a" --tag v1 --layers 2 --seed 1)
B=$($MK "$T/b" --tag v1 --layers 1 --seed 2)
lctl pull -q oci:"$T/a":v1 >/dev/null 2>"$T/err" &&
    lctl pull -q oci:"$T/b":v1 >/dev/null 2>>"$T/err"
ok $? "two images pulled ($(cat "$T/err"))"
MA=$S/blobs/meta/${A#sha256:}
head -1 "$MA" | grep -qx 'lens-image-meta 1' &&
    [ "$(grep -c '^layer sha256:[0-9a-f]\{64\} [0-9]* sha256:[0-9a-f]\{64\}$' "$MA")" = 2 ] &&
    tail -1 "$MA" | grep -qx end
ok $? "the meta file names the layers with sizes and diff ids"

# the config blob of a, corrupted behind the store's back
CA=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"][7:])' "$S/blobs/sha256/${A#sha256:}")
[ -n "$CA" ] && [ -f "$S/blobs/sha256/$CA" ] || echo "Bail out! no config blob"
chmod 0644 "$S/blobs/sha256/$CA"
printf '{"rootfs": [' >"$S/blobs/sha256/$CA"
lctl images --json >"$T/images.json" 2>"$T/err"
python3 -c '
import json,sys
a={i["reference"]:i for i in json.load(open(sys.argv[1]))}
assert a["a:v1"]["layers"]==2 and a["b:v1"]["layers"]==1, a
' "$T/images.json"
ok $? "images lists both with their layers, the corrupt config unread ($(cat "$T/err"))"
lctl image prune >"$T/out" 2>"$T/err"
ok $? "prune works from the meta files ($(cat "$T/err"))"
n=$(ls "$S/layers/sha256" | wc -l)
[ "$n" = 3 ]
ok $? "and keeps the 3 layers both images need ($n)"

# a hostile meta file for b: a bad digest, then too many layers
MB=$S/blobs/meta/${B#sha256:}
cp "$MB" "$T/mb.good"
chmod 0644 "$MB"
sed 's/^config sha256:\(.\)/config sha256:..\/\1/' "$T/mb.good" >"$MB"
lctl image prune >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q "image b:v1: blobs/meta/${B#sha256:}:3: not sha256:<64 lowercase hex>: nothing pruned" "$T/err"
ok $? "a meta file with a bad digest: prune refuses, naming file:line ($(cat "$T/err"))"
{ head -3 "$T/mb.good"; i=0; while [ $i -lt 257 ]; do
	sed -n 4p "$T/mb.good"; i=$((i + 1)); done; echo end; } >"$MB"
lctl image prune >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q ":260: too many layers" "$T/err"
ok $? "257 layers: refused at line 260 ($(cat "$T/err"))"
{ head -3 "$T/mb.good"; python3 -c 'print("cmd " + "a" * 30000)'; echo end; } >"$MB"
lctl image prune >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q ":4: line too long" "$T/err"
ok $? "an overlong line: refused at line 4 ($(cat "$T/err"))"
cp "$T/mb.good" "$MB"
lctl rmi a:v1 >"$T/out" 2>"$T/err" && [ ! -e "$MA" ] &&
    [ "$(ls "$S/layers/sha256" | wc -l)" = 1 ]
ok $? "rmi of the image with the corrupt config removes it and its 2 layers ($(cat "$T/err"))"
