#!/bin/sh
# Resource limits: a fork bomb stops at --pids, a memory hog is killed
# by the OOM killer and reported as such, and the cgroup of a sandbox
# carries the limits asked for.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 11
tmpdir_setup
vmm_setup

# the sandboxes' cgroups: NAME/ID, NAME as vmm_start passes it with -c
CG=lens-$(basename "$T")
cg() {	# cg ID V2FILE V1FILE
	for f in "/sys/fs/cgroup/$CG/$1/$2" /sys/fs/cgroup/*/"$CG/$1/$3"; do
		[ -f "$f" ] && { cat "$f"; return; }
	done
	echo none
}

# a fork bomb in a sandbox of 48 pids; the count is read from the host
lctl run -d --name lim-1 --pids 48 $R -- sleep 600 >"$T/id"
id=$(cat "$T/id")
timeout 60 "$LENSCTL" -s "$VMM_SOCK" exec lim-1 -- sh -c \
    'i=0; while [ $i -lt 400 ]; do sleep 61 >/dev/null 2>&1 & i=$((i + 1)); done' \
    >/dev/null 2>"$T/bomb.err"
grep -qi "fork\|resource temporarily unavailable" "$T/bomb.err"
ok $? "the fork loop hit the limit ($(tail -n 1 "$T/bomb.err"))"
np=$(cg "$id" pids.current pids.current)
[ "$np" != none ] && [ "$np" -le 48 ] && [ "$np" -ge 40 ]
ok $? "the sandbox's cgroup holds at most 48 processes, and is full ($np)"
timeout 30 "$LENSCTL" -s "$VMM_SOCK" exec lim-1 -- sh -c \
    'b() { b | b & }; b; sleep 5' >/dev/null 2>&1 &
bomb=$!
sleep 2
np=$(cg "$id" pids.current pids.current)
[ "$np" != none ] && [ "$np" -le 48 ]
ok $? "a classic fork bomb is held at 48 processes too ($np)"
kill "$bomb" 2>/dev/null
wait "$bomb" 2>/dev/null
s0=$(date +%s)
lctl rm -f lim-1 >/dev/null
ok $? "the bombed sandbox is removed ($(($(date +%s) - s0))s)"
[ -z "$(pgrep -f '^sleep 61$')" ]
ok $? "none of the bomb's processes is left on the host"

# a memory hog
lctl run --rm --memory 32m $R -- sh -c 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done' \
    >/dev/null 2>"$T/oom.err"
rc=$?
[ "$rc" -eq 137 ]
ok $? "memory hog killed: exit $rc"
grep -qi 'oom\|out of memory' "$T/oom.err"
ok $? "and reported as an OOM kill ($(cat "$T/oom.err"))"
out=$(lctl run --rm --memory 32m $R -- sh -c 'echo fine')
[ "$out" = fine ]
ok $? "a modest workload under the same limit runs"

# the cgroup carries the limits (v2, or v1 controllers)
id=$(lctl run -d --memory 64m --cpus 0.5 --pids 77 $R -- sleep 600)
[ "$(cg "$id" memory.max memory.limit_in_bytes)" = 67108864 ]
ok $? "memory limit 64m in the cgroup ($(cg "$id" memory.max memory.limit_in_bytes))"
[ "$(cg "$id" pids.max pids.max)" = 77 ]
ok $? "pids limit 77 in the cgroup ($(cg "$id" pids.max pids.max))"
q=$(cg "$id" cpu.max cpu.cfs_quota_us)
case $q in
"50000 100000"|50000) ok 0 "cpu limit 0.5 in the cgroup ($q)" ;;
*) ok 1 "cpu limit 0.5 in the cgroup ($q)" ;;
esac
lctl rm -f "$id" >/dev/null
tap_done
