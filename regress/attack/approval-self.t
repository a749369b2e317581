#!/bin/sh
# Attack: a sandbox approves its own held connection.  Only root and
# group lens may answer, on lensnetd's approvals socket on the host
# (lensnetd(8) APPROVALS).  From inside the sandbox, as root and as its
# user, every Unix socket the sandbox can see (find / -type s) and every
# host socket path Lens uses is tried with a well-formed DECIDE for the
# pending id: none may answer, and the approval stays pending until the
# operator decides.  A host user outside group lens is refused too.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
export LENS_REGRESS
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
. "$LENS_REGRESS/networld.sh"
netd_require
require_cmds curl python3 dnsmasq gcc setpriv

tap_plan 11
tmpdir_setup
chmod 0755 "$T"
networld_up
netrootfs_setup
mkdir -p "$T/probe"
gcc -static -O1 -I"$LENS_REGRESS/../common" -isystem /usr/include/bsd \
    -DLIBBSD_OVERLAY -o "$T/probe/apprprobe" \
    "$LENS_REGRESS/sandbox/apprprobe.c"
ok $? "apprprobe built static"
chmod -R a+rX "$T/probe"

deny_policy "$T/policy.yaml" <<'EOF2'
    http:
      - {match: other.test, verdict: ask}
EOF2
chmod 0644 "$T/policy.yaml"
at_exit 'netd_stop; vmm_stop; auditd_stop'
auditd_start -u _lensnet || { echo "Bail out! lensauditd"; exit 1; }
netd_start "$NW_DNS" -A "$T/appr.sock" -w 60 ||
    { echo "Bail out! lensnetd"; exit 1; }
vmm_setup -n "$T/netd.sock"
export LENS_APPROVE_SOCKET=$T/appr.sock
lctl run -d --name self --rootfs "$NR" --policy "$T/policy.yaml" \
    -v "$T/probe:/probe:ro" -- sleep 600 >/dev/null
ok $? "a sandbox with an ask rule"

lctl exec self -- curl -sS --max-time 60 http://other.test/ >"$T/c" 2>&1 &
cpid=$!
list() { "$LENSCTL" approvals --json 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print(e["id"], e["state"], e["name"])'; }
wait_until 20 sh -c "'$LENSCTL' approvals --json | grep -q other.test"
id=$(list | awk '$3 == "other.test" { print $1; exit }')
[ -n "$id" ]
ok $? "the held connection is a pending approval ($id)"

# the probe does reach lensnetd where it can: from the host, a DECIDE
# for an unknown id is answered ERROR
"$T/probe/apprprobe" 00000000000000000000000000000000 "$T/appr.sock" \
    >"$T/hostprobe" 2>&1
grep -q ": answer 0x41000006$" "$T/hostprobe"
ok $? "from the host the probe talks to lensnetd ($(cat "$T/hostprobe"))"

# every socket it sees, and the host paths Lens uses
for who in root 1000; do
	lctl exec -u "$who" self -- sh -c 'find / -path /proc -prune -o \
	    -type s -print 2>/dev/null' >"$T/seen-$who"
	lctl exec -u "$who" self -- /probe/apprprobe "$id" \
	    $(cat "$T/seen-$who") /run/lens/lensapprove.sock \
	    /run/lens/lensnetd.sock /run/lens/lensvmm.sock \
	    /run/lens/lensauditd.sock /run/lens/lenscredd.sock \
	    "$T/appr.sock" "$T/netd.sock" "$T/vmm.sock" "$T/auditd.sock" \
	    >"$T/probe-$who" 2>&1
	diag "as $who: $(wc -l <"$T/seen-$who") sockets visible; $(tr '\n' ';' <"$T/probe-$who")"
	! grep -q ': answer' "$T/probe-$who" && [ -s "$T/probe-$who" ]
	ok $? "as $who: no socket it can reach answers"
done
[ "$(list | awk -v id="$id" '$1 == id { print $2 }')" = pending ]
ok $? "the approval is still pending"
! grep -q . "$T/c"
ok $? "... and the connection still held"

# a host user outside group lens
setpriv --reuid=65534 --regid=65534 --clear-groups "$LENSCTL" approve "$id" \
    >"$T/nobody" 2>&1
[ $? -ne 0 ] && [ "$(list | awk -v id="$id" '$1 == id { print $2 }')" = pending ]
ok $? "uid 65534, not in group lens: refused ($(cat "$T/nobody"))"

"$LENSCTL" deny "$id"
wait $cpid
grep -q 'ask denied by the operator' "$T/c"
ok $? "the operator's deny ends it ($(cat "$T/c"))"
n=$("$LENSCTL" audit show --json --dir "$T/audit" 2>/dev/null |
    grep '"type":"approval.decision"' | grep -c "\"id\":\"$id\"")
"$LENSCTL" audit show --json --dir "$T/audit" 2>/dev/null |
    grep '"type":"approval.decision"' | grep "\"id\":\"$id\"" |
    grep -q '"uid":0,"user":"root"'
[ $? -eq 0 ] && [ "$n" -eq 1 ]
ok $? "one decision on record, by uid 0 ($n)"
tap_done
