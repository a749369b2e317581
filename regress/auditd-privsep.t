#!/bin/sh
# lensauditd's privilege separation, read from /proc: every child runs as
# _lensaudit with no capability, NO_NEW_PRIVS and a seccomp filter, in a
# chroot; the parent keeps only CAP_KILL.  A forbidden syscall kills the
# process, and the parent names the syscall (regress build hook).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

tap_plan 24
tmpdir_setup
at_exit 'auditd_stop'

field() {	# field PID NAME
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

auditd_start
lensaudit_uid=$(id -u _lensaudit)

for role in listener writer; do
	pid=$(auditd_child "$role")
	[ -n "$pid" ]
	ok $? "$role is running"
	uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pid/status")
	[ "$uids" = "$lensaudit_uid $lensaudit_uid $lensaudit_uid $lensaudit_uid" ]
	ok $? "$role: every uid is _lensaudit ($uids)"
	[ "$(field "$pid" CapEff)" = 0000000000000000 ] &&
	    [ "$(field "$pid" CapPrm)" = 0000000000000000 ] &&
	    [ "$(field "$pid" CapBnd)" = 0000000000000000 ]
	ok $? "$role: no capability in effective, permitted or bounding set"
	[ "$(field "$pid" NoNewPrivs)" = 1 ]
	ok $? "$role: NoNewPrivs 1"
	[ "$(field "$pid" Seccomp)" = 2 ]
	ok $? "$role: Seccomp 2 (filter)"
	groups=$(field "$pid" Groups)
	[ "$groups" = "$(id -g _lensaudit)" ]
	ok $? "$role: supplementary groups only _lensaudit ($groups)"
done

root=$(readlink "/proc/$(auditd_child writer)/root")
[ "$root" = "$T/audit" ]
ok $? "writer is chrooted to the log directory ($root)"
root=$(readlink "/proc/$(auditd_child listener)/root")
[ "$root" = /var/lib/lens/empty ]
ok $? "listener is chrooted to the empty directory ($root)"
[ -z "$(ls -A /var/lib/lens/empty)" ]
ok $? "the empty directory is empty"

# CAP_KILL is bit 5
[ "$(field "$AUDITD_PID" CapEff)" = 0000000000000020 ] &&
    [ "$(field "$AUDITD_PID" CapBnd)" = 0000000000000020 ]
ok $? "parent keeps only CAP_KILL"
[ "$(field "$AUDITD_PID" NoNewPrivs)" = 1 ] &&
    [ "$(field "$AUDITD_PID" Seccomp)" = 2 ]
ok $? "parent: NoNewPrivs 1, Seccomp 2"
auditd_stop
ok $? "clean stop exits 0"

# the regress build calls ptrace(2) in the named role after seccomp
for role in writer listener parent; do
	: >"$T/auditd.log"
	LENS_REGRESS_SIGSYS=$role "$OBJ/regress/lensauditd" -d -D "$T/audit" \
	    -s "$T/auditd.sock" -P "$T/audit.pub" -W "$T/audit.witness" \
	    >>"$T/auditd.log" 2>&1
	rc=$?
	case $role in
	parent)
		# nobody is left to name it: the shell sees the signal
		[ "$rc" -eq $((128 + 31)) ]
		ok $? "parent: killed by SIGSYS (exit $rc)"
		# its children die with it (PDEATHSIG): the writer's lock frees
		wait_until 5 flock -n "$T/audit/lens-audit.lock" true
		ok $? "parent: the writer died with it and released its lock"
		;;
	*)
		grep -q "$role (pid [0-9]*) killed by SIGSYS: forbidden syscall ptrace (101)" \
		    "$T/auditd.log"
		ok $? "$role: the parent logs SIGSYS naming ptrace"
		[ "$rc" -eq 1 ]
		ok $? "$role: lensauditd exits 1 when a child dies (exit $rc)"
		;;
	esac
done
log_if_failed "lensauditd log" "$T/auditd.log"
tap_done
