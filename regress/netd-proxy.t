#!/bin/sh
# The lensnetd proxy child in real network namespaces, driven by
# regress/tools/proxyharness (which plays the lensnetd parent and sends
# a real lns-policy.yaml(5) policy, parsed by common/policy.c):
#
#   client netns --veth-- gateway netns (harness + proxy) --veth-- "internet"
#   10.233.N.2            10.233.N.1, 198.18.N.1                 198.18.N.x
#
# nftables in the gateway redirects the client's TCP to the transparent
# listener; the CONNECT listener is 10.233.N.1:3128.  The internet has
# a real HTTP server (busybox httpd) and a real HTTPS server (openssl
# s_server, certificate for ok.test from a CA made here) on the real
# address of ok.test, impostors on another address, and echo servers.
# Every case checks the audit line the proxy sent.  The harness's
# answers carry a TTL of 2 s (-L 2): the proxy's resolve cache is
# tested by counting the RESOLVEs the harness logs.
. "$(dirname "$0")/lib.sh"

H=$OBJ/regress/tools/proxyharness
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null ||
    ! command -v curl >/dev/null || [ ! -x "$H" ] ||
    ! id _lensnet >/dev/null 2>&1; then
	echo "1..0 # skip needs root, nft, curl, _lensnet and $H"
	exit 0
fi

tap_plan 102
tmpdir_setup

N=$(( ($$ % 200) + 20 ))
S=$(printf '%x' $$)$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
C=lpc$S G=lpg$S I=lpi$S
GW=10.233.$N.1 CL=10.233.$N.2
REAL=198.18.$N.10 EVIL=198.18.$N.12 ECHO=198.18.$N.13 UNMAPPED=198.18.$N.14
DROP=198.18.$N.15 PRIV=10.99.$N.13 PRIV2=10.98.$N.13
PIDS=

cleanup() {
	[ "$_tap_failed" -eq 0 ] || diag "harness log:" "$(tail -n 40 "$T/h.err")"
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	ip netns del "$C" 2>/dev/null
	ip netns del "$G" 2>/dev/null
	ip netns del "$I" 2>/dev/null
}
at_exit cleanup

inc() { ip netns exec "$C" "$@"; }
ing() { ip netns exec "$G" "$@"; }
ini() { ip netns exec "$I" "$@"; }
# bg NS CMD...: in the background, its pid (ip netns exec execs) kept
bg() { _ns=$1; shift; ip netns exec "$_ns" "$@" & PIDS="$PIDS $!"; }

# namespaces and links
ip netns add "$C" && ip netns add "$G" && ip netns add "$I" &&
ip link add c0 netns "$C" type veth peer name g0 netns "$G" &&
ip link add g1 netns "$G" type veth peer name i0 netns "$I" &&
inc ip addr add $CL/24 dev c0 && inc ip link set c0 up &&
inc ip link set lo up && inc ip route add default via $GW &&
ing ip addr add $GW/24 dev g0 && ing ip link set g0 up &&
ing ip addr add 198.18.$N.1/24 dev g1 && ing ip link set g1 up &&
ing ip link set lo up &&
ing ip route add 10.99.$N.0/24 via 198.18.$N.2 &&
ing ip route add 10.98.$N.0/24 via 198.18.$N.2 &&
ini ip addr add 198.18.$N.2/24 dev i0 && ini ip link set i0 up &&
ini ip link set lo up && ini ip route add 10.233.$N.0/24 via 198.18.$N.1 &&
for a in $REAL $EVIL $ECHO $DROP; do ini ip addr add $a/32 dev lo || exit 1; done &&
ini ip addr add $PRIV/32 dev lo && ini ip addr add $PRIV2/32 dev lo
ok $? "namespaces $C $G $I with veth links"

r=$(ing ip route get $REAL | head -n 1)
case $r in *"dev g1"*) true ;; *) false ;; esac
ok $? "198.18.$N.10 routes into the test internet ($r)"

