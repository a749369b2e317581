#!/bin/sh
# Attack: held DNS queries and requests (lensnetd(8) Approvals), one
# sandbox (the 1025-query flood over five sandboxes is
# regress/slow/approval-dns-flood.t, make regress-approval-slow).  A
# sandbox whose policy says defaultVerdict: ask cannot answer its own
# held DNS query or request: from inside, as root, every Unix socket it
# can see and every host socket path Lens uses is tried with a
# well-formed DECIDE for each pending id, and none answers.  A
# retransmitted query joins the held one.  Flooding lensnetd with
# queries for names it must ask about holds at most 256 of the
# sandbox's (its client queries in flight; the rest SERVFAIL), and a
# sandbox that goes takes its held queries with it.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
export LENS_REGRESS
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
. "$LENS_REGRESS/networld.sh"
netd_require
require_cmds curl python3 dnsmasq gcc

tap_plan 10
tmpdir_setup
chmod 0755 "$T"
networld_up
netrootfs_setup
mkdir -p "$T/probe"
gcc -static -O1 -I"$LENS_REGRESS/../common" -isystem /usr/include/bsd \
    -DLIBBSD_OVERLAY -o "$T/probe/apprprobe" \
    "$LENS_REGRESS/sandbox/apprprobe.c" &&
    gcc -static -O1 -o "$T/probe/dnsflood" "$LENS_REGRESS/sandbox/dnsflood.c"
ok $? "apprprobe and dnsflood built static"
chmod -R a+rX "$T/probe"
echo asked-web >"$T/www-ok/asked"

cat >"$T/policy.yaml" <<'EOF'
version: 1
network:
  defaultVerdict: ask
  egress:
    http:
      - match: ok.test
        verdict: allow
        rules:
          - {method: GET, path: "/asked", verdict: ask}
EOF
chmod 0644 "$T/policy.yaml"
at_exit 'netd_stop; vmm_stop; auditd_stop'
auditd_start -u _lensnet || { echo "Bail out! lensauditd"; exit 1; }
netd_start "$NW_DNS" -A "$T/appr.sock" -w 120 ||
    { echo "Bail out! lensnetd"; exit 1; }
vmm_setup -n "$T/netd.sock"
at_exit 'log_if_failed lensnetd "$T/netd.log" 40'
export LENS_APPROVE_SOCKET=$T/appr.sock
for i in 1; do
	lctl run -d --name "fl$i" --rootfs "$NR" --policy "$T/policy.yaml" \
	    -v "$T/probe:/probe:ro" -- sleep 600 >/dev/null || break
done
ok $? "a sandbox with defaultVerdict ask"

list() { "$LENSCTL" approvals --json 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print(e["id"], e["state"], e["kind"], e["name"], e["sandbox"])'; }
npending() { list | grep -c ' pending '; }

# --- the sandbox answers its own held query and request
lctl exec fl1 -- dig +tries=1 +time=100 self.flood.test A >"$T/d" 2>&1 &
dpid=$!
lctl exec fl1 -- curl -sS --max-time 100 http://ok.test/asked >"$T/c" 2>&1 &
cpid=$!
wait_until 20 sh -c "'$LENSCTL' approvals --json | grep -q '\"kind\": \"request\"' &&
    '$LENSCTL' approvals --json | grep -q self.flood.test"
idd=$(list | awk '$3 == "dns" && $4 == "self.flood.test" { print $1; exit }')
idr=$(list | awk '$3 == "request" { print $1; exit }')
[ -n "$idd" ] && [ -n "$idr" ]
ok $? "a held DNS query ($idd) and a held request ($idr)"
lctl exec fl1 -- sh -c 'find / -path /proc -prune -o -type s -print \
    2>/dev/null' >"$T/seen"
for id in "$idd" "$idr"; do
	lctl exec fl1 -- /probe/apprprobe "$id" $(cat "$T/seen") \
	    /run/lens/lensapprove.sock /run/lens/lensnetd.sock \
	    /run/lens/lensvmm.sock /run/lens/lensauditd.sock \
	    /run/lens/lenscredd.sock "$T/appr.sock" "$T/netd.sock" \
	    "$T/vmm.sock" "$T/auditd.sock" >>"$T/probe.out" 2>&1
done
diag "$(wc -l <"$T/seen") sockets visible; $(tr '\n' ';' <"$T/probe.out")"
! grep -q ': answer' "$T/probe.out" && [ -s "$T/probe.out" ]
ok $? "from inside, no socket answers for either"
[ "$(list | awk -v a="$idd" -v b="$idr" '($1 == a || $1 == b) && $2 == "pending"' | wc -l)" -eq 2 ] &&
    ! grep -q . "$T/d" && ! grep -q . "$T/c"
ok $? "both still pending, the query and the request unanswered"
"$LENSCTL" deny "$idd" && "$LENSCTL" deny "$idr"
wait $dpid $cpid
grep -q 'status: NXDOMAIN' "$T/d" && grep -q 'ask denied by the operator' "$T/c"
ok $? "the operator's deny ends them: NXDOMAIN, 403"

# --- retransmits: five queries sent three times each from one port
lctl exec fl1 -- /probe/dnsflood 5 rt- >"$T/rt" 2>&1
n=$(list | grep -c ' dns rt-[1-5]\.flood\.test ')
[ "$n" -eq 5 ] && [ "$(npending)" -eq 5 ]
ok $? "15 packets, 5 queries retransmitted: 5 approvals ($n; $(cat "$T/rt"))"
[ "$n" -eq 5 ] || diag "$(list)"
for id in $(list | awk '$3 == "dns" { print $1 }'); do
	"$LENSCTL" deny "$id" || break
done
[ "$(npending)" -eq 0 ]
ok $? "denied, none pending"

# --- the flood: 300 names from one sandbox
lctl exec fl1 -- /probe/dnsflood 300 s- >"$T/flood" 2>&1
n=$(npending)
a=$(sed -n 's/^sent 300 answered \([0-9]*\)$/\1/p' "$T/flood")
[ "$n" -eq 256 ] && [ -n "$a" ] && [ "$a" -ge 1 ] && [ "$a" -le 132 ]
ok $? "300 queries sent 3 times: 256 held (the sandbox's client queries in flight), SERVFAIL for the 44 others only, never for a retransmit of a held one ($n; $(cat "$T/flood"))"
lctl rm -f fl1 >/dev/null
wait_until 10 sh -c "[ \$('$LENSCTL' approvals --json | grep -c '\"kind\": \"dns\"') -eq 0 ]"
ok $? "the sandbox removed: its held queries are gone ($(npending) pending)"
tap_done
