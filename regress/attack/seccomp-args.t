#!/bin/sh
# What a compromised child could still do under its seccomp filter: the
# processes that parse hostile input may not make the sockets or the
# connections they do not need.  The regress builds of lensnetd, lensvmm
# and lensauditd (LENS_REGRESS_SIGSYS=ROLE:CALL, common/seccomp_filter.c) make
# the named role try CALL once its filter is loaded; each must die of
# SIGSYS and the parent must name the call.  Before the fix each call
# below was allowed (syslog needed socket(AF_UNIX) and connect(2), the
# dns child made and connected its own upstream sockets).
#
#	proxy	socket(AF_UNIX), socket(AF_NETLINK), socket(AF_INET,
#		SOCK_DGRAM); socket(AF_INET, SOCK_STREAM) still works
#	dns	socket(AF_INET), connect(2), sendto(2) naming an address on
#		its upstream socket
#	jail	socket(AF_UNIX), connect(2) (the host's network namespace)
#	control, listener, writer	socket(AF_UNIX), connect(2)
#	lenscredd vault	socket(AF_UNIX), socket(AF_INET), connect(2): the
#		process holding the sandbox CAs' keys has no network
#		syscall at all (issue 12); the parent names the call and
#		lenscredd ends
#
# And -d: a child's stdin, stdout and stderr are /dev/null, not the
# daemon's log; its lines reach the log through the parent.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
vmm_require
RNETD=$OBJ/regress/lensnetd
RVMM=$OBJ/regress/lensvmm
RAUDITD=$OBJ/regress/lensauditd
RCREDD=$OBJ/regress/lenscredd
for b in "$RNETD" "$RVMM" "$RAUDITD" "$RCREDD"; do
	[ -x "$b" ] || { echo "1..0 # SKIP $b not built (make regress-bins)"; exit 0; }
done

tap_plan 39
tmpdir_setup
chmod 0755 "$T"

# died ROLE CALL SYSCALL LOG: the log says ROLE was killed naming SYSCALL
died() {
	grep -q "regress: $1 tries $2 under seccomp" "$4" &&
	    grep -q "$1 .*killed by SIGSYS: forbidden syscall $3 (" "$4" &&
	    ! grep -q "regress: $1 survived $2" "$4"
}

