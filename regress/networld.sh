# "The internet" of a network test: a network namespace on this machine
# with an upstream DNS server (dnsmasq), HTTP and HTTPS servers for
# names under .test, a raw TCP echo service and a service on a private
# address, reached from the host through a veth pair.  Source after
# regress/lib.sh; needs $T.  Nothing is ever sent outside the machine:
# networld_up checks with `ip route get` that every address it hands
# out is routed into its own namespace.
#
#	networld_up		sets the NW_* variables below, registers
#				its teardown with at_exit
#	networld_octet		sets NW_O, the third octet of this test
#				internet's addresses (198.19.NW_O.0/24,
#				link 198.18.NW_O.0/30): the first from
#				$$ % 200 + 20 on that no route on this host
#				uses yet, so that a test killed before its
#				teardown (its routes left behind) does not
#				fail the next test its pid maps to.
#				networld_up calls it; call it first when
#				NW_DNSMASQ_ARGS needs an address.
#
#	NW_NS			the namespace
#	NW_DNS			dnsmasq, the upstream for lensnetd -u
#	NW_OK, NW_OTHER		web servers: ok.test / other.test on :80
#				and :443 (index.html says which one)
#	NW_ECHO			tcp echo on :2222 (echo.test)
#	NW_PRIVATE		10.x address with a web server on :80
#	NW_CA			the CA certificate that signed the servers'
#	NW_LOG			dnsmasq's query log
#	NW_BENCH		bench.test (TTL 300): with NW_NETBENCH set
#				to the netbench binary, `netbench serve` on
#				:8080 (regress/bench/net.sh)
#	NW_DNSMASQ_ARGS		(in) more dnsmasq options, split on blanks
#	NW_BARE			(in) set: no PKI, no servers, no dnsmasq
#
# Names in dnsmasq: ok.test, other.test, denied.test (-> NW_OTHER),
# echo.test, rebind.test (-> 127.0.0.1), private.test (-> NW_PRIVATE),
# mixed.test (-> NW_OK and 10.0.0.1), meta.test (-> 169.254.169.254).

networld_octet() {
	[ -n "${NW_O:-}" ] && return 0
	_i=0
	while [ $_i -lt 200 ]; do
		NW_O=$(( ($$ + _i) % 200 + 20 ))
		ip route show | grep -q "^198\.1[89]\.$NW_O\." || return 0
		_i=$((_i + 1))
	done
	echo "Bail out! every 198.19.N.0/24 of the test internet is routed on this host"
	exit 1
}

