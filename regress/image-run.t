#!/bin/sh
# lensctl run IMAGE [COMMAND...] on the jail backend: the image's layers
# unpacked by the image child and mounted read-only as the overlay's
# lower layers, a per-sandbox writable layer; the image config applied
# (Entrypoint, Cmd, Env, WorkingDir, User) and overridden by COMMAND,
# --entrypoint, -e, -w, -u.  Hostile configs: a User absent from the
# image's /etc/passwd, a User "../../etc" and a WorkingDir "../.."
# (contained: resolved inside the sandbox); an image whose config blob
# changed in the store after the pull, or whose meta file lies, is
# refused by the image child's check, and prune, which reads only meta
# files, refuses a hostile one naming file:line.  Images: busybox-static made by
# regress/tools/mkimage.py from the test rootfs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require
require_cmds python3

tap_plan 25
tmpdir_setup
vmm_setup
MK="python3 $(dirname "$0")/tools/mkimage.py"
S=$T/state

mkimg() {	# NAME CONFIG-JSON [--file ...]
	_n=$1; _c=$2; shift 2
	$MK "$T/$_n" "$ROOTFS" --tag latest --config "$_c" "$@" >/dev/null &&
	    lctl pull -q oci:"$T/$_n" >/dev/null 2>>"$T/pull.err"
}
mkimg busy '{"Entrypoint":["/bin/sh","-c"],"Cmd":["echo cmd; id -u; pwd; echo $GREETING"],"Env":["GREETING=hello","PATH=/bin:/usr/bin"],"WorkingDir":"/home/alice","User":"alice"}' \
    --file /data/seed=seed &&
mkimg nouser '{"Cmd":["/bin/true"],"User":"nosuchuser"}' &&
mkimg dotuser '{"Cmd":["/bin/id","-u"],"User":"../../etc"}' &&
mkimg dotdir '{"Cmd":["/bin/pwd"],"WorkingDir":"../.."}' &&
mkimg corrupt '{"Cmd":["/bin/true"]}' &&
mkimg liar '{"Cmd":["/bin/echo","meta"]}'
ok $? "six images pulled ($(cat "$T/pull.err"))"

# run IMAGE: Entrypoint + Cmd, Env, WorkingDir, User
lctl run --rm busy >"$T/out" 2>"$T/err"
[ "$(tr '\n' ' ' <"$T/out")" = "cmd 1000 /home/alice hello " ]
ok $? "Entrypoint, Cmd, Env, WorkingDir and User applied ($(tr '\n' ' ' <"$T/out") $(cat "$T/err"))"
lctl run --rm busy 'echo replaced' >"$T/out" 2>"$T/err"
[ "$(cat "$T/out")" = replaced ]
ok $? "a COMMAND replaces Cmd, the Entrypoint stays ($(cat "$T/out" "$T/err"))"
lctl run --rm -e GREETING=bye -w /tmp -u bob busy >"$T/out" 2>"$T/err"
[ "$(tr '\n' ' ' <"$T/out")" = "cmd 1001 /tmp bye " ]
ok $? "-e, -w and -u win over Env, WorkingDir and User ($(tr '\n' ' ' <"$T/out") $(cat "$T/err"))"
lctl run --rm --entrypoint /bin/echo busy x y >"$T/out" 2>"$T/err"
[ "$(cat "$T/out")" = "x y" ]
ok $? "--entrypoint replaces Entrypoint and Cmd ($(cat "$T/out" "$T/err"))"

# the writable layer: the sandbox's own, the cached layers unchanged
L=
for d in "$S"/layers/sha256/*; do [ -f "$d/data/seed" ] && L=$d; done
sum0=$(sha256sum <"$L/data/seed")
id=$(lctl run -d --name w1 -u root busy 'echo w1 >/data/seed; echo w1 >/etc/w1; sleep 600')
ok $? "a detached sandbox of the image"
wait_until 10 sh -c "$LENSCTL -s $VMM_SOCK exec w1 cat /etc/w1 2>/dev/null | grep -qx w1"
ok $? "it writes over a file of a layer and into the image's /etc"
[ -n "$L" ] && [ "$(sha256sum <"$L/data/seed")" = "$sum0" ] &&
    ! ls "$S"/layers/sha256/*/etc/w1 >/dev/null 2>&1
