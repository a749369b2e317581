#!/bin/sh
# lensnetd's dns child, the filtering resolver, in real namespaces:
#
#   client netns (dig) --veth-- middle netns (dnsharness + dns child)
#                                   --veth-- "internet" netns (dnsmasq)
#
# dnsharness plays the lensnetd parent (regress/tools/dnsharness.c)
# until the real one lands.  Checked: allowed names answered, denied
# names NXDOMAIN and audited (floods aggregated, counts kept), DNS
# rebinding answers stripped, CNAME to a denied name refused, TCP from
# the client, TCP fallback to the upstream on TC, the cache, garbage
# survived, ANY refused, RESOLVE for the proxy, and the child's
# privilege drop.
. "$(dirname "$0")/lib.sh"

tap_plan 39

if [ "$(id -u)" -ne 0 ] || ! command -v dnsmasq >/dev/null ||
    ! command -v dig >/dev/null || ! command -v ip >/dev/null; then
	for i in $(seq 38); do
		skip "needs root, dnsmasq (dnsmasq-base) and dig (bind9-dnsutils)"
	done
	exit 0
fi
id _lensnet >/dev/null 2>&1 || sh "$(dirname "$0")/../etc/lens-users.sh"
tmpdir_setup

sfx=$$
NI=lnsi$sfx NM=lnsm$sfx NC=lnsc$sfx
UP=198.18.0.1 MID_UP=198.18.0.2
GW=198.19.253.1 CLI=198.19.253.2

at_exit "ip netns del $NI 2>/dev/null; ip netns del $NM 2>/dev/null; ip netns del $NC 2>/dev/null"
ip netns add $NI && ip netns add $NM && ip netns add $NC || exit 1
ip link add li$sfx netns $NI type veth peer name lm$sfx netns $NM &&
ip link add lc$sfx netns $NC type veth peer name lg$sfx netns $NM || exit 1
ip -n $NI addr add $UP/24 dev li$sfx
ip -n $NM addr add $MID_UP/24 dev lm$sfx
ip -n $NM addr add $GW/24 dev lg$sfx
ip -n $NC addr add $CLI/24 dev lc$sfx
for n in $NI $NM $NC; do ip -n $n link set lo up; done
ip -n $NI link set li$sfx up; ip -n $NM link set lm$sfx up
ip -n $NM link set lg$sfx up; ip -n $NC link set lc$sfx up
ip -n $NM route get $UP | grep -q "dev lm$sfx"
ok $? "the upstream $UP routes into the test's own namespace"

# the "internet": dnsmasq with the test names
{
	echo "198.18.1.10 ok.test"
	echo "127.0.0.1 rebind.test"
	echo "10.1.2.3 rebind.test"
	echo "198.18.1.20 mixed.test"
	echo "10.9.9.9 mixed.test"
	echo "169.254.169.254 mixed.test"
	echo "2606:4700::1111 mixed.test"
	echo "fd00:ec2::254 mixed.test"
	echo "::ffff:127.0.0.1 mixed.test"
	echo "198.18.1.30 denied.test"
	echo "198.18.1.40 ok2.test"
	echo "198.18.1.50 hostaddr.test"
	i=1
	while [ $i -le 60 ]; do echo "198.18.2.$i big.test"; i=$((i + 1)); done
} >"$T/hosts"
ip netns exec $NI dnsmasq --no-resolv --no-hosts --addn-hosts="$T/hosts" \
    --cname=cname.test,denied.test --cname=alias.test,ok2.test \
    --listen-address=$UP --bind-interfaces --port=53 --user=root \
    --log-queries --log-facility="$T/dnsmasq.log" --pid-file="$T/dnsmasq.pid" \
    --local-ttl=300 --cache-size=0
at_exit "[ -f $T/dnsmasq.pid ] && kill \$(cat $T/dnsmasq.pid) 2>/dev/null"