# the gateway: every TCP from the client but the proxy port goes to the
# transparent listener
ing nft -f - <<EOF
table ip lensproxytest {
	chain pre {
		type nat hook prerouting priority dstnat;
		iifname "g0" tcp dport != 3128 redirect to :15001
	}
}
EOF
ok $? "nft redirect in the gateway"
ini nft -f - <<EOF
table ip blackhole {
	chain in {
		type filter hook input priority 0;
		ip daddr $DROP drop
	}
}
EOF

# a CA and a certificate for ok.test (and one for the impostor)
(
	cd "$T" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
	    -days 2 -subj "/CN=lens test CA" &&
	openssl req -newkey rsa:2048 -nodes -keyout ok.key -out ok.csr \
	    -subj "/CN=ok.test" &&
	printf 'subjectAltName=DNS:ok.test\n' >ext &&
	openssl x509 -req -in ok.csr -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -out ok.pem -days 2 -extfile ext
) >"$T/openssl.log" 2>&1
ok $? "test CA and ok.test certificate"

mkdir -p "$T/real" "$T/evil"
echo real-server >"$T/real/id.txt"
echo evil-server >"$T/evil/id.txt"
head -c 33554432 /dev/urandom >"$T/real/big.bin"
bg "$I" busybox httpd -f -p $REAL:80 -h "$T/real"
bg "$I" busybox httpd -f -p $EVIL:80 -h "$T/evil"
(cd "$T/real" && exec ip netns exec "$I" openssl s_server -quiet -WWW \
    -accept $REAL:443 -cert ../ok.pem -key ../ok.key) >/dev/null 2>&1 &
PIDS="$PIDS $!"
(cd "$T/evil" && exec ip netns exec "$I" openssl s_server -quiet -WWW \
    -accept $EVIL:443 -cert ../ok.pem -key ../ok.key) >/dev/null 2>&1 &
PIDS="$PIDS $!"
bg "$I" "$H" echo 0.0.0.0:7 >/dev/null

deny_policy "$T/policy" <<EOF
    http:
      - {match: ok.test, verdict: allow}
      - {match: "*.web.test", verdict: allow}
      - {match: bad.test, verdict: deny}
      - {match: loop.test, verdict: allow}
      - {match: meta.test, verdict: allow}
      - {match: mapped.test, verdict: allow}
      - {match: nowhere.test, verdict: allow}
      - {match: "ok.test:81", verdict: allow}
      - {match: "tt.test:443", verdict: allow, tlsTerminate: true}
    tcp:
      - {match: "echo.test:7", verdict: allow}
      - {match: "priv.test:7", verdict: allow}
      - {match: "$ECHO/32:7", verdict: allow}
      - {match: "10.99.0.0/16:7", verdict: allow}
      # an address without /len is a /32: it names the private address
      - {match: "$PRIV2:7", verdict: allow}
      # contains every address but names no private range
      - {match: "0.0.0.0/0:9", verdict: allow}
EOF
# the per-sandbox limits well above the 1000 tunnels held at once below
# (regress/attack/netd-fairness.t tests them)
bg "$G" "$H" run -P "$T/policy" -S $CL -t $GW:15001 -c $GW:3128 \
    -p 198.18.$N.1:18080:7 -C 1500 -B 200 -I 5000 -O c=2000 -O r=100000 \
    -r ok.test=$REAL -r loop.test=127.0.0.1 -r meta.test=169.254.169.254 \
    -r mapped.test=::ffff:127.0.0.1 -r nowhere.test=$DROP -r a.web.test=$EVIL \
    -r tt.test=$REAL -L 2 -M ok.test=198.18.$N.99 \
    -m echo.test=$ECHO -m priv.test=10.9.9.9 -m ok.test=$REAL \
    >"$T/h.out" 2>"$T/h.err"
HPID=$!
i=0
while ! grep -q '^ready' "$T/h.out" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
PROXY=$(awk '/^ready/ { print $2 }' "$T/h.out")
[ -n "$PROXY" ]
ok $? "harness started the proxy (pid $PROXY)"
sleep 0.5

st() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
[ "$(st "$PROXY" NoNewPrivs)" = 1 ] && [ "$(st "$PROXY" Seccomp)" = 2 ] &&
    [ "$(st "$PROXY" CapEff)" = 0000000000000000 ] &&
    [ "$(st "$PROXY" Uid)" = "$(id -u _lensnet)" ] &&
    [ "$(st "$PROXY" Uid)" != 0 ]
ok $? "proxy: NoNewPrivs $(st "$PROXY" NoNewPrivs), Seccomp $(st "$PROXY" Seccomp), CapEff $(st "$PROXY" CapEff), uid $(st "$PROXY" Uid)"
[ "$(readlink /proc/$PROXY/root)" = /var/lib/lens/empty ]
ok $? "proxy: root is the empty directory ($(readlink /proc/$PROXY/root))"

# wait_audit PATTERN...: the newest audit line (after the mark) matching all
MARK=0
mark() { MARK=$(wc -l <"$T/h.out"); }
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

CURL="inc curl -s --max-time 10"

# HTTP by Host, to the name's real address
mark
out=$($CURL --resolve ok.test:80:$REAL http://ok.test/id.txt)
[ "$out" = real-server ]
ok $? "HTTP to an allowed name: $out"
audit_has '"verdict":"allow"' '"name":"ok.test"' '"proto":"http"' \
    "\"destination\":\"$REAL\"" '"listener":"transparent"' '"bytes_in":'
ok $? "audit: allow ok.test http to $REAL"

mark
out=$($CURL --cacert "$T/ca.pem" --resolve ok.test:443:$REAL \
    https://ok.test/id.txt)
[ "$out" = real-server ]
ok $? "HTTPS to an allowed name, certificate verified: $out"
audit_has '"verdict":"allow"' '"name":"ok.test"' '"proto":"tls"' \
    "\"destination\":\"$REAL\"" '"port":443'
ok $? "audit: allow ok.test tls to $REAL:443"

# the sandbox picks another IP: the bytes still go to the name's address
mark
out=$($CURL --resolve ok.test:80:$EVIL http://ok.test/id.txt)
[ "$out" = real-server ]
ok $? "HTTP Host ok.test sent to $EVIL ends at the real server ($out)"
audit_has '"name":"ok.test"' "\"destination\":\"$REAL\""
ok $? "audit: destination is the name's address, not $EVIL"

mark
out=$($CURL --cacert "$T/ca.pem" --resolve ok.test:443:$EVIL \
    https://ok.test/id.txt)
[ "$out" = real-server ]
ok $? "SNI ok.test sent to $EVIL ends at the real server ($out)"
audit_has '"name":"ok.test"' '"proto":"tls"' "\"destination\":\"$REAL\""
ok $? "audit: tls destination $REAL"

mark
out=$($CURL --resolve ok.test:80:$UNMAPPED http://ok.test/id.txt)
[ "$out" = real-server ]
ok $? "HTTP to an address nobody listens on still reaches ok.test"

# a tlsTerminate host is intercepted (regress/netd-tls.t); this harness
# has no lenscredd (-K): no leaf, so it fails closed, never passed through
mark
out=$($CURL -k --resolve tt.test:443:$EVIL https://tt.test/id.txt 2>&1)
[ "$out" != real-server ]
ok $? "a tlsTerminate host without a leaf is not passed through: $out"
audit_has '"verdict":"error"' '"name":"tt.test"' '"tls":"intercepted"' \
    '"rule":"tt.test:443"' 'lenscredd is not connected'
ok $? "audit: intercepted, no leaf, why"

# 32 MiB through a client reading at 8 MB/s: backpressure, not buffering
# (plain HTTP: framed by the proxy's HTTP exchange in bounded buffers)
mark
want=$(sha256sum <"$T/real/big.bin" | cut -d' ' -f1)
got=$(inc curl -s --max-time 30 --limit-rate 8M --resolve ok.test:80:$REAL \
    http://ok.test/big.bin | sha256sum | cut -d' ' -f1)
hwm=$(st "$PROXY" VmHWM)
[ "$got" = "$want" ]
ok $? "32 MiB download through a rate-limited client intact"
# HTTPS passes through unread: spliced
(sleep 1.5; ls -l "/proc/$PROXY/fd" | grep -c 'pipe:' >"$T/pipes") &
spid=$!
got=$(inc curl -s --max-time 30 --limit-rate 8M --cacert "$T/ca.pem" \
    --resolve ok.test:443:$REAL https://ok.test/big.bin | sha256sum |
    cut -d' ' -f1)
wait $spid
[ "$(cat "$T/pipes")" -ge 2 ] && [ "$got" = "$want" ]
ok $? "HTTPS went through a pipe (splice), intact: $(cat "$T/pipes") pipe ends open midway"
# ASan's quarantine keeps freed buffers: a looser bound there
case $OBJ in *obj-san*) lim=262144 ;; *) lim=16384 ;; esac
[ -n "$hwm" ] && [ "$hwm" -lt $lim ]
ok $? "the proxy did not buffer it: VmHWM $hwm kB < $lim kB"
audit_has '"verdict":"allow"' '"name":"ok.test"' '"bytes_in":335'
ok $? "audit: the bytes of the download"

# denied names
mark
out=$($CURL -o /dev/null -w '%{http_code}' --resolve bad.test:80:$REAL \
    http://bad.test/id.txt)
[ "$out" = 403 ]
ok $? "HTTP Host bad.test (deny rule): $out"
audit_has '"verdict":"deny"' '"name":"bad.test"' '"reason":"policy: name not allowed"' \
    '"rule":"bad.test"'
ok $? "audit: deny bad.test by its rule"

mark
$CURL --cacert "$T/ca.pem" --resolve bad.test:443:$REAL \
    https://bad.test/id.txt >/dev/null
[ $? -ne 0 ]
ok $? "HTTPS SNI bad.test refused"
audit_has '"verdict":"deny"' '"name":"bad.test"' '"proto":"tls"'
ok $? "audit: deny bad.test tls"

mark
out=$($CURL -o /dev/null -w '%{http_code}' --resolve other.test:80:$REAL \
    http://other.test/)
[ "$out" = 403 ]
ok $? "a name no rule allows (default deny): $out"
audit_has '"verdict":"deny"' '"name":"other.test"'
ok $? "audit: deny other.test"

mark
out=$($CURL -o /dev/null -w '%{http_code}' -H 'Host: bad.test' \
    http://$REAL/id.txt)
[ "$out" = 403 ]
ok $? "Host bad.test to ok.test's own address: $out"

# bad ClientHello / head
mark
out=$(inc "$H" send $REAL:80 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 400"*) true ;; *) false ;; esac
ok $? "two Host headers: $out"
audit_has '"verdict":"deny"' 'several Host headers'
ok $? "audit: bad request reason"

# raw TCP
mark
out=$(inc "$H" send $UNMAPPED:7 'hello')
case $out in hello*) false ;; *) true ;; esac
ok $? "raw TCP to an address lensnetd's DNS never gave out: refused"
audit_has '"verdict":"deny"' '"proto":"tcp"' "\"destination\":\"$UNMAPPED\"" \
    'not handed out'
ok $? "audit: deny raw tcp $UNMAPPED"

mark
out=$(inc "$H" send $ECHO:7 'half-close-test' 300)
case $out in "half-close-test"*"[eof]"*) true ;; *) false ;; esac
ok $? "raw TCP to a DNS-mapped allowed name, half-close: echo then EOF"
audit_has '"verdict":"allow"' '"name":"echo.test"' '"proto":"tcp"' \
    '"bytes_out":15' '"bytes_in":15' '"rule":"echo.test:7"'
ok $? "audit: allow echo.test with 15 bytes each way"

mark
out=$(inc "$H" send $ECHO:7 'server-speaks-first' 0 3000)
case $out in "server-speaks-first"*"[eof]"*) true ;; *) false ;; esac
ok $? "raw TCP that sends nothing for 3 s (longer than the peek) is decided as raw"
audit_has '"verdict":"allow"' '"name":"echo.test"' '"bytes_out":19'
ok $? "audit: allow after the peek timeout"

mark
out=$(inc "$H" send $ECHO:8 'x')
case $out in x*) false ;; *) true ;; esac
ok $? "raw TCP to echo.test's address on a port no rule names: refused"

mark
out=$(inc "$H" send $PRIV:7 'private-ok')
case $out in private-ok*) true ;; *) false ;; esac
ok $? "raw TCP to $PRIV: a CIDR rule naming 10.99/16 opens it"
audit_has '"verdict":"allow"' "\"destination\":\"$PRIV\"" '"rule":"10.99.0.0/16:7"'
ok $? "audit: allow by the CIDR rule"

