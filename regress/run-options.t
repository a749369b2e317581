#!/bin/sh
# lensctl run --read-only, --tmpfs and --ulimit on the jail backend:
# a read-only root gives EROFS while /tmp and a --tmpfs stay writable;
# a tmpfs is bounded by its size (ENOSPC past it), has its mode and is
# nosuid,nodev; a symbolic link of the image pointing out of the root
# does not move a tmpfs (nor make a directory on the host); ulimits
# are the workload's; bad values are refused naming them; inspect
# shows all three.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 20
tmpdir_setup
vmm_setup

# one sandbox with all three, checked from inside with exec (as root:
# a read-only root must refuse even root)
A=$(lctl run -d -u root --read-only --tmpfs /data:size=1m,mode=0700 \
    --tmpfs /var/cache --ulimit nofile=512:1024 --ulimit core=1024000 \
    --ulimit nproc=100:200 $R -- sleep 600)
out=$(lctl exec -u root "$A" -- sh -c '
	touch /newfile 2>&1 && echo ROOT-WRITABLE
	echo x >/etc/passwd 2>&1 && echo ETC-WRITABLE
	touch /tmp/t && echo TMP-OK
	dd if=/dev/zero of=/data/a bs=1k count=512 2>/dev/null && echo HALF-OK
	dd if=/dev/zero of=/data/b bs=1k count=1024 2>&1 | grep -o "No space left on device"
	stat -c "mode %a" /data /var/cache
	grep " /data " /proc/mounts
	echo "n $(ulimit -n) $(ulimit -Hn)"
	echo "c $(ulimit -c) $(ulimit -Hc)"
	grep "Max processes" /proc/self/limits' 2>&1)
diag "$out"
# 1-5: --read-only, --tmpfs
echo "$out" | grep -q "/newfile: Read-only file system" &&
    echo "$out" | grep -q "/etc/passwd: Read-only file system" &&
    ! echo "$out" | grep -q "WRITABLE"
ok $? "--read-only: writing / and /etc/passwd fails with EROFS, for root too"
echo "$out" | grep -q TMP-OK && echo "$out" | grep -q HALF-OK
ok $? "--read-only: /tmp and the --tmpfs /data stay writable"
echo "$out" | grep -q "No space left on device"
ok $? "--tmpfs /data:size=1m: 512k fit, 1m more gives ENOSPC"
[ "$(echo "$out" | grep -c '^mode ')" = 2 ] &&
    echo "$out" | grep '^mode ' | head -n 1 | grep -q '^mode 700$' &&
    echo "$out" | grep '^mode ' | tail -n 1 | grep -q '^mode 1777$'
ok $? "mode=0700 is the mode; the default is 1777"
echo "$out" | grep " /data tmpfs " | grep -q "nosuid" &&
    echo "$out" | grep " /data tmpfs " | grep -q "nodev" &&
    echo "$out" | grep " /data tmpfs " | grep -q "size=1024k"
ok $? "the tmpfs is nosuid,nodev, size=1024k"
# 6-8: --ulimit
echo "$out" | grep -q '^n 512 1024$'
ok $? "--ulimit nofile=512:1024: ulimit -n 512, -Hn 1024"
echo "$out" | grep -q '^c 2000 2000$'
ok $? "--ulimit core=1024000: ulimit -c 2000 (512-byte blocks), hard the same"
echo "$out" | grep -q 'Max processes *100 *200 '
ok $? "--ulimit nproc=100:200"
# 9: inspect
lctl inspect "$A" >"$T/insp"
python3 - "$T/insp" <<'PY' 2>"$T/err"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["read_only"] is True, j["read_only"]
assert j["tmpfs"] == [{"path": "/data", "size": 1 << 20, "mode": "0700"},
    {"path": "/var/cache", "size": 64 << 20, "mode": "1777"}], j["tmpfs"]
assert j["ulimits"] == [{"name": "nofile", "soft": 512, "hard": 1024},
    {"name": "core", "soft": 1024000, "hard": 1024000},
    {"name": "nproc", "soft": 100, "hard": 200}], j["ulimits"]
PY
ok $? "inspect: read_only, tmpfs and ulimits $(cat "$T/err")"

# 10-12: without them; a tmpfs is the sandbox's memory: the default
# shrinks to -m
B=$(lctl run -d -u root -m 16m --tmpfs /data $R -- sleep 600)
out=$(lctl exec -u root "$B" -- sh -c '
	touch /newfile && echo ROOT-WRITABLE
	grep " /data " /proc/mounts
	echo "n $(ulimit -n) c $(ulimit -c)"' 2>&1)
diag "$out"
echo "$out" | grep -q '^ROOT-WRITABLE$' && echo "$out" | grep -q '^n 1024 c 0$'
ok $? "without --read-only and --ulimit: a writable root, 1024 descriptors, no core files"
echo "$out" | grep -q "size=16384k"
ok $? "-m 16m: the default 64m tmpfs is 16m"
lctl inspect "$B" | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["read_only"] is False and j["tmpfs"] == [{"path": "/data", "size": 16 << 20, "mode": "1777"}] and j["ulimits"] == [], j' 2>"$T/err"
ok $? "inspect without them: read_only false, a 16m tmpfs, no ulimits $(cat "$T/err")"
lctl rm -f "$A" "$B" >/dev/null

# 13: larger than -m refused
out=$(lctl run --rm -m 16m --tmpfs /data:size=32m $R -- true 2>&1)
rc=$?
[ "$rc" = 125 ] && echo "$out" | grep -q -- "--tmpfs /data:size=32m: size above"
ok $? "--tmpfs size above -m refused ($rc $out)"

# 14: bad --tmpfs values, each refused naming the value
bad=0
# (every case of the grammar: regress/unit/grammar.c)
for v in data / /proc/x /sys/fs /a/../b /a//b /x:size=1k /x:mode=8 /x:ro; do
	out=$(lctl run --rm --tmpfs "$v" $R -- true 2>&1)
	rc=$?
	if [ "$rc" != 125 ] || ! echo "$out" | grep -qF -- "--tmpfs $v"; then
		diag "--tmpfs $v: $rc $out"
		bad=1
	fi
done
out=$(lctl run --rm --tmpfs /x --tmpfs /x:size=1m $R -- true 2>&1)
[ $? = 125 ] && echo "$out" | grep -q "given twice" || { diag "twice: $out"; bad=1; }
[ $bad = 0 ]
ok $? "bad --tmpfs paths and options refused, naming the value"

# 15-18: the attack: links in the image pointing out of the root, at
# a host directory.  Resolved inside the root, they lead to the image's
# own directory of that name; a link leading nowhere inside the root
# refuses the sandbox; the host directory never gets a thing.
EV=$T/evil
cp -a "$ROOTFS" "$EV"
# the host directory: not under /tmp, which the sandbox gets a tmpfs of
H=$(mktemp -d /var/tmp/lens-runopts.XXXXXX) || exit 1
at_exit "rm -rf '$H'"
mkdir -p "$EV$H" || exit 1
ln -s "$H" "$EV/abs"
ln -s "../../../../../../../../..$H" "$EV/rel"
ln -s "/var/tmp/lens-runopts-none" "$EV/dangling"
out=$(lctl run --rm -u root --rootfs "$EV" --backend jail --tmpfs /abs/sub \
    --tmpfs /rel/sub2 -- sh -c '
	echo hi >/abs/sub/f && echo ABS-OK
	echo hi >/rel/sub2/f && echo REL-OK
	grep -c "$0/sub2* tmpfs" /proc/mounts' "$H" 2>&1)
rc=$?
diag "links: $rc $out"
[ "$rc" = 0 ] && echo "$out" | grep -q ABS-OK && echo "$out" | grep -q REL-OK &&
    [ "$(echo "$out" | tail -n 1)" = 2 ]
ok $? "--tmpfs under links of the image: mounted inside the root, where they lead there ($rc)"
out=$(lctl run --rm --rootfs "$EV" --backend jail \
    --tmpfs /dangling/x -- true 2>&1)
rc=$?
diag "dangling: $rc $out"
[ "$rc" = 125 ] && echo "$out" | grep -q -- "--tmpfs /dangling/x"
ok $? "a link leading out of the root and nowhere inside: refused ($rc)"
[ -z "$(ls -A "$H")" ] && [ ! -e /var/tmp/lens-runopts-none ]
ok $? "nothing was made in the host directories the links name ($(ls -A "$H"))"
[ -z "$(ls -A "$EV$H")" ]
ok $? "nor in the image's tree (the sandbox wrote to its own layers)"

# 19-20: bad --ulimit values; a hard limit above lensvmm's own
bad=0
for v in rss=1 nofile nofile=abc nofile=10:5 nofile=18446744073709551616; do
	out=$(lctl run --rm --ulimit "$v" $R -- true 2>&1)
	rc=$?
	if [ "$rc" != 125 ] || ! echo "$out" | grep -qF -- "--ulimit $v"; then
		diag "--ulimit $v: $rc $out"
		bad=1
	fi
done
out=$(lctl run --rm --ulimit nofile=10 --ulimit nofile=20 $R -- true 2>&1)
[ $? = 125 ] && echo "$out" | grep -q "given twice" || { diag "twice: $out"; bad=1; }
[ $bad = 0 ]
ok $? "bad --ulimit names and values refused, naming the value"
hard=$(awk '/Max open files/ { print $5 }' "/proc/$VMM_PID/limits")
out=$(lctl run --rm --ulimit "nofile=1024:$((hard + 1))" $R -- true 2>&1)
rc=$?
[ "$rc" = 125 ] && echo "$out" | grep -q "hard limit above lensvmm's own hard limit of nofile ($hard)"
ok $? "a hard limit above lensvmm's ($hard) refused ($rc $out)"

log_if_failed lensvmm "$T/vmm.log" 30
tap_done
