# The world of the credential end-to-end tests (issue 13): the test
# internet of networld.sh plus an API upstream (credupstream.py) for
# every name under api.test, the daemons as they run in production
# (lensauditd, lenscredd, lensnetd -k -C, lensvmm) and credentials in
# lenscredd's store.  Source after lib.sh, daemon.sh and networld.sh;
# needs $T.
#
#	cw_need			skip the test file unless all is there
#	cw_up			cw_net, then cw_daemons:
#	cw_net			networld_up and the API upstream
#	cw_daemons		the sandbox rootfs and the daemons
#	cw_secret		a fresh random secret (hex, never on argv)
#	cw_store NAME VALUE	lensctl cred add NAME, VALUE on stdin
#	cw_run NAME POLICY	a jail sandbox NAME under POLICY (sleep 600);
#				CW_ID: its id
#	cw_ph NAME VAR		the placeholder in VAR of sandbox NAME
#	cw_sh NAME SCRIPT	sh -c SCRIPT in sandbox NAME
#	cw_log PYEXPR		the upstream's log lines (each as `r`, a dict)
#				for which PYEXPR is true, one JSON a line
#	cw_audit PATTERN...	wait for an audit event (JSON) with them all
#	cw_memscan TEXT PID...	how often TEXT is in the memory of each PID
#				(credpeer memscan: every mapping), "PID N" a
#				line; 0 when found, 1 when in none, 2 when
#				one could not be read or there is no PID
#	cw_pids VAR=VALUE	the processes of the sandbox whose main
#				command (sleep) has VAR=VALUE in its environ:
#				every process of its pid namespace
#
#	CW_ADDR			the upstream's address (*.api.test -> it)
#	CW_LOG			its log: one JSON line a request
#	CW_CTL			/hold/NAME answers once CW_CTL/NAME exists
#	CW_SECRETS		what it verifies with (JSON: hmac_key,
#				hmac_header, aws_akid, aws_secret)
#	NR			the sandbox rootfs (curl, openssl)
#
# The upstream's certificate is for api.test and *.api.test, issued by
# the test internet's CA; lensnetd's CA directory ($T/ca) holds that CA
# as testca.pem, for the policies' caFile.

CW_PY=/usr/bin/python3

cw_need() {
	netd_require
	require_cmds curl openssl dnsmasq
	if [ ! -x "$CREDD" ] || [ ! -x "$TOOLS/credpeer" ] ||
	    ! id _lenscred >/dev/null 2>&1 ||
	    ! $CW_PY -c 'import botocore.auth' 2>/dev/null; then
		echo "1..0 # SKIP needs lenscredd, credpeer, _lenscred, $CW_PY with botocore"
		exit 0
	fi
}