mark
out=$(inc "$H" send $PRIV2:7 'private-exact')
case $out in private-exact*) true ;; *) false ;; esac
ok $? "raw TCP to $PRIV2: a CIDR rule naming the address alone opens it"
audit_has '"verdict":"allow"' "\"destination\":\"$PRIV2\"" "\"rule\":\"$PRIV2:7\""
ok $? "audit: allow by the /32 rule without /len"

mark
out=$(inc "$H" send $PRIV:9 'x')
case $out in x*) false ;; *) true ;; esac
ok $? "raw TCP to $PRIV:9: 0.0.0.0/0:9 contains it but names no private range"
audit_has '"verdict":"deny"' "\"destination\":\"$PRIV\"" 'forbidden address (private)'
ok $? "audit: refused as private despite 0.0.0.0/0"

# private and metadata destinations
mark
out=$($CURL -o /dev/null -w '%{http_code}' --resolve loop.test:80:$REAL \
    http://loop.test/)
[ "$out" = 403 ]
ok $? "Host loop.test resolving to 127.0.0.1: $out"
audit_has '"verdict":"deny"' '"name":"loop.test"' 'forbidden address (loopback)'
ok $? "audit: loopback refused"

mark
out=$($CURL -o /dev/null -w '%{http_code}' http://meta.test/latest \
    --resolve meta.test:80:169.254.169.254)
[ "$out" = 403 ]
ok $? "Host meta.test resolving to 169.254.169.254: $out"
audit_has '"verdict":"deny"' '"name":"meta.test"' 'forbidden address (metadata)'
ok $? "audit: metadata refused"

mark
out=$(inc "$H" send 169.254.169.254:80 'GET / HTTP/1.0\r\n\r\n' | head -n 1)
case $out in "HTTP/1.1 403"*) true ;; *) false ;; esac
ok $? "HTTP/1.0 without Host to 169.254.169.254: $out"

