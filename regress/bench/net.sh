#!/bin/sh
# make bench, network part (called by regress/bench/run.sh): lensnetd's
# proxy and DNS beside peers measured in the same run, on the test
# internet of regress/networld.sh (netbench serve on bench.test:8080).
#
#   throughput   one BENCH_NET_BYTES transfer (netbench get): lensnetd's
#                transparent proxy and its CONNECT port from inside a
#                sandbox; direct from a client namespace over a veth
#                pair straight into the test internet (no proxy); squid
#                and tinyproxy as CONNECT proxies on 127.0.0.1 (host
#                namespace).  Median of BENCH_NET_ROUNDS rounds, the
#                sides alternated within each round.
#   latency      netbench conn: BENCH_NET_CONNS sequential new
#                connections (GET /), p50/p99; "added" = minus direct.
#   DNS          netbench dns: queries/s for bench.test against
#                lensnetd's dns on the gateway, and against dnsmasq as
#                a caching forwarder with the same cache size on the
#                far end of the client's veth.
#   memory       netbench idle: BENCH_NET_IDLE idle proxied connections
#                (capped by the open file limit: a proxy holds two
#                descriptors per connection); PSS of lensnetd's proxy
#                and of squid before and after (/proc/PID/smaps_rollup).
#   HTTPS        netbench tlsreq and tlsconn against netbench serve -c
#                on bench.test:443 and :8443 (an ECDSA P-256 certificate
#                from the test CA), 1 KiB answers: keep-alive requests/s
#                with BENCH_NET_TLS_CONNS connections, p50/p99 per
#                request on one connection ("added" = minus direct), new
#                TLS connections/s (full handshake, one request, close).
#                Sides: lensnetd intercepting (bench.test:443, a rule
#                with tlsTerminate: the client verifies with the sandbox
#                CA of lenscredd, /etc/lens/sandbox-ca.pem; lensnetd
#                verifies the upstream with the test CA, -T), lensnetd
#                passing through (bench.test:8443, verified with the
#                test CA), mitmproxy (mitmdump, regular mode, its own CA
#                in the scratch directory, the upstream verified with
#                the test CA) and direct.  When the proxy does not
#                intercept (the client sees the upstream's certificate,
#                or the connection fails), the row says "not measured"
#                and why; no figure is made up.
#
# The lensnetd rows need $OBJ/lensnetd, lensvmm and lens-init; without
# them they say "skipped" and why.  A peer that cannot start is skipped
# with its reason; the rest still runs.  No timed assertion: a missed
# target prints "MISSED" and the exit status stays 0; exit 1 only when
# the test internet itself cannot be built.
#
# Environment (all optional):
#   BENCH_NET_BYTES      bytes per transfer (default 1073741824)
#   BENCH_NET_ROUNDS     transfer rounds, median taken (default 3)
#   BENCH_NET_CONNS      connections per latency run (default 2000)
#   BENCH_NET_DNS_SECONDS  seconds per DNS run (default 5)
#   BENCH_NET_DNS_CACHE  dnsmasq --cache-size for the peer (default:
#                        CACHE_ENTRIES of lensnetd/dns.c, else 8192)
#   BENCH_NET_IDLE       idle connections (default 10000)
#   BENCH_NET_TLS_SECONDS  seconds per HTTPS run (default 5)
#   BENCH_NET_TLS_ROUNDS HTTPS rounds, the sides alternated in each,
#                        the median of each figure taken (default 3)
#   BENCH_NET_TLS_CONNS  keep-alive connections (and threads) of the
#                        HTTPS throughput and new-connection runs
#                        (default 8)
#   BENCH_NET_PARTS      the measurements to run (default all: get conn
#                        dns idle tls); the others print "skipped"
#   VMM_NETD_FLAG        lensvmm's option naming lensnetd's socket
#                        (default "-n $T/netd.sock")
#   LENSCTL_RUN_POLICY   how `lensctl run` gets the sandbox's policy
#                        (default "--policy $T/policy.yaml"; the file
#                        allows bench.test and denies the rest)
set -u

: "${OBJ:=$(cd "$(dirname "$0")/../.." && pwd)/obj}"
HERE=$(cd "$(dirname "$0")/.." && pwd)
LENS_REGRESS=$HERE
BYTES=${BENCH_NET_BYTES:-1073741824}
ROUNDS=${BENCH_NET_ROUNDS:-3}
CONNS=${BENCH_NET_CONNS:-2000}
DNSSECS=${BENCH_NET_DNS_SECONDS:-5}
# the peer's cache as large as lensnetd's (entries)
DNSCACHE=$(sed -n 's/^#define[[:space:]]*CACHE_ENTRIES[[:space:]]*\([0-9]*\).*/\1/p' \
    "$HERE/../lensnetd/dns.c" 2>/dev/null)
DNSCACHE=${BENCH_NET_DNS_CACHE:-${DNSCACHE:-8192}}
IDLE=${BENCH_NET_IDLE:-10000}
TLSSECS=${BENCH_NET_TLS_SECONDS:-5}
TLSCONNS=${BENCH_NET_TLS_CONNS:-8}
TLSROUNDS=${BENCH_NET_TLS_ROUNDS:-3}
PARTS=${BENCH_NET_PARTS:-get conn dns idle tls}
NETBENCH=$OBJ/regress/tools/netbench
BENCHPORT=8080

say() { printf '%s\n' "$*"; }
die() { printf 'bench: net: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"
[ -x "$NETBENCH" ] || die "$NETBENCH is not built (run make bench)"
for v in BYTES ROUNDS CONNS DNSSECS DNSCACHE IDLE TLSSECS TLSCONNS TLSROUNDS; do
	eval "_v=\$$v"
	case $_v in
	''|*[!0-9]*) die "$v=$_v: not a number" ;;
	esac
	[ "$_v" -gt 0 ] || [ "$v" = DNSCACHE ] || die "$v=$_v: must be above 0"
done

