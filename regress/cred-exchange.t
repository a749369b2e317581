#!/bin/sh
# lenscredd's exchange child end to end: exchpeer plays lensnetd (its
# parent sends IMSG_CRED_EXCHANGE with a socketpair end, its proxy
# speaks common/lensexch.h on the other), the upstream is a python3 TLS
# server in the test internet that logs what it received.  For each
# injection form the upstream gets the real value and the answer only
# the placeholder (echoes scrubbed, across chunk boundaries too); a bad
# certificate is a 502 naming it with nothing sent; a caFile is
# honoured; a placeholder outside its injection is a 403 with nothing
# sent; a peer that is not root is refused; cred.use is audited without
# the value; no audit, no use; at most 64 exchanges; the exchange
# child's privilege separation and seccomp (TCP yes, AF_UNIX and UDP
# no).  Private paths only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
CREDD=$OBJ/regress/lenscredd
XP=$TOOLS/exchpeer
UP=$(cd "$(dirname "$0")" && pwd)/tools/exchupstream.py
credd_require "$CREDD" "$XP" "$LENSCTL"
command -v python3 >/dev/null &&
    python3 -c 'import cryptography' 2>/dev/null ||
    { echo "1..0 # SKIP no python3 with cryptography"; exit 0; }
auditd_require

tap_plan 52
tmpdir_setup
chmod 0755 "$T"
at_exit 'log_if_failed lenscredd "$T/credd.log" 60; log_if_failed upstream "$LOG" 60
    credd_stop; auditd_stop; [ -n "${UPIDS:-}" ] && kill $UPIDS 2>/dev/null'
S=$T/cred.sock
LOG=$T/up.log
: >"$LOG"

networld_up
python3 "$(dirname "$0")/tlscerts.py" "$T/tc" >/dev/null ||
    { echo "Bail out! cannot make the certificates"; exit 1; }
A=$NW_OK
UPIDS=
for p in 8443:good 8444:self 8445:private; do
	ip netns exec "$NW_NS" python3 "$UP" "$A" "${p%%:*}" \
	    "$T/tc/${p#*:}.crt" "$T/tc/${p#*:}.key" "$LOG" \
	    >>"$T/up.err" 2>&1 &
	UPIDS="$UPIDS $!"
done
# 8446: takes connections and says nothing (a stalled handshake)
ip netns exec "$NW_NS" python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8446)); s.listen(8); held = []
while True: held.append(s.accept())' "$A" >>"$T/up.err" 2>&1 &
UPIDS="$UPIDS $!"
wait_until 10 sh -c "ip netns exec $NW_NS ss -ltn >'$T/ss' &&
    grep -q '$A:8443 ' '$T/ss' && grep -q '$A:8444 ' '$T/ss' &&
    grep -q '$A:8445 ' '$T/ss' && grep -q '$A:8446 ' '$T/ss'" ||
    { echo "Bail out! the upstreams did not start"; cat "$T/up.err"; exit 1; }

rnd() {
	printf 'lens-secret-%s' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}