mark
out=$(inc "$H" send 10.233.$N.1:80 'x')
case $out in x*) false ;; *) true ;; esac
ok $? "raw TCP to the gateway's own address refused"

mark
out=$(inc "$H" send 10.9.9.9:7 'x')
audit_has '"verdict":"deny"' '"name":"priv.test"' 'forbidden address (private)'
ok $? "raw TCP to 10.9.9.9, DNS-mapped for an allowed name: refused as private"

# CONNECT
P="-x http://$GW:3128"
mark
out=$($CURL $P --cacert "$T/ca.pem" https://ok.test/id.txt)
[ "$out" = real-server ]
ok $? "CONNECT ok.test:443: $out"
audit_has '"verdict":"allow"' '"listener":"connect"' '"name":"ok.test"' \
    "\"destination\":\"$REAL\"" '"port":443'
ok $? "audit: CONNECT allow"

mark
out=$($CURL $P -o /dev/null -w '%{http_connect}' https://bad.test/)
[ "$out" = 403 ]
ok $? "CONNECT bad.test:443: $out"
audit_has '"verdict":"deny"' '"listener":"connect"' '"name":"bad.test"'
ok $? "audit: CONNECT deny"

# TLS in a tunnel must name the tunnel's host
mark
out=$(echo | inc timeout 10 openssl s_client -proxy $GW:3128 \
    -connect ok.test:443 -servername ok.test -CAfile "$T/ca.pem" 2>&1 |
    grep 'Verify return code' | head -n 1)
case $out in *"return code: 0 (ok)"*) true ;; *) false ;; esac
ok $? "CONNECT ok.test:443 with SNI ok.test: $out"
audit_has '"verdict":"allow"' '"listener":"connect"' '"name":"ok.test"'
ok $? "audit: tunnel with a matching SNI allowed"
mark
echo | inc timeout 10 openssl s_client -proxy $GW:3128 \
    -connect ok.test:443 -servername bad.test -CAfile "$T/ca.pem" \
    >"$T/sc.out" 2>&1