. "$HERE/lib.sh"
. "$HERE/daemon.sh"
. "$HERE/networld.sh"
tmpdir_setup
chmod 0755 "$T"
: "${VMM_NETD_FLAG:=-n $T/netd.sock}"
: "${LENSCTL_RUN_POLICY=--policy $T/policy.yaml}"

# ---- the test internet, with netbench serve on bench.test:8080
NW_NETBENCH=$NETBENCH
# bench.test has only an A record: answer its AAAA with NODATA (as a
# real authoritative server does, cached by lensnetd's resolver)
# instead of dnsmasq's REFUSED (not cached), which would add an
# upstream round trip to every proxied connection (the proxy asks for
# A and AAAA)
NW_DNSMASQ_ARGS=--local=/bench.test/
# (says "Bail out!" and exits 1 when it cannot)
networld_up

# ---- HTTPS on bench.test: :443 (intercepted by lensnetd) and :8443
# (passed through), one certificate for bench.test from the test CA
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
TLS_OK=0
tls_up() {
	( cd "$T/pki" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj /CN=bench.test -keyout bench.key -out bench.csr &&
	printf 'subjectAltName=DNS:bench.test\n' >bench.ext &&
	openssl x509 -req -in bench.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -days 2 -extfile bench.ext -out bench.crt &&
	chmod 0644 bench.crt ) >"$T/tlspki.out" 2>&1 ||
	    { why tls "cannot make bench.test's certificate:" \
	    "$(tail -n 1 "$T/tlspki.out")"; return 1; }
	for _p in 443 8443; do
		_nw_bg "$NETBENCH" serve -w 2 -c "$T/pki/bench.crt" \
		    -k "$T/pki/bench.key" "$NW_BENCH:$_p"
	done
	wait_until 10 sh -c "ip netns exec $NW_NS ss -ltn >'$T/tls.ss' &&
	    grep -q '$NW_BENCH:443 ' '$T/tls.ss' &&
	    grep -q '$NW_BENCH:8443 ' '$T/tls.ss'" ||
	    { why tls "netbench serve -c did not start:" \
	    "$(tail -n 1 "$T/networld.log")"; return 1; }
	TLS_OK=1
}
part tls && tls_up

# ---- the direct client: its own namespace, a veth pair straight into
# the test internet; the far end also carries the dnsmasq peer
CL_NS=lensnbc$$
CL_IF=lnb$$c
CL_FAR=lnb$$w
CL_GW=198.18.$NW_O.5
CL_ADDR=198.18.$NW_O.6
at_exit 'ip netns del "$CL_NS" 2>/dev/null'
ip netns add "$CL_NS" &&
ip link add "$CL_IF" type veth peer name "$CL_FAR" &&
ip link set "$CL_IF" netns "$CL_NS" &&
ip link set "$CL_FAR" netns "$NW_NS" &&
ip -n "$NW_NS" addr add "$CL_GW/30" dev "$CL_FAR" &&
ip -n "$NW_NS" link set "$CL_FAR" up &&
ip -n "$CL_NS" link set lo up &&
ip -n "$CL_NS" addr add "$CL_ADDR/30" dev "$CL_IF" &&
ip -n "$CL_NS" link set "$CL_IF" up &&
ip -n "$CL_NS" route add default via "$CL_GW" ||
    die "cannot build the client namespace"
ip -n "$CL_NS" route get "$NW_BENCH" | grep -q "dev $CL_IF" ||
    die "$NW_BENCH is not routed through $CL_IF in $CL_NS"
incl() { ip netns exec "$CL_NS" "$@"; }

# ---- helpers
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
fmt0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
fmt1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
isnum() { case ${1:-} in ''|*[!0-9.-]*) return 1 ;; esac; }
verdict() { # value op target
	if awk -v v="$1" -v t="$3" "BEGIN { exit !(v $2 t) }"; then
		echo met
	else
		echo MISSED
	fi
}
median() { [ -s "$1" ] && sort -n "$1" | awk '{ a[NR] = $1 }
    END { printf "%s", a[int((NR + 1) / 2)] }'; }
# the value of KEY in netbench's key=value output file
kv() { sed -n "s/.*\\<$1=\\([0-9.]*\\).*/\\1/p" "$2" | tail -n 1; }
port_free() { [ -z "$(ss -Hltn "sport = :$1")" ]; }
pick_port() {
	_p=$1
	while ! port_free "$_p"; do
		_p=$((_p + 1))
	done
	echo "$_p"
}
listening() { ss -Hltn "sport = :$1" | grep -q .; }
pss() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }

# why SIDE MESSAGE: remember (once) why a side's figures are missing
why() {
	eval "[ -n \"\${WHY_$1:-}\" ]" || eval "WHY_$1=\$2"
}
# measure SIDE WHAT CMD...: run a netbench client, its output line is
# appended to $T/SIDE.WHAT; a failure is remembered and SIDE gets no
# more runs of WHAT
measure() {
	_s=$1 _w=$2
	shift 2
	case $_w in tls*) _pt=tls ;; *) _pt=$_w ;; esac
	part "$_pt" ||
	    { why "${_s}_$_w" "not selected (BENCH_NET_PARTS)"; return 1; }
	[ -f "$T/$_s.$_w.failed" ] && return 1
	if "$@" >"$T/run.out" 2>"$T/run.err"; then
		cat "$T/run.out" >>"$T/$_s.$_w"
		return 0
	fi
	: >"$T/$_s.$_w.failed"
	why "${_s}_$_w" "$_w failed: $(tail -n 1 "$T/run.err" | cut -c 1-120)"
	return 1
}

