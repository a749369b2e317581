#!/bin/sh
# Credential placeholders (issue 13): a sandbox whose policy names
# credentials sees lens-ph- and 32 base32 characters under each one's
# envVar, in its main command and in every exec; a new pair for each
# sandbox; the same in inspect and, after lensvmm restarts, still the
# same; a -e (run or exec) for one of these variables is refused.
# lensctl cred ls joins lenscredd's store with the sandboxes lensvmm
# lists: each credential's bindings (sandbox, envVar, injection types
# and hosts; never a value or a placeholder), a credential a running
# policy names that the store lacks as "missing", --json the same, and
# with lensvmm away the store still listed and the gap said.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require
auditd_require
CREDD=$OBJ/regress/lenscredd
credd_require "$CREDD"

tap_plan 21
tmpdir_setup
vmm_setup

cat >"$T/p.yaml" <<'P'
version: 1
credentials:
  - id: openai
    envVar: OPENAI_API_KEY
    injections:
      - {type: header, host: api.openai.test, name: Authorization, value: "Bearer {secret}"}
  - id: maps
    envVar: MAPS_KEY
    injections:
      - {type: query, host: maps.example.test, name: key, value: "{secret}"}
P
PH='lens-ph-[a-z2-7]\{32\}'

lctl run --rm --policy "$T/p.yaml" $R -- env >"$T/env1" 2>"$T/err1"
ok $? "run: a sandbox with two credentials ran env"
a1=$(sed -n 's/^OPENAI_API_KEY=//p' "$T/env1")
m1=$(sed -n 's/^MAPS_KEY=//p' "$T/env1")
echo "$a1" | grep -qx "$PH" && echo "$m1" | grep -qx "$PH" && [ "$a1" != "$m1" ]
ok $? "each envVar holds its own placeholder ($a1, $m1)"

lctl run --rm --policy "$T/p.yaml" $R -- env >"$T/env2"
a2=$(sed -n 's/^OPENAI_API_KEY=//p' "$T/env2")
echo "$a2" | grep -qx "$PH" && [ "$a2" != "$a1" ] && [ "$a2" != "$m1" ]
ok $? "another sandbox: another placeholder ($a2)"

lctl run --rm $R -- env >"$T/env0"
! grep -q 'lens-ph-' "$T/env0"
ok $? "no policy: no placeholder"

# a -e for the variable: refused, nothing created
lctl run --rm --policy "$T/p.yaml" -e OPENAI_API_KEY=sk-real --name ph-e \
    $R -- env >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 125 ] && grep -q "^.*-e OPENAI_API_KEY: the variable of credential openai" "$T/err" &&
    ! grep -q sk-real "$T/out"
ok $? "run -e OPENAI_API_KEY: refused, exit $rc ($(cat "$T/err"))"
! lctl ps -a | grep -q ph-e
ok $? "... and no sandbox was created"

# inspect and exec of a running one
id=$(lctl run -d --name ph-run --policy "$T/p.yaml" $R -- sleep 600)
lctl inspect ph-run >"$T/insp"
ai=$(sed -n '/"credential": "openai"/,/}/s/.*"placeholder": "\(lens-ph-[a-z2-7]*\)".*/\1/p' "$T/insp")
echo "$ai" | grep -qx "$PH"
ok $? "inspect shows the placeholders ($ai)"
lctl exec ph-run env >"$T/env3"
grep -qx "OPENAI_API_KEY=$ai" "$T/env3"
ok $? "exec: the same placeholder as inspect"
lctl exec -e MAPS_KEY=x ph-run env >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 125 ] && grep -q "MAPS_KEY: the variable of credential maps" "$T/err"
ok $? "exec -e MAPS_KEY: refused, exit $rc ($(cat "$T/err"))"
lctl exec -e OTHER=1 ph-run env >"$T/env4"
grep -qx "OTHER=1" "$T/env4" && grep -qx "OPENAI_API_KEY=$ai" "$T/env4"
ok $? "exec -e of another variable: as before"

# the state keeps them: a restart recovers the same
vmm_stop
vmm_start || { echo "Bail out! lensvmm did not restart"; exit 1; }
lctl inspect ph-run >"$T/insp2"
grep -q "\"placeholder\": \"$ai\"" "$T/insp2"
ok $? "after a lensvmm restart: the same placeholder"
! grep -q "placeholder.*new ones made" "$T/vmm.log"
ok $? "... taken from the state, not made anew"

# cred ls: openai stored, maps not; ph-one and ph-two bind them
id=$(lctl run -d --name ph-one --policy "$T/p.yaml" $R -- sleep 600)
at_exit 'credd_stop'
credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
wait_until 20 grep -q 'parent.*audit: connected to lensauditd' "$T/credd.log" ||
    { echo "Bail out! lenscredd did not reach lensauditd"; exit 1; }
