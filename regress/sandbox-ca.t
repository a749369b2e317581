#!/bin/sh
# The sandbox CA end to end: lensauditd, lenscredd, lensnetd (-k) and
# lensvmm (-n).  A jail sandbox's lens-init installs the CA lenscredd
# made for it (/etc/lens/sandbox-ca.pem, appended to the bundle in the
# writable layer, the host's bundle untouched), its commands get
# SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS
# (a command's own -e wins), `lensctl cred ca' prints the same CA,
# lenscredd destroys it when the sandbox ends; without lenscredd the
# sandbox starts without a CA, and says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
CREDD=$OBJ/lenscredd
CP=$TOOLS/credpeer
vmm_require
if [ ! -x "$NETD" ] || [ ! -x "$CREDD" ] || [ ! -x "$CP" ] ||
    ! command -v nft >/dev/null || ! command -v openssl >/dev/null ||
    ! id _lenscred >/dev/null 2>&1; then
	echo "1..0 # SKIP needs lensnetd, lenscredd, credpeer, nft, openssl, _lenscred"
	exit 0
fi

tap_plan 16
tmpdir_setup
NETD_INST=netsc$$
at_exit 'netd_stop; credd_stop; rm -f /run/lens/$NETD_INST.lock'
HOSTB=/etc/ssl/certs/ca-certificates.crt
hostsum() { [ -e "$HOSTB" ] && sha256sum <"$HOSTB" || echo none; }
before=$(hostsum)

chmod 0755 "$T"
auditd_start -u _lensnet || { echo "Bail out! lensauditd did not start"; exit 1; }
credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
netd_start 198.18.0.53 -k "$T/cred.sock" ||
    { echo "Bail out! lensnetd did not start"; exit 1; }
vmm_setup -n "$T/netd.sock"
imgsum() { [ -e "$ROOTFS$HOSTB" ] && sha256sum <"$ROOTFS$HOSTB" || echo none; }
imgbefore=$(imgsum)

lctl run -d --name ca1 $R -- sleep 60 >"$T/run.out" 2>&1
ok $? "a sandbox runs with lenscredd, lensnetd and lensvmm" ||
    diag "$(cat "$T/run.out")"
ID=$(lctl inspect ca1 | sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p')
lctl exec ca1 cat /etc/lens/sandbox-ca.pem >"$T/in.pem" 2>"$T/err"
lctl cred ca ca1 >"$T/ctl.pem" 2>>"$T/err"
[ -s "$T/in.pem" ] && cmp -s "$T/in.pem" "$T/ctl.pem"
ok $? "/etc/lens/sandbox-ca.pem in the sandbox is what lensctl cred ca prints"
openssl x509 -in "$T/ctl.pem" -noout -text >"$T/x509" 2>&1 &&
    grep -q 'CA:TRUE' "$T/x509" && grep -q "CN *= *$ID" "$T/x509"
ok $? "it is a CA certificate for sandbox $ID"
"$CP" "$T/cred.sock" get "$ID" "$T/credd.pem" >/dev/null 2>&1 &&
    cmp -s "$T/credd.pem" "$T/ctl.pem"
ok $? "it is the CA lenscredd holds for the sandbox"
lctl exec ca1 cat /etc/ssl/certs/ca-certificates.crt >"$T/bundle" 2>>"$T/err"
tail -c "$(wc -c <"$T/ctl.pem")" "$T/bundle" | cmp -s - "$T/ctl.pem"
ok $? "the sandbox's bundle ends with the CA"
[ "$(hostsum)" = "$before" ]
ok $? "the host's $HOSTB is unchanged"
[ "$(imgsum)" = "$imgbefore" ] && [ ! -e "$ROOTFS/etc/lens" ]
ok $? "the image's bundle is unchanged, no /etc/lens in the image (the writable layer has them)"
lctl exec ca1 env >"$T/env" 2>>"$T/err"
grep -qx 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' "$T/env" &&
    grep -qx 'REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' "$T/env" &&
    grep -qx 'CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' "$T/env" &&
    grep -qx 'NODE_EXTRA_CA_CERTS=/etc/lens/sandbox-ca.pem' "$T/env"
ok $? "SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS are set"
lctl exec -e SSL_CERT_FILE=/mine.pem ca1 env >"$T/env2" 2>>"$T/err"
[ "$(grep -c '^SSL_CERT_FILE=' "$T/env2")" -eq 1 ] &&
    grep -qx 'SSL_CERT_FILE=/mine.pem' "$T/env2"
ok $? "a command's own SSL_CERT_FILE is kept"
lctl rm -f ca1 >/dev/null 2>&1
wait_until 10 sh -c "'$CP' '$T/cred.sock' get '$ID' | grep -q '^error'"
ok $? "the sandbox gone, lenscredd has destroyed its CA"

# without lenscredd: the sandbox starts, without a CA, and it is said
credd_stop
wait_until 10 grep -q 'lenscredd: .*reconnecting' "$T/netd.log"
lctl run -d --name ca2 $R -- sleep 60 >"$T/run.out" 2>&1
ok $? "lenscredd down: the sandbox still starts" || diag "$(cat "$T/run.out")"
grep -q 'no sandbox CA: lenscredd is not connected' "$T/netd.log" &&
    wait_until 10 sh -c "cat '$T'/audit/*.log | grep -q '\"reason\":\"lenscredd is not connected\"'"
ok $? "lensnetd's log and the audit say it has no CA"
! lctl cred ca ca2 >"$T/none.out" 2>&1 && grep -q 'has no CA' "$T/none.out"
ok $? "lensctl cred ca says so ($(cat "$T/none.out"))"
lctl exec ca2 env >"$T/env3" 2>&1
! grep -q '^SSL_CERT_FILE=' "$T/env3" && lctl exec ca2 test ! -e /etc/lens/sandbox-ca.pem
ok $? "no CA variables, no CA file"
lctl rm -f ca2 >/dev/null 2>&1

# a CA one byte long on its way to lens-init (a compromised jail
# process): lens-init refuses it, installs nothing
credd_start || { echo "Bail out! lenscredd did not restart"; exit 1; }
wait_until 10 sh -c "[ \$(grep -c 'lenscredd: connected' '$T/netd.log') -gt 1 ]"
vmm_stop
VMM=$OBJ/regress/lensvmm LENS_REGRESS_MSGSIZE=jail:4900000d:long \
    vmm_start -n "$T/netd.sock" || { echo "Bail out! lensvmm did not restart"; exit 1; }
lctl run -d --name ca3 $R -- sleep 60 >"$T/run.out" 2>&1
lctl exec ca3 test ! -e /etc/lens/sandbox-ca.pem
ok $? "a CA one byte long: lens-init installs nothing"
wait_until 10 sh -c "grep -rqs 'sandbox CA not installed: .*END CERTIFICATE' '$T/state' '$T/vmm.log'"
ok $? "and says why (lens-init, after READY: in lensvmm's log)"
lctl rm -f ca3 >/dev/null 2>&1
