#!/bin/sh
# Approvals under stress (make regress-approval-slow, not in check: about
# two minutes): 1025 held connections at once, the 1025th denied and
# audited; kill -9 of `lensctl approve --always` at random moments while
# it rewrites the policy file leaves the old file or the new one, never
# a broken one.
R0=$(cd "$(dirname "$0")/.." && pwd)
. "$R0/lib.sh"
. "$R0/daemon.sh"
. "$R0/networld.sh"
netd_require
require_cmds curl python3 dnsmasq

tap_plan 7
tmpdir_setup
chmod 0755 "$T"
networld_up
export LENS_REGRESS=$R0
netrootfs_setup

P=$T/pol/policy.yaml
mkdir -p "$T/pol"
cat >"$P" <<'P'
# stress
version: 1
network:
  defaultVerdict: deny
  egress:
    http:
      - {match: "ok.test:8081", verdict: ask}
    tcp:
      - {match: "echo.test:3000-3099", verdict: ask}
P
chmod 0640 "$P"
at_exit 'netd_stop; vmm_stop; auditd_stop'
auditd_start -u _lensnet || { echo "Bail out! lensauditd"; exit 1; }
netd_start "$NW_DNS" -A "$T/appr.sock" -w 8 -r 2000:2000 -c 2000 ||
    { echo "Bail out! lensnetd"; exit 1; }
vmm_setup -n "$T/netd.sock"
A="$LENSCTL -s $VMM_SOCK"
export LENS_APPROVE_SOCKET=$T/appr.sock
lctl run -d --name stress --pids 3000 --rootfs "$NR" --policy "$P" -- \
    sleep 600 >/dev/null
x() { lctl exec stress -- "$@"; }
npending() {
	$A approvals --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
pending() {
	_i=0
	while [ $_i -lt 200 ]; do
		_id=$($A approvals --json 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["name"] == sys.argv[1] and e["state"] == "pending":
        print(e["id"]); break' "$1")
		[ -n "$_id" ] && { echo "$_id"; return 0; }
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

# --- 1025 held at once: five curls of 205 parallel connections each
x sh -c 'for k in 1 2 3 4 5; do
    curl -s --noproxy "*" --parallel --parallel-immediate --parallel-max 300 \
    --max-time 30 $(i=0; while [ $i -lt 205 ]; do
    echo "http://ok.test:8081/$k-$i"; i=$((i+1)); done) >/dev/null 2>&1 &
    done; wait' &
fpid=$!
wait_until 20 sh -c "[ \$($LENSCTL approvals --json | grep -c '\"id\"') -ge 1024 ]"
ok $? "1024 approvals pending"
wait_until 10 sh -c "'$LENSCTL' audit show --json --dir '$T/audit' \
    2>/dev/null | grep '\"type\":\"approval.request\"' |
    grep -q '\"reason\":\"too many pending approvals\"'"
ok $? "the 1025th is denied, and audited"
n=$(npending)
[ "$n" -le 1024 ]
ok $? "never more than 1024 pending ($n)"
wait $fpid
wait_until 20 sh -c "[ \$($LENSCTL approvals --json | grep -c '\"id\"') -eq 0 ]"
ok $? "all timed out"

# --- kill -9 of lensctl while it writes: the old file or the new one
good=0
n=0
while [ $n -lt 20 ]; do
	old=$(sha256sum "$P" | cut -c1-64)
	x sh -c "busybox nc -w 20 echo.test $((3050 + n)) </dev/null" \
	    >/dev/null 2>&1 &
	cpid=$!
	kid=$(pending echo.test) || break
	cp "$P" "$T/old.yaml"
	$A approve --always "$kid" >/dev/null 2>&1 &
	apid=$!
	# somewhere between read, write, fsync and rename
	python3 -c "import random, time; time.sleep(random.uniform(0, 0.03))"
	kill -9 $apid 2>/dev/null
	wait $apid 2>/dev/null
	new=$(sha256sum "$P" | cut -c1-64)
	if [ "$new" = "$old" ] || { "$LENSCTL" policy check "$P" >/dev/null &&
	    grep -q "echo.test:$((3050 + n))\", verdict: allow" "$P" &&
	    [ "$(grep -vc "echo.test:$((3050 + n))\"" "$P")" -eq \
	    "$(wc -l <"$T/old.yaml")" ]; }; then
		good=$((good + 1))
	else
		diag "iteration $n: neither the old nor the new file:"
		sed 's/^/#   /' "$P"
	fi
	$A deny "$kid" >/dev/null 2>&1
	kill $cpid 2>/dev/null
	wait $cpid 2>/dev/null
	n=$((n + 1))
done
[ $good -eq 20 ]
ok $? "20 kill -9 of approve --always: each left the old file or the new one ($good)"
"$LENSCTL" policy check "$P" >/dev/null && [ "$(stat -c %a "$P")" = 640 ]
ok $? "the file validates, mode 640"

lctl rm -f stress >/dev/null
out=$("$LENSCTL" audit verify --dir "$T/audit" --pubkey "$T/audit.pub" \
    --witness "$T/audit.witness" 2>&1)
ok $? "the audit log verifies"
tap_done