# --- lensnetd: the proxy and the dns child
netd_try() {	# netd_try ROLE:CALL: lensnetd with the hook, until it exits
	: >"$T/netd.log"
	LENS_REGRESS_SIGSYS=$1 timeout 20 "$RNETD" -d -v -n "sa$$" \
	    -s "$T/netd.sock" -a "$T/auditd.sock" -u 127.0.0.1:53 \
	    >>"$T/netd.log" 2>&1
	rc=$?
	rm -f "/run/lens/sa$$.lock"
}
for c in proxy:socket-unix:socket proxy:socket-netlink:socket \
    proxy:socket-inet-dgram:socket dns:socket-inet:socket \
    dns:connect:connect dns:sendto-addr:sendto; do
	role=${c%%:*}; rest=${c#*:}; call=${rest%%:*}; sys=${rest#*:}
	netd_try "$role:$call"
	died "$role" "$call" "$sys" "$T/netd.log"
	r=$?
	ok $r "lensnetd $role: $call kills it, the parent names $sys"
	[ $r -eq 0 ] || sed 's/^/#   /' "$T/netd.log" | tail -n 8
	[ "$rc" -eq 1 ]
	ok $? "lensnetd $role: lensnetd ends (exit $rc), every sandbox with it"
done
# the proxy still makes what it needs: a TCP socket (then ends: SIGTERM)
: >"$T/netd.log"
LENS_REGRESS_SIGSYS=proxy:socket-inet "$RNETD" -d -v -n "sa$$" \
    -s "$T/netd.sock" -a "$T/auditd.sock" -u 127.0.0.1:53 \
    >>"$T/netd.log" 2>&1 &
NPID=$!
wait_until 10 grep -q 'regress: proxy survived socket-inet' "$T/netd.log"
ok $? "lensnetd proxy: socket(AF_INET, SOCK_STREAM) is still allowed"

# -d: the children's standard descriptors are not the daemon's log
proxy=$(pgrep -P "$NPID" -f 'lensnetd: proxy' | head -n 1)
dns=$(pgrep -P "$NPID" -f 'lensnetd: dns' | head -n 1)
log=$(readlink "/proc/$NPID/fd/2")
[ "$log" = "$T/netd.log" ]
ok $? "the parent's stderr is the log ($log)"
if [ -n "${LENS_SANITIZE:-}" ] || nm -D "$RNETD" 2>/dev/null |
    grep -q __asan_init; then
	skip "sanitizer build: children keep stderr for their reports"
	skip "sanitizer build: children keep stderr for their reports"
else
	for p in "$proxy" "$dns"; do
		fds="$(readlink "/proc/$p/fd/0") $(readlink "/proc/$p/fd/1") $(readlink "/proc/$p/fd/2")"
		[ -n "$p" ] && [ "$fds" = "/dev/null /dev/null /dev/null" ]
		ok $? "child $p: stdin, stdout, stderr are /dev/null ($fds)"
	done
fi
grep -q "^proxy\[$proxy\]: regress: proxy survived socket-inet" "$T/netd.log"
ok $? "the proxy's lines reach the log through the parent, under its pid"
# nothing the children hold is a unix socket bound to a path (syslog)
n=$(for p in "$proxy" "$dns"; do ls -l "/proc/$p/fd" 2>/dev/null; done |
    grep -c 'socket:' )
[ "$n" -gt 0 ] && ! ss -xp 2>/dev/null | grep -E "pid=($proxy|$dns)," |
    grep -q '/dev/log'
ok $? "no child is connected to /dev/log"
kill -TERM "$NPID" 2>/dev/null
wait "$NPID" 2>/dev/null
rm -f "/run/lens/sa$$.lock"

# --- lensauditd: listener and writer
for c in listener:socket-unix:socket writer:socket-unix:socket \
    listener:connect:connect writer:connect:connect; do
	role=${c%%:*}; rest=${c#*:}; call=${rest%%:*}; sys=${rest#*:}
	: >"$T/auditd.log"
	# its own trusted key: not the host's /etc/lens/audit.pub
	LENS_REGRESS_SIGSYS=$role:$call timeout 20 "$RAUDITD" -d \
	    -D "$T/audit" -s "$T/auditd.sock" -P "$T/audit.pub" \
	    -W "$T/audit.witness" >>"$T/auditd.log" 2>&1
	rc=$?
	died "$role" "$call" "$sys" "$T/auditd.log"
	ok $? "lensauditd $role: $call kills it, the parent names $sys"
	[ "$rc" -eq 1 ]
	ok $? "lensauditd $role: lensauditd ends (exit $rc)"
done

# --- lenscredd: the vault
for c in socket-unix:socket socket-inet:socket connect:connect; do
	call=${c%%:*}; sys=${c#*:}
	: >"$T/credd.log"
	rm -rf "$T/cred"
	LENS_REGRESS_SIGSYS=vault:$call timeout 20 "$RCREDD" -d -D "$T/cred" \
	    -s "$T/cred.sock" >>"$T/credd.log" 2>&1
	rc=$?
	died vault "$call" "$sys" "$T/credd.log"
	ok $? "lenscredd vault: $call kills it, the parent names $sys"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
	ok $? "lenscredd ends (exit $rc)"
done

# --- lensvmm: control, then the jail process of a sandbox
auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
at_exit 'vmm_stop; auditd_stop'
rootfs_setup || { echo "Bail out! cannot build the test rootfs"; exit 1; }
: >"$T/vmm.log"
LENS_REGRESS_SIGSYS=control:socket-unix timeout 20 "$RVMM" -d \
    -s "$T/vmm.sock" -D "$T/state" -a "$T/auditd.sock" -i "$LENSINIT" \
    -c "lens-$(basename "$T")" >>"$T/vmm.log" 2>&1
rc=$?
died control socket-unix socket "$T/vmm.log"
ok $? "lensvmm control: socket(AF_UNIX) kills it, the parent names socket"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
ok $? "lensvmm ends when control dies (exit $rc)"

for c in jail:socket-unix:socket jail:connect:connect; do
	role=${c%%:*}; rest=${c#*:}; call=${rest%%:*}; sys=${rest#*:}
	mkdir -p "$T/state"
	export LENS_REGRESS_SIGSYS=$role:$call
	VMM=$RVMM vmm_start || { echo "Bail out! lensvmm did not start"; exit 1; }
	unset LENS_REGRESS_SIGSYS
	out=$(lctl run --rootfs "$ROOTFS" --backend jail -- echo hello 2>&1)
	! echo "$out" | grep -q '^hello$'
	ok $? "jail: the sandbox does not run with $call forbidden ($out)"
	wait_until 10 grep -q "killed by SIGSYS: forbidden syscall $sys (" \
	    "$T/vmm.log"
	died jail "$call" "$sys" "$T/vmm.log"
	r=$?
	ok $r "jail: $call kills the jail process, lensvmm names $sys"
	[ $r -eq 0 ] || sed 's/^/#   /' "$T/vmm.log" | tail -n 8
	vmm_stop
done
# the jail works without them
VMM=$RVMM vmm_start || { echo "Bail out! lensvmm did not start"; exit 1; }
out=$(lctl run --rootfs "$ROOTFS" --backend jail -- echo hello 2>&1)
[ "$out" = hello ]
ok $? "a sandbox runs under the jail filter ($out)"
vmm_stop
tap_done
