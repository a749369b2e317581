#!/bin/sh
# Which programs can parse a policy's YAML (doc/DESIGN.md, Processes: no root
# process does): lensnetd links neither libyaml nor the YAML loader (it
# decodes binary models), lensauditd no policy code at all, and in
# lensvmm only the policy process (lensvmm/policy.c) calls the parser.
. "$(dirname "$0")/lib.sh"

if ! command -v nm >/dev/null || ! command -v ldd >/dev/null ||
    [ ! -x "$OBJ/lensnetd" ] || [ ! -x "$OBJ/lensauditd" ] ||
    [ ! -d "$OBJ/o/lensvmm" ]; then
	echo "1..0 # SKIP needs nm, ldd, lensnetd, lensauditd, lensvmm's objects"
	exit 0
fi
tap_plan 7
tmpdir_setup

nm "$OBJ/lensnetd" >"$T/netd.nm"
grep -q ' T policy_decode$' "$T/netd.nm"
ok $? "lensnetd has the binary model's decoder (the check cannot pass vacuously)"
! grep -E ' [A-Za-z] (yaml_|policy_parse$|policy_load$)' "$T/netd.nm" >"$T/bad"
ok $? "lensnetd has no yaml_ symbols and no policy_parse/policy_load ($(tr '\n' ' ' <"$T/bad"))"
! ldd "$OBJ/lensnetd" | grep -i yaml
ok $? "lensnetd is not linked with libyaml"

nm "$OBJ/lensauditd" >"$T/auditd.nm"
[ -s "$T/auditd.nm" ] &&
    ! grep -E ' [A-Za-z] (yaml_|policy_|pm_|verdict_name)' "$T/auditd.nm" >"$T/bad"
ok $? "lensauditd has no policy_ or yaml_ symbols ($(tr '\n' ' ' <"$T/bad"))"
! ldd "$OBJ/lensauditd" | grep -i yaml
ok $? "lensauditd is not linked with libyaml"

if [ -x "$OBJ/lenscredd" ]; then
	nm "$OBJ/lenscredd" >"$T/credd.nm"
	[ -s "$T/credd.nm" ] && ! ldd "$OBJ/lenscredd" | grep -qi yaml &&
	    ! grep -E ' [A-Za-z] (yaml_|policy_|pm_|verdict_name)' "$T/credd.nm" >"$T/bad"
	ok $? "lenscredd has no policy_ or yaml_ symbols nor libyaml ($(tr '\n' ' ' <"$T/bad"))"
else
	ok 1 "lenscredd not built # SKIP"
fi

# the objects of lensvmm's sources of this tree (not stale ones)
src=$(cd "$(dirname "$0")/.." && pwd)
callers=$(for c in "$src"/lensvmm/*.c; do
	o=$OBJ/o/lensvmm/$(basename "$c" .c).o
	nm "$o" | grep -qE ' U (policy_parse|policy_load)$' && basename "$o"
done)
[ "$callers" = policy.o ]
ok $? "in lensvmm only the policy process calls the YAML parser (${callers:-none})"
