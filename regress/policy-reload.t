#!/bin/sh
# Live policy reload without lensctl (lensvmm(8) POLICY RELOAD): real
# lensauditd, lenscredd, lensnetd and lensvmm, a jail sandbox on the
# test internet of credworld.sh.  lensvmm watches the directory of the
# sandbox's policy file: an in-place write and an editor's rename into
# place reload it by themselves, while a rate-limited download started
# under the old policy runs on to its end intact; the next connection is
# judged by the new one, and a credential binding the reload removed is
# no longer injected (lensnetd builds lenscredd's exchange from it).
# SIGHUP reloads a change inotify could not see (written through a hard
# link in another directory).  A file that does not validate, one
# replaced by a symbolic link and one made unreadable are refused
# (logged and audited policy.reload_failed, with file:line:column for
# the first) and the old policy stays enforced.  The sandbox cannot
# see, let alone write, its policy file; one it could write through a
# volume is never reloaded by a change or SIGHUP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
. "$(dirname "$0")/credworld.sh"
cw_need

tap_plan 28
tmpdir_setup
chmod 0755 "$T"
cw_net
# 12 MiB at 2 MiB/s: a download that lasts while the policy changes
head -c 12582912 /dev/urandom >"$T/www-ok/big"
BIGSUM=$(sha256sum "$T/www-ok/big" | cut -c1-64)

# the daemons of cw_daemons, lensnetd's approvals socket private
NR=$OBJ/regress/netrootfs
sh "$(dirname "$0")/mknetrootfs.sh" "$NR" >&2 ||
    { echo "Bail out! cannot build the network rootfs"; exit 1; }
at_exit 'vmm_stop; netd_stop; credd_stop; auditd_stop'
auditd_start -u _lensnet || { echo "Bail out! lensauditd"; exit 1; }
credd_start || { echo "Bail out! lenscredd"; exit 1; }
wait_until 20 grep -q 'parent.*audit: connected to lensauditd' "$T/credd.log" ||
    { echo "Bail out! lenscredd did not reach lensauditd"; exit 1; }
netd_start "$NW_DNS" -k "$T/cred.sock" -C "$T/ca" -A "$T/appr.sock" ||
    { echo "Bail out! lensnetd"; exit 1; }
vmm_start -n "$T/netd.sock" -A "$T/appr.sock" ||
    { echo "Bail out! lensvmm"; exit 1; }
at_exit 'log_if_failed lensvmm "$T/vmm.log" 40'
HDR=$(cw_secret)
cw_store hdr "$HDR" >"$T/store.out" 2>&1 ||
    { echo "Bail out! cred add: $(cat "$T/store.out")"; exit 1; }

mkdir -p "$T/pol" "$T/elsewhere"
P=$T/pol/policy.yaml
# pol OK OTHER [nohdr]: a policy for ok.test and other.test; nohdr: the
# credential no longer bound to hdr.api.test
pol() {
	printf 'version: 1\nnetwork:\n  defaultVerdict: deny\n  egress:\n'
	printf '    http:\n      - {match: ok.test, verdict: %s}\n' "$1"
	printf '      - {match: other.test, verdict: %s}\n' "$2"
	printf '      - {match: "*.api.test", verdict: allow, caFile: testca.pem}\n'
	printf 'credentials:\n  - id: hdr\n    envVar: HDR_KEY\n    injections:\n'
	[ "${3:-}" = nohdr ] ||
	    printf '      - {type: header, host: hdr.api.test, name: Authorization, value: "Bearer {secret}"}\n'
	printf '      - {type: header, host: echo.api.test, name: Authorization, value: "Bearer {secret}"}\n'
}
pol allow allow >"$P"
cw_run rl "$P" || { echo "Bail out! sandbox: $(cat "$T/run-rl.out")"; exit 1; }
x() { lctl exec rl -- "$@"; }
PH=$(cw_ph rl HDR_KEY)
sum() { sha256sum "$1" | cut -c1-64; }
# reloaded TRIGGER: lensvmm says it reloaded $P's current text
reloaded() {
	wait_until 10 grep -qF "policy reloaded from $P ($1): $(sum "$P")" \
	    "$T/vmm.log"
}
# refused PATTERN: lensvmm refused a reload, saying PATTERN
refused() {
	wait_until 10 grep -qF -- "not reloaded (file changed): $1" "$T/vmm.log"
}
get() {	# get URL: the body, or curl's error
	x curl -sS --max-time 10 "$1" 2>&1
}
denied() {	# denied NAME: a new connection to NAME is refused
	get "http://$1/" | grep -q 'name not allowed'
}
C='curl -sS --max-time 20 -w "\ncode=%{http_code}\n"'

