#!/bin/sh
# Attack: one sandbox denies service to another through lensnetd's
# shared resources.  Two fake sandboxes (network namespaces attached
# with regress/tools/netdattach, which plays lensvmm) share one
# lensnetd whose proxy may hold about 990 connections (RLIMIT_NOFILE
# 2048).  The hostile one holds connections to an upstream that never
# answers (slow.ok.test:8081), opens connections to names whose lookups
# never come back and floods DNS queries for such names (*.hole.test,
# forwarded by the test internet's dnsmasq to a server that drops
# them).  Meanwhile the other sandbox's 50 DNS lookups and 50 proxied
# HTTP fetches, of fresh names each, must all succeed, each within 2 s,
# as they do without the flood; the hostile sandbox's refusals must be
# audited as net.limit summaries, not one event per refusal.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
. "$(dirname "$0")/../networld.sh"

ATTACH=$OBJ/regress/tools/netdattach
PY="python3 $(cd "$(dirname "$0")" && pwd)/fairness.py"
if [ "$(id -u)" -ne 0 ] || [ ! -x "$NETD" ] || [ ! -x "$ATTACH" ] ||
    ! command -v nft >/dev/null || ! command -v python3 >/dev/null ||
    ! command -v dnsmasq >/dev/null || [ ! -x /bin/busybox ]; then
	echo "1..0 # SKIP needs root, lensnetd, netdattach, nft, python3, dnsmasq, busybox"
	exit 0
fi

tap_plan 25
tmpdir_setup
chmod 0755 "$T"
HOS=lnfh$$
VIC=lnfv$$
NETD_INST=netdf$$
HID=0000000000000000000000000000000000000000000000000000000000000bad
VID=000000000000000000000000000000000000000000000000000000000000600d
at_exit 'for p in ${HPID:-} ${HPIDS:-} ${APIDS:-} ${SPIDS:-}; do kill $p 2>/dev/null; done; netd_stop; auditd_stop; for n in $NSS; do ip netns del $n 2>/dev/null; done'

# the limits' options are checked strictly (exit 2, naming option and value)
for c in "-c 0|-c 0: need the connections one sandbox may hold open, 1 to 65536" \
    "-c 65537|-c 65537: need" "-c 12x|-c 12x: need" "-c -5|-c -5: need" \
    "-l 257|-l 257: need the DNS lookups one sandbox may have in flight, 1 to 256" \
    "-l 0|-l 0: need" "-r 0|-r 0: need RATE[:BURST]" "-r 10:5|-r 10:5: need" \
    "-r 10:|-r 10:: need" "-r x|-r x: need"; do
	opt=${c%%|*}
	"$NETD" -d -n "$NETD_INST" -s "$T/opt.sock" $opt -u 198.18.0.53 \
	    >"$T/opt.out" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] && grep -qF -- "${c#*|}" "$T/opt.out"
	ok $? "lensnetd $opt: exit 2, $(cat "$T/opt.out")"
done

# *.hole.test goes to a server in the test internet that drops queries
NW_DNSMASQ_ARGS="--server=/hole.test/127.0.0.1#5300 --dns-forward-max=10000"
networld_up
ip netns exec "$NW_NS" $PY drop 127.0.0.1 5300 "$T/drop.ready" &
SPIDS="$!"
ip netns exec "$NW_NS" $PY slow "$NW_OK" 8081 "$T/slow.ready" &
SPIDS="$SPIDS $!"
wait_until 10 test -e "$T/drop.ready" -a -e "$T/slow.ready" ||
    { echo "Bail out! the dropping DNS server or the slow upstream did not start"; exit 1; }

deny_policy "$T/policy.yaml" <<PEOF
    http:
      - {match: ok.test, verdict: allow}
      - {match: "*.ok.test:8081", verdict: allow}	# the slow upstream
      - {match: "*.ok.test", verdict: allow}
      - {match: "*.hole.test", verdict: allow}
PEOF

# the proxy's global cap: (2048 - 64) / 2 connections
ulimit -S -n 2048 && ulimit -H -n 2048 ||
    { echo "Bail out! cannot set RLIMIT_NOFILE"; exit 1; }
auditd_start -u _lensnet || { echo "Bail out! lensauditd did not start"; exit 1; }
netd_start "$NW_DNS" || { echo "Bail out! lensnetd did not start"; exit 1; }

NSS=
attach() {	# attach NETNS ID: attached while a holder keeps its fifo open
	ip netns add "$1" && mkfifo "$T/$1.hold" || return 1
	NSS="$NSS $1"
	"$ATTACH" -i "$2" -P "$T/policy.yaml" "$T/netd.sock" "/run/netns/$1" \
	    <"$T/$1.hold" >"$T/$1.out" 2>&1 &
	APIDS="${APIDS:-} $!"
	sleep 3600 >"$T/$1.hold" &
	APIDS="$APIDS $!"
	wait_until 30 grep -q '^attached' "$T/$1.out"
}
attach "$HOS" "$HID" && attach "$VIC" "$VID"
ok $? "two sandboxes attached ($(cat "$T/$HOS.out") / $(cat "$T/$VIC.out"))"
HGW=$(awk '/^attached/ { sub("/.*", "", $3); print $3 }' "$T/$HOS.out")
VGW=$(awk '/^attached/ { sub("/.*", "", $3); print $3 }' "$T/$VIC.out")

victim() {	# victim TAG: 50 lookups and 50 fetches in the second sandbox
	ip netns exec "$VIC" $PY victim "$NW_OK" "$VGW" 50 "$1" >"$T/victim-$1" 2>&1
	sed -n 's/^summary //p' "$T/victim-$1"
}
summary_ok() {	# summary_ok SUMMARY: all 100 succeeded, none over 2 s
	echo "$1" | grep -q '^dns_ok=50 http_ok=50 max_ms=' &&
	    [ "${1##*max_ms=}" -le 2000 ]
}

