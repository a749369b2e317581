#!/bin/sh
# lensvmm's image child: `lensctl pull` has every layer unpacked into
# the layer cache (layers/sha256/<diff id>) by the unprivileged image
# child before it answers; a layer that violates the tar entry policy
# fails the pull naming the layer and the entry, and leaves no layer
# directory; the child's privilege separation, from /proc/PID/status,
# its root and the seccomp filter (no socket).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require
require_cmds python3

tap_plan 22
tmpdir_setup
chmod 0755 "$T"
at_exit 'vmm_stop; auditd_stop'
# what a crash mid-unpack left: removed when the image child starts
mkdir -p "$T/state/layers/tmp/0123.99/a/b"
chmod 0555 "$T/state/layers/tmp/0123.99/a"
chown -R _lensimg "$T/state/layers"
vmm_start -E 9 || { echo "Bail out! lensvmm did not start"; exit 1; }
MK="python3 $(dirname "$0")/images/mklayer.py"
S=$T/state

# the image child: the child of lensvmm whose title says image
imgpid() {
	for _p in $(pgrep -P "$VMM_PID"); do
		grep -q 'image' "/proc/$_p/cmdline" 2>/dev/null &&
		    { echo "$_p"; return 0; }
	done
	return 1
}

wait_until 10 test ! -e "$T/state/layers/tmp/0123.99"
ok $? "an unpack's leftover in layers/tmp removed at start"

