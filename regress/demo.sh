#!/bin/sh
# make demo: Lens's main job as far as it goes today, end to end.
# Starts lensauditd on a scratch directory, feeds it events from a client
# that talks the real protocol, stops it (final signed checkpoint), shows
# and verifies the log, then edits a copy and shows verification fail.
set -eu
OBJ=${OBJ:-$(cd "$(dirname "$0")/.." && pwd)/obj}
T=$(mktemp -d "${TMPDIR:-/tmp}/lens-demo.XXXXXX")
chmod 0755 "$T"
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

say() { printf '\n== %s\n' "$*"; }

say "starting lensauditd (log directory $T/audit, socket $T/sock)"
"$OBJ/lensauditd" -d -D "$T/audit" -s "$T/sock" -n 500 2>"$T/lensauditd.log" &
PID=$!
i=0
until grep -q 'ready at seq' "$T/lensauditd.log"; do
	i=$((i + 1))
	[ $i -lt 200 ] || { cat "$T/lensauditd.log"; exit 1; }
	sleep 0.05
done
ps -o pid,user,args --ppid "$PID" --pid "$PID"

say "sending 2000 events as source 'demo' for sandbox demo-1"
"$OBJ/regress/tools/auditstream" -s "$T/sock" -S demo -b demo-1 \
    -T sandbox.exec -n 2000 -w 100 -t 60

say "stopping lensauditd (SIGTERM: final checkpoint)"
kill -TERM "$PID"
wait "$PID" || true
PID=
cat "$T/lensauditd.log"

say "lensctl audit show --dir $T/audit (first records and the last)"
"$OBJ/lensctl" audit show --dir "$T/audit" | sed -n '1,3p;$p'

say "lensctl audit verify --dir $T/audit"
"$OBJ/lensctl" audit verify --dir "$T/audit"

say "editing one record of a copy: verification must fail and name it"
mkdir "$T/copy"
cp "$T/audit/"*.log "$T/audit/audit.pub" "$T/audit/lens-audit.head" "$T/copy/"
sed -i '100s/"n":99,/"n":98,/' "$T/copy/lens-audit.000001.log"
if "$OBJ/lensctl" audit verify --dir "$T/copy"; then
	echo "demo: the edited log verified: this is a bug" >&2
	exit 1
fi
say "demo done"