grep -q 'no peer certificate available' "$T/sc.out" &&
    ! grep -q -- '-----BEGIN CERTIFICATE-----' "$T/sc.out"
ok $? "CONNECT ok.test:443 with SNI bad.test: no handshake"
audit_has '"verdict":"deny"' '"listener":"connect"' 'SNI bad.test in a tunnel to ok.test'
ok $? "audit: fronting through the tunnel refused"

connect_status() {
	inc "$H" send $GW:3128 "$1" | head -n 1 | cut -d' ' -f2
}
mark
out=$(connect_status 'CONNECT [::ffff:127.0.0.1]:80 HTTP/1.1\r\n\r\n')
[ "$out" = 403 ]
ok $? "CONNECT [::ffff:127.0.0.1]:80: $out"
audit_has '"verdict":"deny"' '"destination":"127.0.0.1"'
ok $? "audit: the mapped address judged as 127.0.0.1"

mark
out=$(connect_status 'CONNECT mapped.test:80 HTTP/1.1\r\n\r\n')
[ "$out" = 403 ]
ok $? "CONNECT a name resolving to ::ffff:127.0.0.1: $out"
audit_has '"verdict":"deny"' '"name":"mapped.test"' 'forbidden address (loopback)'
ok $? "audit: loopback behind an IPv4-mapped answer"

out=$(connect_status 'CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n')
[ "$out" = 403 ]
ok $? "CONNECT 127.0.0.1:22: $out"
out=$(connect_status 'CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n')
[ "$out" = 403 ]
ok $? "CONNECT 169.254.169.254:80: $out"
out=$(connect_status 'CONNECT 10.0.0.1:443 HTTP/1.1\r\n\r\n')
[ "$out" = 403 ]
ok $? "CONNECT 10.0.0.1:443: $out"
out=$(connect_status "CONNECT $GW:3128 HTTP/1.1\\r\\n\\r\\n")
[ "$out" = 403 ]
ok $? "CONNECT to the proxy itself: $out"

mark
out=$(inc "$H" send $GW:3128 "CONNECT $ECHO:7 HTTP/1.1\\r\\n\\r\\nthrough-the-tunnel")
case $out in "HTTP/1.1 200 Connection established"*through-the-tunnel*"[eof]"*) true ;; *) false ;; esac
ok $? "CONNECT to an address a CIDR rule allows, pipelined bytes relayed"
audit_has '"verdict":"allow"' '"listener":"connect"' '"bytes_out":18' '"bytes_in":18'
ok $? "audit: CONNECT byte counts exclude the head and the 200"

mark
out=$(connect_status 'CONNECT ok.test HTTP/1.1\r\n\r\n')
[ "$out" = 400 ]
ok $? "CONNECT without a port: $out"
audit_has '"verdict":"deny"' 'bad CONNECT target: port missing'
ok $? "audit: 400 reason"

out=$(connect_status 'CONNECT ok.test:443 HTTP/1.1\r\nHost: a\r\n  folded\r\n\r\n')
[ "$out" = 400 ]
ok $? "CONNECT with obsolete line folding: $out"

