#!/bin/sh
# Attack class: server-side request forgery through lensnetd.  A hostile
# workload under a policy that allows EVERY name (defaultVerdict: allow,
# and a raw TCP rule 0.0.0.0/0:*) tries to make the proxy reach what the
# private list forbids: the host's loopback, the host's own addresses,
# link-local and the metadata address, spelled every way a parser may
# take an address (decimal, octal, hex, short forms, IPv4-mapped IPv6,
# trailing dot, upper case), through the transparent proxy's Host, the
# explicit proxy's absolute-form target and CONNECT, TLS SNI, raw TCP
# and DNS.  The host runs a listener on 127.0.0.1, ::1 and its own
# address of the test internet that records every connection: any case
# the proxy lets through shows there, so each case can fail.
#
# Already covered case for case elsewhere (not repeated here):
#   regress/netd-e2e.t: http://127.0.0.1, 169.254.169.254, 10/8, 172.16/12,
#     192.168/16, 100.64/10 by IP under default deny; CONNECT to
#     [::ffff:127.0.0.1], [::ffff:10.1.2.3]; SNI/Host of an allowed name
#     sent to another name's address ends at the named host; raw TCP to
#     an address DNS never handed out; UDP other than DNS; DNS to another
#     server; ICMP beyond the gateway; IPv6 (no address, dropped);
#     rebind.test/meta.test/mixed.test answers stripped.
#   regress/attack/netd-hostaddr.t: a host address added after start.
#   regress/netd-dns.t: the resolver's stripping per class.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
. "$LENS_REGRESS/networld.sh"
netd_require
require_cmds curl dig openssl dnsmasq

SPELL="127.0.0.1 2130706433 0x7f.1 017700000001 0x7f000001 127.1 0177.0.0.1
    [::ffff:127.0.0.1] [::ffff:7f00:1] [::1] [0:0:0:0:0:0:0:1] localhost
    LOCALHOST localhost. rebind.test REBIND.TEST rebind.test. v4map.test
    hostown.test"
NSPELL=$(echo $SPELL | wc -w)
tap_plan $((NSPELL * 3 + 27))
tmpdir_setup
chmod 0755 "$T"
networld_octet
HLINK=198.18.$NW_O.1	# the host's end of the test internet (networld.sh)
NW_DNSMASQ_ARGS="--address=/hostown.test/$HLINK --address=/ll.test/169.254.1.1
    --address=/cgnat.test/100.64.0.1 --address=/v4map.test/::ffff:127.0.0.1
    --address=/metaname.test/169.254.169.254 --address=/doc.test/203.0.113.80"
networld_up

# the host's listener: every connection it accepts is a breach
HP=$(( 30000 + $$ % 20000 ))
cat >"$T/hostsrv.py" <<PY
import socket, threading, sys
def serve(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, $HP)); s.listen(64)
    while True:
        c, peer = s.accept()
        with open("$T/host-hits", "a") as f:
            f.write("%s %s\n" % (addr, peer[0]))
        try:
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhost-secret\n")
        except OSError:
            pass
        c.close()
for fam, a in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "$HLINK"),
               (socket.AF_INET6, "::1")):
    threading.Thread(target=serve, args=(fam, a), daemon=True).start()
open("$T/hostsrv.ready", "w").close()
threading.Event().wait()
PY
python3 "$T/hostsrv.py" >"$T/hostsrv.log" 2>&1 &
echo $! >"$T/hostsrv.pid"
at_exit 'kill $(cat "$T/hostsrv.pid") 2>/dev/null'
wait_until 10 test -f "$T/hostsrv.ready" &&
    curl -s --max-time 2 "http://127.0.0.1:$HP/" | grep -q host-secret &&
    curl -s --max-time 2 "http://$HLINK:$HP/" | grep -q host-secret
ok $? "the host serves host-secret on 127.0.0.1, ::1 and $HLINK, port $HP"
: >"$T/host-hits"

netrootfs_setup
cp "$NW_CA" "$T/ca.crt" && chmod 0644 "$T/ca.crt"
cat >"$T/policy.yaml" <<EOF
version: 1
network:
  defaultVerdict: allow
  egress:
    tcp:
      - {match: "0.0.0.0/0:*", verdict: allow}
EOF
netstack_setup

SB=$(lctl run -d --name ssrf --rootfs "$NR" -v "$T/ca.crt:/ca.crt:ro" \
    --policy "$T/policy.yaml" -- sleep 600)