# 1. a good image: pulled, its layers unpacked
$MK -o "$T/good" -t v1 good setuid >/dev/null
lctl pull -q oci:"$T/good":v1 >"$T/out" 2>"$T/err"
ok $? "pull of a good image ($(cat "$T/err"))"
n=$(ls "$S/layers/sha256" | wc -l)
[ "$n" = 2 ]
ok $? "its 2 layers are in the layer cache ($n)"
L=
for d in "$S"/layers/sha256/*; do [ -f "$d/bin/hello" ] && L=$d; done
[ -n "$L" ] && [ "$(stat -c %U "$L/bin/hello")" = _lensimg ] &&
    [ "$(python3 -c "import os,sys;print(os.getxattr(sys.argv[1],'user.overlay.whiteout')==b'')" "$L/etc/passwd")" = True ]
ok $? "layer content written by _lensimg, its whiteout an xattr"
[ -z "$(ls -A "$S/layers/tmp")" ]
ok $? "layers/tmp is empty"
grep -q 'layer sha256:[0-9a-f]* unpacked: 9 entries' "$T/vmm.log"
ok $? "lensvmm logs the unpack"

# 2. a hostile layer: the pull fails, nothing stays
$MK -o "$T/bad" -t v1 good symlink-etc >/dev/null
lctl pull -q oci:"$T/bad":v1 >"$T/out" 2>"$T/err"
rc=$?
diag "$(cat "$T/err")"
[ $rc != 0 ] && grep -q "pull bad:v1: layer sha256:[0-9a-f]* (diff id sha256:[0-9a-f]*): entry etc/lens-layer-escape: its path leaves the layer" "$T/err"
ok $? "a layer with a symlink to /etc and a file through it: the pull fails, naming layer and entry"
[ "$(ls "$S/layers/sha256" | wc -l)" = 2 ] && [ -z "$(ls -A "$S/layers/tmp")" ] &&
    [ ! -e /etc/lens-layer-escape ]
ok $? "no layer directory, nothing in /etc"
$MK -o "$T/ten" -t v1 ten >/dev/null
lctl pull -q oci:"$T/ten":v1 >"$T/out" 2>"$T/err"
[ $? != 0 ] && grep -q "layer has more than 9 entries (at f9)" "$T/err"
ok $? "lensvmm -E 9: a layer of 10 entries refused ($(tail -c 60 "$T/err"))"
lctl ps >/dev/null
ok $? "lensvmm serves on"

# the image child killed in the middle of a layer: that pull fails,
# naming the layer; another child takes over, lensvmm serves on
$MK -o "$T/slow" -t v1 slow >/dev/null
old=$(imgpid)
lctl pull -q oci:"$T/slow":v1 >"$T/out" 2>"$T/err" &
pullpid=$!
wait_until 60 sh -c "ls -A '$S/layers/tmp' | grep -q ."
ok $? "a slow layer is being unpacked"
kill -KILL "$old"
wait $pullpid
rc=$?
diag "$(cat "$T/err")"
[ $rc != 0 ] && grep -q "pull slow:v1: layer sha256:[0-9a-f]*: the image child killed by SIGKILL" "$T/err"
ok $? "that pull fails, naming the layer and the signal"
new=$(imgpid)
[ -n "$new" ] && [ "$new" != "$old" ] && lctl pull -q oci:"$T/good":v1 >/dev/null 2>&1
ok $? "a new image child ($old, then $new); a pull after it succeeds"
wait_until 10 test -z "$(ls -A "$S/layers/tmp")"
ok $? "what the killed child left in layers/tmp is removed"

# prune: the unpacked layers of an image removed go, another's stay
$MK -o "$T/other" -t v1 base top >/dev/null
ls "$S/layers/sha256" | sort >"$T/before"
lctl pull -q oci:"$T/other":v1 >"$T/out" 2>"$T/err" &&
    ls "$S/layers/sha256" | sort >"$T/after" &&
    comm -13 "$T/before" "$T/after" >"$T/new" && [ "$(wc -l <"$T/new")" = 2 ]
ok $? "a second image, no layer shared: 2 more layer directories ($(cat "$T/err"))"
{ lctl rmi other:v1 && lctl image prune; } >"$T/out" 2>"$T/err"
rc=$?
diag "$(cat "$T/out" "$T/err")"
gone=1
for h in $(cat "$T/new"); do
	[ ! -e "$S/layers/sha256/$h" ] &&
	    grep -q "removed layer sha256:$h" "$T/out" || gone=0
done
kept=1
for h in $(cat "$T/before"); do [ -d "$S/layers/sha256/$h" ] || kept=0; done
[ $rc = 0 ] && [ $gone = 1 ] && [ $kept = 1 ] &&
    [ -z "$(ls -A "$S/layers/tmp")" ] &&
    grep -rqE '"image.prune".*"layers": ?2' "$T/audit"
ok $? "rmi and prune: its 2 layer directories removed (audited), the others kept, layers/tmp empty"
[ -f "$L/bin/hello" ] && lctl pull -q oci:"$T/good":v1 >"$T/out" 2>"$T/err" &&
    [ "$(stat -c %U "$L/bin/hello")" = _lensimg ]
ok $? "the image kept still has its layers and pulls ($(cat "$T/err"))"

# 3. privilege separation
P=$(imgpid)
[ -n "$P" ]
ok $? "the image child runs (pid $P)"
st=/proc/$P/status
uid=$(awk '/^Uid:/ { print $2 }' "$st")
[ "$uid" = "$(id -u _lensimg)" ] && grep -q '^NoNewPrivs:[[:space:]]*1' "$st" &&
    grep -q '^Seccomp:[[:space:]]*2' "$st" &&
    grep -q '^CapEff:[[:space:]]*0000000000000000' "$st" &&
    grep -q '^CapPrm:[[:space:]]*0000000000000000' "$st"
ok $? "uid _lensimg ($uid), NoNewPrivs 1, Seccomp 2, no capabilities"
[ "$(readlink "/proc/$P/root")" = "$S/layers" ]
ok $? "chrooted into the layer cache ($(readlink "/proc/$P/root"))"
vmm_stop
for call in socket-inet connect; do
	LENS_REGRESS_SIGSYS=image:$call timeout 20 "$OBJ/regress/lensvmm" -d \
	    -s "$T/vmm2.sock" -D "$T/state2" -a "$T/auditd.sock" \
	    -i "$LENSINIT" -c "lens-$(basename "$T")-2" -x "$T/audit" \
	    >"$T/sig-$call.log" 2>&1
	grep -q "image killed by SIGSYS" "$T/sig-$call.log"
	ok $? "image child: $call killed by its seccomp filter ($(grep -o 'image killed.*' "$T/sig-$call.log" | head -n 1))"
done
tap_done