base=$(victim base)
summary_ok "$base"
ok $? "alone, the second sandbox's 50 lookups and 50 fetches succeed ($base)"

# the flood, until the proxy has refused or stopped accepting
t0=$(date +%s)
ip netns exec "$HOS" $PY hostile "$NW_OK" "$HGW" "$T/hostile" &
HPID=$!
saturated() {
	grep -q 'dns_sent=[0-9][0-9][0-9][0-9]' "$T/hostile" 2>/dev/null &&
	    { grep -q 'accepting paused' "$T/netd.log" ||
	    grep -q 'limit.*connections' "$T/audit"/*.log; }
}
wait_until 30 saturated
ok $? "the hostile sandbox floods ($(cat "$T/hostile" 2>/dev/null))"

flood=$(victim flood)
summary_ok "$flood"
ok $? "under the flood, the second sandbox's 50 lookups and 50 fetches succeed, each within 2 s ($flood; alone: ${base##* })"
summary_ok "$flood" || grep -v '^summary' "$T/victim-flood" |
    sort -k4 -n | tail -n 5 | while read -r l; do diag "$l"; done
kill -0 "$HPID" 2>/dev/null
ok $? "the hostile sandbox flooded all along ($(cat "$T/hostile"))"
kill "$HPID"
wait "$HPID" 2>/dev/null
HPID=
t1=$(date +%s)

# the audit: summaries of the refusals, one per second and limit
wait_until 10 sh -c "'$LENSCTL' audit show --json --dir '$T/audit' 2>/dev/null |
    grep '\"net.limit\"' | grep -q '\"dns-lookups\"'"
"$LENSCTL" audit show --json --dir "$T/audit" >"$T/events" 2>&1
grep '"type":"net.limit"' "$T/events" >"$T/limits"
lim() {	# lim SANDBOX LIMIT: "EVENTS REFUSED" of that limit
	python3 -c 'import json, sys
n = r = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    d = e.get("details", e)
    if d.get("sandbox") == sys.argv[2] and d.get("limit") == sys.argv[3]:
        n += 1
        r += d["refused"]
print(n, r)' "$T/limits" "$1" "$2"
}
set -- $(lim "$HID" connections)
[ "$1" -ge 1 ] && [ "$2" -gt "$1" ]
ok $? "the hostile sandbox's refused connections are audited as net.limit connections summaries ($1 events for $2 refusals)"
set -- $(lim "$HID" dns-lookups)
[ "$1" -ge 1 ] && [ "$2" -gt "$1" ]
ok $? "its refused lookups: net.limit dns-lookups summaries ($1 events for $2 refusals)"
secs=$((t1 - t0 + 2))
n=$(grep -c "\"$HID\"" "$T/limits")
[ "$n" -le $((secs * 4)) ]
ok $? "at most one event per limit and second ($n events in about $secs s)"
grep -q '"limit":"connections".*"max":256\|"max":256.*"limit":"connections"' "$T/limits"
ok $? "... naming the limit and its value (256 connections)"
! grep -q "\"$VID\"" "$T/limits"
ok $? "nothing of the second sandbox was refused"

again=$(victim after)
summary_ok "$again"
ok $? "after the flood the second sandbox is served as before ($again)"

# --- the resolver's 512 slots, all taken by nine sandboxes at their 64:
# a tenth's lookups take the slot of the oldest lookup of one holding
# more than its share, at once, instead of waiting for one to time out
netd_stop
netd_start "$NW_DNS" || { echo "Bail out! lensnetd did not restart"; exit 1; }
r=0
for i in 1 2 3 4 5 6 7 8 9; do
	attach "lnf$i-$$" "$(printf '%064d' "$i")" || r=1
done
attach "lnfw$$" "$VID" || r=1
ok $r "ten sandboxes attached"
VGW=$(awk '/^attached/ { sub("/.*", "", $3); print $3 }' "$T/lnfw$$.out")
VIC=lnfw$$
HPIDS=
for i in 1 2 3 4 5 6 7 8 9; do
	gw=$(awk '/^attached/ { sub("/.*", "", $3); print $3 }' "$T/lnf$i-$$.out")
	ip netns exec "lnf$i-$$" $PY hostile "$NW_OK" "$gw" "$T/h$i" 200 dns &
	HPIDS="$HPIDS $!"
done
full() {	# every flooder 4 s on (the lookups' life) and refused
	for i in 1 2 3 4 5 6 7 8 9; do
		grep -q 'dns_sent=[0-9][0-9][0-9][0-9]' "$T/h$i" 2>/dev/null ||
		    return 1
	done
}
wait_until 30 full
ok $? "nine sandboxes flood DNS ($(cat "$T/h9" 2>/dev/null))"
queued=$(victim queued)
summary_ok "$queued"
ok $? "the tenth's 50 lookups and 50 fetches succeed, each within 2 s ($queued)"
summary_ok "$queued" || grep -v '^summary' "$T/victim-queued" |
    sort -k4 -n | tail -n 5 | while read -r l; do diag "$l"; done
for p in $HPIDS; do kill "$p"; done
HPIDS=
shared() {	# the nine's lookups given up for the tenth, audited
	"$LENSCTL" audit show --json --dir "$T/audit" 2>/dev/null |
	    grep '"type":"net.limit"' | grep '"dns-share"' >"$T/share"
	[ -s "$T/share" ] && ! grep -q "\"$VID\"" "$T/share"
}
wait_until 10 shared
ok $? "the slots it took from the nine are audited as their net.limit dns-share summaries ($(wc -l <"$T/share") events)"
tap_done
