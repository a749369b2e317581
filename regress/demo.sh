#!/bin/sh
# make demo: Lens's main job end to end.  Starts the daemons as they run
# in production (lensauditd, lensnetd, lensvmm) on private paths, builds
# a small test internet in a network namespace on this machine (names
# under .test, addresses from 198.19.0.0/16; nothing leaves the
# machine), then runs an untrusted command in a sandbox under a policy:
# what the policy allows works, what it does not is refused; a sandbox
# calls an API with the placeholder of a credential held by lenscredd,
# the API gets the real token, and a grep shows the sandbox never had
# it; every decision lands in the audit log, which verifies; an edited
# copy of the log does not.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/daemon.sh"
. "$HERE/networld.sh"
. "$HERE/credworld.sh"
export LENS_REGRESS=$HERE

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, cgroups, nftables)"

tmpdir_setup
chmod 0755 "$T"
at_exit 'vmm_stop; netd_stop; credd_stop; auditd_stop'

say "the test internet: dnsmasq, web servers for ok.test and other.test, an API on *.api.test"
cw_net
NR=$OBJ/regress/netrootfs
sh "$HERE/mknetrootfs.sh" "$NR" || die "cannot build the sandbox rootfs"
cp "$NW_CA" "$T/ca.crt" && chmod 0644 "$T/ca.crt"

say "starting lensauditd, lenscredd, lensnetd and lensvmm"
auditd_start -u _lensnet || die "lensauditd did not start"
credd_start || die "lenscredd did not start"
wait_until 20 grep -q 'parent.*audit: connected to lensauditd' "$T/credd.log" ||
    die "lenscredd did not reach lensauditd"
netd_start "$NW_DNS" -k "$T/cred.sock" -C "$T/ca" ||
    die "lensnetd did not start: $(cat "$T/netd.log")"
vmm_start -n "$T/netd.sock" || die "lensvmm did not start"
ps -o pid,user,args --ppid "$AUDITD_PID,$CREDD_PID,$NETD_PID,$VMM_PID" \
    --pid "$AUDITD_PID,$CREDD_PID,$NETD_PID,$VMM_PID"

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

say "a credential: lensctl cred add api-token (the token on stdin, never on argv)"
TOKEN=tok-$(cw_secret)
cw_store api-token "$TOKEN" || die "cred add"
"$LENSCTL" cred ls -k "$T/cred.sock"
cat >"$T/cred.yaml" <<'EOF'
version: 1
network:
  defaultVerdict: deny
  egress:
    http:
      - {match: "*.api.test", verdict: allow, caFile: testca.pem}
credentials:
  - id: api-token
    envVar: API_TOKEN
    injections:
      - {type: header, host: hdr.api.test, name: Authorization, value: "Bearer {secret}"}
EOF
cat "$T/cred.yaml"
lctl run -d --name demo-cred --rootfs "$NR" --policy "$T/cred.yaml" \
    -e DEMO=cred -- sleep 120 >/dev/null || die "the sandbox failed"
say "in the sandbox: its API_TOKEN, and curl https://hdr.api.test/ with it (the API echoes what it got)"
lctl exec demo-cred sh -c 'echo "API_TOKEN=$API_TOKEN"
curl -sS --max-time 10 -H "Authorization: Bearer $API_TOKEN" \
    https://hdr.api.test/v1/whoami >/var/tmp/answer &&
    grep -o "\"Authorization\", \"[^\"]*\"" /var/tmp/answer | sed "s/^/echoed to the sandbox: /"' ||
    die "the sandbox failed"
say "what the API received (its log)"
grep -o '"Authorization", "[^"]*"' "$CW_LOG"
grep -qF "Bearer $TOKEN" "$CW_LOG" || die "the API did not get the token"
say "the grep: is the real token in the sandbox? its processes' environ, its files, their memory"
P=$(cw_pids DEMO=cred) || die "no processes of the sandbox"
R=${P%% *}
n=0
for p in $P; do
	tr '\0' '\n' <"/proc/$p/environ" | grep -qF "$TOKEN" && die "in the environ of $p"
	n=$((n + 1))
done
echo "environ of $n processes ($P): not there"
f=$(find "/proc/$R/root/" -path "/proc/$R/root/proc" -prune -o \
    -path "/proc/$R/root/sys" -prune -o -path "/proc/$R/root/dev" -prune -o \
    -type f -print | tee "$T/files" | wc -l)
tr '\n' '\0' <"$T/files" | xargs -0 grep -lF -e "$TOKEN" -- 2>/dev/null &&
    die "the token is in a file of the sandbox"
grep -q '/var/tmp/answer$' "$T/files" || die "the sandbox's answer is not among its files"
echo "$f files (its answer /var/tmp/answer among them): not there"
echo "its memory, how often the token is in each process (credpeer memscan):"
cw_memscan "$TOKEN" $P
[ $? -eq 1 ] || die "the token is in the memory of the sandbox"
echo "(the same for the placeholder the sandbox sent:)"
cw_memscan "$(lctl exec demo-cred sh -c 'echo $API_TOKEN')" $P
lctl rm -f demo-cred >/dev/null

say "stopping the daemons (lensauditd signs a final checkpoint)"
vmm_stop
netd_stop
credd_stop
auditd_stop

say "lensctl audit show --type net.connect, then --type dns.deny (what the sandbox did)"
"$LENSCTL" audit show --dir "$T/audit" --type 'net.connect' |
    cut -c 1-200
"$LENSCTL" audit show --dir "$T/audit" --type 'dns.deny' | cut -c 1-200
say "lensctl audit show --type cred.use (the token's use; never its value)"
"$LENSCTL" audit show --dir "$T/audit" --type 'cred.use' | cut -c 1-200

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
