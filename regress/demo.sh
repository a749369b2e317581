#!/bin/sh
# make demo: Lens's main job end to end.  Starts the daemons as they run
# in production (lensauditd, lensnetd, lensvmm) on private paths, builds
# a small test internet in a network namespace on this machine (names
# under .test, addresses from 198.19.0.0/16; nothing leaves the
# machine), then runs an untrusted command in a sandbox under a policy:
# what the policy allows works, what it does not is refused, and every
# decision lands in the audit log, which verifies; an edited copy of the
# log does not.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/daemon.sh"
. "$HERE/networld.sh"
export LENS_REGRESS=$HERE

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, cgroups, nftables)"

tmpdir_setup
chmod 0755 "$T"
at_exit 'vmm_stop; netd_stop; auditd_stop'

say "the test internet: dnsmasq, web servers for ok.test and other.test"
networld_up
NR=$OBJ/regress/netrootfs
sh "$HERE/mknetrootfs.sh" "$NR" || die "cannot build the sandbox rootfs"
cp "$NW_CA" "$T/ca.crt" && chmod 0644 "$T/ca.crt"

say "starting lensauditd, lensnetd and lensvmm"
auditd_start -u _lensnet || die "lensauditd did not start"
netd_start "$NW_DNS" || die "lensnetd did not start: $(cat "$T/netd.log")"
vmm_start -n "$T/netd.sock" || die "lensvmm did not start"
ps -o pid,user,args --ppid "$AUDITD_PID,$NETD_PID,$VMM_PID" \
    --pid "$AUDITD_PID,$NETD_PID,$VMM_PID"

cat >"$T/policy.yaml" <<'EOF'
version: 1
network:
  defaultVerdict: deny
  egress:
    http:
      - {match: ok.test, verdict: allow}
resources: {memory: 256m, pids: 128}
EOF
say "the policy"
cat "$T/policy.yaml"
"$LENSCTL" policy check "$T/policy.yaml"

say "lensctl run --policy ... -- sh -c '...': one untrusted command"
cat >"$T/job.sh" <<'EOF'
echo "I am $(id -un) in $(hostname), my address: $(ip -4 addr show eth0 | awk '/inet / {print $2}')"
echo "-- curl https://ok.test/ (allowed):"
curl -sS --max-time 10 --cacert /ca.crt https://ok.test/index.html
echo "-- curl http://other.test/ (not in the policy):"
curl -sS --max-time 10 http://other.test/ || true
echo "-- the metadata service, 169.254.169.254 (never):"
curl -sSf --noproxy '*' --max-time 5 http://169.254.169.254/ || true
echo "-- dig other.test:"
dig +noall +comments other.test | grep status
EOF
chmod 0644 "$T/job.sh"
lctl run --rm --rootfs "$NR" --policy "$T/policy.yaml" \
    -v "$T/ca.crt:/ca.crt:ro" -v "$T/job.sh:/job.sh:ro" -- sh /job.sh ||
    die "the sandbox failed"

say "stopping the daemons (lensauditd signs a final checkpoint)"
vmm_stop
netd_stop
auditd_stop

say "lensctl audit show --type net.connect, then --type dns.deny (what the sandbox did)"
"$LENSCTL" audit show --dir "$T/audit" --type 'net.connect' |
    cut -c 1-200
"$LENSCTL" audit show --dir "$T/audit" --type 'dns.deny' | cut -c 1-200

say "lensctl audit verify (the trusted key and the witness lensauditd kept outside the log directory)"
"$LENSCTL" audit verify --dir "$T/audit" --pubkey "$T/audit.pub" \
    --witness "$T/audit.witness" || die "the log does not verify"

say "editing one record of a copy: verification must fail and name it"
mkdir "$T/copy"
cp "$T/audit/"*.log "$T/audit/audit.pub" "$T/audit/lens-audit.head" "$T/copy/"
sed -i '3s/"seq":3,/"seq":30,/' "$T/copy/lens-audit.000001.log"
if "$LENSCTL" audit verify --dir "$T/copy" --pubkey "$T/audit.pub"; then
	die "the edited log verified: this is a bug"
fi
say "demo done"
