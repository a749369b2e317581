#!/bin/sh
# netbench, the load tool of the network benchmark: each mode against
# netbench serve (and dnsmasq, and tinyproxy when installed) in a
# private network namespace; its answers checked with curl; bad
# arguments refused with exit status 2 and a message naming them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

NB=$OBJ/regress/tools/netbench
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP not root (needs a network namespace)"
	exit 0
fi
tap_plan 35
tmpdir_setup
NS=lensnbt$$
at_exit 'ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null;
    ip netns del "$NS" 2>/dev/null'
ip netns add "$NS" && ip -n "$NS" link set lo up ||
    { echo "Bail out! cannot make a network namespace"; exit 1; }
inns() { ip netns exec "$NS" "$@"; }

# ---- bad arguments: exit 2, the message names what was wrong
refused() {
	_pat=$1
	shift
	"$NB" "$@" >"$T/out" 2>"$T/err"
	_rc=$?
	[ "$_rc" -eq 2 ] && grep -q -- "$_pat" "$T/err"
	ok $? "netbench $* -> exit $_rc, says '$_pat' ($(head -n 1 "$T/err"))"
}
refused 'frob: unknown mode' frob
refused 'usage:' get 127.0.0.1 80
refused 'BYTES abc: need a number' get 127.0.0.1 80 abc
refused 'BYTES 0: need a number from 1' get 127.0.0.1 80 0
refused 'PORT 70000: need a number' conn 127.0.0.1 70000 1
refused '-x 127.0.0.1: no port' get -x 127.0.0.1 127.0.0.1 80 1
refused '-x proxy:3128: not a numeric address' get -x proxy:3128 \
    127.0.0.1 80 1
refused '-H a/b: not a host name' conn -H a/b 127.0.0.1 80 1
refused 'serve 127.0.0.1: no port' serve 127.0.0.1
refused 'NAME a..b: a label is empty' dns 127.0.0.1 a..b 1
refused 'SECONDS 0: need a number from 1' dns 127.0.0.1 a.test 0
refused 'WINDOW 5000: need a number from 1 to 4096' dns 127.0.0.1 \
    a.test 1 5000
refused 'usage:' idle -z 127.0.0.1 80 1

# ---- serve
inns "$NB" serve 127.0.0.1:8080 >"$T/serve.out" 2>"$T/serve.err" &
wait_until 10 grep -q '^listening 127.0.0.1:8080$' "$T/serve.out"
ok $? "serve says it listens ($(cat "$T/serve.out" "$T/serve.err"))"

inns curl -s -o "$T/body" -w '%{http_code} %{size_download}\n' \
    http://127.0.0.1:8080/bytes/100000 >"$T/curl" 2>&1
