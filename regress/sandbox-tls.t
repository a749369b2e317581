#!/bin/sh
# TLS interception end to end: lensauditd, lenscredd, lensnetd (-k, and
# -T with the test internet's CA as its trust store) and lensvmm, a jail
# sandbox whose policy intercepts ok.test and passes other.test through.
# curl, python3 urllib and openssl s_client inside reach the
# intercepted host with no TLS flags at all (the trust lens-init set
# up: the sandbox CA in the bundle, SSL_CERT_FILE, CURL_CA_BUNDLE) and
# see a certificate for ok.test issued by the sandbox CA; other.test
# shows its own, from the test CA, which the sandbox does not trust.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
CREDD=$OBJ/lenscredd
netd_require
require_cmds curl openssl dnsmasq
PY=/usr/bin/python3.11
PYLIB=/usr/lib/python3.11
if [ ! -x "$CREDD" ] || ! id _lenscred >/dev/null 2>&1 || [ ! -x "$PY" ] ||
    [ ! -f "$PYLIB/ssl.py" ]; then
	echo "1..0 # SKIP needs lenscredd, _lenscred, $PY and $PYLIB"
	exit 0
fi

tap_plan 10
tmpdir_setup
chmod 0755 "$T"
networld_up
# the network rootfs and Debian's python3 (its standard library is
# mounted where it looks for it, next to /usr/local/bin)
NR=$OBJ/regress/tlsrootfs
MKNETROOTFS_EXTRA=$PY sh "$(dirname "$0")/mknetrootfs.sh" "$NR" >&2 ||
    { echo "Bail out! cannot build the rootfs"; exit 1; }
deny_policy "$T/policy.yaml" <<EOF
    http:
      - {match: ok.test, verdict: allow, tlsTerminate: true}
      - {match: other.test, verdict: allow}
EOF
at_exit 'netd_stop; vmm_stop; credd_stop; auditd_stop'
auditd_start -u _lensnet || { echo "Bail out! lensauditd did not start"; exit 1; }
credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
netd_start "$NW_DNS" -k "$T/cred.sock" -T "$NW_CA" ||
    { echo "Bail out! lensnetd did not start"; exit 1; }
vmm_setup -n "$T/netd.sock"
lctl run -d --name tls1 --rootfs "$NR" --backend jail \
    -v "$PYLIB:/usr/local/lib/python3.11:ro" --policy "$T/policy.yaml" \
    -- sleep 600 >"$T/run.out" 2>&1
ok $? "a sandbox intercepting ok.test runs" || diag "$(cat "$T/run.out")"
x() { lctl exec tls1 -- "$@"; }
ID=$(lctl inspect tls1 | sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p')

out=$(x curl -sS --max-time 10 https://ok.test/index.html 2>&1)
[ "$out" = ok-web ]
ok $? "curl https://ok.test/ with no flags: $out"
out=$(x python3.11 -c 'import urllib.request as u; print(u.urlopen("https://ok.test/index.html", timeout=10).read().decode().strip())' 2>&1)
[ "$out" = ok-web ]
ok $? "python3 urllib with no flags: $out"
x sh -c 'echo | openssl s_client -connect ok.test:443 -servername ok.test -verify_return_error -showcerts 2>&1' >"$T/s.out"
grep -q 'Verify return code: 0 (ok)' "$T/s.out"
ok $? "openssl s_client ok.test:443 verifies with no flags" || diag "$(tail -n 15 "$T/s.out")"
sed -n '/BEGIN CERT/,/END CERT/p' "$T/s.out" | sed -n '1,/END CERT/p' >"$T/leaf.pem"
openssl x509 -in "$T/leaf.pem" -noout -issuer -ext subjectAltName >"$T/leaf.txt" 2>&1
grep -q "CN *= *$ID" "$T/leaf.txt" && grep -q 'DNS:ok.test' "$T/leaf.txt"
ok $? "the certificate is for ok.test, issued by the sandbox's CA ($ID)" || diag "$(cat "$T/leaf.txt")"
lctl cred ca tls1 >"$T/ca.pem" 2>&1
openssl verify -CAfile "$T/ca.pem" -untrusted "$T/leaf.pem" "$T/leaf.pem" >/dev/null 2>&1
ok $? "it chains to what lensctl cred ca prints"
x sh -c 'echo | openssl s_client -connect other.test:443 -servername other.test 2>&1' >"$T/p.out"
grep -q 'issuer=CN *= *lens test CA' "$T/p.out" &&
    ! grep -q 'Verify return code: 0 (ok)' "$T/p.out"
ok $? "other.test (passthrough): the upstream's own certificate, which the sandbox does not trust" ||
    diag "$(grep -e issuer -e Verify "$T/p.out")"
out=$(x curl -sS --max-time 10 https://other.test/index.html 2>&1 | head -n 1)
case $out in *"certificate"*) true ;; *) false ;; esac
ok $? "curl https://other.test/ fails verification in the sandbox: $out"
wait_until 10 sh -c "'$LENSCTL' audit show --json --dir '$T/audit' 2>/dev/null |
    grep '\"type\":\"net.connect\"' | grep '\"name\":\"ok.test\"' |
    grep -q '\"tls\":\"intercepted\"'"
ok $? "audited: ok.test intercepted"
kill -0 "$NETD_PID"
ok $? "lensnetd runs on"
