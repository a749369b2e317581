#!/bin/sh
# make install into a DESTDIR: the file list and modes, no users made
# on the build host; then the installed daemons run from the installed
# paths with the command lines of the installed units (systemd is not
# PID 1 here: ExecStart= is read from each unit), their options from a
# lens.conf(5) given with -f (private paths), lensnetd's DNS upstream
# from /etc/resolv.conf (a mount namespace's own) past a nameserver of
# its pool; a sandbox reaches the test internet through them and the
# audit shows it.  Then a clean stop: every socket and lensnetd's lock
# are gone, lensctl says lensvmm is not running, no teardown warning.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
netd_require
credd_require "$CREDD"
require_cmds make unshare curl dnsmasq

SRC=$(cd "$(dirname "$0")/.." && pwd)
tap_plan 21
tmpdir_setup
chmod 0755 "$T"
D=$T/d
P=$D/usr/local

users_before=$(getent passwd | sort | md5sum)
make -s -C "$SRC" install DESTDIR="$D" PREFIX=/usr/local OBJ="$OBJ" \
    >"$T/install.log" 2>&1
ok $? "make install DESTDIR=$D"
[ "$(getent passwd | sort | md5sum)" = "$users_before" ]
ok $? "no user made on the build host with DESTDIR"

# the file list (the guest of make guest and shell completion, which
# other parts install, aside)
(cd "$D" && find . ! -type d | sort | grep -v -e '^./usr/local/share/lens/guest/' \
    -e completion -e zsh) >"$T/files"
{
	for f in etc/init.d/lensauditd etc/init.d/lenscredd \
	    etc/init.d/lensnetd etc/init.d/lensvmm etc/lens/lens.conf \
	    etc/lens/lns-policy.yaml usr/local/bin/lensctl \
	    usr/local/lib/systemd/system/lens.target \
	    usr/local/lib/systemd/system/lensauditd.service \
	    usr/local/lib/systemd/system/lenscredd.service \
	    usr/local/lib/systemd/system/lensnetd.service \
	    usr/local/lib/systemd/system/lensvmm.service \
	    usr/local/libexec/lens/lens-init usr/local/sbin/lens-setup \
	    usr/local/sbin/lensauditd usr/local/sbin/lenscredd \
	    usr/local/sbin/lensnetd usr/local/sbin/lensvmm \
	    usr/local/share/lens/lns-policy.schema.json \
	    usr/local/share/lens/lns-policy.yaml; do
		echo "./$f"
	done
	(cd "$SRC/man" && ls) |
	    sed 's,^\(.*\)\.\([0-9]\)$,./usr/local/share/man/man\2/\1.\2,'
	(cd "$SRC/etc/policy-examples" && ls) |
	    sed 's,^,./usr/local/share/lens/policy-examples/,'
} | sort >"$T/want"
diff -u "$T/want" "$T/files" >"$T/files.diff"
ok $? "the installed files are the expected ones$(sed -n '4,$p' "$T/files.diff" | tr '\n' ' ')"
[ "$(stat -c %a "$D/var/lib/lens")" = 755 ] &&
    [ "$(stat -c %a "$D/var/log/lens")" = 750 ] &&
    [ "$(stat -c %a "$P/sbin/lensvmm")" = 555 ] &&
    [ "$(stat -c %a "$D/etc/lens/lens.conf")" = 644 ]
ok $? "modes: state 755, logs 750, daemons 555, lens.conf 644"
"$P/sbin/lensnetd" -f "$D/etc/lens/lens.conf" -Z 2>"$T/err"
[ $? -eq 2 ] && grep -q 'usage: lensnetd' "$T/err"
ok $? "the installed lens.conf (defaults commented out) parses"
cmp -s "$SRC/etc/lns-policy.schema.json" "$P/share/lens/lns-policy.schema.json"
ok $? "the policy schema is in share/lens"

# the command line of an installed unit, its paths in the DESTDIR and
# its sockets in $T
unitcmd() {
	sed -n 's/^ExecStart=//p' "$P/lib/systemd/system/$1.service" |
	    sed -e "s,/usr/local/,$P/,g" -e "s,/run/lens/,$T/,g"
}
for u in lensauditd lenscredd lensnetd; do
	[ "$(unitcmd $u)" = "$P/sbin/$u -d" ]
	ok $? "$u.service runs $(unitcmd $u)"
done
[ "$(unitcmd lensvmm)" = "$P/sbin/lensvmm -d -n $T/lensnetd.sock" ]
ok $? "lensvmm.service runs $(unitcmd lensvmm): lensnetd's socket given"