SECRET=lens-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s' "$SECRET" | "$LENSCTL" cred add -k "$T/cred.sock" openai
printf '%s' "$SECRET" | "$LENSCTL" cred add -k "$T/cred.sock" unbound
cat >"$T/p2.yaml" <<'P'
version: 1
credentials:
  - id: openai
    envVar: OAI
    injections:
      - {type: basic, host: a.openai.test, user: me}
      - {type: query, host: "b.openai.test:8443", name: k, value: "{secret}"}
P
id2=$(lctl run -d --name ph-two --policy "$T/p2.yaml" $R -- sleep 600)
lctl cred ls -k "$T/cred.sock" >"$T/ls" 2>"$T/lserr"
rc=$?
cat "$T/ls" "$T/lserr" | sed 's/^/# /'
[ "$rc" -eq 1 ] &&
    grep -q "^openai  *[0-9T:-]*Z  *-  *stored\$" "$T/ls" &&
    grep -q "^unbound  *[0-9T:-]*Z  *-  *stored\$" "$T/ls" &&
    grep -q "^maps  *-  *-  *missing\$" "$T/ls" &&
    grep -q "credential maps is named by a sandbox's policy but is not in the store" "$T/lserr"
ok $? "cred ls: stored, unbound and missing credentials, exit $rc for the missing one"
# the lines under each credential, in order
b=$(sed -n '/^openai /,/^[a-z]/{/^  /p}' "$T/ls")
echo "$b" | grep -qx "  ph-one (${id%"${id#????????????}"}) OPENAI_API_KEY: header api.openai.test" &&
    echo "$b" | grep -qx "  ph-two (${id2%"${id2#????????????}"}) OAI: basic a.openai.test, query b.openai.test:8443" &&
    [ "$(echo "$b" | wc -l)" -eq 2 ]
ok $? "openai: bound in ph-one and ph-two, envVar, each injection's type and host"
[ -z "$(sed -n '/^unbound /,/^[a-z]/{/^  /p}' "$T/ls")" ]
ok $? "unbound: no bindings"
sed -n '/^maps /,/^[a-z]/{/^  /p}' "$T/ls" | grep -qx "  ph-one (${id%"${id#????????????}"}) MAPS_KEY: query maps.example.test"
ok $? "maps (missing): bound in ph-one"
! grep -q -e "$SECRET" -e "$ai" -e 'lens-ph-' "$T/ls" "$T/lserr"
ok $? "no value and no placeholder in the output"

lctl cred ls -k "$T/cred.sock" --json >"$T/lsj" 2>/dev/null
python3 - "$T/lsj" "$id" "$id2" <<'PY'
import json, sys
rows = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    rows[r["name"]] = r
i1, i2 = sys.argv[2], sys.argv[3]
o = rows["openai"]
assert o["status"] == "stored" and o["created_unix"] > 0, o
assert sorted((b["sandbox_id"], b["sandbox_name"], b["envVar"],
    json.dumps(b["injections"], sort_keys=True)) for b in o["bindings"]) == sorted([
    (i1, "ph-one", "OPENAI_API_KEY", json.dumps([{"host": "api.openai.test", "type": "header"}], sort_keys=True)),
    (i2, "ph-two", "OAI", json.dumps([{"host": "a.openai.test", "type": "basic"},
        {"host": "b.openai.test:8443", "type": "query"}], sort_keys=True))]), o
assert rows["unbound"]["bindings"] == [] and rows["unbound"]["status"] == "stored"
m = rows["maps"]
assert m["status"] == "missing" and m["created_unix"] == 0, m
assert [b["sandbox_name"] for b in m["bindings"]] == ["ph-one"], m
assert set(rows) == {"openai", "unbound", "maps"}, rows
PY
ok $? "cred ls --json: the same, one object a line"

# a sandbox removed: its bindings go; maps no longer missing
lctl rm -f ph-run ph-one >/dev/null
lctl cred ls -k "$T/cred.sock" >"$T/ls2" 2>"$T/lserr2"
rc=$?
[ "$rc" -eq 0 ] && ! grep -q -e '^maps' -e 'ph-one' "$T/ls2" && [ ! -s "$T/lserr2" ] &&
    grep -q '^  ph-two' "$T/ls2"
ok $? "ph-one removed: its bindings and the missing maps gone, exit $rc"

# lensvmm away: the store still listed, the gap said
vmm_stop
lctl cred ls -k "$T/cred.sock" >"$T/ls3" 2>"$T/lserr3"
rc=$?
[ "$rc" -eq 0 ] && grep -q '^openai .*stored$' "$T/ls3" &&
    grep -q '^unbound .*stored$' "$T/ls3" && ! grep -q '^  ' "$T/ls3" &&
    grep -q 'bindings not shown: lensvmm did not answer' "$T/lserr3"
ok $? "lensvmm away: store listed, no bindings, said on stderr ($(tail -n1 "$T/lserr3"))"
lctl cred ls -k "$T/cred.sock" --json 2>/dev/null |
    python3 -c 'import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert sorted(r["name"] for r in rows) == ["openai", "unbound"], rows
assert all(r["bindings"] is None for r in rows), rows'
ok $? "lensvmm away, --json: bindings null"
tap_done