ok $? "a sandbox whose policy allows every name starts ($SB)"
x() { lctl exec ssrf -- "$@"; }
PROXY=$(x sh -c 'echo $HTTP_PROXY' | sed 's,^http://,,; s,/$,,')
PH=${PROXY%:*}
PP=${PROXY##*:}
out=$(x curl -sS --max-time 10 http://ok.test/)
[ "$out" = ok-web ] && [ -n "$PH" ] && [ -n "$PP" ]
ok $? "the policy lets the sandbox out (ok.test: $out; proxy $PH:$PP)"

# raw bytes, so that no client normalises the spelling on the way
raw() {	# raw DST PORT REQUEST: the bytes of the answer, printable
	x sh -c "printf '$3' | busybox nc -w 5 $1 $2" 2>&1 |
	    tr -c '[:print:]\n' '.' | head -c 300
}
hits() { [ ! -s "$T/host-hits" ]; }
mark() { H0=$(wc -l <"$T/host-hits"); }
breach() {	# breach OUTPUT: did the host's listener answer, or see anyone
		# since mark?
	echo "$1" | grep -q host-secret || [ "$(wc -l <"$T/host-hits")" -gt "$H0" ]
}

for h in $SPELL; do
	mark
	out=$(raw "$NW_OK" 80 "GET / HTTP/1.1\r\nHost: $h:$HP\r\nConnection: close\r\n\r\n")
	! breach "$out"
	ok $? "transparent, Host: $h:$HP -> not the host ($(echo "$out" | head -n 1))"
	mark
	out=$(raw "$PH" "$PP" "GET http://$h:$HP/ HTTP/1.1\r\nHost: $h:$HP\r\nConnection: close\r\n\r\n")
	! breach "$out"
	ok $? "HTTP_PROXY, GET http://$h:$HP/ -> not the host ($(echo "$out" | head -n 1))"
	mark
	out=$(raw "$PH" "$PP" "CONNECT $h:$HP HTTP/1.1\r\nHost: $h:$HP\r\n\r\nGET / HTTP/1.0\r\n\r\n")
	! breach "$out"
	ok $? "CONNECT $h:$HP -> not the host ($(echo "$out" | head -n 1))"
done

# the host's own address by IP and by name, metadata, link-local, CGNAT
# (a name whose every address is forbidden has none left: 502, "NAME
# resolves only to ADDR (CLASS range), refused"; an address: 403)
for h in "$HLINK" metaname.test ll.test cgnat.test 169.254.169.254; do
	out=$(raw "$PH" "$PP" "CONNECT $h:80 HTTP/1.1\r\nHost: $h:80\r\n\r\n")
	case $out in "HTTP/1.1 403 "*"lens proxy: "*|"HTTP/1.1 502 "*"lens proxy: "*) true ;;
	*) false ;; esac
	ok $? "CONNECT $h:80: refused by the proxy, no tunnel ($(echo "$out" | tail -n 1))"
done
# and it says why, in terms the user can act on: not "cannot resolve"
out=$(raw "$PH" "$PP" "CONNECT doc.test:80 HTTP/1.1\r\nHost: doc.test:80\r\n\r\n")
case $out in "HTTP/1.1 502 "*"lens proxy: doc.test resolves only to 203.0.113.80 (documentation range), refused"*) true ;;
*) false ;; esac
ok $? "CONNECT doc.test:80: 502, resolves only to 203.0.113.80 (documentation range) ($(echo "$out" | tail -n 1))"
out=$(x curl -sS --max-time 10 http://metaname.test/ 2>&1)
[ "$out" = "lens proxy: metaname.test resolves only to 169.254.169.254 (metadata range), refused" ]
ok $? "GET http://metaname.test/ through HTTP_PROXY: the body says why ($out)"
wait_until 10 sh -c "'$LENSCTL' audit show --dir '$T/audit' --json |
    grep -F '\"reason\":\"doc.test resolves only to 203.0.113.80 (documentation range), refused\"' |
    grep -q '\"verdict\":\"error\"'"
ok $? "the audit record of doc.test has the same reason"
# an address in Host is not a name: the connection stays raw TCP to the
# address the sandbox dialled (here an allowed one), never to the Host's
out=$(raw "$NW_OK" 80 "GET /index.html HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n")
echo "$out" | grep -q '^ok-web'
ok $? "transparent, Host: 169.254.169.254 to ok.test's address ends at ok.test ($(echo "$out" | tail -n 1))"

# raw TCP under a 0.0.0.0/0 rule: still not the host's own address
mark
out=$(raw "$HLINK" "$HP" "hello\n")
! breach "$out"
ok $? "raw TCP to the host's address $HLINK:$HP under 0.0.0.0/0:* -> refused"
out=$(raw 127.0.0.1 "$HP" "hello\n")
! echo "$out" | grep -q host-secret
ok $? "raw TCP to 127.0.0.1:$HP is the sandbox's own loopback, not the host's"

# TLS: the SNI names what the proxy resolves; a name of a forbidden
# address sent to an allowed address's port 443 gets no tunnel
for sni in rebind.test hostown.test metaname.test; do
	x sh -c "echo | openssl s_client -connect $NW_OK:443 -servername $sni \
	    -CAfile /ca.crt" >"$T/sni.$sni" 2>&1
	! grep -q 'BEGIN CERTIFICATE\|^subject=' "$T/sni.$sni"
	ok $? "TLS with SNI $sni to $NW_OK:443: no handshake with anyone"
done
x sh -c "echo | openssl s_client -connect $NW_OTHER:443 -servername ok.test \
    -CAfile /ca.crt" >"$T/sni.ok" 2>&1
grep -q '^subject=.*ok\.test' "$T/sni.ok"
ok $? "(control: the same with SNI ok.test to other.test's address: a handshake with ok.test: $(grep '^subject=' "$T/sni.ok"))"

# DNS: answers that point at forbidden addresses are stripped, in every
# spelling of the name
for q in "hostown.test A" "ll.test A" "cgnat.test A" "v4map.test AAAA" \
    "metaname.test A" "REBIND.TEST A" "rebind.test. A" "HostOwn.Test A"; do
	set -- $q
	out=$(x dig +short "$1" "$2" 2>&1)
	[ -z "$out" ]
	ok $? "dig $1 $2: nothing ('$out')"
done

hits
ok $? "the host's listener saw no connection from any case ($(tr '\n' ' ' <"$T/host-hits"))"
if [ "$_tap_failed" -ne 0 ]; then
	diag "lensnetd log:"
	sed 's/^/#   /' "$T/netd.log" | tail -n 60
fi
lctl rm -f ssrf >/dev/null
tap_done
