#!/bin/sh
# Backend selection against a real lensvmm: auto takes the jail where a
# Linux microVM cannot boot and says why on stderr with lensctl -v; --backend microvm is
# refused there (exit 125, the reason named), never downgraded;
# --backend jail is quiet; ps --json, inspect and the audit record of
# the sandbox's creation name the backend.  Where the probe passes
# (/dev/kvm with vmx or svm and a guest directory), auto picks microvm
# instead and the checks below follow it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 17
tmpdir_setup
# no guest directory: the probe must fail on this host whatever it has
vmm_setup -g "$T/no-guest"
R="--rootfs $ROOTFS"

if [ ! -e /dev/kvm ]; then
	WHY="no /dev/kvm"
elif ! grep -qw -e vmx -e svm /proc/cpuinfo; then
	WHY="has neither vmx nor svm"
else
	WHY="no guest kernel $T/no-guest/vmlinuz"
fi

# auto (the default): the jail, quiet; with lensctl -v the reason on stderr
lctl run --rm $R -- sh -c 'echo hello; echo oops >&2' >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(cat "$T/out")" = hello ] && [ "$(cat "$T/err")" = oops ]
ok $? "auto: the command ran, nothing but its output (exit $rc, '$(cat "$T/out")', '$(cat "$T/err")')"
"$LENSCTL" -v -s "$VMM_SOCK" run --rm $R -- sh -c 'echo hello; echo oops >&2' \
    >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(cat "$T/out")" = hello ] &&
head -n 1 "$T/err" | grep -q "^lensctl: backend jail (microvm unavailable: .*$WHY"
ok $? "auto, -v: says backend jail and why ($(head -n 1 "$T/err"))"
grep -qx oops "$T/err" && [ "$(grep -c backend "$T/err")" -eq 1 ]
ok $? "auto, -v: the backend once, and the command's stderr"

# --backend microvm where it cannot boot: refused, named, no sandbox
n0=$(lctl ps -a 2>/dev/null | wc -l)
lctl run --rm $R --backend microvm -- /bin/true >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 125 ]
ok $? "--backend microvm without KVM+guest: exit $rc (want 125)"
grep -q "backend microvm unavailable: .*$WHY" "$T/err"
ok $? "--backend microvm: the reason ($(cat "$T/err"))"
! grep -q 'backend jail' "$T/err"
ok $? "--backend microvm: no silent downgrade to the jail"
n1=$(lctl ps -a 2>/dev/null | wc -l)
[ "$n0" = "$n1" ]
ok $? "--backend microvm refused: no sandbox was created ($n0 -> $n1)"
lctl run --rm $R --backend microvm -d -- /bin/true >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && [ ! -s "$T/out" ] && grep -q "backend microvm unavailable" "$T/err"
ok $? "--backend microvm -d: refused too, no id printed"

# --backend jail: quiet, only the command's output
lctl run --rm $R --backend jail -- sh -c 'echo x >&2' >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/err")" = x ]
ok $? "--backend jail: nothing but the command's stderr ($(cat "$T/err"))"

# -d: the id on stdout alone, the note on stderr
id=$("$LENSCTL" --verbose -s "$VMM_SOCK" run -d --name be-auto $R -- sleep 30 2>"$T/err")
[ ${#id} -eq 64 ] && grep -q '^lensctl: backend jail (microvm unavailable' "$T/err"
ok $? "--verbose -d: the id on stdout, the backend on stderr ($(cat "$T/err"))"
lctl inspect be-auto >"$T/insp"
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["backend"] == "jail", j["backend"]
assert j["backend_reason"].startswith("microvm unavailable: "), j["backend_reason"]
' "$T/insp"
ok $? "inspect: backend jail and backend_reason ($(grep -o '"backend_reason": "[^"]*"' "$T/insp"))"
lctl ps --json >"$T/ps"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    j = json.loads(line)
    items = j if isinstance(j, list) else [j]
    for e in items:
        if e["name"] == "be-auto":
            assert e["backend"] == "jail"
            sys.exit(0)
sys.exit(1)
' "$T/ps"
ok $? "ps --json: backend jail"
lctl ps | grep be-auto | grep -qw jail
ok $? "ps: the backend column says jail"
id2=$(lctl run -d --backend jail --name be-jail $R -- sleep 30 2>"$T/err")
[ ${#id2} -eq 64 ] && [ ! -s "$T/err" ]
ok $? "-d --backend jail: quiet"
lctl inspect be-jail | grep -q '"backend_reason": "--backend jail"'
ok $? "inspect of an explicit jail: backend_reason --backend jail"
lctl rm -f be-auto be-jail >/dev/null 2>&1

"$LENSCTL" audit show --dir "$T/audit" --type sandbox.create --json \
    >"$T/audit.json" 2>"$T/audit.err"
python3 -c '
import json, sys
want = {sys.argv[2]: "microvm unavailable: ", sys.argv[3]: "--backend jail"}
seen = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    d = r.get("details", r.get("data", {}))
    if isinstance(d, str):
        d = json.loads(d)
    sb = r.get("sandbox", "")
    if sb in want:
        assert d["backend"] == "jail", d
        assert d["backend_reason"].startswith(want[sb]), d
        seen[sb] = 1
assert len(seen) == 2, seen
' "$T/audit.json" "$id" "$id2"
ok $? "audit: sandbox.create names the backend and why ($(grep -c . "$T/audit.json") records)"

# a restarted lensvmm remembers the backend of its sandboxes
id3=$(lctl run -d --name be-keep $R -- true 2>/dev/null)
wait_until 10 sh -c "\"$LENSCTL\" -s \"$VMM_SOCK\" ps -a | grep be-keep | grep -q exited"
vmm_stop
vmm_start -g "$T/no-guest"
lctl inspect be-keep | grep -q '"backend": "jail"'
ok $? "after a restart inspect still says jail (${id3%"${id3#????????????}"})"
tap_done
