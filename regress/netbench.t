#!/bin/sh
# netbench, the load tool of the network benchmark: each mode against
# netbench serve (and dnsmasq, and tinyproxy when installed) in a
# private network namespace; its answers checked with curl; bad
# arguments refused with exit status 2 and a message naming them.  The
# HTTPS modes: serve -c/-k checked with curl, tlsreq and tlsconn for a
# second each (direct and through tinyproxy), a certificate from
# another CA or for another name refused naming what was presented.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

NB=$OBJ/regress/tools/netbench
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP not root (needs a network namespace)"
	exit 0
fi
tap_plan 57
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
refused 'no -C CAFILE' tlsreq -S a.test 127.0.0.1 443 1
refused '127.0.0.1: not a name to verify the server by' tlsreq -C /dev/null \
    127.0.0.1 443 1
refused '-c 0: need a number from 1' tlsconn -c 0 -C /dev/null -S a.test \
    127.0.0.1 443 1
refused 'SECONDS 0: need a number from 1' tlsreq -C /dev/null -S a.test \
    127.0.0.1 443 0
refused 'serve: -c and -k go together' serve -c /dev/null 127.0.0.1:1

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
[ "$(inns curl -s -X PUT -w ' %{http_code}' http://127.0.0.1:8080/)" = \
    "GET or POST only
 405" ] &&
    [ "$(inns curl -s --data-binary 'x=1' -w ' %{http_code}' \
    http://127.0.0.1:8080/bytes/3)" = "xxx 200" ]
ok $? "PUT: 405; POST (its body read) answered as GET"

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
	ConnectPort 8443
	EOF
	inns tinyproxy -d -c "$T/tp.conf" >"$T/tp.out" 2>&1 &
	wait_until 10 sh -c "ip netns exec $NS ss -Hltn | grep -q ':3128 '"
	inns "$NB" get -x 127.0.0.1:3128 127.0.0.1 8080 1048576 >"$T/get" 2>&1
	grep -q '^bytes=1048576 ' "$T/get"
	ok $? "get -x tinyproxy: $(cat "$T/get")"
	inns "$NB" conn -x 127.0.0.1:3128 127.0.0.1 8080 20 >"$T/conn" 2>&1
	grep -q '^n=20 ' "$T/conn"
	ok $? "conn -x tinyproxy: $(cat "$T/conn")"
	TINYPROXY=1
else
	skip "tinyproxy not installed (make deps)"
	skip "tinyproxy not installed (make deps)"
	TINYPROXY=0
fi

# ---- HTTPS: a test CA, bench.test's certificate (ECDSA P-256) and
# another CA's for the same name
pki() {
	cd "$T" &&
	for _ca in ca evil; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 1 \
		    -subj "/CN=netbench $_ca" -keyout $_ca.key -out $_ca.crt ||
		    return 1
	done &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj /CN=bench.test -keyout b.key -out b.csr &&
	printf 'subjectAltName=DNS:bench.test\n' >b.ext &&
	openssl x509 -req -in b.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
	    -days 1 -extfile b.ext -out b.crt &&
	openssl x509 -req -in b.csr -CA evil.crt -CAkey evil.key \
	    -CAcreateserial -days 1 -extfile b.ext -out evil-b.crt &&
	cd - >/dev/null
}
pki >"$T/pki.out" 2>&1
ok $? "a test CA and a certificate for bench.test ($(tail -n 1 "$T/pki.out"))"
inns "$NB" serve -w 2 -c "$T/b.crt" -k "$T/b.key" 127.0.0.1:8443 \
    >"$T/tserve.out" 2>"$T/tserve.err" &
wait_until 10 grep -q '^listening 127.0.0.1:8443 tls$' "$T/tserve.out"
ok $? "serve -c -k -w 2 says it listens with TLS ($(cat "$T/tserve.out" \
    "$T/tserve.err"))"
inns "$NB" serve -c "$T/evil-b.crt" -k "$T/b.key" 127.0.0.1:9443 \
    >"$T/eserve.out" 2>&1 &
wait_until 10 grep -q '^listening 127.0.0.1:9443 tls$' "$T/eserve.out"
ok $? "a second server with the other CA's certificate listens"
[ "$(pgrep -f -c "netbench serve -w 2 -c $T/b.crt")" -eq 2 ]
ok $? "serve -w 2: two processes"
inns curl -sv --cacert "$T/ca.crt" --resolve bench.test:8443:127.0.0.1 \
    -o "$T/body" -o "$T/body2" https://bench.test:8443/bytes/1024 \
    https://bench.test:8443/ 2>"$T/curl"
[ "$(wc -c <"$T/body")" -eq 1024 ] && [ "$(tr -d x <"$T/body" | wc -c)" -eq 0 ] &&
    [ "$(cat "$T/body2")" = netbench ] &&
    grep -qi 're-using existing connection' "$T/curl" &&
    grep -q 'SSL certificate verify ok' "$T/curl"
ok $? "curl https://bench.test:8443/bytes/1024 and / on one verified keep-alive connection"

tlscheck() { # MODE KEY ARGS...: one second of MODE, its figures sane
	_m=$1 _k=$2
	shift 2
	inns "$NB" "$_m" "$@" >"$T/tls" 2>"$T/tls.err"
	_rc=$?
	[ $_rc -eq 0 ] &&
	    grep -Eq "^conns=[0-9]+ $_k=[1-9][0-9]* seconds=[0-9.]+ [a-z]+=[1-9][0-9]* p50_us=[0-9.]+ p99_us=[0-9.]+ mean_us=[0-9.]+\$" "$T/tls" &&
	    awk '{ for (i = 1; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
		exit !(v["p50_us"] > 0 && v["p50_us"] <= v["p99_us"] &&
		v["seconds"] >= 1 && v["seconds"] < 3) }' "$T/tls"
	ok $? "$_m $*: exit $_rc, $(cat "$T/tls" "$T/tls.err")"
}
tlscheck tlsreq requests -C "$T/ca.crt" -S bench.test 127.0.0.1 8443 1
tlscheck tlsreq requests -b 1048576 -C "$T/ca.crt" -S bench.test 127.0.0.1 \
    8443 1