# ---- peers: squid and tinyproxy on 127.0.0.1, no caching, CONNECT only
# to the bench server
NOFILE=$(ulimit -Hn)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
SQ_PID= TP_PID= SQ_PORT= TP_PORT=
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	_n=40
	while kill -0 "$1" 2>/dev/null && [ $_n -gt 0 ]; do
		sleep 0.05
		_n=$((_n - 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
at_exit 'stop_pid "$SQ_PID"; stop_pid "$TP_PID"'

squid_start() {
	command -v squid >/dev/null ||
	    { why squid "squid not installed (make deps)"; return 1; }
	SQ_PORT=$(pick_port 31280)
	: >"$T/squid-cache.log"
	chown proxy "$T/squid-cache.log" 2>/dev/null
	cat >"$T/squid.conf" <<-EOF
	http_port 127.0.0.1:$SQ_PORT
	pid_filename $T/squid.pid
	cache_log $T/squid-cache.log
	access_log none
	cache deny all
	cache_mem 0 MB
	memory_pools off
	netdb_filename none
	coredump_dir $T
	max_filedescriptors $NOFILE
	shutdown_lifetime 0 seconds
	acl bench dst $NW_BENCH/32
	acl benchport port $BENCHPORT
	acl CONNECT method CONNECT
	http_access allow CONNECT bench benchport
	http_access deny all
	EOF
	squid -N -f "$T/squid.conf" >"$T/squid.out" 2>&1 &
	SQ_PID=$!
	# (done when it listens or has exited)
	wait_until 30 sh -c "ss -Hltn 'sport = :$SQ_PORT' | grep -q . ||
	    ! kill -0 $SQ_PID"
	if ! listening "$SQ_PORT"; then
		why squid "squid did not start: $(cat "$T/squid.out" \
		    "$T/squid-cache.log" | grep -i 'error\|fatal' | tail -n 1)"
		stop_pid "$SQ_PID"
		SQ_PID=
		return 1
	fi
}

tinyproxy_start() {
	command -v tinyproxy >/dev/null ||
	    { why tinyproxy "tinyproxy not installed (make deps)"; return 1; }
	TP_PORT=$(pick_port 38880)
	: >"$T/tinyproxy.log"
	chown tinyproxy "$T/tinyproxy.log" 2>/dev/null
	cat >"$T/tinyproxy.conf" <<-EOF
	User tinyproxy
	Group tinyproxy
	Port $TP_PORT
	Listen 127.0.0.1
	Timeout 600
	LogFile "$T/tinyproxy.log"
	LogLevel Warning
	PidFile "$T/tinyproxy.pid"
	MaxClients $NOFILE
	Allow 127.0.0.1
	ConnectPort $BENCHPORT
	DisableViaHeader Yes
	EOF
	tinyproxy -d -c "$T/tinyproxy.conf" >"$T/tinyproxy.out" 2>&1 &
	TP_PID=$!
	wait_until 30 sh -c "ss -Hltn 'sport = :$TP_PORT' | grep -q . ||
	    ! kill -0 $TP_PID"
	if ! listening "$TP_PORT"; then
		why tinyproxy "tinyproxy did not start: $(cat \
		    "$T/tinyproxy.out" "$T/tinyproxy.log" | tail -n 1)"
		stop_pid "$TP_PID"
		TP_PID=
		return 1
	fi
}

# mitmproxy: mitmdump in its regular (CONNECT) mode on 127.0.0.1, its
# own CA made in its confdir on first start, the upstream's certificate
# verified with the test CA, no flow output
MP_PID= MP_PORT=
at_exit 'stop_pid "$MP_PID"'
mitm_start() {
	command -v mitmdump >/dev/null ||
	    { why mitm "mitmproxy not installed (make bench-deps)"; return 1; }
	MP_PORT=$(pick_port 38080)
	mkdir -p "$T/mitm"
	mitmdump -q --listen-host 127.0.0.1 --listen-port "$MP_PORT" \
	    --set confdir="$T/mitm" \
	    --set ssl_verify_upstream_trusted_ca="$T/pki/ca.crt" \
	    --set flow_detail=0 --set termlog_verbosity=error \
	    >"$T/mitm.out" 2>&1 &
	MP_PID=$!
	wait_until 60 sh -c "ss -Hltn 'sport = :$MP_PORT' | grep -q . ||
	    ! kill -0 $MP_PID"
	if ! listening "$MP_PORT" || [ ! -s "$T/mitm/mitmproxy-ca-cert.pem" ]
	then
		why mitm "mitmdump did not start: $(tail -n 1 "$T/mitm.out")"
		stop_pid "$MP_PID"
		MP_PID=
		return 1
	fi
}

# ---- lensnetd: lensauditd, lenscredd (the sandbox CA and the leaves
# of intercepted hosts), lensnetd, lensvmm using it, one sandbox
# allowed to reach bench.test
NETD_PID= SBX= LENS_OK=0 GW=
lens_start() {
	if [ ! -x "$OBJ/lensnetd" ]; then
		why lens "lensnetd not built"
		return 1
	fi
	if [ ! -x "$OBJ/lensvmm" ] || [ ! -x "$OBJ/lens-init" ]; then
		why lens "lensvmm or lens-init not built"
		return 1
	fi
	_flag=${VMM_NETD_FLAG%% *}
	if ! "$OBJ/lensvmm" -h 2>&1 | grep -q -- "$_flag"; then
		why lens "lensvmm has no $_flag option (set VMM_NETD_FLAG)"
		return 1
	fi
	MKNETROOTFS_EXTRA=$NETBENCH sh "$HERE/mknetrootfs.sh" \
	    "$OBJ/regress/netbench-rootfs" >"$T/rootfs.out" 2>&1 ||
	    { why lens "mknetrootfs.sh: $(tail -n 1 "$T/rootfs.out")"; return 1; }
	at_exit lens_stop
	# as in production (and regress/netd-e2e.t): lensnetd's children run
	# as _lensnet, which lensauditd must accept
	auditd_start -u _lensnet >/dev/null 2>&1 ||
	    { why lens "lensauditd did not start"; return 1; }
	# lenscredd: without it the sandbox runs without a CA and only the
	# interception rows are missing
	_credflag=
	if [ ! -x "$CREDD" ]; then
		why lensi "lenscredd not built"
	elif ! id _lenscred >/dev/null 2>&1; then
		why lensi "no _lenscred user (make users)"
	elif credd_start >/dev/null 2>&1; then
		_credflag="-k $T/cred.sock"
	else
		why lensi "lenscredd did not start: $(tail -n 1 "$T/credd.log")"
	fi
	# the upstreams of intercepted hosts verified with the test CA, in
	# place of the system's bundle (-T)
	_trustflag=
	if "$OBJ/lensnetd" -h 2>&1 | grep -q -- '-T trustfile'; then
		_trustflag="-T $T/pki/ca.crt"
	else
		why lensi "lensnetd has no -T (a trust file for the test CA)"
	fi
	NETD_INST=bench$$
	# one sandbox measured at capacity (BENCH_NET_IDLE connections):
	# the per-sandbox limits as high as they go
	# shellcheck disable=SC2086
	"$OBJ/lensnetd" -d -n "$NETD_INST" -s "$T/netd.sock" \
	    -a "$T/auditd.sock" -u "$NW_DNS" -c 65536 -l 256 \
	    -r 100000:1000000 $_credflag $_trustflag >>"$T/netd.log" 2>&1 &
	NETD_PID=$!
	if ! wait_until 20 test -S "$T/netd.sock"; then
		why lens "lensnetd did not start: $(tail -n 1 "$T/netd.log")"
		return 1
	fi
	# shellcheck disable=SC2086
	if ! vmm_start $VMM_NETD_FLAG >/dev/null 2>&1; then
		why lens "lensvmm $VMM_NETD_FLAG did not start:" \
		    "$(tail -n 1 "$T/vmm.log")"
		return 1
	fi
	# the test CA in the sandbox, for the passthrough client
	if [ -s "$T/pki/ca.crt" ]; then
		mkdir -p "$OBJ/regress/netbench-rootfs/usr/local/share/netbench"
		cp "$T/pki/ca.crt" \
		    "$OBJ/regress/netbench-rootfs/usr/local/share/netbench/test-ca.pem"
	fi
	# bench.test:443 intercepted (its upstream verified with the test
	# CA, lensnetd -T); a port-less rule covers only 80 and 443, so the
	# other ports are named
	policy_write "$T/policy.yaml" 1
	SBX=
	if ! "$LENSCTL" policy check "$T/policy.yaml" >"$T/pcheck.out" 2>&1
	then
		why lensi "the interception policy is refused: $(grep . \
		    "$T/pcheck.out" | tail -n 1)"
	else
		# shellcheck disable=SC2086
		SBX=$("$LENSCTL" -s "$VMM_SOCK" run -d --rootfs \
		    "$OBJ/regress/netbench-rootfs" $LENSCTL_RUN_POLICY \
		    --name "netbench$$" -- sleep 1000000 2>"$T/run.err") ||
		    { why lensi "lensctl run with the interception policy:" \
		    "$(grep . "$T/run.err" | tail -n 1)"; SBX=; }
	fi
	if [ -z "$SBX" ]; then
		# a policy this lensctl does not take (no interception yet):
		# the rest is measured without it
		policy_write "$T/policy.yaml" 0
		# shellcheck disable=SC2086
		SBX=$("$LENSCTL" -s "$VMM_SOCK" run -d --rootfs \
		    "$OBJ/regress/netbench-rootfs" $LENSCTL_RUN_POLICY \
		    --name "netbench$$" -- sleep 1000000 2>"$T/run.err") ||
		    { why lens "lensctl run $LENSCTL_RUN_POLICY: $(head -n 1 \
		    "$T/run.err")"; SBX=; return 1; }
	fi
	# the gateway: the sandbox's resolver, else its HTTP_PROXY
	GW=$(sbx cat /etc/resolv.conf 2>/dev/null |
	    awk '$1 == "nameserver" { print $2; exit }')
	[ -n "$GW" ] || GW=$(sbx env 2>/dev/null | sed -n \
	    's,^HTTP_PROXY=http://\([0-9.]*\):.*,\1,p' | head -n 1)
	[ -n "$GW" ] ||
	    { why lens "no nameserver or HTTP_PROXY in the sandbox"; return 1; }
	PROXY_PID=$(pgrep -P "$NETD_PID" -f proxy | head -n 1)
	[ -n "$PROXY_PID" ] ||
	    { why lens "no proxy child of lensnetd ($NETD_PID)"; return 1; }
	LENS_OK=1
}
sbx() { "$LENSCTL" -s "$VMM_SOCK" exec "$SBX" -- "$@"; }
# policy_write FILE INTERCEPT: the sandbox's policy; with INTERCEPT 1
# the bench.test:443 rule has tlsTerminate
policy_write() {
	cat >"$1" <<-EOF
	version: 1
	network:
	  defaultVerdict: deny
	  egress:
	    http:
	      - match: bench.test:$BENCHPORT
	        verdict: allow
	      - match: bench.test:8443
	        verdict: allow
	      - match: bench.test:443
	        verdict: allow
	EOF
	# intercepted: request rules, one of them judging GraphQL bodies
	# (the judged-request row: POST /gql/bytes/N vs POST /bytes/N)
	[ "$2" = 1 ] && cat >>"$1" <<-EOF
	        tlsTerminate: true
	        rules:
	          - {method: GET, path: "/**", verdict: allow}
	          - {method: POST, path: "/bytes/*", verdict: allow}
	          - method: POST
	            path: "/gql/bytes/*"
	            verdict: allow
	            graphql: {operations: [query], fields: [viewer]}
	EOF
	return 0
}
lens_stop() {
	[ -n "$SBX" ] && "$LENSCTL" -s "$VMM_SOCK" rm -f "$SBX" >/dev/null 2>&1
	vmm_stop
	if [ -n "$NETD_PID" ]; then
		stop_pid "$NETD_PID"
		# the instance lock lensnetd leaves behind
		rm -f "/run/lens/$NETD_INST.lock"
	fi
	auditd_stop
	credd_stop
}

squid_start && SQ_OK=1 || SQ_OK=0
tinyproxy_start && TP_OK=1 || TP_OK=0
if part tls && [ $TLS_OK = 1 ]; then
	mitm_start && MP_OK=1 || MP_OK=0
else
	MP_OK=0
fi
lens_start >"$T/lens.out" 2>&1 || LENS_OK=0
[ $LENS_OK = 1 ] || why lensc "${WHY_lens:-lensnetd did not start}"

say ""
say "network benchmark: $(uname -srm), $(nproc) CPUs; load average" \
    "$(cut -d ' ' -f 1-3 /proc/loadavg)"
say "bench.test = $NW_BENCH:$BENCHPORT (netbench serve) in $NW_NS;" \
    "direct client in $CL_NS over a veth pair"

NB="$NETBENCH"
SNB=/usr/local/bin/netbench
# ---- 1. throughput, the sides alternated in each round
r=0
while [ $r -lt "$ROUNDS" ]; do
	measure direct get incl "$NB" get "$NW_BENCH" $BENCHPORT "$BYTES"
	[ $SQ_OK = 1 ] && measure squid get "$NB" get \
	    -x "127.0.0.1:$SQ_PORT" "$NW_BENCH" $BENCHPORT "$BYTES"
	[ $TP_OK = 1 ] && measure tinyproxy get "$NB" get \
	    -x "127.0.0.1:$TP_PORT" "$NW_BENCH" $BENCHPORT "$BYTES"
	if [ $LENS_OK = 1 ]; then
		measure lens get sbx "$SNB" get -H bench.test bench.test \
		    $BENCHPORT "$BYTES"
		measure lensc get sbx "$SNB" get -x "$GW:3128" -H bench.test \
		    "$NW_BENCH" $BENCHPORT "$BYTES"
	fi
	r=$((r + 1))
done
thru() { [ -s "$T/$1.get" ] && sed -n 's/.*mbps=\([0-9.]*\).*/\1/p' \
    "$T/$1.get" >"$T/$1.mbps" && median "$T/$1.mbps"; }
D_TP=$(thru direct) S_TP=$(thru squid) P_TP=$(thru tinyproxy)
L_TP=$(thru lens) C_TP=$(thru lensc)

# ---- 2. latency of a new connection
measure direct conn incl "$NB" conn "$NW_BENCH" $BENCHPORT "$CONNS"
[ $SQ_OK = 1 ] && measure squid conn "$NB" conn -x "127.0.0.1:$SQ_PORT" \
    "$NW_BENCH" $BENCHPORT "$CONNS"
[ $TP_OK = 1 ] && measure tinyproxy conn "$NB" conn \
    -x "127.0.0.1:$TP_PORT" "$NW_BENCH" $BENCHPORT "$CONNS"
if [ $LENS_OK = 1 ]; then
	# numeric: the name would be resolved once anyway, before timing
	measure lens conn sbx "$SNB" conn -H bench.test "$NW_BENCH" \
	    $BENCHPORT "$CONNS"
	measure lensc conn sbx "$SNB" conn -x "$GW:3128" -H bench.test \
	    "$NW_BENCH" $BENCHPORT "$CONNS"
fi
lat() { [ -s "$T/$1.conn" ] && kv "$2" "$T/$1.conn"; }
D_P50=$(lat direct p50_us) D_P99=$(lat direct p99_us)
S_P50=$(lat squid p50_us) S_P99=$(lat squid p99_us)
P_P50=$(lat tinyproxy p50_us) P_P99=$(lat tinyproxy p99_us)
L_P50=$(lat lens p50_us) L_P99=$(lat lens p99_us)
C_P50=$(lat lensc p50_us)
added() { isnum "$1" && isnum "$2" && calc "$1 - $2"; }

# ---- 3. DNS: dnsmasq as a caching forwarder on the far end of the
# client's veth (where lensnetd's gateway would be), same cache size
DQ_PID=
at_exit 'stop_pid "$DQ_PID"'
ip netns exec "$NW_NS" dnsmasq --keep-in-foreground --no-resolv \
    --no-hosts --user=root --bind-interfaces --listen-address="$CL_GW" \
    --port=53 --server="$NW_DNS" --cache-size="$DNSCACHE" \
    --pid-file="$T/dnsfwd.pid" --log-facility="$T/dnsfwd.log" \
    >"$T/dnsfwd.out" 2>&1 &
DQ_PID=$!
if wait_until 10 sh -c "ip netns exec $NW_NS ss -Hlun | grep -q '$CL_GW:53 '"
then
	measure dnsmasq dns incl "$NB" dns "$CL_GW" bench.test "$DNSSECS"
else
	why dnsmasq "dnsmasq did not start: $(tail -n 1 "$T/dnsfwd.out")"
fi
# the upstream itself (answers from its configuration), for reference
measure upstream dns incl "$NB" dns "$NW_DNS" bench.test "$DNSSECS"
[ $LENS_OK = 1 ] &&
    measure lens dns sbx "$SNB" dns "$GW" bench.test "$DNSSECS"
Q_DM=$([ -s "$T/dnsmasq.dns" ] && kv qps "$T/dnsmasq.dns")
Q_UP=$([ -s "$T/upstream.dns" ] && kv qps "$T/upstream.dns")
Q_L=$([ -s "$T/lens.dns" ] && kv qps "$T/lens.dns")

# ---- 4. memory per idle proxied connection
NIDLE=$IDLE
_cap=$(( (NOFILE - 256) / 2 ))
[ "$NIDLE" -gt "$_cap" ] && NIDLE=$_cap
# idle_pss SIDE PID CMD...: the PSS (kB) of PID before and after CMD
# (a netbench idle, in the background) has established its connections
idle_pss() {
	_s=$1 _pid=$2
	shift 2
	part idle ||
	    { why "${_s}_idle" "not selected (BENCH_NET_PARTS)"; return 1; }
	_b=$(pss "$_pid")
	"$@" >"$T/$_s.idle" 2>"$T/$_s.idle.err" &
	_ip=$!
	_n=0
	while ! grep -q '^established=' "$T/$_s.idle" 2>/dev/null; do
		if ! kill -0 $_ip 2>/dev/null || [ $_n -ge 1800 ]; then
			why "${_s}_idle" "idle: $(tail -n 1 "$T/$_s.idle.err" |
			    cut -c 1-120)"
			stop_pid $_ip
			return 1
		fi
		sleep 0.1
		_n=$((_n + 1))
	done
	sleep 1
	_a=$(pss "$_pid")
	stop_pid $_ip
	isnum "$_b" && isnum "$_a" || { why "${_s}_idle" "no smaps_rollup"; return 1; }
	echo "$_b $_a" >"$T/$_s.pss"
}
[ $SQ_OK = 1 ] && idle_pss squid "$SQ_PID" "$NB" idle \
    -x "127.0.0.1:$SQ_PORT" "$NW_BENCH" $BENCHPORT "$NIDLE"
# (lensctl itself, not the sbx function: idle_pss stops it by its pid)
[ $LENS_OK = 1 ] && idle_pss lens "$PROXY_PID" "$LENSCTL" -s "$VMM_SOCK" \
    exec "$SBX" -- "$SNB" idle -H bench.test "$NW_BENCH" $BENCHPORT "$NIDLE"
perconn() { [ -s "$T/$1.pss" ] && awk -v n="$NIDLE" '{ printf "%.2f",
    ($2 - $1) / n }' "$T/$1.pss"; }
per10k() { [ -s "$T/$1.pss" ] && awk -v n="$NIDLE" '{ printf "%.1f",
    ($2 - $1) / n * 10000 / 1024 }' "$T/$1.pss"; }
M_S=$(perconn squid) M_L=$(perconn lens)
M10_S=$(per10k squid) M10_L=$(per10k lens)

# ---- 5. HTTPS, 1 KiB answers: keep-alive requests/s (TLSCONNS
# connections), latency per request (one connection), new TLS
# connections/s; through lensnetd intercepting (lensi) and passing
# through (lensp), through mitmproxy (mitm), and direct
# tls_side SIDE PREFIX ARGS: the three runs, PREFIX the command up to
# netbench's mode, ARGS its options and ADDR PORT; the first failure
# is the reason of the side's missing figures
tls_side() {
	_side=$1 _pre=$2 _args=$3
	# shellcheck disable=SC2086
	if ! measure "$_side" tlslat $_pre tlsreq -c 1 $_args "$TLSSECS"; then
		# the interception path that handed over the upstream's own
		# certificate did not intercept
		if [ "$_side" = lensi ] &&
		    grep -q 'issuer /CN=lens test CA' "$T/run.err"; then
			WHY_lensi="not intercepted (the client saw the upstream certificate of bench.test, issuer lens test CA, not one from the sandbox CA)"
			WHY_lensi_tlslat=$WHY_lensi
		fi
		eval "why $_side \"\${WHY_${_side}_tlslat}\""
		return 1
	fi
	# shellcheck disable=SC2086
	measure "$_side" tlsreq $_pre tlsreq -c "$TLSCONNS" $_args "$TLSSECS"
	# shellcheck disable=SC2086
	measure "$_side" tlsconn $_pre tlsconn -c "$TLSCONNS" $_args \
	    "$TLSSECS"
}
r=0
while part tls && [ $TLS_OK = 1 ] && [ $r -lt "$TLSROUNDS" ]; do
	tls_side direct "incl $NB" "-C $T/pki/ca.crt -S bench.test $NW_BENCH 443"
	[ $MP_OK = 1 ] && tls_side mitm "$NB" "-x 127.0.0.1:$MP_PORT \
	    -C $T/mitm/mitmproxy-ca-cert.pem -S bench.test $NW_BENCH 443"
	if [ $LENS_OK = 1 ]; then
		tls_side lensp "sbx $SNB" "-C \
		    /usr/local/share/netbench/test-ca.pem -H bench.test \
		    bench.test 8443"
		[ -z "${WHY_lensi:-}" ] && tls_side lensi "sbx $SNB" \
		    "-C /etc/lens/sandbox-ca.pem -H bench.test bench.test 443"
		# a judged request (a graphql: rule reads its 1 KiB JSON
		# body) against the same POST unjudged, one connection each
		[ -z "${WHY_lensi:-}" ] && measure lensi tlspost sbx $SNB \
		    tlsreq -c 1 -j -C /etc/lens/sandbox-ca.pem -H bench.test \
		    bench.test 443 "$TLSSECS" && measure lensi tlsgql sbx $SNB \
		    tlsreq -c 1 -j -P /gql -C /etc/lens/sandbox-ca.pem \
		    -H bench.test bench.test 443 "$TLSSECS"
	fi
	r=$((r + 1))
done
part tls || why tls "not selected (BENCH_NET_PARTS)"
[ $LENS_OK = 1 ] || why lensp "${WHY_lens:-lensnetd did not start}"
[ $LENS_OK = 1 ] || why lensi "${WHY_lens:-lensnetd did not start}"
[ $TLS_OK = 1 ] || for _s in direct mitm lensp lensi; do
	why $_s "${WHY_tls:-no HTTPS upstream}"
done
# the median over the rounds of KEY in SIDE's WHAT runs
tkv() {
	[ -s "$T/$1.$2" ] || return 0
	sed -n "s/.*\\<$3=\\([0-9.]*\\).*/\\1/p" "$T/$1.$2" >"$T/$1.$2.$3"
	median "$T/$1.$2.$3"
}
for _s in direct mitm lensp lensi; do
	eval "TR_$_s=\$(tkv $_s tlsreq rps) TC_$_s=\$(tkv $_s tlsconn cps)"
	eval "T50_$_s=\$(tkv $_s tlslat p50_us) T99_$_s=\$(tkv $_s tlslat p99_us)"
done
TP50=$(tkv lensi tlspost p50_us) TG50=$(tkv lensi tlsgql p50_us)
TGA50=$(added "$TG50" "$TP50")
# added per request: minus direct's
for _s in mitm lensp lensi; do
	eval "TA50_$_s=\$(added \"\$T50_$_s\" \"\$T50_direct\")"
	eval "TA99_$_s=\$(added \"\$T99_$_s\" \"\$T99_direct\")"
done

# ---- the table
# compare NAME LVALUE PVALUE OP TARGET TARGETTEXT [PEERSIDE]: one row
# comparing lensnetd (L) with a peer (P) by ratio L/P against TARGET
row() { printf '%-40s | %10s | %10s | %6s | %-18s | %s\n' "$@"; }
# reason SIDE_WHAT: why a figure is missing: the reason of that
# measurement, else of the side as a whole
reason() {
	eval "_r=\${WHY_$1:-\${WHY_${1%%_*}:-no figure}}"
	echo "$_r"
}
skipwhy() { # lside_what lval pside_what: the reason for the first missing
	if ! isnum "$2"; then
		_r=$(reason "$1")
	else
		_r=$(reason "$3")
	fi
	# long reasons in full below the table
	if [ ${#_r} -le 48 ]; then
		echo "skipped: $_r"
	else
		echo "skipped: $(echo "$_r" | cut -c 1-44)..."
	fi
}
cmprow() { # label lside lval pside pval op target ttext
	if isnum "$3" && isnum "$5"; then
		row "$1" "$(fmt0 "$3")" "$(fmt0 "$5")" "$(ratio "$3" "$5")" \
		    "$8" "$(verdict "$(ratio "$3" "$5")" "$6" "$7")"
	else
		row "$1" "$(num0 "$3")" "$(num0 "$5")" "-" "$8" \
		    "$(skipwhy "$2" "$3" "$4")"
	fi
}
num0() { if isnum "$1"; then fmt0 "$1"; else echo -; fi; }
inforow() { # label lval pval [ratio]
	row "$1" "${2:--}" "${3:--}" "${4:--}" "-" "info"
}

say ""
say "transfer $BYTES bytes, median of $ROUNDS; $CONNS connections per" \
    "latency run; DNS $DNSSECS s per run, window 64; $NIDLE idle" \
    "connections (asked $IDLE, open file limit $NOFILE)"
say "peers alone:"
say "  direct     $(num0 "$D_TP") Mbit/s, new connection p50/p99" \
    "${D_P50:--}/${D_P99:--} us"
say "  squid      $(num0 "$S_TP") Mbit/s, new connection p50/p99" \
    "${S_P50:--}/${S_P99:--} us"
say "  tinyproxy  $(num0 "$P_TP") Mbit/s, new connection p50/p99" \
    "${P_P50:--}/${P_P99:--} us"
say "  dnsmasq    forwarder (cache $DNSCACHE) ${Q_DM:--} queries/s;" \
    "the upstream (authoritative, logs queries) ${Q_UP:--} queries/s"
if isnum "$M10_S"; then
	say "  squid      $M10_S MiB PSS per 10k idle connections"
fi
tlsalone() { # LABEL SIDE
	eval "_r=\$TR_$2 _c=\$TC_$2 _5=\$T50_$2 _9=\$T99_$2"
	say "  $1 HTTPS 1 KiB: $(num0 "$_r") requests/s ($TLSCONNS" \
	    "keep-alive connections), per request p50/p99 ${_5:--}/${_9:--}" \
	    "us (one connection), $(num0 "$_c") new TLS connections/s"
}
tlsalone "direct    " direct
tlsalone "mitmproxy " mitm
tlsalone "lens pass " lensp
say ""
row "metric" "lensnetd" "peer" "ratio" "target" "result"
row "----------------------------------------" "----------" "----------" \
    "------" "------------------" "------"
cmprow "Mbit/s transparent, peer direct" lens_get "$L_TP" direct_get "$D_TP" \
    ">=" 0.80 ">= 0.80 x direct"
cmprow "Mbit/s transparent, peer squid" lens_get "$L_TP" squid_get "$S_TP" \
    ">=" 1.5 ">= 1.5 x squid"
cmprow "Mbit/s transparent, peer tinyproxy" lens_get "$L_TP" tinyproxy_get \
    "$P_TP" ">=" 1.5 ">= 1.5 x tinyproxy"
if isnum "$C_TP" && isnum "$S_TP"; then
	inforow "Mbit/s CONNECT :3128, peer squid" "$(fmt0 "$C_TP")" \
	    "$(fmt0 "$S_TP")" "$(ratio "$C_TP" "$S_TP")"
else
	row "Mbit/s CONNECT :3128, peer squid" "$(num0 "$C_TP")" \
	    "$(num0 "$S_TP")" \
	    "-" "-" "$(skipwhy lensc_get "$C_TP" squid_get)"
fi
# added latency: lensnetd's transparent proxy minus direct; the peer
# column is squid's (a target only for lensnetd)
LA50=$(added "$L_P50" "$D_P50") LA99=$(added "$L_P99" "$D_P99")
SA50=$(added "$S_P50" "$D_P50") SA99=$(added "$S_P99" "$D_P99")
if isnum "$LA50"; then
	row "added p50 us/connection, peer squid" "$(fmt1 "$LA50")" \
	    "$(fmt1 "${SA50:-0}")" "-" "<= 150 us" "$(verdict "$LA50" "<=" 150)"
	row "added p99 us/connection, peer squid" "$(fmt1 "$LA99")" \
	    "$(fmt1 "${SA99:-0}")" "-" "-" "info"
else
	row "added p50 us/connection, peer squid" "-" "${SA50:--}" "-" \
	    "<= 150 us" "$(skipwhy lens_conn "$L_P50" direct_conn)"
	row "added p99 us/connection, peer squid" "-" "${SA99:--}" "-" "-" \
	    "$(skipwhy lens_conn "$L_P99" direct_conn)"
fi
CA50=$(added "$C_P50" "$D_P50")
if isnum "$CA50"; then
	inforow "added p50 us/connection, CONNECT" "$(fmt1 "$CA50")" \
	    "$(fmt1 "${SA50:-0}")"
fi
cmprow "DNS answers/s, peer dnsmasq forwarder" lens_dns "$Q_L" \
    dnsmasq_dns "$Q_DM" \
    ">=" 1.0 ">= 1.0 x dnsmasq"
if isnum "$M_L" && isnum "$M_S"; then
	inforow "PSS KiB per idle connection, peer squid" "$M_L" "$M_S" \
	    "$(ratio "$M_L" "$M_S")"
	inforow "PSS MiB per 10k idle conns, peer squid" "$M10_L" "$M10_S" \
	    "$(ratio "$M10_L" "$M10_S")"
else
	row "PSS KiB per idle connection, peer squid" "${M_L:--}" "${M_S:--}" \
	    "-" "-" "$(skipwhy lens_idle "$M_L" squid_idle)"
	row "PSS MiB per 10k idle conns, peer squid" "${M10_L:--}" \
	    "${M10_S:--}" "-" "-" "$(skipwhy lens_idle "$M10_L" squid_idle)"
fi
# HTTPS: the interception rows say "not measured" and why when the
# path did not intercept (or failed); the reason in full below
notmeasured() {
	_r=$(reason "$1")
	[ ${#_r} -le 48 ] || _r="$(echo "$_r" | cut -c 1-44)..."
	echo "not measured: $_r"
}
# tlsrow LABEL LSIDE_WHAT LVAL PSIDE_WHAT PVAL OP TARGET TTEXT KIND:
# KIND ratio compares LVAL/PVAL with TARGET; KIND abs compares LVAL
# itself; TARGET - is an info row
tlsrow() {
	if ! isnum "$3"; then
		row "$1" - "$(num0 "$5")" - "$8" "$(notmeasured "$2")"
	elif ! isnum "$5"; then
		row "$1" "$(fmt1 "$3")" - - "$8" "$(skipwhy "$2" "$3" "$4")"
	elif [ "$7" = - ] && [ "$9" = abs ]; then
		inforow "$1" "$(fmt1 "$3")" "$(fmt1 "$5")"
	elif [ "$7" = - ]; then
		inforow "$1" "$(fmt0 "$3")" "$(fmt0 "$5")" "$(ratio "$3" "$5")"
	elif [ "$9" = abs ]; then
		row "$1" "$(fmt1 "$3")" "$(fmt1 "$5")" - "$8" \
		    "$(verdict "$3" "$6" "$7")"
	else
		row "$1" "$(fmt0 "$3")" "$(fmt0 "$5")" "$(ratio "$3" "$5")" \
		    "$8" "$(verdict "$(ratio "$3" "$5")" "$6" "$7")"
	fi
}
tlsrow "HTTPS req/s intercepted, peer mitmproxy" lensi_tlsreq "$TR_lensi" \
    mitm_tlsreq "$TR_mitm" ">=" 5 ">= 5 x mitmproxy" ratio
tlsrow "added p50 us/req intercepted, peer mitm" lensi_tlslat \
    "$TA50_lensi" mitm_tlslat "$TA50_mitm" "<=" 1000 "<= 1000 us" abs
tlsrow "added p99 us/req intercepted, peer mitm" lensi_tlslat \
    "$TA99_lensi" mitm_tlslat "$TA99_mitm" - - - abs
tlsrow "added p50 us/judged req (1 KiB graphql)" lensi_tlsgql \
    "$TGA50" lensi_tlspost "$TP50" "<=" 100 "<= 100 us" abs
tlsrow "new TLS conns/s intercepted, peer mitm" lensi_tlsconn \
    "$TC_lensi" mitm_tlsconn "$TC_mitm" - - - ratio
tlsrow "HTTPS req/s passthrough, peer direct" lensp_tlsreq "$TR_lensp" \
    direct_tlsreq "$TR_direct" - - - ratio
tlsrow "added p50 us/req passthrough, peer mitm" lensp_tlslat \
    "$TA50_lensp" mitm_tlslat "$TA50_mitm" - - - abs
tlsrow "new TLS conns/s passthrough, peer direct" lensp_tlsconn \
    "$TC_lensp" direct_tlsconn "$TC_direct" - - - ratio
say ""
say "ratio = lensnetd / peer.  lensnetd runs are netbench inside a jail"
say "sandbox (lensctl exec; transparent: connect to bench.test, redirected"
say "by nftables; CONNECT: -x gateway:3128); direct = a client namespace"
say "with a veth pair into the test internet; squid" \
    "$(squid -v 2>/dev/null | sed -n 's/.*Version \([^ ]*\).*/\1/p;q')" \
    "and tinyproxy $(tinyproxy -v 2>/dev/null | awk '{ print $2 }') ="
say "CONNECT proxies on 127.0.0.1 in the host namespace (no cache)."
say "Latency: connect() to the last byte of GET /, 10 warm-up connections"
say "not counted.  Memory: PSS growth of the proxy process over $NIDLE idle"
say "keep-alive connections, per connection and scaled to 10,000."
say "HTTPS: netbench tlsreq/tlsconn, $TLSSECS s per run after 10 warm-up"
say "requests per thread, median of $TLSROUNDS; intercepted = bench.test:443 under a rule"
say "with tlsTerminate (verified with the sandbox CA) and request rules,"
say "passthrough = bench.test:8443 (verified with the test CA), both from"
say "the sandbox; judged = POST of a 1 KiB GraphQL JSON body that a graphql:"
say "rule reads (held, parsed, judged), minus the same POST under a rule"
say "that reads no body (the peer column: that POST's p50 us);"
say "mitmproxy $(mitmdump --version 2>/dev/null | awk '/^Mitmproxy/ { print $2 }')" \
    "= mitmdump's CONNECT mode on 127.0.0.1 with its own"
say "CA, the upstream verified with the test CA; direct from the client"
say "namespace."
set | sed -n "s/^WHY_\([a-z_]*\)='*\(.*[^']\)'*\$/skipped or failed, \1: \2/p"
exit 0
