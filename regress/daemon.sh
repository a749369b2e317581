# Helpers to run Lens daemons in the foreground on private paths.
# Source after regress/lib.sh; needs $T (the test's temp directory).

: "${OBJ:=$(cd "$(dirname "$0")/.." && pwd)/obj}"
AUDITD=${AUDITD:-$OBJ/lensauditd}
LENSCTL=${LENSCTL:-$OBJ/lensctl}
TOOLS=$OBJ/regress/tools

# wait_until SECONDS CMD...: poll every 50 ms until CMD succeeds
wait_until() {
	_t=$1; shift
	_n=$((_t * 20))
	while [ "$_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
		_n=$((_n - 1))
	done
	return 1
}

_auditd_ready_count() {
	[ -f "$T/auditd.log" ] || { echo 0; return; }
	grep -c 'ready at seq' "$T/auditd.log"
}

# auditd_start [lensauditd flags]: start on $T/audit and $T/auditd.sock,
# log to $T/auditd.log, wait until the writer is ready
auditd_start() {
	_before=$(_auditd_ready_count)
	"$AUDITD" -d -D "$T/audit" -s "$T/auditd.sock" "$@" \
	    >>"$T/auditd.log" 2>&1 &
	AUDITD_PID=$!
	if ! wait_until 20 sh -c \
	    "[ \$(grep -c 'ready at seq' '$T/auditd.log') -gt $_before ]"; then
		echo "# lensauditd did not become ready; its log:" >&2
		sed 's/^/#   /' "$T/auditd.log" >&2
		return 1
	fi
}

# the pid of a child role of the running lensauditd
auditd_child() {
	pgrep -P "$AUDITD_PID" -f "lensauditd: $1" | head -n 1
}

auditd_stop() {
	[ -n "${AUDITD_PID:-}" ] || return 0
	kill -TERM "$AUDITD_PID" 2>/dev/null
	wait "$AUDITD_PID" 2>/dev/null
	_rc=$?
	AUDITD_PID=
	return $_rc
}

# kill -9 the parent only: its children must die with it (PDEATHSIG)
auditd_kill9() {
	kill -KILL "$AUDITD_PID" 2>/dev/null
	wait "$AUDITD_PID" 2>/dev/null
	AUDITD_PID=
}
