#!/bin/sh
# Attack: a member of group lens mounts a directory of their own over
# the sandbox's /dev or /proc, which lensvmm keeps for itself (the
# jail's /dev tmpfs with the host's harmless devices; init's procfs).
# lensvmm's control refused "/dev" and "/proc" by prefix, so "//dev"
# and "//proc", the same places for the kernel, went through, from
# lensctl as from a client speaking raw frames.  Volumes are parsed by
# one grammar (common/grammar.c) that cleans the path before it checks
# it (issue 11): every spelling is refused, by lensctl and by lensvmm.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
vmm_require

tap_plan 7
tmpdir_setup
vmm_setup
PEER=$TOOLS/ctlpeer

mkdir "$T/fake"
echo PLANTED >"$T/fake/MARK"
chmod -R a+rX "$T/fake"

# 1. through lensctl: the sandbox must never see the planted file
for dst in //dev //proc; do
	out=$(lctl run --rm $R -v "$T/fake:$dst" -- \
	    sh -c "cat $dst/MARK 2>/dev/null; echo ran" 2>"$T/err")
	rc=$?
	diag "$dst: $rc $out $(head -n 1 "$T/err")"
	[ "$rc" = 125 ] && [ -z "$out" ] &&
	    grep -q "in /proc or /dev" "$T/err"
	ok $? "-v DIR:$dst is refused before a sandbox starts ($rc $(echo $out))"
done

# 2. a raw client: lensvmm's control refuses it itself
for sc in run-volume-dev run-volume-proc; do
	out=$("$PEER" "$VMM_SOCK" "$sc" "$ROOTFS" 2>"$T/peer.err" | tr '\n' ' ')
	[ "$out" = "error 125 closed " ] &&
	    grep -q "in /proc or /dev" "$T/peer.err"
	ok $? "$sc: lensvmm refuses it ($out $(head -n 1 "$T/peer.err"))"
done

# 3. the check is not blanket: a path that only starts like /dev works
out=$(lctl run --rm $R -v "$T/fake:/devices" -- cat /devices/MARK 2>"$T/err")
[ "$out" = PLANTED ]
ok $? "-v DIR:/devices is mounted ($out $(head -n 1 "$T/err"))"
out=$(lctl run --rm $R -v "$T/fake://mnt//x/:ro" -- cat /mnt/x/MARK 2>"$T/err")
[ "$out" = PLANTED ]
ok $? "-v DIR://mnt//x/:ro is mounted at /mnt/x ($out $(head -n 1 "$T/err"))"
n=$(lctl ps -a | tail -n +2 | wc -l)
[ "$n" -eq 0 ]
ok $? "no sandbox left ($n)"
tap_done