deny_policy "$T/policy.yaml" <<'EOF'
    http:
      - match: ok.test
        verdict: allow
      - match: rebind.test
        verdict: allow
      - match: mixed.test
        verdict: allow
      - match: cname.test
        verdict: allow
      - match: alias.test
        verdict: allow
      - match: ok2.test
        verdict: allow
      - match: hostaddr.test
        verdict: allow
      - match: timeout.test
        verdict: allow
      - match: denied.test
        verdict: deny
    tcp:
      - match: "big.test:5432"
        verdict: allow
EOF

mkfifo "$T/cmd"
ip netns exec $NM "$OBJ/regress/tools/dnsharness" -u $UP -l $GW:53 \
    -H 198.18.1.50 -p "$T/policy.yaml" <"$T/cmd" >"$T/out" 2>"$T/err" &
HPID=$!
exec 3>"$T/cmd"
at_exit "exec 3>&-; kill $HPID 2>/dev/null; wait $HPID 2>/dev/null"
i=0
while ! grep -q '^ready' "$T/out" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
DPID=$(sed -n 's/^ready pid=//p' "$T/out")
[ -n "$DPID" ] && kill -0 "$DPID"
ok $? "the harness started the dns child (pid $DPID)"

q() { ip netns exec $NC dig +time=3 +tries=1 @$GW "$@"; }
short() { q +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
status() { q "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p'; }
count() { grep -c -- "$1" "$2" 2>/dev/null; }
# waitfor PATTERN: until a line of the harness output matches (5 s)
waitfor() {	# waitfor PATTERN [FILE]: what the harness printed, or FILE
	_f=${2:-$T/out}
	_i=0
	while ! grep -q -- "$1" "$_f" && [ $_i -lt 50 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	grep -q -- "$1" "$_f"
}

a=$(short ok.test A)
[ "$a" = 198.18.1.10 ]
ok $? "an allowed name is answered (ok.test: $a)"
waitfor '^dnsmap sbx=1 name=ok.test addr=198.18.1.10 ttl='
ok $? "the address handed out is told to the parent (DNSMAP)"

s=$(status denied.test A)
[ "$s" = NXDOMAIN ]
ok $? "a denied name is NXDOMAIN ($s)"
s=$(status unlisted.example A)
[ "$s" = NXDOMAIN ]
ok $? "a name no rule allows is NXDOMAIN ($s)"
waitfor '^audit sbx=1 type=dns.deny details={"count":1,"name":"denied.test","qtype":"A","reason":"policy","sandbox":"dnsharness"}$'
ok $? "the denial is audited with canonical JSON details"
! grep -q 'query\[A\] denied.test' "$T/dnsmasq.log"
ok $? "a denied name never reaches the upstream"

out=$(q rebind.test A)
echo "$out" | grep -q 'status: NOERROR' && echo "$out" | grep -q 'ANSWER: 0,'
ok $? "rebinding: 127.0.0.1 and 10.1.2.3 stripped, NOERROR with no answer"
a=$(short mixed.test A)
[ "$a" = 198.18.1.20 ]
ok $? "rebinding: only the public address of mixed.test is left ($a)"
a=$(short mixed.test AAAA)
[ "$a" = 2606:4700::1111 ]
ok $? "rebinding: AAAA fd00:ec2::254 and ::ffff:127.0.0.1 stripped ($a)"
a=$(short hostaddr.test A)
s=$(status hostaddr.test A)
[ -z "$a" ] && [ "$s" = NOERROR ]
ok $? "the host's own address (-H) is stripped"
waitfor '^audit sbx=1 type=dns.strip details={"count":1,"name":"rebind.test","qtype":"A","reason":"rebind.test: '
ok $? "stripping is audited"
! grep -q 'addr=127.0.0.1\|addr=10.1.2.3\|addr=10.9.9.9\|addr=169.254\|addr=fd00\|addr=::ffff' "$T/out"
ok $? "no stripped address was handed to the parent"

s=$(status cname.test A)
[ "$s" = NXDOMAIN ]
ok $? "a CNAME to a denied name is NXDOMAIN ($s)"
waitfor '^audit sbx=1 type=dns.deny details={"count":1,"name":"denied.test","qtype":"A","reason":"cname target not allowed"'
ok $? "the denied CNAME target is audited"
a=$(short alias.test A)
[ "$a" = "198.18.1.40 ok2.test." ]
ok $? "a CNAME to an allowed name is answered ($a)"

a=$(short +tcp ok.test A)
[ "$a" = 198.18.1.10 ]
ok $? "DNS over TCP from the client"
a=$(q +tcp +keepopen +short ok.test A mixed.test A alias.test A | tr '\n' ' ')
[ "$a" = "198.18.1.10 198.18.1.20 ok2.test. 198.18.1.40 " ]
ok $? "three queries on one TCP connection ($a)"
n=$(ip netns exec $NC bash -c "exec 5<>/dev/tcp/$GW/53 || exit 1
	s=\$(date +%s); cat <&5 >/dev/null; echo \$((\$(date +%s) - s))")
[ -n "$n" ] && [ "$n" -ge 9 ] && [ "$n" -le 13 ]
ok $? "an idle TCP connection is closed after 10 s (${n:-?} s)"
n=$(q +tcp +short big.test A | wc -l)
[ "$n" -eq 60 ]
ok $? "60 records of big.test: the truncated UDP answer was retried over TCP upstream ($n)"
n=$(q +short big.test A | wc -l)
[ "$n" -eq 60 ]
ok $? "... and fit in the client's EDNS UDP answer ($n)"

before=$(count 'query\[A\] ok.test' "$T/dnsmasq.log")
short ok.test A >/dev/null; short +tcp ok.test A >/dev/null
after=$(count 'query\[A\] ok.test' "$T/dnsmasq.log")
[ "$before" -eq 1 ] && [ "$after" -eq 1 ]
ok $? "cache: four client queries, one upstream query ($before, $after)"
n=$(grep -c '^dnsmap sbx=1 name=ok.test addr=198.18.1.10 ' "$T/out")
[ "$n" -eq 1 ]
ok $? "a DNSMAP is not repeated while the proxy surely has it ($n)"

s=$(status ok.test ANY)
[ "$s" = REFUSED ]
ok $? "ANY is refused ($s)"
s=$(status ok.test A -c CH)
[ "$s" = REFUSED ]
ok $? "a class other than IN is refused ($s)"

# a flood of denied queries: at most one event a second, no count lost
i=0 pids= f0=$(date +%s)
while [ $i -lt 20 ]; do
	ip netns exec $NC dig +time=1 +tries=1 @$GW flood.example A >/dev/null &
	pids="$pids $!"
	i=$((i + 1))
done
wait $pids
f1=$(date +%s)
sleep 2.5
events=$(grep -c '"name":"flood.example"' "$T/out")
total=$(sed -n 's/.*details={"count":\([0-9]*\),"name":"flood.example".*/\1/p' "$T/out" |
    awk '{ s += $1 } END { print s + 0 }')
[ "$events" -ge 1 ] && [ "$events" -le $((f1 - f0 + 2)) ] && [ "$total" -eq 20 ]
ok $? "20 denied queries in $((f1 - f0 + 1)) s: $events events carrying a count of $total"

# garbage: short, random, a lying header, a response, half a TCP frame
ip netns exec $NC bash -c "
	printf 'x' >/dev/udp/$GW/53
	head -c 300 /dev/urandom >/dev/udp/$GW/53
	printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01' >/dev/udp/$GW/53
	printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3f\x61' >/dev/udp/$GW/53
	printf '\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00' >/dev/udp/$GW/53
	head -c 5000 /dev/urandom >/dev/tcp/$GW/53
	printf '\xff\xff\x00\x01' >/dev/tcp/$GW/53
	printf '\x00\x05abc' >/dev/tcp/$GW/53
" 2>/dev/null
i=0
while [ $i -lt 30 ]; do
	head -c $((i * 7 + 1)) /dev/urandom >"$T/g"
	ip netns exec $NC bash -c "cat $T/g >/dev/udp/$GW/53" 2>/dev/null
	i=$((i + 1))
done
sleep 0.5
a=$(short ok.test A)
kill -0 "$DPID" 2>/dev/null && [ "$a" = 198.18.1.10 ]
ok $? "after garbage over UDP and TCP the child still answers ($a)"

echo "resolve mixed.test" >&3
echo "resolve denied.test" >&3
waitfor '^resolved reqid=1 error=0 addrs=198.18.1.20,2606:4700::1111$'
ok $? "NETD_RESOLVE: A and AAAA, stripped as for the sandbox"
waitfor '^resolved reqid=2 '
grep -q '^resolved reqid=2 error=0 addrs=198.18.1.30$' "$T/out"
ok $? "NETD_RESOLVE does not apply the DNS policy to the name (the proxy decided)"

st() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
[ "$(st "$DPID" NoNewPrivs)" = 1 ]
ok $? "dns child: NoNewPrivs 1"
[ "$(st "$DPID" Seccomp)" = 2 ]
ok $? "dns child: Seccomp 2"
[ "$(st "$DPID" CapEff)" = 0000000000000000 ]
ok $? "dns child: CapEff 0"
[ "$(st "$DPID" Uid)" = "$(id -u _lensnet)" ] && [ "$(id -u _lensnet)" -ne 0 ]
ok $? "dns child runs as _lensnet ($(st "$DPID" Uid))"

# a new policy for the sandbox (NETD_SANDBOX again): denied.test allowed
sed 's/verdict: deny$/verdict: allow/' "$T/policy.yaml" >"$T/policy2.yaml"
echo "policy $T/policy2.yaml" >&3
sleep 0.3
a=$(short denied.test A)
[ "$a" = 198.18.1.30 ]
ok $? "a policy reload takes effect ($a)"

# the upstream goes away: SERVFAIL after the retry, the cache still serves
kill "$(cat "$T/dnsmasq.pid")"
sleep 0.2
t0=$(date +%s)
s=$(ip netns exec $NC dig +time=9 +tries=1 @$GW timeout.test A |
    sed -n 's/.*status: \([A-Z]*\).*/\1/p')
t1=$(date +%s)
[ "$s" = SERVFAIL ] && [ $((t1 - t0)) -ge 3 ] && [ $((t1 - t0)) -le 6 ]
ok $? "no upstream: SERVFAIL after two tries of 2 s ($s in $((t1 - t0)) s)"
a=$(short ok.test A)
[ "$a" = 198.18.1.10 ]
ok $? "no upstream: a cached name is still answered ($a)"

echo "gone" >&3
sleep 0.3
s=$(status ok.test A)
! grep -q '^child' "$T/out" && [ -z "$s" ]
ok $? "after SANDBOX_GONE its listeners are closed and the child lives on"

if grep -q '^child' "$T/out" || [ "$_tap_failed" -ne 0 ]; then
	diag "$(cat "$T/out")" "$(tail -n 20 "$T/err")"
fi

# the proxy's channel (role.link) takes RESOLVE of its exact size only:
# one byte short ends the channel and the child (the parent then stops
# lensnetd), naming peer, type and size; nothing is asked upstream
echo "xgarbage" >&3
waitfor '^child '
# the child's log line is relayed apart from its exit: wait for both
grep -q "^child $DPID exited with status 1" "$T/out" &&
    waitfor 'dns.*proxy: bad message 0x4e000107 (263 bytes): its size is 264' "$T/err"
ok $? "a RESOLVE one byte short from the proxy: logged (peer, type, size), the child ends ($(grep '^child' "$T/out"))"
tap_done
