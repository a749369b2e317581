#!/bin/sh
# Short libFuzzer runs of every target in regress/fuzz/, each starting
# from its seed corpus (new inputs go to a scratch directory, the
# committed corpus is not touched).  FUZZ_SECONDS sets the time each
# (10 s in `make check`, 2 s in its SANITIZE half: the targets are one
# ASan+UBSan build in $FUZZOBJ/fuzz, shared by both halves);
# `make fuzz-long` runs them longer.
. "$(dirname "$0")/lib.sh"

: "${FUZZ_SECONDS:=10}"
src=$(cd "$(dirname "$0")" && pwd)/fuzz
targets=$(cd "$src" && ls *.c | sed 's/\.c$//')
tap_plan $(echo $targets | wc -w)
tmpdir_setup

for t in $targets; do
	bin=${FUZZOBJ:-$OBJ}/fuzz/$t
	mkdir -p "$T/$t"
	if [ ! -x "$bin" ]; then
		ok 1 "$t: $bin not built"
		continue
	fi
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 "$T/$t" "$src/corpus/$t" >"$T/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$t.log")
	ok $rc "$t: ${runs:-0} runs in ${FUZZ_SECONDS}s without a finding"
	[ $rc -eq 0 ] || tail -n 30 "$T/$t.log" | sed 's/^/#   /'
done
tap_done