# plain HTTP through the proxy port
mark
out=$($CURL $P http://ok.test/id.txt)
[ "$out" = real-server ]
ok $? "GET http://ok.test/ through the proxy port: $out"
audit_has '"verdict":"allow"' '"listener":"connect"' '"proto":"http"' \
    '"name":"ok.test"' "\"destination\":\"$REAL\"" '"port":80'
ok $? "audit: forward proxy allow"

out=$($CURL $P http://ok.test/id.txt http://a.web.test/id.txt | tr '\n' ' ')
[ "$out" = "real-server evil-server " ]
ok $? "two hosts over one client connection each reach their own server ($out)"

out=$($CURL $P -o /dev/null -w '%{http_code}' http://bad.test/)
[ "$out" = 403 ]
ok $? "GET http://bad.test/ through the proxy port: $out"

out=$(connect_status 'GET http://ok.test/id.txt HTTP/1.1\r\nHost: bad.test\r\n\r\n')
[ "$out" = 400 ]
ok $? "forward request whose Host disagrees with the URL: $out"

out=$(connect_status 'GET http://user@ok.test/ HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$out" = 400 ]
ok $? "forward request with user information: $out"

out=$(connect_status 'GET /id.txt HTTP/1.1\r\nHost: ok.test\r\n\r\n')
[ "$out" = 405 ]
ok $? "origin-form request to the proxy port: $out"

mark
out=$(connect_status 'CONNECT ok.test:81 HTTP/1.1\r\n\r\n')
[ "$out" = 502 ]
ok $? "CONNECT to a closed port: $out"
audit_has '"verdict":"error"' '"name":"ok.test"' 'upstream connect failed'
ok $? "audit: connect failure"

mark
out=$(connect_status 'CONNECT nowhere.test:80 HTTP/1.1\r\n\r\n')
[ "$out" = 504 ]
ok $? "CONNECT to a black hole: $out"
audit_has '"verdict":"error"' 'timed out'
ok $? "audit: timeout"

mark
out=$(connect_status 'CONNECT unknown.web.test:443 HTTP/1.1\r\n\r\n')
[ "$out" = 502 ]
ok $? "CONNECT to an allowed name that does not resolve: $out"

# an idle tunnel is closed after the idle timeout (-I 5000)
mark
out=$(inc "$H" send $GW:3128 "CONNECT $ECHO:7 HTTP/1.1\\r\\n\\r\\nidle" 8000)
case $out in *idle*"[eof]"*) true ;; *) false ;; esac
ok $? "an idle tunnel: echoed, then closed by the proxy"
audit_has '"verdict":"allow"' '"reason":"idle timeout"' '"bytes_in":4'
ok $? "audit: closed by the idle timeout"
d=$(tail -n +$((MARK + 1)) "$T/h.out" | grep 'idle timeout' |
    sed 's/.*"duration_ms":\([0-9]*\).*/\1/')
# (libevent's timers run on CLOCK_MONOTONIC_COARSE: one tick, up to
# 10 ms at HZ=100, early against the precise clock of duration_ms)
[ -n "$d" ] && [ "$d" -ge 4990 ] && [ "$d" -lt 7500 ]
ok $? "idle close after ${d:-?} ms (timeout 5000 ms)"

# a published port: host side on the gateway, into the client
bg "$C" "$H" echo $CL:7 >/dev/null
sleep 0.3
mark
out=$(ing "$H" send 198.18.$N.1:18080 'inward')
case $out in inward*"[eof]"*) true ;; *) false ;; esac
ok $? "published port 18080 reaches the sandbox's port 7"
audit_has 'audit net.publish' '"verdict":"allow"' "\"destination\":\"$CL\"" \
    '"bytes_in":6' '"peer":"198.18.'
ok $? "audit: net.publish with bytes and peer"

# many at once
mark
out=$(inc "$H" hold 1000 $GW:3128 $ECHO:7 2>&1 | tail -n 1)
[ "$out" = "held 1000" ]
ok $? "1000 concurrent CONNECT tunnels held, each still relays ($out)"
sleep 2.5
n_ev=$(tail -n +$((MARK + 1)) "$T/h.out" | grep '^audit net.connect ' |
    grep -c "\"destination\":\"$ECHO\"")
n_sum=$(tail -n +$((MARK + 1)) "$T/h.out" | grep '^audit net.connect.summary ' |
    sed 's/.*"allowed":\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s + 0 }')
[ $((n_ev + n_sum)) -eq 1000 ] && [ "$n_sum" -gt 0 ]
ok $? "audit: 1000 connections = $n_ev events + $n_sum in flood summaries"

