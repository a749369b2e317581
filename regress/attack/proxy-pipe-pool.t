#!/bin/sh
# Attack: one connection's bytes delivered into another's.  The proxy
# relays through pipes (splice) kept in a process-wide pool for every
# sandbox's connections.  A connection that is reset while megabytes of
# its download are in flight leaves its pipe full; that pipe must never
# carry those bytes into the next connection.  Here a client downloads
# 32 MiB without reading, so the proxy's pipe fills, then resets; the
# next connection sends a known pattern through an echo server: what
# the echo server received and sent back must be exactly its own bytes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/proxyworld.sh"

pw_need || exit 0
if ! command -v busybox >/dev/null || ! command -v curl >/dev/null; then
	echo "1..0 # skip needs busybox and curl"
	exit 0
fi
tap_plan 10
tmpdir_setup

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"

mkdir -p "$T/www"
head -c 33554432 /dev/urandom >"$T/www/big.bin"
bg "$I" busybox httpd -f -p $REAL:80 -h "$T/www"
bg "$I" "$H" echo $ECHO:7 >"$T/echo.out"
deny_policy "$T/policy" <<EOF
    http:
      - {match: ok.test, verdict: allow}
    tcp:
      - {match: "$ECHO/32:7", verdict: allow}
EOF
pw_proxy "$T/policy" -r ok.test=$REAL
ok $? "harness started the proxy (pid $PROXY)"
wait_for grep -q listening "$T/echo.out" &&
    wait_for sh -c "ip netns exec $I ss -Hltn 'sport = :80' | grep -q ."
ok $? "busybox httpd on $REAL:80 (ok.test), echo on $ECHO:7"

# the proxy's sockets in the gateway: to the upstream, to the client
# (Recv-Q and Send-Q of the established one with that peer)
q() { ing ss -Htn state established "dst $1" | awk "{ print \$$2 }"; }

rounds=3
for r in $(seq $rounds); do
	mark
	ip netns exec "$C" "$H" stall $REAL:80 \
	    'GET /big.bin HTTP/1.1\r\nHost: ok.test\r\n\r\n' >"$T/stall.out" &
	SPID=$!
	wait_for grep -q flowing "$T/stall.out" || break
	# the proxy stopped reading the upstream (its receive queue stays
	# full) while the client's is full: the pipe between holds bytes
	held() {
		a=$(q $REAL:80 1); b=$(q $CL 2)
		[ -n "$a" ] && [ "$a" -gt 65536 ] && [ -n "$b" ] &&
		    [ "$b" -gt 0 ] && [ "$a" = "$(q $REAL:80 1)" ]
	}
	wait_for held || break
	pipes=$(ls -l "/proc/$PROXY/fd" | grep -c 'pipe:')
	kill -USR1 $SPID
	wait $SPID
	grep -q reset "$T/stall.out" || break
	audit_has '"name":"ok.test"' '"proto":"http"' || break
	# the next connection: its own bytes, exactly, both ways
	out=$(inc "$H" blast $ECHO:7 4194304)
	[ "$out" = "blast sent=4194304 got=4194304 same=1" ] || break
done
[ "$r" = $rounds ] && [ "$out" = "blast sent=4194304 got=4194304 same=1" ]
ok $? "$r of $rounds rounds: reset with the pipe full (upstream Recv-Q $a, client Send-Q $b, $pipes pipe ends), then the next connection's echo is its own: $out"

# the echo server saw only the pattern: a foreign byte would have come
# back and broken same=1; the byte counts of the audit agree
audit_has '"verdict":"allow"' '"proto":"tcp"' '"bytes_out":4194304' \
    '"bytes_in":4194304'
ok $? "audit: the echo connection moved exactly its 4 MiB each way"

# several at once: a burst of resets and fresh connections interleaved
mark
for i in 1 2 3 4; do
	ip netns exec "$C" "$H" stall $REAL:80 \
	    'GET /big.bin HTTP/1.1\r\nHost: ok.test\r\n\r\n' >"$T/stall$i.out" &
	eval "SP$i=\$!"
done
for i in 1 2 3 4; do wait_for grep -q flowing "$T/stall$i.out"; done
i=0
until [ "$(ing ss -Htn state established "dst $REAL:80" | awk '$1 > 65536' | wc -l)" -ge 4 ]; do
	[ $i -lt 100 ] || break
	sleep 0.1; i=$((i + 1))
done
[ $i -lt 100 ]
ok $? "four stalled downloads hold their pipes"
n=0
for i in 1 2 3 4; do
	eval "kill -USR1 \$SP$i; wait \$SP$i"
	grep -q reset "$T/stall$i.out" && n=$((n + 1))
done
[ $n = 4 ]
ok $? "the four reset their connections: $n"
good=0
for i in 1 2 3 4 5 6; do
	inc "$H" blast $ECHO:7 1048576 >"$T/blast$i.out" &
	eval "BP$i=\$!"
done
for i in 1 2 3 4 5 6; do
	eval "wait \$BP$i"
	[ "$(cat "$T/blast$i.out")" = "blast sent=1048576 got=1048576 same=1" ] &&
	    good=$((good + 1))
done
[ $good = 6 ]
ok $? "six concurrent connections after the resets: $good intact"

# nothing was lost for the proxy: it still runs and a download is whole
want=$(sha256sum <"$T/www/big.bin" | cut -d' ' -f1)
got=$(inc curl -s --max-time 30 --resolve ok.test:80:$REAL \
    http://ok.test/big.bin | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ]
ok $? "a whole download after all that is intact"
kill -0 "$PROXY" && ! grep -q Sanitizer "$T/h.err"
ok $? "the proxy still runs, no sanitizer report"

tap_done
