#!/bin/sh
# The systemd units as make install writes them: systemd-analyze verify
# finds nothing to say about any of them (their commands pointed at the
# installed binaries), the exposure score of `systemd-analyze security
# --offline=yes` stays within the issue's bounds (lensauditd <= 4.0, the
# others <= 6.0), each unit orders itself after and requires what it
# talks to, shares /run/lens without wiping it, and hard-codes no DNS
# upstream.  Also the sysvinit scripts: LSB headers, sh -n clean.
. "$(dirname "$0")/lib.sh"
require_cmds systemd-analyze make

SRC=$(cd "$(dirname "$0")/.." && pwd)
tap_plan 21
tmpdir_setup

make -s -C "$SRC" install DESTDIR="$T/d" PREFIX=/usr/local OBJ="$OBJ" \
    >"$T/install.log" 2>&1
ok $? "make install DESTDIR=..."
U=$T/d/usr/local/lib/systemd/system
mkdir -p "$T/u"
for f in "$U"/*; do
	sed "s,/usr/local/,$T/d/usr/local/,g" "$f" >"$T/u/$(basename "$f")"
done

for u in lensauditd lenscredd lensnetd lensvmm; do
	out=$(cd "$T/u" && systemd-analyze verify --man=no "$u.service" 2>&1)
	[ $? -eq 0 ] && [ -z "$out" ]
	ok $? "systemd-analyze verify $u.service: clean${out:+ ($out)}"
	score=$(systemd-analyze security --offline=yes "$U/$u.service" 2>&1 |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	max=6.0
	[ $u = lensauditd ] && max=4.0
	awk -v s="${score:-99}" -v m=$max 'BEGIN { exit !(s <= m) }'
	ok $? "$u.service exposure ${score:-?} <= $max"
done
out=$(cd "$T/u" && systemd-analyze verify --man=no lens.target 2>&1)
[ $? -eq 0 ] && [ -z "$out" ]
ok $? "systemd-analyze verify lens.target: clean${out:+ ($out)}"

grep -q '^Requires=lensauditd.service lensnetd.service$' "$U/lensvmm.service" &&
    grep -q '^After=lensauditd.service lenscredd.service lensnetd.service$' \
    "$U/lensvmm.service"
ok $? "lensvmm requires and comes after lensauditd and lensnetd"
grep -q '^Requires=lensauditd.service lenscredd.service$' "$U/lensnetd.service"
ok $? "lensnetd requires lensauditd and lenscredd"
grep -q '^Requires=lensauditd.service$' "$U/lenscredd.service"
ok $? "lenscredd requires lensauditd"
n=$(grep -l '^RuntimeDirectoryPreserve=yes$' "$U"/*.service | wc -l)
[ "$n" -eq 4 ]
ok $? "every unit keeps /run/lens when it stops ($n of 4)"
! grep -rq '127\.0\.0\.53\|-u ' "$U" "$T/d/etc/init.d"
ok $? "no unit or script hard-codes the DNS upstream"
grep -q "^ExecStartPre=+/usr/local/sbin/lens-setup$" "$U/lensvmm.service" &&
    [ -x "$T/d/usr/local/sbin/lens-setup" ]
ok $? "the units run the installed lens-setup first"

for s in lensauditd lenscredd lensnetd lensvmm; do
	f=$T/d/etc/init.d/$s
	sh -n "$f" && grep -q "^# Provides: *$s$" "$f" &&
	    grep -q '^### END INIT INFO$' "$f" && [ -x "$f" ]
	ok $? "init.d/$s: LSB header, sh -n clean"
done
grep -q '^# Required-Start: .* lensauditd lenscredd lensnetd$' \
    "$T/d/etc/init.d/lensvmm"
ok $? "init.d/lensvmm starts after the three others"
tap_done
