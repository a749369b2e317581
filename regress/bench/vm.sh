#!/bin/sh
# make bench, microVM part (called by regress/bench/run.sh): round trips
# from the test guest to the VMM's device models under real KVM: N MMIO
# reads of a virtio-mmio register and N port reads of the uart, each an
# exit to the vCPU thread and back.  The figure is (time of a run with N
# - time of a run with 0) / exits, so VM set-up is not counted.  Where
# /dev/kvm is missing, KVM comes from a nested QEMU TCG guest
# (regress/vmkvm.sh) and every instruction is emulated: the figure then
# says so and is not comparable with a machine that has vmx/svm.
#
# Environment (all optional):
#   BENCH_VM_N   round trips of each kind (default 200000 direct,
#                20000 nested)
set -u

: "${OBJ:=$(cd "$(dirname "$0")/../.." && pwd)/obj}"
HERE=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/lens-bench-vm.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

say() { printf '%s\n' "$*"; }
. "$HERE/vmkvm.sh"

VMRUN=$OBJ/regress/tools/vmrun
if [ ! -x "$VMRUN" ] || [ ! -f "$OBJ/testguest.bin" ]; then
	say ""
	say "microVM benchmark: skipped (vmrun or testguest.bin not built)"
	exit 0
fi
mode=$(VM_NESTED=${VM_NESTED:-1} kvm_mode)
case $mode in
direct) N=${BENCH_VM_N:-200000} ;;
nested) N=${BENCH_VM_N:-20000} ;;
*)
	say ""
	say "microVM benchmark: skipped (${mode#none: })"
	exit 0
	;;
esac
mkdir "$T/w"
cp "$OBJ/testguest.bin" "$T/w/"
cat >"$T/run.sh" <<EOI
for n in 0 $N 0 $N; do
	$VMRUN -m 32 -T testguest.bin -t "bench n=\$n" >out 2>err
	echo "RUN \$n \$? \$(sed -n 's/^vmrun: \([0-9.]*\) s, \([0-9]*\) mmio exits, \([0-9]*\) pio exits$/\1 \2 \3/p' err)"
done
EOI
KVM_BINS=$VMRUN
kvm_run "$T/run.sh" "$T/w" "$T/out" || { say "bench: vm: run failed"; cat "$T/out"; exit 1; }
# best of two for each N
awk -v n="$N" -v mode="$mode" '
$1 == "RUN" && $3 != 0 { bad = 1 }
$1 == "RUN" && $2 == 0 && (t0 == "" || $4 < t0) { t0 = $4 }
$1 == "RUN" && $2 == n && (t1 == "" || $4 < t1) { t1 = $4; ex = $5 + $6 }
END {
	if (bad || t0 == "" || t1 == "") { print "bench: vm: a run failed"; exit 1 }
	d = t1 - t0
	if (d <= 0) d = 0.000001
	printf "\nmicroVM exits (%s KVM, test guest, %d MMIO + %d port reads)\n", mode, n, n
	printf "  %-34s %12s\n", "what", "value"
	printf "  %-34s %12.0f\n", "round trips per second", (2 * n) / d
	printf "  %-34s %12.2f\n", "microseconds per round trip", d * 1e6 / (2 * n)
	printf "  %-34s %12d\n", "exits counted by the VMM", ex
}' "$T/out"
