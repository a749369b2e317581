#!/bin/sh
# A compromised lensvmm process (a jail process holds lensnetd's socket)
# sends lensnetd's root parent a malformed binary policy model: each is
# refused with an error naming the byte and the field, logged, and no
# sandbox gets a network; lensnetd goes on.  Malformed: one byte short,
# one byte more, a hostile count, a verdict out of range, a NUL in a
# host name, a CIDR with host bits, and the YAML text itself (lensnetd
# parses no YAML).  The model of the same policy attaches.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"

ATTACH=$OBJ/regress/tools/netdattach
MODEL=$OBJ/regress/tools/policymodel
if [ "$(id -u)" -ne 0 ] || [ ! -x "$NETD" ] || [ ! -x "$ATTACH" ] ||
    [ ! -x "$MODEL" ] || ! command -v python3 >/dev/null; then
	echo "1..0 # SKIP needs root, lensnetd, netdattach, policymodel, python3"
	exit 0
fi

tap_plan 10
tmpdir_setup
chmod 0755 "$T"
SB=lnpm$$
INST=netpm$$
NETD_INST=$INST
at_exit 'netd_stop; auditd_stop; ip netns del $SB 2>/dev/null; rm -f /run/lens/$INST.lock'

auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
netd_start 198.18.0.53 || { echo "Bail out! lensnetd did not start"; exit 1; }
ip netns add "$SB"

netfds() {	# how many network namespaces the parent holds
	for _f in /proc/"$NETD_PID"/fd/*; do readlink "$_f"; done |
	    grep -c '^net:'
}
NF0=$(netfds)	# its own, before any sandbox

cat >"$T/p.yaml" <<'P'
version: 1
network:
  egress:
    http:
      - {match: pypi.org, verdict: allow}
    tcp:
      - {match: "10.0.5.0/24:5432", verdict: allow}
P
"$MODEL" "$T/p.yaml" >"$T/good.bin" || { echo "Bail out! policymodel"; exit 1; }

# variants of the good model (offsets: 4 magic, 2 version, 2 flags,
# 32 sha256, then defaultVerdict at 40 and the count of http rules at 41)
python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
g = open(t + "/good.bin", "rb").read()
def w(name, b):
    open(t + "/" + name + ".bin", "wb").write(b)
w("short", g[:-1])
w("long", g + b"\0")
w("count", g[:41] + b"\xff\xff" + g[43:])
w("verdict", g[:40] + b"\x07" + g[41:])
i = g.index(b"pypi.org")
w("nul", g[:i + 4] + b"\0" + g[i + 5:])
i = g.index(b"10.0.5.0/24")
w("cidr", g[:i] + b"10.0.5.1/24" + g[i + 11:])
w("yaml", open(t + "/p.yaml", "rb").read())
PY

# refused NAME WANT: the model NAME.bin is refused with WANT, logged,
# and nothing is attached
refused() {
	"$ATTACH" -M "$T/$1.bin" "$T/netd.sock" "/run/netns/$SB" </dev/null \
	    >"$T/$1.out" 2>&1
	grep -q "^error policy: attach: binary model, $2" "$T/$1.out" &&
	    grep -q "attach from uid 0 refused: policy: attach: binary model, $2" \
	    "$T/netd.log" && kill -0 "$NETD_PID" && [ "$(netfds)" -eq "$NF0" ] &&
	    ! ip -n "$SB" link show eth0 >/dev/null 2>&1
	ok $? "$1: refused, logged, nothing attached ($(cat "$T/$1.out"))"
}

refused short "byte [0-9]*, llm.routes: truncated"
refused long "byte [0-9]*, end: 1 bytes after the model"
refused count "byte 41, network.egress.http: 65535 entries, more than 4096"
refused verdict "byte 40, network.defaultVerdict: verdict 7 is not one of"
refused nul "byte [0-9]*, network.egress.http\[0\].match: contains a NUL byte"
refused cidr "byte [0-9]*, network.egress.tcp\[0\].match: \"10.0.5.1/24:5432\": \"10.0.5.1/24\" has host bits set"
refused yaml "byte 0, header: not a policy model"

# the good model attaches (and detaches at EOF)
"$ATTACH" -M "$T/good.bin" "$T/netd.sock" "/run/netns/$SB" </dev/null \
    >"$T/good.out" 2>&1
grep -q '^attached ' "$T/good.out" && grep -q '^detached' "$T/good.out"
ok $? "the well-formed model attaches ($(head -n 1 "$T/good.out"))"
wait_until 10 sh -c "[ \$(for f in /proc/$NETD_PID/fd/*; do readlink \$f; done | grep -c '^net:') -eq $NF0 ]"
ok $? "... and lets go at EOF"
kill -0 "$NETD_PID"
ok $? "lensnetd runs after all of it"
