#!/bin/sh
# Secret grep (issue 13): a jail sandbox uses a credential (a header
# injection to an HTTPS API of the test internet, the real daemons of
# credworld.sh) and keeps what it got (the upstream echoes every header)
# in files of its writable layer and in the memory of a process that
# stays.  Then the secret's bytes are searched for where they must not
# be: the environment of every process of the sandbox, every file of
# its writable layer (and of its /tmp), the whole memory of every
# process of the sandbox (/proc/PID/mem, every mapping, credpeer memscan), the
# memory of lensnetd's proxy and of every other lensnetd and lensvmm
# process.  Each search is shown able to find: a canary planted in the
# sandbox's environment, files and memory is found by the same search,
# the placeholder is found in the proxy's memory, and the secret itself
# is found in lenscredd's exchange while it holds a request the upstream
# has not answered yet (and, at that moment, not in the proxy).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
. "$(dirname "$0")/credworld.sh"
cw_need

tap_plan 14
tmpdir_setup
chmod 0755 "$T"
S=$(cw_secret)
CAN=canary-$(cw_secret)
cw_up
cw_store api "$S" >"$T/store.out" 2>&1 ||
    { echo "Bail out! cred add: $(cat "$T/store.out")"; exit 1; }
deny_policy "$T/p.yaml" <<'EOF'
    http:
      - {match: "*.api.test", verdict: allow, caFile: testca.pem}
credentials:
  - id: api
    envVar: API_KEY
    injections:
      - {type: header, host: hdr.api.test, name: Authorization, value: "Bearer {secret}"}
EOF
lctl run -d --name sg --rootfs "$NR" --backend jail --policy "$T/p.yaml" \
    -e "CANARY=$CAN" -- sleep 600 >"$T/run.out" 2>&1
ok $? "a sandbox with credential api runs" || diag "$(cat "$T/run.out")"
PH=$(cw_ph sg API_KEY)

# the sandbox uses the credential, keeps the echoes in files and in the
# memory of a process that stays (its variable R), and the canary too
C='curl -sS --max-time 20 -H "Authorization: Bearer $API_KEY"'
lctl exec -e "CANARY=$CAN" sg sh -c "$C -o /var/tmp/resp1 -w '%{http_code}' https://hdr.api.test/v1/a; \
    $C -o /tmp/resp2 https://hdr.api.test/v1/b; \
    echo \$CANARY >/var/tmp/canary; echo \$CANARY >/tmp/canary" >"$T/code" 2>&1
lctl exec sg sh -c "R=\$($C https://hdr.api.test/v1/c); C2=\$(cat /var/tmp/canary); \
    echo \"\$R\" >/var/tmp/resp3; echo held; sleep 600" >"$T/keeper.out" 2>&1 &
KEEPER=$!
wait_until 30 grep -q held "$T/keeper.out"
[ "$(cat "$T/code")" = 200 ] &&
    [ "$(cw_log "['Authorization', 'Bearer $S'] in r['headers']" | wc -l)" -eq 3 ] &&
    grep -q held "$T/keeper.out"
ok $? "three requests with the placeholder answered, the upstream got the secret each time ($(cat "$T/code"))"
lctl exec sg cat /var/tmp/resp1 >"$T/resp1" 2>&1
grep -qF "Bearer $PH" "$T/resp1" && ! grep -qF "$S" "$T/resp1"
ok $? "the sandbox's copy of the echo has the placeholder, not the secret"

# held: the upstream has the request and answers once $CW_CTL/h1 exists
lctl exec sg sh -c "$C -o /tmp/held https://hdr.api.test/hold/h1" \
    >"$T/held.out" 2>&1 &
HELD=$!
wait_until 30 sh -c "grep -q '/hold/h1' '$CW_LOG'"
XPID=$(credd_child exchange)
PROXY=$(pgrep -P "$NETD_PID" -f 'lensnetd: proxy' | head -n 1)
cw_memscan "$S" $XPID >"$T/mg-x" 2>&1
ok $? "while it holds a request: the secret is in lenscredd's exchange (pid $XPID): $(cat "$T/mg-x")"
cw_memscan "$S" $PROXY >"$T/mg-p0" 2>&1
[ $? -eq 1 ]
ok $? "... and at that moment not in lensnetd's proxy (pid $PROXY): $(cat "$T/mg-p0")"
touch "$CW_CTL/h1"
wait $HELD