out=$(cw_sh rl "$C -H \"Authorization: Bearer \$HDR_KEY\" https://hdr.api.test/v1/before")
[ "$(echo "$out" | tail -n 1)" = code=200 ] &&
    [ -n "$(cw_log "r['target'] == '/v1/before' and ['Authorization', 'Bearer $HDR'] in r['headers']")" ]
ok $? "before: hdr.api.test gets the credential injected"

# --- an in-place write, under traffic
x sh -c 'curl -sS --max-time 60 --limit-rate 2M -o /tmp/big http://ok.test/big 2>/tmp/dl.err; echo $? >/tmp/dl.rc' &
dpid=$!
wait_until 10 x test -s /tmp/big
ok $? "a download from ok.test runs"
before=$(sum "$P")
pol deny allow >"$P.new"
cat "$P.new" >"$P"
reloaded "file changed"
ok $? "an in-place write is reloaded without any lensctl command"
x test ! -e /tmp/dl.rc
ok $? "the download is still running after the reload"
cw_audit '"type":"policy.reload"' "\"before\":\"$before\"" \
    "\"after\":\"$(sum "$P")\"" "\"file\":\"$P\""
ok $? "policy.reload audited with the sha256s before and after"
denied ok.test
ok $? "the next connection to the newly denied ok.test is refused"
[ "$(get http://other.test/)" = other-web ]
ok $? "... and other.test is still allowed"
wait $dpid
[ "$(x cat /tmp/dl.rc)" = 0 ] && [ "$(x sha256sum /tmp/big | cut -c1-64)" = "$BIGSUM" ]
ok $? "... and completes intact (sha256 $BIGSUM; curl: $(x cat /tmp/dl.err))"

# --- an editor's rename into place
pol allow deny >"$T/pol/.policy.yaml.swp"
mv "$T/pol/.policy.yaml.swp" "$P"
reloaded "file changed"
ok $? "a rename into place is reloaded"
[ "$(get http://ok.test/)" = ok-web ] && denied other.test
ok $? "ok.test allowed again, other.test denied"

# --- a credential binding removed (sed -i renames too)
sed -i '/host: hdr.api.test/d' "$P"
reloaded "file changed"
ok $? "the binding of hdr to hdr.api.test removed: reloaded"
# (no longer intercepted: -k takes the upstream's own certificate)
out=$(cw_sh rl "$C -k -H \"Authorization: Bearer \$HDR_KEY\" https://hdr.api.test/v1/after" 2>&1)
[ "$(echo "$out" | tail -n 1)" = code=200 ] &&
    [ -n "$(cw_log "r['target'] == '/v1/after' and ['Authorization', 'Bearer $PH'] in r['headers']")" ] &&
    [ -z "$(cw_log "r['target'] == '/v1/after' and '$HDR' in json.dumps(r)")" ]
ok $? "the next request to hdr.api.test gets no credential: the upstream sees the placeholder ($(echo "$out" | tail -n 1))"
out=$(cw_sh rl "$C -H \"Authorization: Bearer \$HDR_KEY\" https://echo.api.test/v1/echo")
[ "$(echo "$out" | tail -n 1)" = code=200 ] &&
    [ -n "$(cw_log "r['target'] == '/v1/echo' and ['Authorization', 'Bearer $HDR'] in r['headers']")" ]
