#!/bin/sh
# Attack: a sandbox floods the audit log (and the host's disk under it)
# through lensnetd's resolver.  Denied DNS queries were rate-limited per
# NAME (one dns.deny event per name and second), so a sandbox asking
# for a new name each time got one audit event per query: 20000 queries
# in a second or two, 20000 signed, fsync'ed records, without end, and
# lensauditd busy with them while every other sandbox's events wait.
# Now each sandbox has a budget of dns.deny events a second; beyond it
# the refusals are summed into one dns.deny.summary event a second that
# carries their count, so no refusal goes unrecorded.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
. "$LENS_REGRESS/networld.sh"
netd_require
require_cmds dig dnsmasq

tap_plan 7
tmpdir_setup
chmod 0755 "$T"
networld_up
netrootfs_setup
mkdir -p "$NR/usr/local/bin"
gcc -static -O1 -o "$NR/usr/local/bin/dnsflood" "$LENS_REGRESS/netd/dnsflood.c"
ok $? "dnsflood built static into the rootfs"
deny_policy "$T/policy.yaml" <<EOF
    http:
      - {match: ok.test, verdict: allow}
EOF
netstack_setup
RUN="--rootfs $NR --policy $T/policy.yaml"

A=$(lctl run -d --name flooder $RUN -- sleep 600)
B=$(lctl run -d --name victim $RUN -- sleep 600)
[ -n "$A" ] && [ -n "$B" ]
ok $? "two sandboxes with the policy run"
GW=$(lctl exec flooder -- sed -n 's/^nameserver //p' /etc/resolv.conf)

N=20000
s0=$(date +%s)
lctl exec flooder -- dnsflood "$GW" $N flood.test >"$T/flood" 2>&1
s1=$(date +%s)
nx=$(sed -n 's/^nxdomain //p' "$T/flood")
diag "flood: $(tr '\n' ' ' <"$T/flood") in $((s1 - s0 + 1)) s"
[ "${nx:-0}" -ge $((N / 2)) ]
ok $? "the flooder got NXDOMAIN for ${nx:-0} of $N new names"

# the victim's denial, asked right after the flood, is recorded at once
lctl exec victim -- dig +short +time=2 +tries=1 denied.test >/dev/null
show() { "$LENSCTL" audit show --json --dir "$T/audit" 2>/dev/null; }
# the flooder's refusals: every one counted, in events or summaries
counted() {
	show | grep "\"$A\"" | grep '"type":"dns.deny' |
	    sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}
wait_until 15 sh -c "[ \$(\"$LENSCTL\" audit show --json --dir '$T/audit' 2>/dev/null |
    grep '\"$A\"' | grep '\"type\":\"dns.deny' |
    sed -n 's/.*\"count\":\([0-9]*\).*/\1/p' | awk '{ s += \$1 } END { print s + 0 }') -ge ${nx:-1} ]"
c=$(counted)
[ "$c" -ge "${nx:-1}" ]
ok $? "every refusal is counted in the audit log ($c >= $nx)"
ev=$(show | grep "\"$A\"" | grep -c '"type":"dns.deny"')
lim=$(( (s1 - s0 + 4) * 20 ))
[ "$ev" -le "$lim" ]
ok $? "the flooder's $nx refusals made $ev dns.deny events, at most $lim (20 a second)"
sm=$(show | grep "\"$A\"" | grep -c '"type":"dns.deny.summary"')
[ "$sm" -ge 1 ] && [ "$sm" -le $((s1 - s0 + 4)) ]
ok $? "... and $sm dns.deny.summary events, one a second at most"
show | grep "\"$B\"" | grep '"type":"dns.deny"' | grep -q 'denied.test'
ok $? "the other sandbox's own denial has its own event"
lctl rm -f flooder victim >/dev/null
tap_done
