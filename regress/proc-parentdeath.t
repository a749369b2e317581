#!/bin/sh
# SIGKILL of a daemon's parent takes every child with it within a
# second (the parent-death signal, armed after the uid change that
# clears it, doc/DESIGN.md, Processes): lensauditd's listener and writer,
# lensvmm's control and the jail process of a running sandbox (and its
# lens-init), lensnetd's dns and proxy.  Each child is stopped
# (SIGSTOP) first, as a busy or wedged one would be: the end of its
# channel to the parent cannot wake it, only the signal kills it.
# /proc is polled, bounded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
netd_require

tap_plan 13
tmpdir_setup
chmod 0755 "$T"
at_exit 'vmm_stop; netd_stop; auditd_stop; credd_stop'

# gone_within_1s PID...: every PID has left /proc within a second
# (zombies count as gone: they run nothing); 50 polls of 20 ms
gone_within_1s() {
	_n=50
	while [ "$_n" -gt 0 ]; do
		_left=
		for _p in "$@"; do
			_s=$(awk '$1 == "State:" { print $2 }' \
			    "/proc/$_p/status" 2>/dev/null)
			[ -n "$_s" ] && [ "$_s" != Z ] && _left="$_left $_p"
		done
		[ -z "$_left" ] && return 0
		sleep 0.02
		_n=$((_n - 1))
	done
	echo "# still there after 1 s:$_left" >&2
	for _p in $_left; do
		echo "#   $_p $(tr '\0' ' ' <"/proc/$_p/cmdline" 2>/dev/null)" >&2
	done
	return 1
}

kids() {	# kids PID PATTERN: once a child has taken that title (bounded)
	wait_until 10 pgrep -P "$1" -f "$2"
	pgrep -P "$1" -f "$2" | head -n 1
}

# --- lensauditd
auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
l=$(kids "$AUDITD_PID" 'lensauditd: listener')
w=$(kids "$AUDITD_PID" 'lensauditd: writer')
[ -n "$l" ] && [ -n "$w" ]
ok $? "lensauditd's listener ($l) and writer ($w) run"
kill -STOP $l $w
auditd_kill9
gone_within_1s $l $w
ok $? "SIGKILL of lensauditd's parent: listener and writer gone within 1 s"

# --- lensvmm, with a sandbox running
rootfs_setup || { echo "Bail out! cannot build the test rootfs"; exit 1; }
vmm_start || { echo "Bail out! lensvmm did not start"; exit 1; }
c=$(kids "$VMM_PID" 'lensvmm: control')
[ -n "$c" ]
ok $? "lensvmm's control runs ($c)"
lctl run -d --name pd-1 --rootfs "$ROOTFS" --backend jail -- sleep 600 >/dev/null
ok $? "a sandbox runs"
j=$(kids "$VMM_PID" 'lensvmm: jail pd-1')
i=$(pgrep -P "$j" | head -n 1)
[ -n "$j" ] && [ -n "$i" ]
ok $? "its jail process ($j) and lens-init ($i) run"
kill -STOP $c $j
vmm_kill9
gone_within_1s $c
ok $? "SIGKILL of lensvmm's parent: control gone within 1 s"
gone_within_1s $j $i
ok $? "... the jail process and lens-init too"
# what the killed lensvmm left, cleaned by a new one
vmm_start && lctl rm -f pd-1 >/dev/null 2>&1
vmm_stop
ok $? "a restarted lensvmm removes the sandbox and stops cleanly"

# --- lensnetd (the lensauditd vmm_start started is still there)
[ -n "${AUDITD_PID:-}" ] || auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
netd_start 198.18.0.53
ok $? "lensnetd starts"
d=$(kids "$NETD_PID" 'lensnetd: dns')
p=$(kids "$NETD_PID" 'lensnetd: proxy')
[ -n "$d" ] && [ -n "$p" ]
ok $? "lensnetd's dns ($d) and proxy ($p) run"
kill -STOP $d $p
netd_kill9
rm -f "/run/lens/$NETD_INST.lock"
gone_within_1s $d $p
ok $? "SIGKILL of lensnetd's parent: dns and proxy gone within 1 s"

# --- lenscredd
credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
l=$(kids "$CREDD_PID" 'lenscredd: listener')
v=$(kids "$CREDD_PID" 'lenscredd: vault')
[ -n "$l" ] && [ -n "$v" ]
ok $? "lenscredd's listener ($l) and vault ($v) run"
kill -STOP $l $v
credd_kill9
gone_within_1s $l $v
ok $? "SIGKILL of lenscredd's parent: listener and vault gone within 1 s"
tap_done
