#!/bin/sh
# make bench: lensauditd's durable append throughput and acknowledgement
# latency beside the raw limit of this disk (regress/tools/rawappend: a
# plain loop appending records of the same size with one write and one
# fdatasync per batch, at the batch size lensauditd actually used), and
# the speed of `lensctl audit verify`.  Prints one table; then
# regress/bench/sandbox.sh and regress/bench/net.sh (lensnetd beside
# direct, squid, tinyproxy, dnsmasq and mitmproxy) print theirs.
#
# Run as root with $OBJ set (make bench does both).  No timed assertion:
# a missed target is printed as "missed" and the exit status stays 0; a
# step that fails (a crash, a timeout, a log that does not verify) makes
# the exit status 1.
#
# Environment (all optional):
#   TMPDIR       where the scratch directory goes (default /var/tmp: a
#                real disk; /tmp may be tmpfs, where fdatasync is free)
#   BENCH_N      events per lensauditd run (default 200000)
#   BENCH_VERIFY records in the verification log (default 2000000)
#   BENCH_SIZE   target record (log line) size in bytes (default 300)
#   AUDITD, LENSCTL  binaries to use instead of $OBJ's

set -u

: "${OBJ:=$(cd "$(dirname "$0")/../.." && pwd)/obj}"
HERE=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=$OBJ/regress/tools
N=${BENCH_N:-200000}
NVERIFY=${BENCH_VERIFY:-2000000}
SIZE=${BENCH_SIZE:-300}
W_TPUT=20000		# large window: throughput
W_LAT=256		# moderate window: latency under a steady load
STREAM_TIMEOUT=90	# seconds, per auditstream run

say() { printf '%s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (lensauditd drops to _lensaudit)"

# ---- scratch directory on a real disk, and the daemon helpers
T=$(mktemp -d "${TMPDIR:-/var/tmp}/lens-bench.XXXXXX") ||
    die "cannot create a scratch directory"
export T
AUDITD_PID=
cleanup() {
	if [ -n "${AUDITD_PID:-}" ]; then
		kill -TERM "$AUDITD_PID" 2>/dev/null
		wait "$AUDITD_PID" 2>/dev/null
		AUDITD_PID=
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

. "$HERE/daemon.sh"
# auditd_start counts "ready" lines in this file before it starts
: >"$T/auditd.log"
MKAUDITLOG=$TOOLS/mkauditlog
for b in "$AUDITD" "$LENSCTL" "$TOOLS/auditstream" "$TOOLS/rawappend"; do
	[ -x "$b" ] || die "$b is not built (run make bench)"
done

FSTYPE=$(stat -f -c %T "$T")		# statfs: ext4 says ext2/ext3
FSMOUNT=$(df -PT "$T" | awk 'NR == 2 { print $2 ", " $1 " on " $7 }')
case $FSTYPE in
tmpfs|ramfs)
	say "warning: $T is on $FSTYPE: fdatasync costs nothing there and"
	say "         the raw-disk peer is meaningless; set TMPDIR to a disk"
	;;
esac

# integer and float helpers
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
round() { awk -v x="$1" 'BEGIN { printf "%d", x + 0.5 }'; }
fmt2() { awk "BEGIN { printf \"%.2f\", $1 }"; }

# the last stop line of lensauditd's log: "RECORDS COMMITS PER"
stop_line() {
	sed -n 's/.*stopped at seq [0-9]* ([^)]*): \([0-9]*\) records in \([0-9]*\) commits, \([0-9.]*\) records per fdatasync.*/\1 \2 \3/p' \
	    "$T/auditd.log" | tail -n 1
}

daemon_log_tail() {
	echo "bench: the end of lensauditd's log:" >&2
	tail -n 20 "$T/auditd.log" | sed 's/^/  /' >&2
}

# CPU seconds (user + system) a process has used so far
pid_cpu() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
	    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($12 + $13) / hz }'
}

# CPU seconds of this shell's finished children, from times(1), which
# must run in this shell, not in a $(...) subshell
children_cpu() {
	times >"$T/times"
	CHILDREN_CPU=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) {
	    split($i, a, "m"); t += a[1] * 60 + a[2] } printf "%.3f", t }' \
	    "$T/times")
}

