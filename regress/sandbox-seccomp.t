#!/bin/sh
# Every system call that the workload's seccomp profile refuses fails
# inside a sandbox, as root there too: regress/sandbox/sysprobe.c calls
# each (the list of lensvmm/jail.c) and prints its errno.  The same
# probe under bwrap with the same namespaces and no filter shows that
# most of these calls do not fail that way on their own, so the test
# can tell a missing filter.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

NCALLS=$(grep -c '^	P(\|^	probe("' "$(dirname "$0")/sandbox/sysprobe.c")
tap_plan $((NCALLS * 2 + 5))
tmpdir_setup
vmm_setup

mkdir -p "$ROOTFS/usr/local/bin"
gcc -static -O1 -o "$ROOTFS/usr/local/bin/sysprobe" \
    "$(dirname "$0")/sandbox/sysprobe.c"
ok $? "sysprobe built static into the rootfs"

for who in 1000 root; do
	lctl run --rm $R -u $who -- /usr/local/bin/sysprobe >"$T/probe.$who"
	[ "$(wc -l <"$T/probe.$who")" -eq "$NCALLS" ]
	ok $? "as $who: all $NCALLS calls probed"
	while read -r name res; do
		case $name in
		clone3)	want=38 ;;	# ENOSYS: glibc falls back to clone
		*)	want=1 ;;	# EPERM
		esac
		[ "$res" = "$want" ]
		ok $? "as $who: $name fails with errno $want (got $res)"
	done <"$T/probe.$who"
done

# the control: the same probe, same namespaces, no filter
bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts \
    --unshare-net --unshare-cgroup --uid 0 --gid 0 --ro-bind "$ROOTFS" / \
    --proc /proc --dev /dev --tmpfs /tmp /usr/local/bin/sysprobe \
    >"$T/probe.bwrap" 2>"$T/bwrap.err"
ok $? "the probe runs under bwrap ($(head -n 1 "$T/bwrap.err"))"
n=$(awk '$2 != 1 && !($1 == "clone3" && $2 == 38)' "$T/probe.bwrap" | wc -l)
diag "without the filter: $(tr '\n' ' ' <"$T/probe.bwrap")"
[ "$n" -ge $((NCALLS / 2)) ]
ok $? "without the filter $n of $NCALLS calls do not fail as above"
tap_done
