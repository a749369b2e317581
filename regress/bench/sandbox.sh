#!/bin/sh
# make bench, sandbox part (called by regress/bench/run.sh): start-up
# latency of `lensctl run --rm --rootfs R -- /bin/true` beside bwrap
# with the same namespaces on the same rootfs, and host memory per idle
# sandbox with BENCH_IDLE idle sandboxes (RSS and PSS of lensvmm's
# per-sandbox processes from /proc/PID/smaps_rollup).  Prints a table.
# Skips (exit 0) when lensvmm is not built.
#
# Environment (all optional):
#   BENCH_RUNS   runs per side for the latency (default 100)
#   BENCH_IDLE   idle sandboxes for the memory figure (default 100)
set -u

: "${OBJ:=$(cd "$(dirname "$0")/../.." && pwd)/obj}"
HERE=$(cd "$(dirname "$0")/.." && pwd)
LENS_REGRESS=$HERE
RUNS=${BENCH_RUNS:-100}
IDLE=${BENCH_IDLE:-100}

say() { printf '%s\n' "$*"; }
die() { printf 'bench: sandbox: %s\n' "$*" >&2; exit 1; }

if [ ! -x "$OBJ/lensvmm" ] || [ ! -x "$OBJ/lens-init" ]; then
	say ""
	say "sandbox benchmark: skipped (lensvmm or lens-init not built)"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "must run as root"
command -v bwrap >/dev/null || die "bwrap missing (apt-get install bubblewrap)"

T=$(mktemp -d "${TMPDIR:-/var/tmp}/lens-bench-sb.XXXXXX") ||
    die "cannot create a scratch directory"
chmod 0755 "$T"
export T
AUDITD_PID= VMM_PID=
. "$HERE/daemon.sh"
cleanup() {
	if [ -n "${VMM_PID:-}" ]; then
		"$LENSCTL" -s "$VMM_SOCK" ps -a 2>/dev/null | tail -n +2 |
		    awk '{ print $1 }' | xargs -r "$LENSCTL" -s "$VMM_SOCK" \
		    rm -f >/dev/null 2>&1
	fi
	vmm_stop
	auditd_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

rootfs_setup || die "cannot build the test rootfs"
R=$ROOTFS
vmm_start || die "lensvmm did not start"

# one run of a command, its wall time in microseconds appended to a file
timed1() {
	_out=$1
	shift
	_t0=$(date +%s%N)
	"$@" >/dev/null 2>"$T/timed.err" ||
	    { cat "$T/timed.err" >&2; die "failed: $*"; }
	_t1=$(date +%s%N)
	echo $(((_t1 - _t0) / 1000)) >>"$_out"
}
pct() { sort -n "$1" | awk -v p="$2" '{ a[NR] = $1 } END {
    i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.1f", a[i] / 1000 }'; }

BWRAP="bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts \
--unshare-net --unshare-cgroup --ro-bind $R / --proc /proc --dev /dev \
--tmpfs /tmp"

# alternate the two, so that a change of load on the machine falls on
# both alike; three warm-up runs each are not counted
: >"$T/lens"
: >"$T/bwrap"
i=-3
while [ $i -lt "$RUNS" ]; do
	[ $i -lt 0 ] && _l=$T/warm _b=$T/warm || _l=$T/lens _b=$T/bwrap
	timed1 "$_l" "$LENSCTL" -s "$VMM_SOCK" run --rm --rootfs "$R" -- /bin/true
	# shellcheck disable=SC2086
	timed1 "$_b" $BWRAP /bin/true
	i=$((i + 1))
done
L50=$(pct "$T/lens" 50) L95=$(pct "$T/lens" 95)
B50=$(pct "$T/bwrap" 50) B95=$(pct "$T/bwrap" 95)

# idle sandboxes
i=0
while [ $i -lt "$IDLE" ]; do
	"$LENSCTL" -s "$VMM_SOCK" run -d --rootfs "$R" --name "idle-$i" -- \
	    sleep 1000000 >/dev/null 2>"$T/idle.err" ||
	    { cat "$T/idle.err" >&2; die "idle sandbox $i did not start"; }
	i=$((i + 1))
done
sleep 2
rollup() {	# KEY PID...: sum of KEY (kB) over the pids
	_k=$1
	shift
	for _p in "$@"; do
		awk -v k="$_k:" '$1 == k { print $2 }' "/proc/$_p/smaps_rollup" 2>/dev/null
	done | awk '{ s += $1 } END { printf "%d", s }'
}
JAILS=$(pgrep -f 'lensvmm: jail idle-')
NJ=$(echo "$JAILS" | grep -c .)
INITS=$(for j in $JAILS; do pgrep -P "$j"; done)
NI=$(echo "$INITS" | grep -c .)
J_RSS=$(rollup Rss $JAILS) J_PSS=$(rollup Pss $JAILS)
I_RSS=$(rollup Rss $INITS) I_PSS=$(rollup Pss $INITS)
P_RSS=$(rollup Rss "$VMM_PID")
per() { awk -v s="$1" -v n="$IDLE" 'BEGIN { printf "%.2f", s / n / 1024 }'; }
verdict() {
	if awk -v v="$1" -v t="$3" "BEGIN { exit !(v $2 t) }"; then
		echo met
	else
		echo MISSED
	fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

say ""
say "sandbox benchmark: rootfs $R (busybox), $RUNS runs per side;"
say "$IDLE idle sandboxes: $NJ jail processes, $NI lens-init processes found"
say ""
row() { printf '%-38s | %12s | %12s | %6s | %-18s | %s\n' "$@"; }
row "metric" "lensvmm" "peer" "ratio" "target" "result"
row "--------------------------------------" "------------" "------------" \
    "------" "------------------" "------"
row "run --rm /bin/true p50 ms (jail)" "$L50" "$B50" "$(ratio "$L50" "$B50")" \
    "<= 2 x bwrap" "$(verdict "$(ratio "$L50" "$B50")" "<=" 2)"
row "run --rm /bin/true p95 ms (jail)" "$L95" "$B95" "$(ratio "$L95" "$B95")" \
    "-" "info"
row "MiB per idle sandbox, jail PSS" "$(per "$J_PSS")" "" "" "-" "info"
row "MiB per idle sandbox, jail+init PSS" "$(per $((J_PSS + I_PSS)))" "" "" \
    "<= 2 MiB" "$(verdict "$(per $((J_PSS + I_PSS)))" "<=" 2)"
row "MiB per idle sandbox, jail+init RSS" "$(per $((J_RSS + I_RSS)))" "" "" \
    "-" "info"
row "lensvmm parent RSS MiB ($IDLE idle)" \
    "$(awk -v s="$P_RSS" 'BEGIN { printf "%.1f", s / 1024 }')" "" "" "-" "info"
say ""
say "peer = bwrap $(bwrap --version 2>/dev/null | awk '{ print $2 }') with"
say "--unshare-user/pid/ipc/uts/net/cgroup, --ro-bind R /, --proc, --dev,"
say "--tmpfs /tmp on the same rootfs.  Times are wall clock from the shell"
say "(fork+exec of lensctl or bwrap included).  Memory excludes the"
say "workload (sleep); PSS shares pages fairly between the sandboxes."
exit 0