ok $? "the cached layers are unchanged (sha256 of data/seed, no etc/w1)"
lctl run --rm -u root busy 'cat /data/seed; echo; ls /etc/w1 2>&1' >"$T/out" 2>"$T/err"
grep -qx seed "$T/out" && ! grep -qx /etc/w1 "$T/out"
ok $? "a second sandbox of the image sees none of the first's writes ($(tr '\n' ' ' <"$T/out"))"
dir=$S/sandboxes/$(ls "$S/sandboxes")
[ "$(ls "$S/sandboxes" | wc -l)" = 1 ] && [ -d "$dir" ]
ok $? "the sandbox has its state directory ($dir)"
lctl rm -f w1 >/dev/null 2>&1
wait_until 10 test ! -e "$dir"
ok $? "its writable layer is gone with it"
lctl run --rm busy true >/dev/null 2>&1
ls "$S/sandboxes" | wc -l | grep -qx 0
ok $? "a --rm run leaves no sandbox directory"

# hostile configs
lctl run --rm nouser >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q nosuchuser "$T/err"
ok $? "a User absent from the image's /etc/passwd is refused, named ($(cat "$T/err"))"
lctl run --rm dotuser >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q '\.\./\.\./etc' "$T/err" && [ ! -s "$T/out" ]
ok $? "User ../../etc: refused inside the sandbox, named ($(cat "$T/err"))"
lctl run --rm dotdir >"$T/out" 2>"$T/err"
[ "$(cat "$T/out")" = / ]
ok $? "WorkingDir ../..: contained in the sandbox's / ($(cat "$T/out" "$T/err"))"

# the store changed behind lensvmm's back
MC=$(lctl images --json | python3 -c 'import json,sys; print([i["digest"] for i in json.load(sys.stdin) if i["reference"]=="corrupt:latest"][0][7:])')
CC=$(sed -n 's/^config sha256://p' "$S/blobs/meta/$MC")
chmod 0644 "$S/blobs/sha256/$CC"
printf '{"rootfs": [' >"$S/blobs/sha256/$CC"
lctl run --rm corrupt >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q "run corrupt: image sha256:$MC: blob sha256:$CC: the stored file hashes to" "$T/err"
ok $? "a config changed in the store: run refused by the image child ($(cat "$T/err"))"
lctl images | grep -q "^corrupt:latest "
ok $? "images still lists it (from the meta file)"
ML=$(lctl images --json | python3 -c 'import json,sys; print([i["digest"] for i in json.load(sys.stdin) if i["reference"]=="liar:latest"][0][7:])')
chmod 0644 "$S/blobs/meta/$ML"
sed -i 's/^cmd meta$/cmd pwned/' "$S/blobs/meta/$ML"
lctl run --rm liar >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q "is not what its manifest and config say" "$T/err" && [ ! -s "$T/out" ]
ok $? "a meta file that lies about Cmd: refused before anything runs ($(cat "$T/err"))"

# the root parent parses no image JSON: prune works from the meta
# files with corrupt's config unreadable, and refuses a hostile meta
# file (what a compromised fetch process could write), naming file:line
lctl image prune >"$T/out" 2>"$T/err"
ok $? "prune works from the meta files, a config corrupted ($(cat "$T/err"))"
MF=$S/blobs/meta/$ML
sed -i 's/^cmd pwned$/cmd meta/' "$MF"
cp "$MF" "$T/meta.good"
sed 's/^config sha256:\(.\)/config sha256:..\/\1/' "$T/meta.good" >"$MF"
lctl image prune >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q "image liar:latest: blobs/meta/$ML:3: not sha256:<64 lowercase hex>: nothing pruned" "$T/err"
ok $? "a meta file with a bad digest: prune refuses, naming file:line ($(cat "$T/err"))"
{ head -3 "$T/meta.good"; i=0; while [ $i -lt 257 ]; do
	sed -n 4p "$T/meta.good"; i=$((i + 1)); done; echo end; } >"$MF"
lctl image prune >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q "blobs/meta/$ML:260: too many layers" "$T/err"
ok $? "257 layers: refused at line 260 ($(cat "$T/err"))"
{ head -3 "$T/meta.good"; python3 -c 'print("cmd " + "a" * 30000)'; echo end; } >"$MF"
lctl image prune >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q "blobs/meta/$ML:4: line too long" "$T/err"
ok $? "an overlong line: refused at line 4 ($(cat "$T/err"))"
cp "$T/meta.good" "$MF"
lctl rmi corrupt >"$T/out" 2>"$T/err" && [ ! -e "$S/blobs/meta/$MC" ]
ok $? "rmi of the image with the corrupt config ($(cat "$T/err"))"

lctl run --rm --backend microvm busy true >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q "run IMAGE: microvm backend not supported yet, use --backend jail" "$T/err"
ok $? "--backend microvm with an image is refused, said so"
lctl run --rm nosuch:v9 true >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q "no image nosuch:v9" "$T/err"
ok $? "an image not in the store is named ($(cat "$T/err"))"