[ "$(cat "$T/curl")" = "200 100000" ] && [ "$(tr -d x <"$T/body" | wc -c)" -eq 0 ]
ok $? "GET /bytes/100000: 100000 bytes ($(cat "$T/curl"))"
[ "$(inns curl -s -w ' %{http_code}' http://127.0.0.1:8080/nothing)" = \
    "not found
 404" ]
ok $? "GET /nothing: 404"
inns curl -sv http://127.0.0.1:8080/ http://127.0.0.1:8080/bytes/3 \
    >"$T/body" 2>"$T/curl"
[ "$(cat "$T/body")" = "netbench
xxx" ] && grep -qi 're-using existing connection' "$T/curl"
ok $? "two requests on one keep-alive connection"
[ "$(inns curl -s -X POST -w ' %{http_code}' http://127.0.0.1:8080/)" = \
    "GET only
 405" ]
ok $? "POST: 405"

# ---- get, conn, idle
inns "$NB" get 127.0.0.1 8080 10485760 >"$T/get" 2>&1
grep -Eq '^bytes=10485760 seconds=[0-9.]+ mbps=[0-9.]+$' "$T/get"
ok $? "get 10 MiB: $(cat "$T/get")"
inns "$NB" get -H bench.test localhost 8080 1 >"$T/get" 2>&1
grep -q '^bytes=1 ' "$T/get"
ok $? "get by name with -H: $(cat "$T/get")"
inns "$NB" conn 127.0.0.1 8080 200 >"$T/conn" 2>&1
grep -Eq '^n=200 p50_us=[0-9.]+ p99_us=[0-9.]+ mean_us=[0-9.]+$' "$T/conn"
ok $? "conn 200: $(cat "$T/conn")"
awk -F'[= ]' '{ exit !($4 > 0 && $4 <= $6) }' "$T/conn"
ok $? "conn: 0 < p50 <= p99"

# idle N: the server holds N established connections until netbench dies
idle_check() {
	# (not _n: wait_until uses it)
	_want=$1
	shift
	# not through inns: $! must be the process that becomes netbench
	ip netns exec "$NS" "$NB" idle "$@" 127.0.0.1 8080 "$_want" \
	    >"$T/idle" 2>&1 &
	_ip=$!
	wait_until 30 grep -q "^established=$_want\$" "$T/idle"
	ok $? "idle $* $_want: $(head -n 1 "$T/idle")"
	_c=$(inns ss -Htn state established '( sport = :8080 )' | wc -l)
	[ "$_c" -eq "$_want" ]
	ok $? "idle $* $_want: the server side holds $_c connections"
	kill -0 $_ip 2>/dev/null
	ok $? "idle $* $_want: still running after it said so"
	kill $_ip
	wait $_ip 2>/dev/null
	wait_until 10 sh -c "[ \$(ip netns exec $NS ss -Htn state established \
	    '( sport = :8080 )' | wc -l) -eq 0 ]"
}
idle_check 1500
idle_check 40 -p

# ---- errors of the clients: exit 1, said why
inns "$NB" get 127.0.0.1 8081 1 >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && grep -q 'connect 127.0.0.1:8081: Connection refused' "$T/err"
ok $? "nothing listening: $(cat "$T/err")"
inns "$NB" get -x 127.0.0.1:8080 127.0.0.1 8080 1 >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && grep -q 'not a 200 answer: "HTTP/1.1 405' "$T/err"
ok $? "a proxy that refuses CONNECT: $(cat "$T/err")"

# ---- through a real CONNECT proxy
if command -v tinyproxy >/dev/null; then
	: >"$T/tp.log"
	chown tinyproxy "$T/tp.log" 2>/dev/null
	chmod 0755 "$T"
	cat >"$T/tp.conf" <<-EOF
	User tinyproxy
	Group tinyproxy
	Port 3128
	Listen 127.0.0.1
	LogFile "$T/tp.log"
	PidFile "$T/tp.pid"
	Allow 127.0.0.1
	ConnectPort 8080
	EOF
	inns tinyproxy -d -c "$T/tp.conf" >"$T/tp.out" 2>&1 &
	wait_until 10 sh -c "ip netns exec $NS ss -Hltn | grep -q ':3128 '"
	inns "$NB" get -x 127.0.0.1:3128 127.0.0.1 8080 1048576 >"$T/get" 2>&1
	grep -q '^bytes=1048576 ' "$T/get"
	ok $? "get -x tinyproxy: $(cat "$T/get")"
	inns "$NB" conn -x 127.0.0.1:3128 127.0.0.1 8080 20 >"$T/conn" 2>&1
	grep -q '^n=20 ' "$T/conn"
	ok $? "conn -x tinyproxy: $(cat "$T/conn")"
else
	skip "tinyproxy not installed (make deps)"
	skip "tinyproxy not installed (make deps)"
fi

# ---- dns against dnsmasq
inns dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
    --bind-interfaces --listen-address=127.0.0.53 --port=53 \
    --pid-file="$T/dnsmasq.pid" --address=/a.test/198.18.0.1 \
    >"$T/dnsmasq.out" 2>&1 &
wait_until 10 sh -c "ip netns exec $NS ss -Hlun | grep -q '127.0.0.53:53 '"
inns "$NB" dns 127.0.0.53 a.test 1 8 >"$T/dns" 2>"$T/dns.err"
grep -Eq '^queries=[0-9]+ answers=[1-9][0-9]* errors=0 lost=0 seconds=[0-9.]+ qps=[1-9][0-9]*$' \
    "$T/dns"
ok $? "dns a.test: $(cat "$T/dns" "$T/dns.err")"
inns "$NB" dns 127.0.0.53 nx.test 1 >"$T/dns" 2>"$T/dns.err"
[ $? -eq 1 ] && grep -q 'answers=0 errors=[1-9]' "$T/dns" &&
    grep -q 'no answer from 127.0.0.53 for nx.test' "$T/dns.err"
ok $? "dns of a name without records: exit 1 ($(cat "$T/dns.err"))"
inns "$NB" dns 127.0.0.1:5353 a.test 1 >"$T/dns" 2>"$T/dns.err"
[ $? -eq 1 ] && grep -q 'port unreachable (no DNS server there)' "$T/dns.err"
ok $? "dns without a server: exit 1 ($(cat "$T/dns.err"))"

tap_done
