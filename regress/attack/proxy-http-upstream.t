#!/bin/sh
# Attack: a hostile upstream of an allowed host tries to make the proxy
# mis-frame its responses and so answer a client's next request with
# bytes of its choosing (response splitting across exchanges): a second
# response behind the first that no request asked for, two
# Content-Length headers, Transfer-Encoding with Content-Length, bare
# LF line ends, chunk data longer than its size, a 101 nobody asked
# for, a flood of 1xx interim responses, a head longer than the proxy
# reads.  Each server puts an "injected" response behind its bytes;
# the client sends a second request on the same connection and must
# never see "injected": the proxy relays only what it framed, answers
# 502 for what it cannot frame, and closes the connection.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/proxyworld.sh"

pw_need || exit 0
tap_plan 28
tmpdir_setup

pw_setup
ok $? "namespaces $C $G $I, links, nft redirect"

MODES="extra clcl tecl barelf chunkbad switch flood bighead"
i=20
policy=
for m in $MODES; do
	ini ip addr add 198.18.$N.$i/32 dev lo
	bg "$I" "$H" badhttpd 198.18.$N.$i:80 $m >"$T/$m.out"
	policy="$policy -r $m.test=198.18.$N.$i"
	i=$((i + 1))
done
deny_policy "$T/policy" <<EOF
    http:
      - {match: "*.test", verdict: allow}
EOF
pw_proxy "$T/policy" $policy
ok $? "harness started the proxy (pid $PROXY)"
for m in $MODES; do wait_for grep -q listening "$T/$m.out" || break; done
ok $? "hostile upstreams listening: $MODES"

i=20
for m in $MODES; do
	mark
	out=$(inc "$H" seq 198.18.$N.$i:80 \
	    "GET /one HTTP/1.1\\r\\nHost: $m.test\\r\\n\\r\\n" \
	    "GET /two HTTP/1.1\\r\\nHost: $m.test\\r\\n\\r\\n")
	i=$((i + 1))
	! printf '%s\n' "$out" | grep -q injected
	ok $? "$m: the client never sees the injected response"
	case $m in
	extra)
		# a good first response, then the connection closes
		[ "$(printf '%s\n' "$out" | grep '^status' | tr '\n' ' ')" = \
		    "status 200 " ] && printf '%s\n' "$out" | grep -q '^\[eof\]'
		ok $? "$m: the first response relayed, then the connection closed"
		audit_has 'net.http' '"path":"/one"' '"status":200' \
		    'upstream sent bytes after its response'
		;;
	chunkbad)
		# the head went on; the body is cut where it broke its framing
		printf '%s\n' "$out" | grep -q '^status 200' &&
		    printf '%s\n' "$out" | grep -q '^\[eof\]' &&
		    ! printf '%s\n' "$out" | grep -q '^status 200.*status'
		ok $? "$m: the response cut where its chunk lied, then the connection closed"
		audit_has 'net.http' '"path":"/one"' \
		    'bad response body from upstream: chunk data longer than its size'
		;;
	flood)
		[ "$(printf '%s\n' "$out" | grep -c '^status 102')" -le 16 ] &&
		    printf '%s\n' "$out" | grep -q '^status 502'
		ok $? "$m: at most 16 interim responses relayed, then 502"
		audit_has 'net.http' '"path":"/one"' '"status":502' \
		    'too many 1xx responses'
		;;
	*)
		printf '%s\n' "$out" | grep -q '^status 502' &&
		    ! printf '%s\n' "$out" | grep -q '^status 200'
		ok $? "$m: 502 from the proxy, nothing of the response relayed"
		audit_has 'net.http' '"path":"/one"' '"status":502' \
		    '"verdict":"allow"'
		;;
	esac
	ok $? "$m: audited"
done
kill -0 "$PROXY" && ! grep -q Sanitizer "$T/h.err"
ok $? "the proxy still runs, no sanitizer report"

tap_done