tlscheck tlsreq requests -c 4 -b 100 -C "$T/ca.crt" -H bench.test \
    localhost 8443 1
tlscheck tlsconn connections -c 2 -C "$T/ca.crt" -S bench.test 127.0.0.1 \
    8443 1
grep -q '^conns=2 ' "$T/tls"
ok $? "tlsconn -c 2: two threads"

# what the server wrote is what was asked for: a short answer is caught
inns "$NB" tlsreq -b 1048577 -C "$T/ca.crt" -S bench.test 127.0.0.1 8443 1 \
    >"$T/tls" 2>&1
[ $? -eq 2 ] && grep -q -- '-b 1048577: need a number from 0 to' "$T/tls"
ok $? "tlsreq -b above 1 MiB: exit 2 ($(cat "$T/tls"))"
if [ "$TINYPROXY" = 1 ]; then
	tlscheck tlsreq requests -x 127.0.0.1:3128 -C "$T/ca.crt" \
	    -S bench.test 127.0.0.1 8443 1
	tlscheck tlsconn connections -x 127.0.0.1:3128 -C "$T/ca.crt" \
	    -S bench.test 127.0.0.1 8443 1
else
	skip "tinyproxy not installed (make deps)"
	skip "tinyproxy not installed (make deps)"
fi

# a certificate of another CA, or for another name: refused, named
inns "$NB" tlsreq -C "$T/ca.crt" -S bench.test 127.0.0.1 9443 1 \
    >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && grep -q 'certificate presented for bench.test does not verify' "$T/err" &&
    grep -q 'issuer /CN=netbench evil' "$T/err"
ok $? "another CA's certificate: exit 1, names its issuer ($(cat "$T/err"))"
inns "$NB" tlsconn -C "$T/ca.crt" -S other.test 127.0.0.1 8443 1 \
    >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && grep -q 'for other.test does not verify.*hostname mismatch' "$T/err"
ok $? "a certificate for another name: exit 1 ($(cat "$T/err"))"
inns "$NB" tlsreq -C "$T/ca.crt" -S bench.test 127.0.0.1 8080 1 \
    >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && grep -q 'TLS handshake for bench.test' "$T/err"
ok $? "a plain HTTP server: exit 1 ($(cat "$T/err"))"
inns "$NB" tlsreq -C "$T/b.key" -S bench.test 127.0.0.1 8443 1 \
    >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && grep -q -- "-C $T/b.key" "$T/err"
ok $? "a CA file without certificates: exit 1 ($(cat "$T/err"))"

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