networld_up() {
	networld_octet
	_o=$NW_O
	NW_NS=lensnw$$
	_hif=lnw$$h
	_nif=lnw$$n
	_hlink=198.18.$_o.1
	_nlink=198.18.$_o.2
	NW_OK=198.19.$_o.10
	NW_OTHER=198.19.$_o.11
	NW_ECHO=198.19.$_o.22
	NW_DNS=198.19.$_o.53
	NW_PRIVATE=10.$_o.77.1
	NW_BENCH=198.19.$_o.80
	NW_LOG=$T/dnsmasq.log
	at_exit networld_down
	# names of a dead test that had our pid (killed before its teardown)
	ip link del "$_hif" 2>/dev/null
	ip netns del "$NW_NS" 2>/dev/null
	ip netns add "$NW_NS" &&
	ip link add "$_hif" type veth peer name "$_nif" &&
	ip link set "$_nif" netns "$NW_NS" &&
	ip addr add "$_hlink/30" dev "$_hif" &&
	ip link set "$_hif" up &&
	ip -n "$NW_NS" link set lo up &&
	ip -n "$NW_NS" addr add "$_nlink/30" dev "$_nif" &&
	ip -n "$NW_NS" link set "$_nif" up &&
	ip -n "$NW_NS" route add default via "$_hlink" &&
	for _a in "$NW_OK" "$NW_OTHER" "$NW_ECHO" "$NW_DNS" "$NW_PRIVATE"; do
		ip -n "$NW_NS" addr add "$_a/32" dev lo || return 1
	done &&
	ip -n "$NW_NS" addr add "$NW_BENCH/32" dev lo &&
	ip route add "198.19.$_o.0/24" via "$_nlink" dev "$_hif" ||
	    { echo "Bail out! cannot build the test internet"; exit 1; }
	for _a in "$NW_OK" "$NW_OTHER" "$NW_ECHO" "$NW_DNS"; do
		ip route get "$_a" | grep -q "dev $_hif" || {
			echo "Bail out! $_a is not routed into $NW_NS"
			exit 1
		}
	done
	ip route get "$NW_BENCH" | grep -q "dev $_hif" || {
		echo "Bail out! $NW_BENCH is not routed into $NW_NS"
		exit 1
	}

	# NW_BARE: the namespace and its addresses only (a test that runs
	# its own servers there)
	if [ -n "${NW_BARE:-}" ]; then
		export NW_NS NW_OK NW_OTHER NW_ECHO
		return 0
	fi
	_networld_pki || { echo "Bail out! cannot make the test CA"; exit 1; }
	for _w in ok other private; do
		mkdir -p "$T/www-$_w"
		echo "$_w-web" >"$T/www-$_w/index.html"
	done
	_nw_bg busybox httpd -f -p "$NW_OK:80" -h "$T/www-ok"
	_nw_bg busybox httpd -f -p "$NW_OTHER:80" -h "$T/www-other"
	_nw_bg busybox httpd -f -p "$NW_PRIVATE:80" -h "$T/www-private"
	(cd "$T/www-ok" && _nw_bg openssl s_server -quiet -WWW \
	    -accept "$NW_OK:443" -cert "$T/pki/ok.crt" -key "$T/pki/ok.key")
	(cd "$T/www-other" && _nw_bg openssl s_server -quiet -WWW \
	    -accept "$NW_OTHER:443" -cert "$T/pki/other.crt" \
	    -key "$T/pki/other.key")
	_nw_bg busybox nc -ll -p 2222 -e /bin/cat
	if [ -n "${NW_NETBENCH:-}" ]; then
		_nw_bg "$NW_NETBENCH" serve "$NW_BENCH:8080"
	fi
	_nw_bg dnsmasq --keep-in-foreground --no-resolv --no-hosts \
	    --user=root --bind-interfaces --listen-address="$NW_DNS" \
	    --port=53 --log-queries --log-facility="$NW_LOG" \
	    --address="/ok.test/$NW_OK" --address="/other.test/$NW_OTHER" \
	    --address="/denied.test/$NW_OTHER" --address="/echo.test/$NW_ECHO" \
	    --address="/rebind.test/127.0.0.1" \
	    --address="/private.test/$NW_PRIVATE" \
	    --host-record="mixed.test,$NW_OK" \
	    --host-record="mixed.test,10.0.0.1" \
	    --address="/meta.test/169.254.169.254" \
	    --address="/v6only.test/::1" \
	    --host-record="bench.test,$NW_BENCH,300" ${NW_DNSMASQ_ARGS:-}
	NW_CA=$T/pki/ca.crt
	wait_until 10 sh -c "ip netns exec $NW_NS ss -ltnu >'$T/nw.ss' &&
	    grep -q '$NW_OK:443 ' '$T/nw.ss' && grep -q '$NW_OTHER:443 ' '$T/nw.ss' &&
	    grep -q '$NW_OK:80 ' '$T/nw.ss' && grep -q ':2222 ' '$T/nw.ss' &&
	    grep -q '$NW_DNS:53 ' '$T/nw.ss'" || {
		echo "Bail out! the test servers did not start"
		cat "$T/networld.log"
		exit 1
	}
	if [ -n "${NW_NETBENCH:-}" ] && ! wait_until 10 sh -c \
	    "ip netns exec $NW_NS ss -ltn | grep -q '$NW_BENCH:8080 '"; then
		echo "Bail out! netbench serve did not start"
		cat "$T/networld.log"
		exit 1
	fi
	export NW_NS NW_DNS NW_OK NW_OTHER NW_ECHO NW_PRIVATE NW_CA NW_LOG
	export NW_BENCH
}

# run a server in the test internet, remembered for networld_down
_nw_bg() {
	ip netns exec "$NW_NS" "$@" >>"$T/networld.log" 2>&1 &
	echo $! >>"$T/networld.pids"
}

_networld_pki() {
	mkdir -p "$T/pki" && cd "$T/pki" || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lens test CA" \
	    -keyout ca.key -out ca.crt >/dev/null 2>&1 || return 1
	for _n in ok other; do
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$_n.test" \
		    -keyout "$_n.key" -out "$_n.csr" >/dev/null 2>&1 &&
		printf 'subjectAltName=DNS:%s.test\n' "$_n" >"$_n.ext" &&
		openssl x509 -req -in "$_n.csr" -CA ca.crt -CAkey ca.key \
		    -CAcreateserial -days 2 -extfile "$_n.ext" \
		    -out "$_n.crt" >/dev/null 2>&1 || return 1
	done
	chmod 0644 ./*.crt
	cd - >/dev/null
}

networld_down() {
	[ -n "${NW_NS:-}" ] || return 0
	if [ -f "$T/networld.pids" ]; then
		xargs kill 2>/dev/null <"$T/networld.pids"
	fi
	ip netns pids "$NW_NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip route del "198.19.$NW_O.0/24" 2>/dev/null
	ip link del "lnw$$h" 2>/dev/null
	ip netns del "$NW_NS" 2>/dev/null
	NW_NS=
}