cw_secret() {
	printf '%s' "$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}

cw_up() {
	cw_net
	cw_daemons
}

# the test internet and the API upstream (no daemons)
cw_net() {
	networld_octet
	CW_ADDR=198.19.$NW_O.30
	NW_DNSMASQ_ARGS="--address=/api.test/$CW_ADDR"
	networld_up
	ip -n "$NW_NS" addr add "$CW_ADDR/32" dev lo ||
	    { echo "Bail out! cannot add $CW_ADDR"; exit 1; }
	ip route get "$CW_ADDR" | grep -q "dev lnw$$h" ||
	    { echo "Bail out! $CW_ADDR is not routed into $NW_NS"; exit 1; }
	(cd "$T/pki" &&
	    openssl req -newkey rsa:2048 -nodes -subj "/CN=api.test" \
	    -keyout api.key -out api.csr >/dev/null 2>&1 &&
	    printf 'subjectAltName=DNS:api.test,DNS:*.api.test\n' >api.ext &&
	    openssl x509 -req -in api.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -days 2 -extfile api.ext -out api.crt \
	    >/dev/null 2>&1) || { echo "Bail out! cannot make api.test's certificate"; exit 1; }
	mkdir -p "$T/ca" "$T/ctl"
	cp "$T/pki/ca.crt" "$T/ca/testca.pem"
	CW_LOG=$T/upstream.log
	CW_CTL=$T/ctl
	CW_SECRETS=$T/secrets.json
	: >"$CW_LOG"
	[ -f "$CW_SECRETS" ] || echo '{}' >"$CW_SECRETS"
	chmod 0600 "$CW_SECRETS"
	ip netns exec "$NW_NS" $CW_PY "${LENS_REGRESS:-$(dirname "$0")}/credupstream.py" \
	    "$CW_ADDR" "$T/pki/api.crt" "$T/pki/api.key" "$CW_LOG" \
	    "$CW_SECRETS" "$CW_CTL" >"$T/upstream.out" 2>&1 &
	echo $! >>"$T/networld.pids"
	wait_until 10 grep -q listening "$T/upstream.out" || {
		echo "Bail out! the API upstream did not start"
		cat "$T/upstream.out"
		exit 1
	}
}

# the sandbox rootfs, lensauditd, lenscredd, lensnetd (-k, -C $T/ca) and
# lensvmm, stopped at exit
cw_daemons() {
	NR=$OBJ/regress/netrootfs
	sh "${LENS_REGRESS:-$(dirname "$0")}/mknetrootfs.sh" "$NR" >&2 ||
	    { echo "Bail out! cannot build the network rootfs"; exit 1; }
	at_exit 'vmm_stop; netd_stop; credd_stop; auditd_stop'
	auditd_start -u _lensnet || { echo "Bail out! lensauditd did not start"; exit 1; }
	credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
	wait_until 20 grep -q 'parent.*audit: connected to lensauditd' "$T/credd.log" ||
	    { echo "Bail out! lenscredd did not reach lensauditd"; exit 1; }
	netd_start "$NW_DNS" -k "$T/cred.sock" -C "$T/ca" ||
	    { echo "Bail out! lensnetd did not start"; exit 1; }
	chmod 0755 "$T"
	vmm_start -n "$T/netd.sock" || { echo "Bail out! lensvmm did not start"; exit 1; }
}

cw_store() {
	printf '%s' "$2" | "$LENSCTL" cred add -k "$T/cred.sock" "$1"
}

cw_run() {
	lctl run -d --name "$1" --rootfs "$NR" --backend jail --policy "$2" \
	    -- sleep 600 >"$T/run-$1.out" 2>&1 || return 1
	CW_ID=$(lctl inspect "$1" | sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p')
	[ -n "$CW_ID" ]
}

cw_ph() {
	lctl exec "$1" env | sed -n "s/^$2=//p"
}

cw_sh() {
	lctl exec "$1" sh -c "$2"
}

cw_log() {
	$CW_PY -c 'import json, sys
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if eval(sys.argv[2]):
        print(json.dumps(r, sort_keys=True))' "$CW_LOG" "$1"
}

cw_audit() {
	_w="$*"
	if wait_until 10 sh -c '
	    f=$("$0" audit show --json --dir "$1" 2>/dev/null); shift 2
	    for p in "$@"; do f=$(printf "%s\n" "$f" | grep -F -- "$p") || exit 1; done' \
	    "$LENSCTL" "$T/audit" "$@"; then
		return 0
	fi
	diag "no audit event with: $_w"
	return 1
}

cw_pids() {
	_ns=
	for _p in $(pgrep -x sleep); do
		if tr '\0' '\n' <"/proc/$_p/environ" 2>/dev/null | grep -qxF "$1"; then
			_ns=$(readlink "/proc/$_p/ns/pid")
			break
		fi
	done
	[ -n "$_ns" ] || return 1
	for _d in /proc/[0-9]*; do
		[ "$(readlink "$_d/ns/pid" 2>/dev/null)" = "$_ns" ] &&
		    printf '%s ' "${_d#/proc/}"
	done
	echo
}

cw_memscan() {
	_hex=$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')
	shift
	[ $# -gt 0 ] || return 2
	_rc=1
	for _p in "$@"; do
		_n=$("$TOOLS/credpeer" memscan "$_p" "$_hex" 2>&1) &&
		    [ "$_n" -ge 0 ] 2>/dev/null || { echo "$_p unreadable: $_n"; return 2; }
		echo "$_p $_n"
		[ "$_n" -gt 0 ] && _rc=0
	done
	return $_rc
}