phmake() {
	python3 -c 'import secrets
print("lens-ph-" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(32)))'
}
b64() {
	printf '%s' "$1" | base64 -w0
}
V=$(rnd) HK=$(rnd)
AKID=AKIDLENSTEST SK=$(rnd)
PH=$(phmake)
field() {	# field PID NAME
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
requests() {
	grep -c '^=== request' "$LOG"
}
# xp [exchpeer options] CRED HOST PORT INJECTION NAME VALUE: as lensnetd
xp() {
	# the options to the end (sh has no arrays): the six first
	_k=$(($# - 6))
	while [ "$_k" -gt 0 ]; do
		_a=$1
		shift
		set -- "$@" "$_a"
		_k=$((_k - 1))
	done
	_c=$1 _h=$2 _p=$3 _i=$4 _n=$5 _v=$6
	shift 6
	"$XP" "$@" "$S" sb1 "$_c" "$PH" "$_h" "$_p" "$A" "$_i" "$_n" "$_v"
}

auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
credd_start -T "$T/tc/ca.crt" || { echo "Bail out! lenscredd did not start"; exit 1; }
wait_until 20 sh -c "grep -q 'exchange.*ready:' '$T/credd.log' &&
    grep -q 'audit: connected to lensauditd' '$T/credd.log'" ||
    { echo "Bail out! the exchange did not start"; exit 1; }
for c in "tok:$V" "hk:$HK" "aws:$AKID:$SK"; do
	printf '%s' "${c#*:}" | "$LENSCTL" cred add -k "$S" "${c%%:*}" >/dev/null ||
	    { echo "Bail out! cred add ${c%%:*}"; exit 1; }
done

# ---- header
n0=$(requests)
xp -t /echo -H "Authorization: Bearer $PH" -H "Accept: */*" -o "$T/b1"  tok good.test 8443 header Authorization 'Bearer {secret}' >"$T/o1"
grep -q '^ok 4242$' "$T/o1" && grep -q '^status 200 Echo$' "$T/o1" &&
    grep -q '^end$' "$T/o1"
ok $? "header: lenscredd takes the exchange, the upstream answers ($(tr '\n' '|' <"$T/o1"))"
[ "$(requests)" -eq $((n0 + 1)) ] &&
    grep -q "^Authorization: Bearer $V" "$LOG" &&
    grep -q '^Host: good.test:8443' "$LOG" && grep -q '^Connection: close' "$LOG"
ok $? "header: the upstream got Authorization: Bearer and the real value, Host, Connection: close"
grep -q "^header X-Echo-Auth: Bearer $PH\$" "$T/o1"
ok $? "header: the echoed header is scrubbed back to the placeholder"
! grep -q "$V" "$T/o1" "$T/b1" && grep -q "Authorization: Bearer $PH" "$T/b1"
ok $? "header: the echoed body holds the placeholder, never the value"
grep -q '^header ' "$T/o1" &&
    ! grep -qi '^header \(connection\|content-length\|transfer-encoding\):' "$T/o1"
ok $? "header: no framing or hop-by-hop header comes back"

# ---- a chunked echo of a body streamed in 7-byte messages
printf 'a streamed body, no secret in it\n' >"$T/body1"
xp -S -b "$T/body1" -m POST -t /echo-chunked -H "Authorization: Bearer $PH"  -o "$T/b2" tok good.test 8443 header Authorization 'Bearer {secret}' >"$T/o2"
grep -q '^end$' "$T/o2" && grep -q 'a streamed body, no secret in it' "$LOG" &&
    grep -q "^Content-Length: $(wc -c <"$T/body1")" "$LOG"
ok $? "stream: the body, read whole first, went upstream with its length ($(tr '\n' '|' <"$T/o2"))"
! grep -q "$V" "$T/o2" "$T/b2" && grep -q "Authorization: Bearer $PH" "$T/b2"
ok $? "stream: an echo split over 5-byte chunks is scrubbed"
python3 -c 'import sys
b = open(sys.argv[1], "rb").read()
sys.exit(0 if b.count(b"a streamed body") == 1 else 1)' "$T/b2"
ok $? "stream: the de-chunked body comes back whole"

# ---- a body longer than the exchange reads first: streamed chunked
python3 -c 'import sys
sys.stdout.write("".join("line %07d of a long body\n" % i for i in range(60000)))' >"$T/big"
xp -S -C 16384 -b "$T/big" -m PUT -t /echo -H "Authorization: Bearer $PH" \
    -o "$T/bbig" tok good.test 8443 header Authorization 'Bearer {secret}' >"$T/obig"
grep -q '^end$' "$T/obig" && grep -q '^Transfer-Encoding: chunked' "$LOG" &&
    grep -q '^line 0059999 of a long body$' "$T/bbig" &&
    [ "$(grep -c '^line ' "$T/bbig")" -eq 60000 ]
ok $? "stream: $(wc -c <"$T/big") bytes went upstream chunked and came back whole ($(tr '\n' '|' <"$T/obig"))"

# ---- query
xp -t "/echo?a=1&key=$PH&z=2" -o "$T/b3" tok good.test 8443 query key '' >"$T/o3"
grep -q '^end$' "$T/o3" && grep -q "^GET /echo?a=1&z=2&key=$V HTTP/1.1" "$LOG"
ok $? "query: key= carries the real value upstream ($(tr '\n' '|' <"$T/o3"))"
! grep -q "$V" "$T/o3" "$T/b3" && grep -q "key=$PH" "$T/b3"
ok $? "query: the echoed request line holds the placeholder"

# ---- basic
xp -t /echo -H "Authorization: Basic $(b64 "alice:$PH")" -o "$T/b4"  tok good.test 8443 basic alice '' >"$T/o4"
grep -q '^end$' "$T/o4" &&
    grep -q "^Authorization: Basic $(b64 "alice:$V")" "$LOG"
ok $? "basic: Basic base64(alice:value) upstream ($(tr '\n' '|' <"$T/o4"))"
grep -q "^header X-Echo-Auth: Basic $(b64 "alice:$PH")\$" "$T/o4" &&
    ! grep -q "$(b64 "alice:$V")" "$T/o4" "$T/b4"
ok $? "basic: the echoed base64 is that of alice:placeholder"

# ---- uriPlaceholder (when the policy model has it)
if "$XP" "$S" sb1 tok "$PH" good.test 8443 "$A" uriPlaceholder '' '' 2>&1 |
    grep -q 'injection type 255'; then
	skip "uriPlaceholder: not in this policy model"
	skip "uriPlaceholder: not in this policy model"
else
	xp -t "/echo/$PH/items" -o "$T/b5" tok good.test 8443 uriPlaceholder '' '' >"$T/o5"
	grep -q '^end$' "$T/o5" && grep -q "^GET /echo/$V/items HTTP/1.1" "$LOG"
	ok $? "uriPlaceholder: the value in the path upstream ($(tr '\n' '|' <"$T/o5"))"
	grep -q '^end$' "$T/o5" && ! grep -q "$V" "$T/o5" "$T/b5"
	ok $? "uriPlaceholder: the echo scrubbed"
fi

# ---- the response: interim answers skipped, a bad head refused
xp -t /interim -H "Authorization: Bearer $PH" -o "$T/b18" tok good.test 8443 \
    header Authorization 'Bearer {secret}' >"$T/o18"
grep -q '^status 200 Echo$' "$T/o18" && grep -q '^end$' "$T/o18" && ! grep -q "$V" "$T/b18"
ok $? "a 100 Continue first: skipped, the 200 relayed ($(tr '\n' '|' <"$T/o18"))"
xp -t /bad -H "Authorization: Bearer $PH" tok good.test 8443 \
    header Authorization 'Bearer {secret}' >"$T/o19"
grep -q '^exch-error 502 upstream good.test:8443: bad response: ' "$T/o19" && ! grep -q '^status' "$T/o19"
ok $? "a response with two Content-Length headers: 502, nothing relayed ($(tr '\n' '|' <"$T/o19"))"

# ---- hmac: the signature checked here from what the upstream got
printf '{"amount":12}' >"$T/body2"
xp -b "$T/body2" -m POST -t '/echo?b=2&a=1' -H "X-Key-Ph: none" -o "$T/b6"  hk good.test 8443 hmac X-Signature '' >"$T/o6"
grep -q '^end$' "$T/o6"
ok $? "hmac: exchanged ($(tr '\n' '|' <"$T/o6"))"
python3 - "$LOG" "$HK" <<'EOF'
import hashlib, hmac, sys
log = open(sys.argv[1], 'rb').read().split(b'=== request ')[-1]
log = log.split(b'\n', 1)[1]
head, rest = log.split(b'\r\n\r\n', 1)
body = rest.rsplit(b'\n=== end', 1)[0]
lines = head.split(b'\r\n')
method, target = lines[0].split(b' ')[0:2]
h = {}
for l in lines[1:]:
    k, v = l.split(b':', 1)
    h[k.strip().lower()] = v.strip()
path, _, query = target.partition(b'?')
q = b'&'.join(sorted(p for p in query.split(b'&') if p))
s = b'\n'.join([b'LENS-HMAC-SHA256', method, path, q, h[b'x-lens-timestamp'],
                hashlib.sha256(body).hexdigest().encode()])
want = hmac.new(sys.argv[2].encode(), s, hashlib.sha256).hexdigest().encode()
sys.exit(0 if h.get(b'x-signature') == want and body == b'{"amount":12}' else 1)
EOF
ok $? "hmac: X-Signature is the HMAC-SHA256 of lenscredd(8)'s canonical string under the value"

# ---- sigv4: the sandbox's signature replaced
xp -t /echo -H "X-Amz-Date: 20000101T000000Z"  -H "X-Amz-Content-SHA256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  -H "Authorization: AWS4-HMAC-SHA256 Credential=$PH/x" -o "$T/b7"  -r us-east-1 -s s3 aws good.test 8443 awsSigv4 '' '' >"$T/o7"
grep -q '^end$' "$T/o7" &&
    grep -q "^Authorization: AWS4-HMAC-SHA256 Credential=$AKID/[0-9]\{8\}/us-east-1/s3/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]\{64\}" "$LOG" &&
    ! grep -q '^X-Amz-Date: 20000101T000000Z' "$LOG" && ! grep -q "Credential=$PH" "$LOG"
ok $? "sigv4: signed anew with the key pair, the date renewed ($(tr '\n' '|' <"$T/o7"))"
# ---- certificates
n0=$(requests)
xp -t /echo -H "Authorization: Bearer $PH" tok good.test 8444 header Authorization 'Bearer {secret}' >"$T/o8"
grep -q '^exch-error 502 upstream good.test:8444: TLS: certificate verify failed' "$T/o8"
ok $? "a self-signed upstream: 502 naming the verification ($(tr '\n' '|' <"$T/o8"))"
wait_until 10 grep -q '^=== handshake failed' "$LOG" && [ "$(requests)" -eq "$n0" ]
ok $? "a self-signed upstream: the handshake failed, no request sent"
xp -t / -H "Authorization: Bearer $PH" tok private.test 8445 header Authorization 'Bearer {secret}' >"$T/o9"
grep -q '^exch-error 502 .*certificate verify failed' "$T/o9" && [ "$(requests)" -eq "$n0" ]
ok $? "a private CA without caFile: 502, nothing sent"
xp -c "$T/tc/pca.crt" -t / -H "Authorization: Bearer $PH" tok private.test 8445  header Authorization 'Bearer {secret}' >"$T/o10"
grep -q '^end$' "$T/o10" && [ "$(requests)" -eq $((n0 + 1)) ]
ok $? "the same with its caFile in the request: verified, sent ($(tr '\n' '|' <"$T/o10"))"
xp -t / -H "Authorization: Bearer $PH" tok other.test 8443 header Authorization 'Bearer {secret}' >"$T/o11"
grep -q '^exch-error 502 .*certificate verify failed' "$T/o11" && [ "$(requests)" -eq $((n0 + 1)) ]
ok $? "a certificate for another name: 502, nothing sent ($(tr '\n' '|' <"$T/o11"))"

# ---- an upstream that never answers the handshake: 504 after 10 s
t0=$(date +%s)
xp -t / -H "Authorization: Bearer $PH" tok good.test 8446 header Authorization 'Bearer {secret}' >"$T/o20"
t1=$(date +%s)
grep -q '^exch-error 504 upstream good.test:8446: no connection in 10 s' "$T/o20" &&
    [ $((t1 - t0)) -ge 9 ] && [ $((t1 - t0)) -le 20 ]
ok $? "a silent upstream: 504 after $((t1 - t0)) s ($(tr '\n' '|' <"$T/o20"))"

# ---- placeholders outside their injection: 403, no connection at all
# (the upstream logs the three failed handshakes above on its own time)
wait_until 10 sh -c "[ \$(grep -c '^=== handshake failed' '$LOG') -eq 3 ]"
c0=$(grep -c '^===' "$LOG")
xp -t /echo -H "Authorization: Bearer $PH" -H "X-Other: $PH"  tok good.test 8443 header Authorization 'Bearer {secret}' >"$T/o12"
grep -q '^exch-error 403 placeholder outside its injection (in the request head)' "$T/o12"
ok $? "a placeholder in another header: 403 ($(tr '\n' '|' <"$T/o12"))"
xp -t "/echo?x=$PH" -H "Authorization: Bearer $PH"  tok good.test 8443 header Authorization 'Bearer {secret}' >"$T/o13"
grep -q '^exch-error 403 placeholder outside its injection' "$T/o13"
ok $? "a placeholder in the URL of a header injection: 403"
xp -t /echo -H "X-Enc: $(b64 "u:$PH")" tok good.test 8443 query key '' >"$T/o14"
grep -q '^exch-error 403 placeholder outside its injection' "$T/o14"
ok $? "a placeholder base64-encoded in a header of a query injection: 403"
printf 'x=%s' "$PH" >"$T/body3"
xp -b "$T/body3" -m POST -t /echo -H "Authorization: Bearer $PH"  tok good.test 8443 header Authorization 'Bearer {secret}' >"$T/o15"
grep -q '^exch-error 403 placeholder outside its injection (in the body)' "$T/o15"
ok $? "a placeholder in the body: 403 ($(tr '\n' '|' <"$T/o15"))"
printf 'abc %s' "$PH" >"$T/body4"
xp -b "$T/body4" -m POST -t /echo hk good.test 8443 hmac X-Signature '' >"$T/o16"
grep -q '^exch-error 403 placeholder outside its injection (in the body)' "$T/o16"
ok $? "a placeholder in a body to sign: 403"
[ "$(cat "$T/o12" "$T/o13" "$T/o14" "$T/o15" "$T/o16" | grep -c '^exch-error 403 ')" -eq 5 ] &&
    [ "$(grep -c '^===' "$LOG")" -eq "$c0" ]
ok $? "none of these reached the upstream, not even a handshake ($c0: $(grep "^===" "$LOG" | tr "\n" "|"))"

# ---- what lenscredd refuses
out=$(credd_as _lensnet _lensnet "" "$XP" "$S" sb1 tok "$PH" good.test 8443 "$A" header Authorization 'Bearer {secret}')
echo "$out" | grep -q '^error only root may ask for a credential exchange (this is uid '
ok $? "a _lensnet peer: ERROR ($out)"
out=$(xp -t / nosuch good.test 8443 header Authorization 'Bearer {secret}' | tr '\n' '|')
echo "$out" | grep -q 'exch-error 502 credential nosuch is not stored'
ok $? "an unknown credential: 502 on the stream ($out)"
out=$("$XP" "$S" sb1 tok lens-ph-notaplaceholder good.test 8443 "$A" header Authorization '' | tr '\n' '|')
echo "$out" | grep -q '^error bad exchange request: placeholder'
ok $? "a request with a bad placeholder: ERROR ($out)"
out=$("$XP" "$S" sb1 tok "$PH" good.test 0 "$A" header Authorization '' | tr '\n' '|')
echo "$out" | grep -q '^error bad exchange request: port 0'
ok $? "a request with port 0: ERROR ($out)"
out=$(xp -t / tok good.test 8443 header Authorization 'Bearer {secret' | tr '\n' '|')
echo "$out" | grep -q '^ok 4242|exch-error 502 '
ok $? "a template the value cannot go into: 502 ($out)"

# ---- the audit: cred.use, never the value
wait_until 10 sh -c "'$LENSCTL' audit show --dir '$T/audit' 2>&1 | grep -q cred.use" || true
"$LENSCTL" audit show --dir "$T/audit" >"$T/audit.txt" 2>&1
grep 'cred.use' "$T/audit.txt" | grep 'sb1' | grep '"credential":"tok"' |
    grep '"host":"good.test"' | grep '"method":"GET"' | grep '"path":"/echo"' |
    grep -q '"injection":"header"'
ok $? "cred.use audited: sandbox, credential, host, method, path, injection"
grep 'cred.use' "$T/audit.txt" | grep -q '"path":"/echo","port":8443' ||
    grep 'cred.use' "$T/audit.txt" | grep -q '"injection":"query"'
ok $? "cred.use of the query form audited (path without the query)"
grep -q cred.use "$T/audit.txt" && ! grep -rq "$V" "$T/audit" &&
    ! grep -rq "$HK" "$T/audit" && ! grep -rq "$SK" "$T/audit"
ok $? "no value in the audit log"

# ---- privilege separation of the exchange
X=$(credd_child exchange)
[ -n "$X" ] && [ "$(field "$X" NoNewPrivs)" = 1 ] && [ "$(field "$X" Seccomp)" = 2 ] &&
    [ "$(field "$X" CapEff)" = 0000000000000000 ] &&
    [ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$X/status")" = "$(id -u _lenscred)" ]
ok $? "exchange (pid $X): NoNewPrivs 1, Seccomp 2, CapEff 0, uid _lenscred"
[ "$(readlink "/proc/$X/root")" = /var/lib/lens/empty ] &&
    [ "$(stat -c %U "/proc/$X/status")" = root ]
ok $? "exchange: chrooted to the empty directory, not dumpable (root $(readlink "/proc/$X/root"), /proc/$X/status owned by $(stat -c %U "/proc/$X/status"))"
if ldd "$CREDD" | grep -q libasan; then
	# its stderr stays open on the log, and the runtime keeps copies
	# of its own (fake stacks, the quarantine)
	skip "a sanitizer build"
	skip "a sanitizer build"
else
	[ -n "$X" ] && ls -l "/proc/$X/fd" >"$T/fds" &&
	    [ "$(grep -- '-> /' "$T/fds" | grep -vc -- '-> /dev/null$')" -eq 0 ]
	ok $? "exchange: no file open but /dev/null (sockets, pipes, epoll)"
	out=$("$OBJ/regress/tools/credpeer" memscan "$X" "$(printf '%s' "$V" | od -An -tx1 | tr -d ' \n')")
	[ "$out" = 0 ]
	ok $? "exchange: the value is not in its memory once the exchanges ended ($out)"
fi

# ---- at most 64 exchanges at once
g0=$(grep -c 'proxy: gone; exchange ended' "$T/credd.log")
out=$(xp -n 66 -t / tok good.test 8443 header Authorization 'Bearer {secret}' | tr '\n' '|')
[ "$out" = "error 64 exchanges running, the most there may be|error 64 exchanges running, the most there may be|64 ok|" ]
ok $? "the 65th exchange at once is refused ($out)"
wait_until 10 sh -c "[ \$(grep -c 'proxy: gone; exchange ended' '$T/credd.log') -eq $((g0 + 64)) ]"
ok $? "the 64 end when their streams close"
xp -t / -H "Authorization: Bearer $PH" tok good.test 8443 header Authorization 'Bearer {secret}' >"$T/o17"
grep -q '^end$' "$T/o17"
ok $? "then exchanges are taken again"

# ---- no audit, no use
auditd_stop
wait_until 20 grep -q 'audit: lost lensauditd' "$T/credd.log"
n0=$(requests)
out=$(xp -t / -H "Authorization: Bearer $PH" tok good.test 8443 header Authorization 'Bearer {secret}' | tr '\n' '|')
echo "$out" | grep -q 'exch-error 502 lensauditd is not reachable: no use of credential tok without an audit log' &&
    [ "$(requests)" -eq "$n0" ]
ok $? "lensauditd down: 502, nothing sent ($out)"
credd_stop

# ---- seccomp: TCP allowed; AF_UNIX and UDP kill the exchange
for c in socket-unix:socket socket-inet-dgram:socket; do
	call=${c%%:*}; sc=${c#*:}
	: >"$T/credd.log"
	LENS_REGRESS_SIGSYS=exchange:$call timeout 20 "$CREDD" -d -D "$T/cred" \
	    -s "$S" -a "$T/auditd.sock" -T "$T/tc/ca.crt" >>"$T/credd.log" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] &&
	    grep -q "exchange (pid [0-9]*) killed by SIGSYS: forbidden syscall $sc " "$T/credd.log"
	ok $? "exchange tries $call: killed by SIGSYS, named, lenscredd exits 1 (exit $rc)"
done
: >"$T/credd.log"
export LENS_REGRESS_SIGSYS=exchange:socket-inet
credd_start -T "$T/tc/ca.crt"
unset LENS_REGRESS_SIGSYS
wait_until 10 grep -q 'regress: exchange survived socket-inet' "$T/credd.log"
ok $? "exchange: socket(AF_INET, SOCK_STREAM) is allowed"
credd_stop
LENS_REGRESS_SIGSYS=vault:socket-inet timeout 20 "$CREDD" -d -D "$T/cred" \
    -s "$S" -a "$T/auditd.sock" -T "$T/tc/ca.crt" >"$T/credd.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "vault (pid [0-9]*) killed by SIGSYS: forbidden syscall socket " "$T/credd.log"
ok $? "the vault still dies on socket(AF_INET) (exit $rc)"
tap_done
