#!/bin/sh
# A rule's caFile at attach: lensnetd's parent reads it from its CA
# directory (-C, /etc/lens/ca by default) as root and hands it to the
# proxy; a missing file, one that is not PEM certificates, one too
# large or not a file refuses the attach with an error naming the
# file.  netdattach plays lensvmm.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

ATTACH=$OBJ/regress/tools/netdattach
if [ "$(id -u)" -ne 0 ] || [ ! -x "$NETD" ] || [ ! -x "$ATTACH" ] ||
    ! command -v nft >/dev/null || ! command -v openssl >/dev/null; then
	echo "1..0 # SKIP needs root, lensnetd, netdattach, nft, openssl"
	exit 0
fi

tap_plan 7
tmpdir_setup
chmod 0755 "$T"
SB=lncf$$
NETD_INST=netcf$$
at_exit 'netd_stop; auditd_stop; ip netns del $SB 2>/dev/null'
mkdir -p "$T/ca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj "/CN=corp CA" -keyout "$T/corp.key" \
    -out "$T/ca/corp.pem" >/dev/null 2>&1
cp "$T/ca/corp.pem" "$T/ca/two.pem"
cat "$T/ca/corp.pem" >>"$T/ca/two.pem"
printf 'not a certificate\n' >"$T/ca/junk.pem"
head -c 40000 /dev/zero | tr '\0' 'A' >"$T/ca/big.pem"
mkdir "$T/ca/dir.pem"

auditd_start -u _lensnet || { echo "Bail out! lensauditd did not start"; exit 1; }
ip netns add "$SB" || { echo "Bail out! ip netns add"; exit 1; }
netd_start 198.18.0.53 -C "$T/ca" || { echo "Bail out! lensnetd did not start"; exit 1; }

# attach FILE: attach with a policy naming caFile FILE, detach at once
attach() {
	printf '    http:\n      - {match: corp.test, verdict: allow, tlsTerminate: true, caFile: %s}\n      - {match: other.test, verdict: allow, tlsTerminate: true, caFile: %s}\n' \
	    "$1" "$1" | deny_policy "$T/policy"
	"$ATTACH" -P "$T/policy" "$T/netd.sock" "/run/netns/$SB" </dev/null \
	    >"$T/a.out" 2>&1
	head -n 1 "$T/a.out"
}

out=$(attach corp.pem)
case $out in attached*) true ;; *) false ;; esac
ok $? "caFile corp.pem (one certificate): attached ($out)"
out=$(attach two.pem)
case $out in attached*) true ;; *) false ;; esac
ok $? "caFile two.pem (two certificates): attached ($out)"
out=$(attach missing.pem)
case $out in "error caFile missing.pem ($T/ca/missing.pem): No such file or directory") true ;; *) false ;; esac
ok $? "a missing caFile refuses the attach, naming it: $out"
out=$(attach junk.pem)
case $out in "error caFile junk.pem ($T/ca/junk.pem): certificate 1: not a PEM certificate"*) true ;; *) false ;; esac
ok $? "a caFile that is not PEM: $out"
out=$(attach big.pem)
case $out in "error caFile big.pem"*"at most 32768 bytes") true ;; *) false ;; esac
ok $? "a caFile of 40000 bytes: $out"
out=$(attach dir.pem)
case $out in "error caFile dir.pem"*"not a regular file"*) true ;; *) false ;; esac
ok $? "a directory: $out"
kill -0 "$NETD_PID"
ok $? "lensnetd serves on"