# the processes of the sandbox: those in the pid namespace of the one
# that has the canary in its environment
PIDS=$(cw_pids "CANARY=$CAN")
set -- $PIDS
[ $# -ge 3 ]
ok $? "the sandbox's processes: $# ($PIDS)"
R=$1
envs=0 found=0
for p in $PIDS; do
	tr '\0' '\n' <"/proc/$p/environ" >"$T/env.$p" 2>/dev/null || continue
	envs=$((envs + 1))
	grep -qF "$CAN" "$T/env.$p" && found=$((found + 1))
	grep -qF "$S" "$T/env.$p" && { diag "secret in the environment of $p"; found=-999; }
done
[ "$envs" -eq $# ] && [ "$found" -ge 1 ]
ok $? "the secret is in no process's environment ($envs read; the canary found in $found)"

# the writable layer and /tmp, as the sandbox sees them
find "/proc/$R/root/" -path "/proc/$R/root/proc" -prune -o \
    -path "/proc/$R/root/sys" -prune -o -path "/proc/$R/root/dev" -prune -o \
    -type f -print >"$T/files" 2>/dev/null
nf=$(wc -l <"$T/files")
tr '\n' '\0' <"$T/files" | xargs -0 grep -laF -e "$CAN" -- 2>/dev/null |
    sed "s|^/proc/$R/root||" | sort >"$T/can.files"
tr '\n' '\0' <"$T/files" | xargs -0 grep -laF -e "$S" -- 2>/dev/null >"$T/s.files"
grep -qx /var/tmp/canary "$T/can.files" && grep -qx /tmp/canary "$T/can.files"
ok $? "the grep of files finds the canary: $(tr '\n' ' ' <"$T/can.files")"
[ ! -s "$T/s.files" ] && grep -q "/var/tmp/resp1$" "$T/files" &&
    grep -q "/tmp/resp2$" "$T/files" && grep -q "/var/tmp/resp3$" "$T/files"
ok $? "the secret is in none of the $nf files (the responses among them)" ||
    diag "$(cat "$T/s.files")"

# their memory
cw_memscan "$CAN" $PIDS >"$T/mg-can" 2>&1
ok $? "the memory grep finds the canary in the sandbox: $(awk '$2 > 0' "$T/mg-can" | wc -l) of $# processes"
cw_memscan "$S" $PIDS >"$T/mg-s" 2>&1
[ $? -eq 1 ]
ok $? "the secret is in the memory of none of them ($(tr '\n' ' ' <"$T/mg-s"))" ||
    diag "$(cat "$T/mg-s")"

# lensnetd's proxy: it has the placeholder, never the secret
cw_memscan "$PH" $PROXY >"$T/mg-pph" 2>&1
ok $? "the memory grep finds the placeholder in lensnetd's proxy: $(cat "$T/mg-pph")"
cw_memscan "$S" $PROXY >"$T/mg-p" 2>&1
[ $? -eq 1 ]
ok $? "the secret is not in lensnetd's proxy: $(cat "$T/mg-p")"
OTHERS="$NETD_PID $(pgrep -P "$NETD_PID" | grep -vx "$PROXY") $VMM_PID $(pgrep -P "$VMM_PID")"
cw_memscan "$S" $OTHERS >"$T/mg-o" 2>&1
[ $? -eq 1 ]
ok $? "nor in any other process of lensnetd or lensvmm ($(echo $OTHERS | wc -w) processes)" ||
    diag "$(cat "$T/mg-o")"
kill $KEEPER 2>/dev/null
# where it is after the run: lenscredd's processes (information)
for r in vault exchange; do
	p=$(credd_child $r)
	[ -n "$p" ] && diag "after the run, lenscredd $r: $(cw_memscan "$S" $p 2>&1)"
done
lctl rm -f sg >/dev/null 2>&1
tap_done
