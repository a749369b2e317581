#!/bin/sh
# lensctl pull REGISTRY/REPO[:TAG|@sha256:...]: lensvmm's fetch process
# against a registry of the OCI distribution API (regress/tools/
# registry.py) in the test internet, registry.test with a certificate of
# the test CA: anonymous, bearer-token and basic pulls, a registry whose
# blob lies about its digest, a manifest above the bound, credentials not
# sent to the other host a redirect names, a wrong CA, a credentials file
# another user could read.  lensvmm runs in its own mount namespace with
# an /etc/hosts naming registry.test and blobs.test (the fetch process's
# resolver reads the host's resolver configuration).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
vmm_require
require_cmds python3 openssl unshare

tap_plan 25
tmpdir_setup
chmod 0755 "$T"
networld_up
at_exit 'vmm_stop; auditd_stop'
S=$T/state
MK="python3 $(dirname "$0")/tools/mkoci.py"
REGPY=$(cd "$(dirname "$0")" && pwd)/tools/registry.py

# registry.test and blobs.test: one certificate of the test CA
( cd "$T/pki" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=registry.test" \
      -keyout reg.key -out reg.csr >/dev/null 2>&1 &&
  printf 'subjectAltName=DNS:registry.test,DNS:blobs.test\n' >reg.ext &&
  openssl x509 -req -in reg.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -days 2 -extfile reg.ext -out reg.crt >/dev/null 2>&1 &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=other CA" \
      -keyout other-ca.key -out other-ca.crt >/dev/null 2>&1 &&
  chmod 0644 ./*.crt ) || { echo "Bail out! no certificates"; exit 1; }

D=$($MK "$T/layout" --tag v1 --layers 2 --docker-archive "$T/busy.tar")
REG=registry.test
_nw_bg python3 "$REGPY" "$T/layout" "$T/pki/reg.crt" "$T/pki/reg.key" \
    "$T/reg.log" alice:s3cret "$NW_OK:5000:anon" "$NW_OK:5001:bearer" \
    "$NW_OK:5002:basic" "$NW_OTHER:5003:blobs"
wait_until 60 test -e "$T/reg.log.ready" ||
    { echo "Bail out! the registry did not start"; cat "$T/networld.log"; exit 1; }

# lensvmm with its own /etc/hosts (a private mount namespace)
printf '127.0.0.1 localhost\n%s registry.test\n%s blobs.test\n' "$NW_OK" \
    "$NW_OTHER" >"$T/hosts"
cat >"$T/vmm.sh" <<EOS
#!/bin/sh
exec unshare -m --propagation private sh -c 'mount --bind "$T/hosts" /etc/hosts && exec "\$0" "\$@"' "$VMM" "\$@"
EOS
chmod 0755 "$T/vmm.sh"
CREDS=$T/registries.json
b64() { printf %s "$1" | base64 -w0; }
creds() {
	printf '{"auths": {"%s:5001": {"auth": "%s"}, "%s:5002": {"auth": "%s"}}}\n' \
	    "$REG" "$(b64 "$1")" "$REG" "$(b64 "$1")" >"$CREDS"
	chmod 0600 "$CREDS"
}
creds alice:s3cret
VMM=$T/vmm.sh vmm_start -R "$CREDS" || { echo "Bail out! lensvmm did not start"; exit 1; }
CA="--ca-file $NW_CA"

store_consistent() {
	for _b in "$S"/blobs/sha256/*; do
		[ -e "$_b" ] || continue
		[ "$(sha256sum <"$_b" | cut -d' ' -f1)" = "$(basename "$_b")" ] ||
		    return 1
	done
	return 0
}
nblobs() { ls "$S/blobs/sha256" | wc -l; }

lctl pull -q busybox >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'REGISTRY/REPO' "$T/err" && grep -q 'docker.io/library/busybox' "$T/err"
ok $? "a bare name is refused, naming the full form ($(cat "$T/err"))"

lctl pull -q $CA $REG:5000/lens/busy:v1 >"$T/out" 2>"$T/err"
ok $? "anonymous pull ($(cat "$T/err"))"
grep -q "^$REG:5000/lens/busy:v1 $D\$" "$T/out"
ok $? "names the ref and the manifest digest ($(cat "$T/out"))"
[ "$(nblobs)" -eq 4 ] && store_consistent
ok $? "manifest, config and 2 layers stored, each matching its name ($(nblobs))"

lctl pull -q $CA "$REG:5000/lens/busy@$D" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && grep -q "^$REG:5000/lens/busy:sha256-${D#sha256:} $D\$" "$T/out"
ok $? "pull by digest ($(cat "$T/out" "$T/err"))"
lctl pull -q $CA "$REG:5000/lens/busy@sha256:$(printf %064d 0)" >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'manifest sha256:0*: HTTP 404 (not found)' "$T/err"
ok $? "a digest the registry does not have fails ($(cat "$T/err"))"

lctl pull -q $CA $REG:5001/lens/busy:v1 >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && grep -q " $D\$" "$T/out"
ok $? "bearer-token pull with the credentials file ($(cat "$T/err"))"
grep -q '^5001 bearer GET /token?service=registry.test&scope=repository%3Alens%2Fbusy%3Apull auth=yes' "$T/reg.log"
ok $? "the token asked for the repository's pull scope, with credentials"
grep -q '^5001 bearer GET /v2/lens/busy/manifests/v1 auth=yes' "$T/reg.log"
ok $? "the manifest fetched with the token"

lctl pull -q $CA $REG:5002/lens/busy:v1 >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && grep -q " $D\$" "$T/out"
ok $? "basic-auth pull ($(cat "$T/err"))"

creds alice:wrong
lctl pull -q $CA $REG:5001/lens/busy:v1 >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'token service registry.test refused the credentials' "$T/err"
ok $? "a wrong password is refused by the token service, said so ($(cat "$T/err"))"
lctl pull -q $CA $REG:5002/lens/busy:v1 >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'refused the credentials' "$T/err"
ok $? "and by a basic-auth registry ($(cat "$T/err"))"
creds alice:s3cret

chmod 0644 "$CREDS"
lctl pull -q $CA $REG:5001/lens/busy:v1 >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q "$CREDS: owner uid 0, mode 0644: refused" "$T/err"
ok $? "a registries.json of mode 0644 is refused, named ($(cat "$T/err"))"
chmod 0600 "$CREDS"

# a registry whose layer does not hash to its digest: a fresh image
rm -rf "$T/layout2"
L=$($MK "$T/layout2" --tag v1 --layers 1 --seed lie)
cp "$T/layout2/blobs/sha256/"* "$T/layout/blobs/sha256/"
BAD=$(python3 -c 'import json,sys;m=json.load(open(sys.argv[1]));print(m["layers"][0]["digest"][7:])' "$T/layout2/blobs/sha256/${L#sha256:}")
lctl pull -q $CA "$REG:5000/lens/lie@$L" >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q "blob sha256:$BAD: its content hashes to" "$T/err"
ok $? "a blob that does not match its digest is refused ($(cat "$T/err"))"
[ ! -e "$S/blobs/sha256/$BAD" ] && [ -z "$(ls "$S/blobs/tmp" | grep -v '\.lock$')" ] &&
    store_consistent
ok $? "nothing of it lands in blobs/"

lctl pull -q $CA $REG:5000/lens/big:v1 >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'above 4194304 bytes' "$T/err"
ok $? "a manifest above 4 MiB is refused ($(cat "$T/err"))"

# blobs redirected to blobs.test: the token goes to registry.test only
rm -rf "$S"/blobs/sha256/* "$S"/refs/*
: >"$T/reg.log"
lctl pull -q $CA $REG:5001/lens/redir:v1 >"$T/out" 2>"$T/err"
ok $? "pull with blobs redirected to another host ($(cat "$T/err"))"
grep -q '^5003 blobs GET /blobs/sha256:' "$T/reg.log" &&
    ! grep -q '^5003 .*auth=yes' "$T/reg.log" &&
    grep -q '^5001 bearer GET /v2/lens/redir/blobs/sha256:.* auth=yes' "$T/reg.log"
ok $? "the other host got no credentials, the registry did"

lctl pull -q --ca-file "$T/pki/other-ca.crt" $REG:5000/lens/busy:v1 >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -qi 'certificate' "$T/err"
ok $? "a registry whose certificate the CA did not sign is refused ($(cat "$T/err"))"
lctl pull -q $REG:5000/lens/busy:v1 >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -qi 'certificate' "$T/err"
ok $? "and by the system trust store ($(cat "$T/err"))"

lctl pull -q --insecure-registry $CA $REG:5000/lens/busy:v1 >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'WARNING: --insecure-registry' "$T/err"
ok $? "--insecure-registry warns and speaks http (this registry is https only) ($(tail -1 "$T/err"))"

# the same image as `docker save` wrote it (manifest.json last)
chmod 0644 "$T/busy.tar"
lctl pull -q docker-archive:"$T/busy.tar" >"$T/out" 2>"$T/err"
ok $? "docker-archive pull ($(cat "$T/err"))"
DM=$(sed -n 's/^lens\/busy:v1 //p' "$T/out")
[ -n "$DM" ] && [ "$(cat "$S/refs/lens%2Fbusy%3Av1")" = "$DM" ]
ok $? "stored as its RepoTags, lens/busy:v1 ($(cat "$T/out"))"
python3 -c '
import json, sys
b = lambda d: json.load(open(sys.argv[1] + "/blobs/sha256/" + d[7:]))
reg, arc = b(sys.argv[2]), b(sys.argv[3])
assert reg["config"]["digest"] == arc["config"]["digest"], "config"
diffs = b(arc["config"]["digest"])["rootfs"]["diff_ids"]
assert [l["digest"] for l in arc["layers"]] == diffs, "layers"
assert len(diffs) == len(reg["layers"]) == 2
' "$S" "$D" "$DM" && store_consistent
ok $? "the same config as the registry's, the layers its diff_ids (uncompressed)"

! grep -q 'SIGSYS\|killed by' "$T/vmm.log"
ok $? "no fetch or resolver process died of its seccomp filter"

tap_done