# stream SOURCE WINDOW PAD: one lensauditd run from start to SIGTERM;
# sets S_RATE S_P50 S_P99, B_RECS B_COMMITS B_PER, and the CPU seconds
# used during the run by the client, the listener and the writer in
# CPU_C CPU_L CPU_W
stream() {
	auditd_start -n 10000 || die "lensauditd did not start"
	_lpid=$(auditd_child listener)
	_wpid=$(auditd_child writer)
	[ -n "$_lpid" ] && [ -n "$_wpid" ] ||
	    die "cannot find lensauditd's listener and writer"
	children_cpu
	_l0=$(pid_cpu "$_lpid") _w0=$(pid_cpu "$_wpid") _c0=$CHILDREN_CPU
	if ! "$TOOLS/auditstream" -s "$T/auditd.sock" -S "$1" -n "$N" \
	    -w "$2" -p "$3" -t "$STREAM_TIMEOUT" >"$T/stream.out" \
	    2>"$T/stream.err"; then
		sed 's/^/  /' "$T/stream.err" >&2
		daemon_log_tail
		die "auditstream -S $1 -w $2 failed"
	fi
	children_cpu
	CPU_C=$(calc "$CHILDREN_CPU - $_c0")
	CPU_L=$(calc "$(pid_cpu "$_lpid") - $_l0")
	CPU_W=$(calc "$(pid_cpu "$_wpid") - $_w0")
	if grep -q 'killed by\|reconnecting' "$T/auditd.log" "$T/stream.err"
	then
		sed 's/^/  /' "$T/stream.err" >&2
		daemon_log_tail
		die "lensauditd lost a process or a connection during the run"
	fi
	auditd_stop || { daemon_log_tail; die "lensauditd did not stop cleanly"; }
	set -- $(cat "$T/stream.out")
	# events N seconds S rate R p50_us X p99_us Y
	[ "${1:-}" = events ] && [ "${5:-}" = rate ] ||
	    die "unexpected auditstream output: $*"
	S_RATE=$6 S_P50=$8 S_P99=${10}
	set -- $(stop_line)
	[ $# -eq 3 ] || { daemon_log_tail; die "no stop line in lensauditd's log"; }
	B_RECS=$1 B_COMMITS=$2 B_PER=$3
}

# raw BATCH [RECORDS]: rawappend at RECSIZE, three times (the disk is
# noisy); sets R_RATE R_P50 R_P99 from the run of median rate
raw() {
	: >"$T/raw.all"
	for _i in 1 2 3; do
		"$TOOLS/rawappend" -d "$T" -s "$RECSIZE" -b "$1" \
		    -n "${2:-$N}" >>"$T/raw.all" 2>"$T/raw.err" ||
		    { cat "$T/raw.err" >&2; die "rawappend -b $1 failed"; }
	done
	set -- $(sort -n -k 6 "$T/raw.all" | sed -n 2p)
	# records N seconds S rate R batches B p50_us X p99_us Y
	[ "${1:-}" = records ] && [ "${5:-}" = rate ] ||
	    die "unexpected rawappend output: $*"
	R_RATE=$6 R_P50=${10} R_P99=${12}
}

say "lensauditd benchmark: $(uname -srm), $(nproc) CPUs"
say "scratch: $T ($FSMOUNT; statfs type $FSTYPE)"
say "load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)" \
    "(other work on this machine skews every figure)"

# ---- record size: a probe run with no padding gives the fixed part
# of a line; pad the details so that event lines are about $SIZE bytes
auditd_start -n 10000 || die "lensauditd did not start"
"$TOOLS/auditstream" -s "$T/auditd.sock" -S probe -n 100 -w 100 -p 0 \
    -t 30 >/dev/null 2>"$T/stream.err" ||
    { sed 's/^/  /' "$T/stream.err" >&2; daemon_log_tail;
    die "probe run failed"; }
auditd_stop || { daemon_log_tail; die "lensauditd did not stop cleanly"; }
BASE=$(cat "$T"/audit/lens-audit.*.log | awk '/"source":"probe"/ {
    s += length($0) + 1; n++ } END { if (n) printf "%d", s / n }')
[ -n "$BASE" ] || die "no probe events in the log"
# the probe's "n" and "id" have about 2 digits, the runs' about 5.5
PAD=$((SIZE - BASE - 9))
[ "$PAD" -ge 0 ] || PAD=0

# ---- lensauditd: throughput run, then (after a restart, so recovery
# of the log is part of the job) the latency run
stream bench $W_TPUT $PAD
T_RATE=$S_RATE T_P50=$S_P50 T_P99=$S_P99
T_RECS=$B_RECS T_COMMITS=$B_COMMITS T_PER=$B_PER
T_CPU_C=$CPU_C T_CPU_L=$CPU_L T_CPU_W=$CPU_W
stream benchlat $W_LAT $PAD
L_RATE=$S_RATE L_P50=$S_P50 L_P99=$S_P99
L_RECS=$B_RECS L_COMMITS=$B_COMMITS L_PER=$B_PER
L_CPU_C=$CPU_C L_CPU_L=$CPU_L L_CPU_W=$CPU_W

# what lensauditd wrote must verify
"$LENSCTL" audit verify --quiet --dir "$T/audit" --pubkey "$T/audit.pub" \
    --witness "$T/audit.witness" 2>"$T/verify.err" ||
    { cat "$T/verify.err" >&2; die "the log lensauditd wrote does not verify"; }
RECSIZE=$(cat "$T"/audit/lens-audit.*.log | awk '/"source":"bench(lat)?"/ {
    s += length($0) + 1; n++ } END { printf "%d", s / n + 0.5 }')
ALLSIZE=$(cat "$T"/audit/lens-audit.*.log | awk '{ s += length($0) + 1 }
    END { printf "%.1f", s / NR }')
LOGBYTES=$(cat "$T"/audit/lens-audit.*.log | wc -c)

# ---- the raw disk loop at the batch sizes lensauditd used
T_BATCH=$(round "$T_PER")
L_BATCH=$(round "$L_PER")
[ "$T_BATCH" -ge 1 ] || T_BATCH=1
[ "$L_BATCH" -ge 1 ] || L_BATCH=1
raw "$T_BATCH"
RT_RATE=$R_RATE RT_P50=$R_P50 RT_P99=$R_P99
raw "$L_BATCH"
RL_RATE=$R_RATE RL_P50=$R_P50 RL_P99=$R_P99
raw 1 2000
R1_RATE=$R_RATE R1_P50=$R_P50

# ---- verification speed on a large signed log
rm -rf "$T/audit" "$T/audit.pub" "$T/audit.witness"
VDIR=$T/verify
if [ -x "$MKAUDITLOG" ]; then
	# mkauditlog lines are (fixed part) + details; aim at $SIZE bytes
	"$MKAUDITLOG" -d "$VDIR" -k -n 1000 -c 100 -s 2 >/dev/null 2>&1 ||
	    die "mkauditlog failed"
	VBASE=$(awk '{ s += length($0) + 1 } END { printf "%d", s / NR - 2 }' \
	    "$VDIR"/lens-audit.*.log)
	VDETAILS=$((SIZE - VBASE))
	[ "$VDETAILS" -ge 16 ] || VDETAILS=16
	rm -rf "$VDIR"
	"$MKAUDITLOG" -d "$VDIR" -k -n "$NVERIFY" -c 10000 \
	    -s "$VDETAILS" >/dev/null 2>"$T/mk.err" ||
	    { cat "$T/mk.err" >&2; die "mkauditlog -n $NVERIFY failed"; }
	VSRC="mkauditlog -n $NVERIFY -c 10000 -s $VDETAILS"
	# the generator's key is the trusted one here
	cp "$VDIR/audit.pub" "$VDIR.pub"
else
	# no generator: let lensauditd write it
	auditd_start -n 10000 || die "lensauditd did not start"
	"$TOOLS/auditstream" -s "$T/auditd.sock" -S verify -n "$NVERIFY" \
	    -w $W_TPUT -p "$PAD" -t 300 >/dev/null 2>"$T/stream.err" ||
	    { daemon_log_tail; die "auditstream for the verification log"; }
	auditd_stop || die "lensauditd did not stop cleanly"
	rm -rf "$VDIR"
	mv "$T/audit" "$VDIR"
	cp "$T/audit.pub" "$VDIR.pub"
	VSRC="lensauditd, $NVERIFY events"
fi
VLINE=$(awk '{ s += length($0) + 1 } END { printf "%.1f", s / NR }' \
    "$VDIR"/lens-audit.*.log)
VBYTES=$(cat "$VDIR"/lens-audit.*.log | wc -c)
# warm the page cache, so both sides read from memory
cat "$VDIR"/lens-audit.*.log >/dev/null
t0=$(date +%s.%N)
"$LENSCTL" -v audit verify --dir "$VDIR" --pubkey "$VDIR.pub" \
    >"$T/verify.out" 2>"$T/verify.err" ||
    { cat "$T/verify.out" "$T/verify.err" >&2; die "verify of the large log failed"; }
t1=$(date +%s.%N)
VRECS=$(sed -n 's/^audit chain intact: \([0-9]*\) record.*/\1/p' "$T/verify.out")
[ -n "$VRECS" ] || die "unexpected lensctl output: $(cat "$T/verify.out")"
VSECS=$(fmt2 "$t1 - $t0")
V_RATE=$(calc "$VRECS / ($t1 - $t0)")
# peer: one BLAKE2b-256 pass over the same bytes (the least any
# verifier of this chain must do), single-threaded coreutils
t0=$(date +%s.%N)
b2sum -l 256 "$VDIR"/lens-audit.*.log >/dev/null || die "b2sum failed"
t1=$(date +%s.%N)
VP_RATE=$(calc "$VRECS / ($t1 - $t0)")
rm -rf "$VDIR"

# ---- the table
verdict() { # value op target
	if awk -v v="$1" -v t="$3" "BEGIN { exit !(v $2 t) }"; then
		echo met
	else
		echo MISSED
	fi
}
fmt() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

say ""
say "events per run $N; event line $RECSIZE bytes (all lines incl."
say "checkpoints: $ALLSIZE); log written $LOGBYTES bytes"
say "throughput run: window $W_TPUT, $T_RECS records in $T_COMMITS commits" \
    "= $T_PER records per fdatasync -> raw loop batch $T_BATCH"
say "latency run:    window $W_LAT, $L_RECS records in $L_COMMITS commits" \
    "= $L_PER records per fdatasync -> raw loop batch $L_BATCH"
usev() { awk -v c="$1" -v n="$N" 'BEGIN { printf "%.2f", c / n * 1e6 }'; }
say "CPU per event, throughput run: client $(usev "$T_CPU_C") us," \
    "listener $(usev "$T_CPU_L") us, writer $(usev "$T_CPU_W") us" \
    "(busy $(fmt2 "($T_CPU_C + $T_CPU_L + $T_CPU_W) * $T_RATE / $N") of" \
    "$(nproc) CPUs)"
say "CPU per event, latency run:    client $(usev "$L_CPU_C") us," \
    "listener $(usev "$L_CPU_L") us, writer $(usev "$L_CPU_W") us" \
    "(busy $(fmt2 "($L_CPU_C + $L_CPU_L + $L_CPU_W) * $L_RATE / $N") of" \
    "$(nproc) CPUs)"
say "raw loop, one fdatasync per record: $(fmt "$R1_RATE") records/s," \
    "p50 ${R1_P50} us per fdatasync"
say "verification log: $VSRC: $VRECS records, $VLINE bytes per line," \
    "$VBYTES bytes, verified in $VSECS s (page cache warm)"
say ""

row() {
	printf '%-38s | %12s | %12s | %6s | %-18s | %s\n' "$@"
}
row "metric" "lensauditd" "peer" "ratio" "target" "result"
row "--------------------------------------" "------------" "------------" \
    "------" "------------------" "------"
row "durable appends/s (window $W_TPUT)" "$(fmt "$T_RATE")" \
    "$(fmt "$RT_RATE")" "$(ratio "$T_RATE" "$RT_RATE")" ">= 100000/s" \
    "$(verdict "$T_RATE" ">=" 100000)"
row "  share of the raw loop (batch $T_BATCH)" "" "" \
    "$(ratio "$T_RATE" "$RT_RATE")" ">= 0.70 x peer" \
    "$(verdict "$(ratio "$T_RATE" "$RT_RATE")" ">=" 0.70)"
row "ack latency p50 us (window $W_TPUT)" "$T_P50" "$RT_P50" \
    "$(ratio "$T_P50" "$RT_P50")" "-" "info"
row "ack latency p99 us (window $W_TPUT)" "$T_P99" "$RT_P99" \
    "$(ratio "$T_P99" "$RT_P99")" "-" "info"
row "durable appends/s (window $W_LAT)" "$(fmt "$L_RATE")" \
    "$(fmt "$RL_RATE")" "$(ratio "$L_RATE" "$RL_RATE")" "-" "info"
row "ack latency p50 us (window $W_LAT)" "$L_P50" "$RL_P50" \
    "$(ratio "$L_P50" "$RL_P50")" "-" "info"
row "ack latency p99 us (window $W_LAT)" "$L_P99" "$RL_P99" \
    "$(ratio "$L_P99" "$RL_P99")" "-" "info"
row "verification records/s" "$(fmt "$V_RATE")" "$(fmt "$VP_RATE")" \
    "$(ratio "$V_RATE" "$VP_RATE")" ">= 1000000/s" \
    "$(verdict "$V_RATE" ">=" 1000000)"
say ""
say "ratio = lensauditd / peer.  Peers: appends = regress/tools/rawappend"
say "at the same batch and record size, median of 3 runs (its latency is"
say "one write+fdatasync of a batch); verification = b2sum -l 256 over the"
say "same log bytes (one thread).  lensauditd latency = from auditc_event()"
say "in the client to its ACK; with window $W_TPUT it is mostly queueing."

# ---- sandboxes: its own table (skipped while lensvmm is not built)
OBJ=$OBJ sh "$HERE/bench/sandbox.sh" || exit 1
# ---- network: its own table
OBJ=$OBJ sh "$HERE/bench/net.sh" || exit 1
# ---- microVM exits with the test guest: its own table
OBJ=$OBJ sh "$HERE/bench/vm.sh" || exit 1
exit 0
