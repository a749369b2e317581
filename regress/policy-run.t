#!/bin/sh
# lensctl run --policy with a running lensvmm: a bad policy starts
# nothing (exit 125, the parser's error), and a good one's resources
# reach the sandbox's cgroup unless an option says otherwise.  Without
# --policy, lensvmm's default (-P FILE, here $T/default-policy.yaml):
# none while the file is missing, read anew for each sandbox, never
# replaced by another when it is wrong.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 20
tmpdir_setup
vmm_setup

CG=lens-$(basename "$T")
cg() {	# cg ID V2FILE V1FILE
	for f in "/sys/fs/cgroup/$CG/$1/$2" /sys/fs/cgroup/*/"$CG/$1/$3"; do
		[ -f "$f" ] && { cat "$f"; return; }
	done
	echo none
}

cat >"$T/p.yaml" <<'P'
version: 1
network:
  egress:
    http:
      - {match: pypi.org, verdict: allow}
resources: {cpus: 0.5, memory: 48m, pids: 66}
P
cat >"$T/bad.yaml" <<'P'
version: 1
resources: {cpus: 0.5, memory: 48x}
P

# a bad policy: nothing reaches lensvmm
lctl run -d --name pol-bad --policy "$T/bad.yaml" $R -- sleep 600 \
    >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 125 ] && [ "$(cat "$T/err")" = "$T/bad.yaml:2:32: resources.memory 48x: unknown unit (b, k, m, g or t)" ]
ok $? "bad policy: exit $rc, $(cat "$T/err")"
lctl ps -a >"$T/ps"
! grep -q pol-bad "$T/ps"
ok $? "bad policy: no sandbox was created"

# the policy's resources
id=$(lctl run -d --name pol-1 --policy "$T/p.yaml" $R -- sleep 600)
ok $? "run -d --policy: started ($id)"
[ "$(cg "$id" memory.max memory.limit_in_bytes)" = 50331648 ]
ok $? "memory 48m from the policy ($(cg "$id" memory.max memory.limit_in_bytes))"
[ "$(cg "$id" pids.max pids.max)" = 66 ]
ok $? "pids 66 from the policy ($(cg "$id" pids.max pids.max))"
q=$(cg "$id" cpu.max cpu.cfs_quota_us)
case $q in
"50000 100000"|50000) ok 0 "cpus 0.5 from the policy ($q)" ;;
*) ok 1 "cpus 0.5 from the policy ($q)" ;;
esac
lctl rm -f "$id" >/dev/null

# options win over the policy
id=$(lctl run -d --name pol-2 --policy "$T/p.yaml" --memory 64m --pids 77 \
    $R -- sleep 600)
[ "$(cg "$id" memory.max memory.limit_in_bytes)" = 67108864 ] &&
    [ "$(cg "$id" pids.max pids.max)" = 77 ]
ok $? "--memory and --pids win over the policy"
q=$(cg "$id" cpu.max cpu.cfs_quota_us)
case $q in
"50000 100000"|50000) ok 0 "cpus still from the policy ($q)" ;;
*) ok 1 "cpus still from the policy ($q)" ;;
esac
lctl rm -f "$id" >/dev/null

# the default policy: none while the file is missing
D=$T/default-policy.yaml
id=$(lctl run -d $R -- sleep 600)
lctl inspect "$id" >"$T/insp"
grep -q '"policy": "none (deny everything)"' "$T/insp" && [ "$(cg "$id" pids.max pids.max)" = 4096 ]
ok $? "no default policy file: no policy, lensvmm's pids limit ($(cg "$id" pids.max pids.max))"
lctl rm -f "$id" >/dev/null

sed 's/pids: 66/pids: 55/' "$T/p.yaml" >"$D"
id=$(lctl run -d $R -- sleep 600)
[ "$(cg "$id" pids.max pids.max)" = 55 ]
ok $? "the default policy's resources apply ($(cg "$id" pids.max pids.max))"
lctl policy show "$id" >"$T/shown" 2>&1
"$LENSCTL" policy show "$D" >"$T/shown-file" 2>&1
cmp -s "$T/shown" "$T/shown-file" && grep -q '"pids": *55' "$T/shown"
ok $? "policy show ID: the default policy"
sum=$(sha256sum "$D" | cut -c1-64)
lctl inspect "$id" >"$T/insp2"
grep -q "\"sha256\": \"$sum\"" "$T/insp2"
ok $? "inspect: the default policy's sha256"
lctl rm -f "$id" >/dev/null

id=$(lctl run -d --policy "$T/p.yaml" $R -- sleep 600)
[ "$(cg "$id" pids.max pids.max)" = 66 ]
ok $? "--policy wins over the default ($(cg "$id" pids.max pids.max))"
lctl rm -f "$id" >/dev/null

sed -i 's/pids: 55/pids: 44/' "$D"
id=$(lctl run -d $R -- sleep 600)
[ "$(cg "$id" pids.max pids.max)" = 44 ]
ok $? "an edited default applies to the next sandbox without a restart ($(cg "$id" pids.max pids.max))"
lctl rm -f "$id" >/dev/null

printf 'version: 1\nnetwork:\n  egress: {bogus: 1}\n' >"$D"
lctl run -d --name def-bad $R -- sleep 600 >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 125 ] && grep -q "^lensctl: $D:3:12: network.egress: unknown key \"bogus\"" "$T/err"
ok $? "a wrong default refuses the sandbox: exit $rc, $(cat "$T/err")"
lctl ps -a >"$T/ps"
! grep -q def-bad "$T/ps"
ok $? "... and creates nothing"

rm "$D"; mkdir "$D"
lctl run --rm $R -- true >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 125 ] && grep -q "default policy $D: not a regular file" "$T/err"
ok $? "a default that is a directory: exit $rc, $(cat "$T/err")"
rmdir "$D"
lctl run --rm $R -- true
ok $? "the default removed: sandboxes start again"

# a restart: the policy process parses a recovered sandbox's policy again
id=$(lctl run -d --name pol-rec --policy "$T/p.yaml" $R -- sleep 600)
vmm_stop
vmm_start || { echo "Bail out! lensvmm did not restart"; exit 1; }
sum=$(sha256sum "$T/p.yaml" | cut -c1-64)
lctl inspect pol-rec >"$T/insp3" 2>&1
grep -q "\"sha256\": \"$sum\"" "$T/insp3" && ! grep -q "$id: policy:" "$T/vmm.log"
ok $? "after a restart: the recovered sandbox's policy, parsed again"
lctl policy show pol-rec >"$T/shown3" 2>&1
"$LENSCTL" policy show "$T/p.yaml" >"$T/shown3-file" 2>&1
cmp -s "$T/shown3" "$T/shown3-file"
ok $? "... policy show ID after the restart"
lctl rm -f pol-rec >/dev/null
tap_done
