#!/bin/sh
# Credential placeholders (issue 13): a sandbox whose policy names
# credentials sees lens-ph- and 32 base32 characters under each one's
# envVar, in its main command and in every exec; a new pair for each
# sandbox; the same in inspect and, after lensvmm restarts, still the
# same; a -e (run or exec) for one of these variables is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 12
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
lctl rm -f ph-run >/dev/null
tap_done
