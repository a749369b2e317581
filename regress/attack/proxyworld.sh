# The proxy attack tests' world (sourced after lib.sh, tap_plan and
# tmpdir_setup), the same as regress/netd-proxy.t's:
#
#   client netns --veth-- gateway netns (harness + proxy) --veth-- "internet"
#   10.233.N.2            10.233.N.1, 198.18.N.1                 198.18.N.x
#
# nftables in the gateway redirects the client's TCP to the transparent
# listener $GW:15001; the CONNECT listener is $GW:3128.  $REAL, $EVIL
# and $ECHO are addresses in the internet namespace, where the test
# starts its servers (bg "$I" ...).
#
#	pw_need || exit 0		# skips when the tools are missing
#	pw_setup			# namespaces, links, nft
#	pw_proxy POLICY HARNESS-ARGS...	# the harness and its proxy: $PROXY
#	mark; ...; audit_has PATTERN...	# audit lines since the mark

H=$OBJ/regress/tools/proxyharness

pw_need() {
	if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null ||
	    ! command -v ss >/dev/null || [ ! -x "$H" ] ||
	    ! id _lensnet >/dev/null 2>&1; then
		echo "1..0 # skip needs root, nft, ss, _lensnet and $H"
		return 1
	fi
}

N=$(( ($$ % 200) + 20 ))
S=$(printf '%x' $$)$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
C=lac$S G=lag$S I=lai$S
GW=10.233.$N.1 CL=10.233.$N.2
REAL=198.18.$N.10 EVIL=198.18.$N.12 ECHO=198.18.$N.13
PIDS=

pw_cleanup() {
	[ "$_tap_failed" -eq 0 ] || diag "harness log:" "$(tail -n 40 "$T/h.err")"
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		_i=0
		while kill -0 "$p" 2>/dev/null && [ $_i -lt 30 ]; do
			sleep 0.1; _i=$((_i + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$C" 2>/dev/null
	ip netns del "$G" 2>/dev/null
	ip netns del "$I" 2>/dev/null
}

inc() { ip netns exec "$C" "$@"; }
ing() { ip netns exec "$G" "$@"; }
ini() { ip netns exec "$I" "$@"; }
# bg NS CMD...: in the background, its pid (ip netns exec execs) kept
bg() { _ns=$1; shift; ip netns exec "$_ns" "$@" & PIDS="$PIDS $!"; }

pw_setup() {
	at_exit pw_cleanup
	ip netns add "$C" && ip netns add "$G" && ip netns add "$I" &&
	ip link add c0 netns "$C" type veth peer name g0 netns "$G" &&
	ip link add g1 netns "$G" type veth peer name i0 netns "$I" &&
	inc ip addr add $CL/24 dev c0 && inc ip link set c0 up &&
	inc ip link set lo up && inc ip route add default via $GW &&
	ing ip addr add $GW/24 dev g0 && ing ip link set g0 up &&
	ing ip addr add 198.18.$N.1/24 dev g1 && ing ip link set g1 up &&
	ing ip link set lo up &&
	ini ip addr add 198.18.$N.2/24 dev i0 && ini ip link set i0 up &&
	ini ip link set lo up &&
	ini ip route add 10.233.$N.0/24 via 198.18.$N.1 &&
	for a in $REAL $EVIL $ECHO; do
		ini ip addr add $a/32 dev lo || return 1
	done &&
	ing nft -f - <<EOF
table ip lensproxytest {
	chain pre {
		type nat hook prerouting priority dstnat;
		iifname "g0" tcp dport != 3128 redirect to :15001
	}
}
EOF
}

# wait_for CMD...: until CMD succeeds (10 s at most)
wait_for() {
	_i=0
	until "$@"; do
		[ $_i -lt 100 ] || return 1
		sleep 0.1; _i=$((_i + 1))
	done
}

# pw_proxy POLICY-FILE ARGS...: the harness in the gateway; $PROXY
pw_proxy() {
	_p=$1; shift
	bg "$G" "$H" run -P "$_p" -S $CL -t $GW:15001 -c $GW:3128 "$@" \
	    >"$T/h.out" 2>"$T/h.err"
	wait_for grep -q '^ready' "$T/h.out" || return 1
	PROXY=$(awk '/^ready/ { print $2 }' "$T/h.out")
	[ -n "$PROXY" ]
}

MARK=0
mark() { MARK=$(wc -l <"$T/h.out"); }
# audit_has PATTERN...: an audit line after the mark matching them all
audit_has() {
	_i=0
	while [ $_i -lt 40 ]; do
		_l=$(tail -n +$((MARK + 1)) "$T/h.out" | grep '^audit ')
		_ok=1
		for _p in "$@"; do
			_l=$(printf '%s\n' "$_l" | grep -F -- "$_p") || { _ok=0; break; }
		done
		[ $_ok = 1 ] && return 0
		sleep 0.1; _i=$((_i + 1))
	done
	diag "no audit line with: $*" "$(tail -n +$((MARK + 1)) "$T/h.out")"
	return 1
}
