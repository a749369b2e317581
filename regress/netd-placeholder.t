#!/bin/sh
# NETD_ATTACH carries the sandbox's credential placeholders (issue 13),
# one for each credential of its policy, in the policy's order:
# lensnetd's parent keeps them (logged at attach) and refuses an attach
# whose placeholders do not match the policy (too few, too many, none
# for a policy without credentials but one), are malformed, repeat, or
# are counted beyond the message.  netdattach plays lensvmm; then
# lensvmm itself attaches a sandbox with the credentials' placeholders.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

ATTACH=$OBJ/regress/tools/netdattach
if [ "$(id -u)" -ne 0 ] || [ ! -x "$NETD" ] || [ ! -x "$ATTACH" ] ||
    ! command -v nft >/dev/null; then
	echo "1..0 # SKIP needs root, lensnetd, netdattach, nft"
	exit 0
fi

tap_plan 10
tmpdir_setup
chmod 0755 "$T"
SB=lnph$$
NETD_INST=netph$$
at_exit 'netd_stop; auditd_stop; ip netns del $SB 2>/dev/null'

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
P1=lens-ph-abcdefghijklmnopqrstuvwxyz234567
P2=lens-ph-234567abcdefghijklmnopqrstuvwxyz

# try NAME [netdattach flags]: attach $SB and let go at once
try() {
	_n=$1
	shift
	"$ATTACH" "$@" "$T/netd.sock" "/run/netns/$SB" </dev/null \
	    >"$T/$_n.out" 2>&1
	# the attach is gone before the next one
	wait_until 10 sh -c "! nsenter --net=/run/netns/$SB ip -o link | \
	    grep -q 'eth0'" >/dev/null 2>&1
}

auditd_start -u _lensnet || { echo "Bail out! lensauditd did not start"; exit 1; }
ip netns add "$SB" || { echo "Bail out! ip netns add"; exit 1; }
netd_start 198.18.0.53 || { echo "Bail out! lensnetd did not start"; exit 1; }

try ok -P "$T/p.yaml" -H $P1 -H $P2
grep -q '^attached' "$T/ok.out" &&
    wait_until 10 grep -q "attached .* 2 credential placeholders" "$T/netd.log"
ok $? "two credentials, two placeholders: attached, kept ($(head -1 "$T/ok.out"))"

try few -P "$T/p.yaml" -H $P1
grep -q '^error ATTACH: 1 placeholders for a policy of 2 credentials' "$T/few.out"
ok $? "one placeholder for two credentials: $(cat "$T/few.out")"

try none -H $P1
grep -q '^error ATTACH: 1 placeholders for a policy of 0 credentials' "$T/none.out"
ok $? "a placeholder without a policy: $(cat "$T/none.out")"

try bad -P "$T/p.yaml" -H $P1 -H lens-ph-ABCDEFGHIJKLMNOPQRSTUVWXYZ234567
grep -q '^error ATTACH: placeholder 2 is not lens-ph- and 32 base32' "$T/bad.out"
ok $? "a malformed placeholder: $(cat "$T/bad.out")"

try short -P "$T/p.yaml" -H $P1 -H lens-ph-abc
grep -q '^error ATTACH: placeholder 2 is not' "$T/short.out"
ok $? "a short placeholder: $(cat "$T/short.out")"

try dup -P "$T/p.yaml" -H $P1 -H $P1
grep -q '^error ATTACH: placeholder 2 repeats 1' "$T/dup.out"
ok $? "the same placeholder twice: $(cat "$T/dup.out")"

try count -P "$T/p.yaml" -H $P1 -H $P2 -b phcount
grep -q '^error ATTACH: 3 placeholders beyond the message' "$T/count.out"
ok $? "counted beyond the message: $(cat "$T/count.out")"

kill -0 "$NETD_PID"
ok $? "lensnetd still runs"

# lensvmm sends the placeholders its sandbox sees
vmm_setup -n "$T/netd.sock"
lctl run --rm --policy "$T/p.yaml" $R -- env >"$T/env" 2>"$T/err"
ok $? "lensvmm: a sandbox with two credentials runs with lensnetd ($(cat "$T/err"))"
grep -q '^OPENAI_API_KEY=lens-ph-[a-z2-7]\{32\}$' "$T/env" &&
    grep -q 'attached (uid 0): jail, .* 2 credential placeholders' "$T/netd.log"
ok $? "... lensnetd took its two placeholders"
tap_done
