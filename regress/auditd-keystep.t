#!/bin/sh
# Forward-secure key steps survive a crash at every point.  The writer
# of the -DREGRESS build dies (_exit, as a crash would) at one of the
# four points of its first key step (LENS_REGRESS_KEYCRASH):
#   1 k_{i+1} stored (audit.key.next), the checkpoint naming it not yet
#   2 the checkpoint naming k_{i+1} durable, k_i still on disk
#   3 k_i overwritten with zeros, not yet replaced
#   4 audit.key.next renamed onto audit.key
# After each, a restart finds exactly one usable key (the one the log's
# last checkpoint names), erases the other, carries on, and every
# acknowledged event is in a log that verifies.
. "$(dirname "$0")/lib.sh"
# the -DREGRESS build: it has the crash hook
AUDITD=${OBJ:-obj}/regress/lensauditd
. "$(dirname "$0")/daemon.sh"

auditd_require
tap_plan 20
tmpdir_setup
at_exit 'auditd_stop; [ -n "${SP:-}" ] && kill "$SP" 2>/dev/null'

A=$T/audit
for step in 1 2 3 4; do
	auditd_stop
	rm -rf "$A" "$T/audit.pub" "$T/audit.witness" "$T/auditd.log"
	export LENS_REGRESS_KEYCRASH=$step
	auditd_start -n 5 || { echo "Bail out! lensauditd does not start"; exit 1; }
	unset LENS_REGRESS_KEYCRASH
	"$TOOLS/auditstream" -s "$T/auditd.sock" -S durable -n 20 -w 1 \
	    -t 60 >"$T/stream.out" 2>"$T/stream.err" &
	SP=$!
	wait "$AUDITD_PID"
	rc=$?
	AUDITD_PID=
	case $step in
	1|2)	st=$( [ -s "$A/audit.key" ] && [ -s "$A/audit.key.next" ] &&
		    grep -q '^ed25519-secret' "$A/audit.key" && echo both) ;;
	3)	st=$( [ -s "$A/audit.key.next" ] &&
		    ! grep -q '^ed25519-secret' "$A/audit.key" && echo zeroed) ;;
	4)	st=$( [ ! -e "$A/audit.key.next" ] && echo renamed) ;;
	esac
	grep -q "regress: crash at key step $step" "$T/auditd.log" &&
	    [ "$rc" -eq 1 ] && [ -n "$st" ]
	ok $? "step $step: the writer crashed there, lensauditd exited 1 ($st)"
	auditd_start -n 5 || { echo "Bail out! no restart after step $step"; exit 1; }
	wait "$SP"
	ok $? "step $step: after the restart every event is acknowledged"
	SP=
	case $step in
	1)	want="key step at seq [0-9]* not reached: audit.key.next (key [0-9a-f]*) erased" ;;
	2|3)	want="key step at seq [0-9]* finished: key [0-9a-z]* erased, key [0-9a-f]* current" ;;
	4)	want="ready at seq" ;;
	esac
	grep -q "$want" "$T/auditd.log"
	ok $? "step $step: recovery says what it did ($(grep -o "$want" "$T/auditd.log" | head -n 1))"
	auditd_stop
	[ "$(ls "$A" | grep -c '^audit\.key')" -eq 1 ] &&
	    grep -q '^ed25519-secret' "$A/audit.key"
	ok $? "step $step: exactly one secret key left ($(ls "$A" | grep '^audit\.key' | tr '\n' ' '))"
	"$LENSCTL" audit show --dir "$A" --type test.event --json |
	    sed -n 's/.*"details":{"n":\([0-9]*\),.*/\1/p' | sort -n | uniq -c |
	    awk '$1 != 1 { bad++ } END { print NR, bad + 0 }' >"$T/count"
	auditd_verify --quiet >"$T/verify.out" 2>&1 &&
	    [ "$(cat "$T/count")" = "20 0" ]
	ok $? "step $step: 20 events, each once, and the chain verifies ($(cat "$T/count"); $(head -n 1 "$T/verify.out"))"
done
log_if_failed "lensauditd log" "$T/auditd.log" 40
tap_done