networld_up
netrootfs_setup
INST=inst$$
{
	echo "# the test's private paths, in the grammar of lens.conf(5)"
	echo "[lensauditd]"
	echo "log-dir $T/audit"
	echo "socket $T/auditd.sock"
	echo "pubfile $T/audit.pub"
	echo "witness $T/audit.witness"
	echo "[lenscredd]"
	echo "state-dir $T/cred"
	echo "socket $T/cred.sock"
	echo "audit-socket $T/auditd.sock"
	echo "[lensnetd]"
	echo "instance $INST"
	echo "socket $T/lensnetd.sock"
	echo "audit-socket $T/auditd.sock"
	echo "cred-socket $T/cred.sock"
	echo "verbose yes"
	echo "[lensvmm]"
	echo "state-dir $T/state"
	echo "socket $T/vmm.sock"
	echo "audit-socket $T/auditd.sock"
		echo "lens-init $P/libexec/lens/lens-init"
	echo "cgroup lens-$(basename "$T")"
	echo "policy $T/default-policy.yaml"
	echo "protect $T/audit"
} >"$T/lens.conf"
printf '# the pool, skipped\nnameserver 10.200.0.1\nnameserver %s\n' \
    "$NW_DNS" >"$T/resolv.conf"
at_exit 'for p in $VP $NP $CP $AP; do kill -TERM $p 2>/dev/null; done;
    rm -f /run/lens/$INST.lock'

$(unitcmd lensauditd) -f "$T/lens.conf" >"$T/auditd.log" 2>&1 &
AP=$!
_ready_wait lensauditd "$T/auditd.log" 'ready at seq' 0
ok $? "lensauditd from its unit's command line"
$(unitcmd lenscredd) -f "$T/lens.conf" >"$T/credd.log" 2>&1 &
CP=$!
wait_until 20 grep -q 'vault.*ready:' "$T/credd.log"
ok $? "lenscredd from its unit's command line"
unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
    sh "$T/resolv.conf" $(unitcmd lensnetd) -f "$T/lens.conf" \
    >"$T/netd.log" 2>&1 &
NP=$!
wait_until 10 grep -q 'audit: connected to lensauditd' "$T/netd.log"
ok $? "lensnetd from its unit's command line, no upstream given"
$(unitcmd lensvmm) -f "$T/lens.conf" >"$T/vmm.log" 2>&1 &
VP=$!
_ready_wait lensvmm "$T/vmm.log" 'started: socket' 0 &&
    wait_until 10 "$LENSCTL" -s "$T/vmm.sock" ps
ok $? "lensvmm from its unit's command line"

printf 'version: 1\nnetwork:\n  defaultVerdict: deny\n  egress:\n    http:\n      - {match: ok.test, verdict: allow}\n' \
    >"$T/policy.yaml"
out=$("$LENSCTL" -s "$T/vmm.sock" run --rootfs "$NR" --policy "$T/policy.yaml" \
    -- curl -sS --max-time 10 http://ok.test/ 2>"$T/run.err")
[ "$out" = ok-web ]
ok $? "a sandbox reaches ok.test through the installed daemons, DNS by resolv.conf's second nameserver ($out)"
wait_until 5 sh -c "'$LENSCTL' audit show --json --dir '$T/audit' |
    grep '\"type\":\"net.connect\"' | grep -q '\"name\":\"ok.test\"'"
ok $? "... and the audit shows the connection"

kill -TERM $VP; wait $VP; rc=$?
[ $rc -eq 0 ] && [ ! -e "$T/vmm.sock" ]
ok $? "lensvmm stops cleanly and removes its socket (exit $rc)"
"$LENSCTL" -s "$T/vmm.sock" ps 2>"$T/err"
grep -q "lensvmm is not running" "$T/err"
ok $? "the next lensctl says so: $(cat "$T/err")"
kill -TERM $NP; wait $NP; rc=$?
[ $rc -eq 0 ] && [ ! -e "$T/lensnetd.sock" ] && [ ! -e "/run/lens/$INST.lock" ]
ok $? "lensnetd stops cleanly, removes its socket and /run/lens/$INST.lock (exit $rc)"
! grep -q 'teardown:' "$T/netd.log"
ok $? "no teardown warning for a sandbox that ended normally"
kill -TERM $CP; wait $CP; rc1=$?
kill -TERM $AP; wait $AP; rc2=$?
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ ! -e "$T/cred.sock" ] &&
    [ ! -e "$T/auditd.sock" ]
ok $? "lenscredd and lensauditd stop cleanly, sockets removed ($rc1, $rc2)"
VP= NP= CP= AP=
log_if_failed lensnetd "$T/netd.log" 30
log_if_failed lensvmm "$T/vmm.log" 30
tap_done
