#!/bin/sh
# lensctl pull oci:DIR[:TAG] through lensvmm's fetch process: blobs
# verified and stored once, refs, images, rmi, prune, platforms, the
# fetch process's privileges, two pulls at once.  Hostile layouts:
# regress/attack/image-layout.t.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 26
tmpdir_setup
chmod 0755 "$T"
at_exit 'vmm_stop; auditd_stop'
vmm_start || { echo "Bail out! lensvmm did not start"; exit 1; }
MK="python3 $(dirname "$0")/tools/mkoci.py"
S=$T/state

# every blob in the store hashes to its name
store_consistent() {
	for _b in "$S"/blobs/sha256/*; do
		[ -e "$_b" ] || continue
		[ "$(sha256sum <"$_b" | cut -d' ' -f1)" = "$(basename "$_b")" ] ||
		    return 1
	done
	return 0
}
nblobs() { ls "$S/blobs/sha256" | wc -l; }

D=$($MK "$T/busy" --tag v1 --layers 3)
lctl pull -q oci:"$T/busy":v1 >"$T/out" 2>"$T/err"
ok $? "pull oci:DIR:TAG ($(cat "$T/err"))"
grep -q "^busy:v1 $D\$" "$T/out"
ok $? "pull names the ref and the manifest digest ($(cat "$T/out"))"
[ "$(nblobs)" -eq 5 ]
ok $? "manifest, config and 3 layers stored ($(nblobs))"
store_consistent
ok $? "every stored blob matches its name"
[ "$(cat "$S/refs/busy%3Av1")" = "$D" ]
ok $? "refs/busy:v1 holds the manifest digest"
[ "$(stat -c %a "$S/blobs/sha256/${D#sha256:}")" = 444 ]
ok $? "blobs are read-only"
grep -q '"image.pull"' "$T/audit"/* 2>/dev/null ||
    grep -rq 'image.pull' "$T/audit" 2>/dev/null
ok $? "image.pull audited"

lctl pull oci:"$T/busy":v1 >"$T/out" 2>"$T/err"
ok $? "a second pull"
grep -c 'already stored' "$T/err" | grep -qx 5
ok $? "takes every blob from the store ($(grep -c 'already stored' "$T/err"))"

lctl images --json >"$T/images.json"
python3 -c '
import json,sys
a=json.load(open(sys.argv[1]))
assert len(a)==1 and a[0]["reference"]=="busy:v1" and a[0]["digest"]==sys.argv[2] and a[0]["layers"]==3, a
' "$T/images.json" "$D"
ok $? "images --json lists busy:v1 with 3 layers"
lctl images | grep -q '^busy:v1 '
ok $? "images lists it"

# a multi-platform index: linux/amd64 by default, --platform otherwise
M=$($MK "$T/multi" --tag m --platforms linux/amd64,linux/arm64 --seed 7)
lctl pull -q oci:"$T/multi":m >"$T/out" 2>"$T/err"
ok $? "pull of a multi-platform index ($(cat "$T/err"))"
grep -q "^multi:m $M\$" "$T/out"
ok $? "linux/amd64 chosen by default"
lctl pull -q --platform linux/arm64 oci:"$T/multi":m >"$T/out" 2>"$T/err"
ok $? "--platform linux/arm64"
! grep -q "$M" "$T/out"
ok $? "another manifest for arm64 ($(cat "$T/out"))"
lctl pull -q --platform linux/s390x oci:"$T/multi":m >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'no manifest.*linux/s390x' "$T/err"
ok $? "a platform the index lacks is named ($(cat "$T/err"))"

lctl pull -q oci:"$T/busy":nope >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'no manifest tagged "nope"' "$T/err"
ok $? "an unknown tag is named ($(cat "$T/err"))"
lctl pull -q oci:"$T/none" >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -qi 'no such file' "$T/err"
ok $? "a missing directory is named ($(cat "$T/err"))"
# the fetch process's privileges, from /proc/PID/status mid-pull
fetch_pid() {
	for _p in $(ps -o pid= --ppid "$VMM_PID"); do
		case $(cat /proc/"$_p"/cmdline 2>/dev/null | tr '\0' ' ') in
		*fetch*) echo "$_p"; return 0 ;;
		esac
	done
	return 1
}
$MK "$T/slow" --tag s --layers 2 --noise $((32 << 20)) --seed 11 >"$T/slowdigest"
lctl pull -q oci:"$T/slow":s >/dev/null 2>&1 &
cpid=$!
wait_until 20 fetch_pid
fp=$(fetch_pid) && cat /proc/"$fp"/status >"$T/status" 2>/dev/null
wait "$cpid"
FU=$(id -u _lensfetch)
grep -q "^Uid:[[:space:]]*$FU[[:space:]]$FU[[:space:]]$FU[[:space:]]$FU\$" "$T/status" &&
    grep -q '^NoNewPrivs:[[:space:]]*1$' "$T/status" &&
    grep -q '^Seccomp:[[:space:]]*2$' "$T/status" &&
    grep -q '^CapEff:[[:space:]]*0000000000000000$' "$T/status" &&
    grep -q '^CapPrm:[[:space:]]*0000000000000000$' "$T/status"
ok $? "the fetch process: uid _lensfetch, no capabilities, NoNewPrivs, seccomp ($(grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' "$T/status" | tr '\t\n' '  '))"

# two pulls of one image at once: each blob written once (the second
# waits on the blob's lock, then finds it stored)
lctl rmi slow:s >/dev/null && [ ! -e "$S/blobs/meta/$(sed 's/^sha256://' "$T/slowdigest")" ]
ok $? "rmi slow:s removes its blobs"
lctl pull oci:"$T/slow":s >"$T/p1.out" 2>"$T/p1.err" &
c1=$!
lctl pull oci:"$T/slow":s >"$T/p2.out" 2>"$T/p2.err" &
c2=$!
wait "$c1"; r1=$?
wait "$c2"; r2=$?
nv=$(cat "$T/p1.err" "$T/p2.err" | grep -c 'verified')
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$nv" -le 4 ] && store_consistent
ok $? "two pulls at once: both succeed, the 4 blobs written $nv times in all"

# rmi and prune
n=$(nblobs)
lctl rmi multi:m >"$T/out" 2>"$T/err"
ok $? "rmi multi:m ($(cat "$T/err"))"
[ "$(nblobs)" -lt "$n" ] && [ -e "$S/blobs/sha256/${D#sha256:}" ]
ok $? "its blobs removed, busy:v1's kept ($n -> $(nblobs))"
lctl rmi multi:m >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'no image multi:m' "$T/err"
ok $? "rmi of a missing image is named"
lctl image prune >/dev/null 2>"$T/err"
ok $? "image prune ($(cat "$T/err"))"
lctl pull -q oci:"$T/busy":v1 >/dev/null && store_consistent &&
    [ "$(lctl images --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -ge 1 ]
ok $? "busy:v1 intact after prune"