ok $? "... while the binding kept (echo.api.test) still injects"

# --- SIGHUP: a change no watch sees (through a hard link elsewhere)
ln "$P" "$T/elsewhere/link"
pol deny allow nohdr >"$T/p5"
cat "$T/p5" >"$T/elsewhere/link"
[ "$(get http://ok.test/)" = ok-web ]
ok $? "a write through a hard link in another directory: not seen, ok.test still allowed"
kill -HUP "$VMM_PID"
reloaded SIGHUP && grep -q 'SIGHUP: reloading the policy of 1 sandbox$' "$T/vmm.log"
ok $? "SIGHUP reloads every running sandbox's policy"
denied ok.test
ok $? "... and ok.test is refused on the next connection"

# --- refused: the old policy stays
printf 'version: 1\nnetwork:\n  egress: {bogus: 1}\n' >"$P"
refused "$P:3:12: network.egress: unknown key \"bogus\"" &&
    cw_audit '"type":"policy.reload_failed"' "$P:3:12: network.egress: unknown key"
ok $? "an invalid file: refused with file:line:col, in the log and the audit"
[ "$(get http://other.test/)" = other-web ] && denied ok.test
ok $? "... and the old policy stays (other.test allowed, ok.test denied)"

pol allow allow nohdr >"$T/elsewhere/evil.yaml"
ln -s "$T/elsewhere/evil.yaml" "$T/pol/l"
mv -T "$T/pol/l" "$P"
refused "$P: a symbolic link" &&
    cw_audit '"type":"policy.reload_failed"' 'a symbolic link'
ok $? "the file replaced by a symbolic link: refused"
denied ok.test
ok $? "... and the old policy stays (ok.test still denied)"

pol allow allow nohdr >"$T/pol/tmp"
chmod 0 "$T/pol/tmp"
mv "$T/pol/tmp" "$P"
refused "$P: not readable by uid 0: Permission denied"
ok $? "a file made unreadable (mode 0, read without capabilities): refused"
denied ok.test
ok $? "... and the old policy stays"

# --- the sandbox and its policy file
x test -e "$P"
[ $? -ne 0 ]
ok $? "the policy file is not visible inside the sandbox"
x sh -c "mkdir -p '$T/pol' && echo 'version: 1' >'$P'" 2>/dev/null
[ "$(stat -c %a "$P")" = 0 ] && [ "$(wc -l <"$P")" -gt 3 ]
ok $? "writing its path inside changes only the sandbox's own file system"

# a policy file the sandbox could write through a volume: never
# reloaded but by lensctl policy reload
mkdir -p "$T/vol"
chmod 0777 "$T/vol"
pol deny allow nohdr >"$T/vol/policy.yaml"
lctl run -d --name rv --rootfs "$NR" --backend jail -v "$T/vol:/mnt" \
    --policy "$T/vol/policy.yaml" -- sleep 600 >"$T/run-rv.out" 2>&1
grep -qF "policy $T/vol/policy.yaml: the sandbox may write it through its volume $T/vol" "$T/vmm.log"
ok $? "a policy file inside a writable volume: lensvmm says it will not reload it"
lctl exec rv -- sh -c 'sed s/deny/allow/ /mnt/policy.yaml >/mnt/p && mv /mnt/p /mnt/policy.yaml'
grep -q 'ok.test, verdict: allow' "$T/vol/policy.yaml"
ok $? "... the sandbox rewrites it to allow ok.test"
kill -HUP "$VMM_PID"
wait_until 10 grep -qF "policy $T/vol/policy.yaml not reloaded (SIGHUP): the sandbox may write it" "$T/vmm.log" &&
    lctl exec rv -- curl -sS --max-time 10 http://ok.test/ 2>&1 | grep -q 'name not allowed'
ok $? "... and neither the change nor SIGHUP reloads it: ok.test still denied"

lctl rm -f rl rv >/dev/null
auditd_verify >"$T/verify" 2>&1
ok $? "the audit log verifies"
tap_done