# the resolve cache: answers kept for their TTL (2 s here), per name
nres() { grep -c "^harness: resolve $1:" "$T/h.err"; }
waitlog() {
	_i=0
	while [ "$(grep -c "$1" "$T/h.err")" -lt "$2" ] && [ $_i -lt 30 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
}
sleep 2.2
r0=$(nres ok.test)
o1=$($CURL --resolve ok.test:80:$REAL http://ok.test/id.txt)
o2=$($CURL --resolve ok.test:80:$EVIL http://ok.test/id.txt)
r1=$(nres ok.test)
[ "$o1" = real-server ] && [ "$o2" = real-server ] && [ $((r1 - r0)) -eq 1 ]
ok $? "two connections within the TTL: $((r1 - r0)) RESOLVE, both at the real server ($o1, $o2; the second aimed at $EVIL)"
sleep 2.2
o1=$($CURL --resolve ok.test:80:$REAL http://ok.test/id.txt)
r2=$(nres ok.test)
[ "$o1" = real-server ] && [ $((r2 - r1)) -eq 1 ]
ok $? "after the TTL the name is resolved again ($((r2 - r1)))"
kill -USR1 "$HPID"
waitlog 'DNSMAP sent' 1
o1=$($CURL --resolve ok.test:80:$REAL http://ok.test/id.txt)
r3=$(nres ok.test)
[ "$o1" = real-server ] && [ $((r3 - r2)) -eq 1 ]
ok $? "a DNS answer giving ok.test another address drops the cached one ($((r3 - r2)))"
o1=$($CURL --resolve ok.test:80:$REAL http://ok.test/id.txt)
r4=$(nres ok.test)
[ "$o1" = real-server ] && [ "$r4" -eq "$r3" ]
ok $? "and the new answer is cached again ($((r4 - r3)))"
kill -USR2 "$HPID"
waitlog 'policy sent again' 1
o1=$($CURL --resolve ok.test:80:$REAL http://ok.test/id.txt)
r5=$(nres ok.test)
[ "$o1" = real-server ] && [ $((r5 - r4)) -eq 1 ]
ok $? "a policy reload empties the cache ($((r5 - r4)))"

# the splice path: 16 MiB each way through raw TCP to the echo server,
# the client's half-close passed on, the echo's end back
mark
out=$(inc "$H" blast $ECHO:7 16777216 2>&1)
[ "$out" = "blast sent=16777216 got=16777216 same=1" ]
ok $? "16 MiB each way through pipes, echoed byte for byte, then EOF ($out)"
audit_has '"verdict":"allow"' '"name":"echo.test"' '"bytes_out":16777216' \
    '"bytes_in":16777216'
ok $? "audit: exact byte counts both ways"

# idle connections that carried data hold no pipe (beyond the pool)
inc "$H" hold 200 $GW:3128 $ECHO:7 4 >"$T/hold.out" 2>&1 &
hpid=$!
_i=0
while ! grep -q '^held' "$T/hold.out" && [ $_i -lt 100 ]; do
	sleep 0.1; _i=$((_i + 1))
done
sleep 0.5
np=$(ls -l "/proc/$PROXY/fd" | grep -c 'pipe:')
nsock=$(ls -l "/proc/$PROXY/fd" | grep -c 'socket:')
wait $hpid
grep -q '^held 200' "$T/hold.out" && [ "$nsock" -ge 400 ] && [ "$np" -le 32 ]
ok $? "200 idle tunnels after data: $nsock sockets, $np pipe ends (pool of 16 at most)"

# the proxy survived all of it under its filter
kill -0 "$PROXY" 2>/dev/null && [ "$(st "$PROXY" Seccomp)" = 2 ]
ok $? "proxy still running under seccomp"
kill "$HPID"
wait "$HPID" 2>/dev/null
grep -q '^proxy exited with status 0$' "$T/h.out"
ok $? "proxy stopped on SIGTERM: $(grep '^proxy ' "$T/h.out" | tail -n 1)"
if grep -q 'SIGSYS\|fatal' "$T/h.err"; then
	diag "$(cat "$T/h.err")"
	false
fi
ok $? "no seccomp trap or fatal error in the proxy's log"

tap_done
