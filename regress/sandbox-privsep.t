#!/bin/sh
# The per-sandbox host processes pass the privsep checks of the
# daemons (doc/DESIGN.md, Processes): the jail process ("lensvmm: jail
# NAME") and lens-init run as the sandbox's unprivileged host uid,
# with NoNewPrivs 1, Seccomp 2 and no effective capabilities; the
# control child as _lensvmm; the parent under seccomp.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 14
tmpdir_setup
vmm_setup
UIDBASE=1000000

st() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

lctl run -d --name ps-1 $R -- sleep 600 >/dev/null
jail=$(pgrep -f 'lensvmm: jail ps-1' | head -n 1)
[ -n "$jail" ]
ok $? "the jail process of ps-1 is there ($jail)"
[ "$(st "$jail" NoNewPrivs)" = 1 ]
ok $? "jail: NoNewPrivs 1"
[ "$(st "$jail" Seccomp)" = 2 ]
ok $? "jail: Seccomp 2"
[ "$(st "$jail" CapEff)" = 0000000000000000 ]
ok $? "jail: CapEff 0 ($(st "$jail" CapEff))"
u=$(st "$jail" Uid)
[ -n "$u" ] && [ "$u" -ge $UIDBASE ]
ok $? "jail: uid $u, the sandbox's unprivileged host uid"

init=$(pgrep -P "$jail" | head -n 1)
[ -z "$init" ] && init=$(ps -eo pid=,args= | awk '$2 ~ /lens-init/ { print $1; exit }')
[ -n "$init" ]
ok $? "lens-init is there ($init)"
[ "$(st "$init" NoNewPrivs)" = 1 ] && [ "$(st "$init" Seccomp)" = 2 ]
ok $? "lens-init: NoNewPrivs 1, Seccomp 2"
u=$(st "$init" Uid)
[ -n "$u" ] && [ "$u" -ge $UIDBASE ]
ok $? "lens-init: host uid $u"
w=$(pgrep -f '^sleep 600$' | while read -r p; do
	[ "$(st "$p" Uid)" -ge $UIDBASE ] 2>/dev/null && echo "$p"; done | head -n 1)
[ -n "$w" ] && [ "$(st "$w" NoNewPrivs)" = 1 ] && [ "$(st "$w" Seccomp)" = 2 ] &&
    [ "$(st "$w" CapEff)" = 0000000000000000 ]
ok $? "the workload: NoNewPrivs 1, Seccomp 2, no host capabilities"

ctl=$(pgrep -P "$VMM_PID" -f 'lensvmm: control' | head -n 1)
[ -n "$ctl" ] && [ "$(st "$ctl" NoNewPrivs)" = 1 ] &&
    [ "$(st "$ctl" Seccomp)" = 2 ] && [ "$(st "$ctl" CapEff)" = 0000000000000000 ]
ok $? "control child: NoNewPrivs 1, Seccomp 2, CapEff 0"
[ -n "$ctl" ] && [ "$(st "$ctl" Uid)" = "$(id -u _lensvmm)" ]
ok $? "control child runs as _lensvmm"
[ "$(st "$VMM_PID" Seccomp)" = 2 ]
ok $? "the parent runs under seccomp"
[ "$(st "$VMM_PID" CapEff)" != 000001ffffffffff ] &&
    [ "$(st "$VMM_PID" CapEff)" != 000000ffffffffff ]
ok $? "the parent has dropped some capabilities ($(st "$VMM_PID" CapEff))"
lctl rm -f ps-1 >/dev/null
ok $? "rm -f"
tap_done
