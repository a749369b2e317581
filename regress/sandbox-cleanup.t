#!/bin/sh
# Nothing leaks: after rm, and after lensvmm is killed with SIGKILL and
# started again, no mount, cgroup, namespace or process of a sandbox is
# left on the host.  25 sandboxes at once all work.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 19
tmpdir_setup
vmm_setup
P=c$$-		# names of this run's sandboxes

# what a sandbox of this test could leave, one line per leftover (other
# tests may run sandboxes on this host at the same time, with the same
# uid ranges: look only at this test's state directory, ids and names)
leftovers() {
	grep -F -e "$T/" /proc/self/mountinfo | sed 's/^/mount: /'
	for id in "$@"; do
		find /sys/fs/cgroup -maxdepth 3 -type d -name "$id" 2>/dev/null |
		    sed 's/^/cgroup: /'
	done
	# a process of the sandbox stays in its cgroup (lens/ID)
	for id in "$@"; do
		grep -l "/lens/$id\$" /proc/[0-9]*/cgroup 2>/dev/null |
		    sed 's/^/process in the cgroup: /'
		pgrep -af "lensvmm: jail lens-$(echo "$id" | cut -c 1-12)" |
		    sed 's/^/jail process: /'
	done
	pgrep -af "lensvmm: jail $P" | sed 's/^/jail process: /'
}
noleft() { [ -z "$(leftovers "$@")" ]; }

ids=
mkdir -p "$T/vol"	# a volume, not $T itself: that holds the state directories
for i in 1 2 3; do
	ids="$ids $(lctl run -d --name ${P}cl-$i -v "$T/vol:/mnt:ro" $R -- sh -c 'sleep 600 & sleep 600')"
done
[ -n "$(leftovers $ids)" ]
ok $? "while they run, the check sees their mounts and processes"
lctl rm -f ${P}cl-1 ${P}cl-2 ${P}cl-3 >/dev/null
ok $? "rm -f all three"
wait_until 10 noleft $ids
out=$(leftovers $ids)
[ -z "$out" ]
ok $? "after rm nothing is left $(echo "$out" | head -n 3 | tr '\n' ';')"
n=0
for id in $ids; do [ -e "$T/state/sandboxes/$id" ] && n=$((n + 1)); done
[ $n -eq 0 ]
ok $? "their state directories are gone ($n left)"

# SIGKILL lensvmm with sandboxes running, start it again
ids=
mkdir -p "$T/vol"	# a volume, not $T itself: that holds the state directories
for i in 1 2; do
	ids="$ids $(lctl run -d --name ${P}k-$i $R -- sh -c 'sleep 600 & sleep 600')"
done
lctl run -d --name ${P}k-done $R -- true >/dev/null
vmm_kill9
ok 0 "lensvmm killed with SIGKILL"
vmm_start
ok $? "lensvmm starts again"
lctl ps -a >"$T/ps"
diag "after the restart: $(tr '\n' ';' <"$T/ps")"
# adopted sandboxes may be listed; removing them must leave nothing
for n in ${P}k-1 ${P}k-2 ${P}k-done; do
	if grep -q " $n " "$T/ps"; then lctl rm -f $n >/dev/null; fi
done
wait_until 10 noleft $ids
out=$(leftovers $ids)
[ -z "$out" ]
ok $? "after SIGKILL, restart and rm nothing is left $(echo "$out" | head -n 3 | tr '\n' ';')"
[ -z "$(lctl ps -a | tail -n +2)" ]
ok $? "and no sandbox is listed"
out=$(lctl run --rm $R -- echo after-restart)
[ "$out" = after-restart ]
ok $? "the restarted lensvmm runs sandboxes"

# 25 at once
i=0 pids=
while [ $i -lt 25 ]; do
	( lctl run --rm $R -- sh -c "echo out-$i; echo err-$i >&2; exit $((i % 7))" \
	    >"$T/m.$i.out" 2>"$T/m.$i.err"; echo $? >"$T/m.$i.rc" ) &
	pids="$pids $!"
	i=$((i + 1))
done
wait $pids		# not a bare wait: the daemons are children too
pids=
good=0 i=0
while [ $i -lt 25 ]; do
	[ "$(cat "$T/m.$i.out")" = "out-$i" ] && [ "$(cat "$T/m.$i.err")" = "err-$i" ] &&
	    [ "$(cat "$T/m.$i.rc")" = $((i % 7)) ] && good=$((good + 1))
	i=$((i + 1))
done
[ $good -eq 25 ]
ok $? "25 concurrent runs: all 25 right (output, errors, status) ($good)"
i=0
while [ $i -lt 25 ]; do
	lctl run -d --name ${P}many-$i $R -- sleep 600 >/dev/null &
	pids="$pids $!"
	i=$((i + 1))
done
wait $pids
pids=
n=$(lctl ps | grep -c " ${P}many-")
[ "$n" -eq 25 ]
ok $? "25 detached at once: all running ($n)"
n=$(for i in 0 5 10 15 20 24; do lctl exec ${P}many-$i -- echo ok; done | grep -c ok)
[ "$n" -eq 6 ]
ok $? "exec works in them ($n of 6)"
i=0 ids=
while [ $i -lt 25 ]; do
	ids="$ids $(lctl ps --json | grep "\"name\":\"${P}many-$i\"" | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/')"
	i=$((i + 1))
done
i=0 pids=
while [ $i -lt 25 ]; do
	lctl rm -f ${P}many-$i >/dev/null &
	pids="$pids $!"
	i=$((i + 1))
done
good=0
for p in $pids; do
	wait "$p" && good=$((good + 1))
done
n=$(lctl ps -a | grep -c " ${P}many-")
[ "$good" -eq 25 ] && [ "$n" -eq 0 ]
ok $? "rm -f of 25 at once: all succeed ($good) and ps -a lists none ($n)"
wait_until 10 noleft $ids
out=$(leftovers $ids)
[ -z "$out" ]
ok $? "after removing 25 nothing is left $(echo "$out" | head -n 3 | tr '\n' ';')"

# lensvmm stops cleanly with sandboxes running, and leaves nothing
ids="$(lctl run -d $R -- sleep 600) $(lctl run -d $R -- sleep 600)"
vmm_stop
ok $? "lensvmm stops cleanly (SIGTERM) with sandboxes running"
out=$(leftovers)
[ -z "$(echo "$out" | grep -v '^cgroup')" ]
ok $? "no process or mount left after its stop $(echo "$out" | head -n 3 | tr '\n' ';')"
vmm_start
ok $? "and it starts again"
lctl ps -a | tail -n +2 | awk '{ print $1 }' | while read -r s; do lctl rm -f "$s" >/dev/null; done
wait_until 10 noleft $ids
out=$(leftovers $ids)
[ -z "$out" ]
ok $? "after that restart and rm nothing is left $(echo "$out" | head -n 3 | tr '\n' ';')"
kill -0 "$VMM_PID"
ok $? "lensvmm still runs"
tap_done
