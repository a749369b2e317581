#!/bin/sh
# Hostile OCI layouts given to lensctl pull: a blob whose bytes do not
# match its digest, one longer than its descriptor says, a symbolic
# link planted in the layout, an index with a duplicate key, and a blob
# the caller (a member of group lens) cannot read but lensvmm could.
# Each is refused naming what was wrong, and the store keeps only blobs
# that match their names, no ref and no partial of it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
vmm_require

tap_plan 9
tmpdir_setup
chmod 0755 "$T"
at_exit 'vmm_stop; auditd_stop'
vmm_start || { echo "Bail out! lensvmm did not start"; exit 1; }
MK="python3 $(dirname "$0")/../tools/mkoci.py"
S=$T/state

# every blob in the store hashes to its name
store_consistent() {
	for _b in "$S"/blobs/sha256/*; do
		[ -e "$_b" ] || continue
		[ "$(sha256sum <"$_b" | cut -d' ' -f1)" = "$(basename "$_b")" ] ||
		    return 1
	done
	return 0
}
nblobs() { ls "$S/blobs/sha256" | wc -l; }
$MK "$T/busy" --tag v1 >/dev/null
# hostile layouts: nothing stored
before=$(nblobs)
$MK "$T/liar" --tag x --corrupt --seed 3 >/dev/null
lctl pull -q oci:"$T/liar":x >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'layer blob sha256:[0-9a-f]*: its content hashes to' "$T/err"
ok $? "a blob that does not match its digest is refused, named ($(cat "$T/err"))"
[ ! -e "$S/refs/liar%3Ax" ]
ok $? "no ref for it"
ls "$S/blobs/tmp" | grep -q partial
[ $? -ne 0 ]
ok $? "no partial left behind"
store_consistent
ok $? "the store holds only blobs that match their names"

$MK "$T/short" --tag x --size-lie --seed 4 >/dev/null
lctl pull -q oci:"$T/short":x >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'more than its' "$T/err"
ok $? "a blob longer than its descriptor is refused ($(cat "$T/err"))"

$MK "$T/link" --tag x --symlink-blob --seed 5 >/dev/null
lctl pull -q oci:"$T/link":x >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'symbolic link' "$T/err"
ok $? "a symbolic link in the layout is not followed ($(cat "$T/err"))"

printf '{"schemaVersion":2,"manifests":[],"manifests":[]}' >"$T/busy/index.json.bad"
mkdir -p "$T/dup" && cp -r "$T/busy/blobs" "$T/dup/" &&
    cp "$T/busy/index.json.bad" "$T/dup/index.json"
lctl pull -q oci:"$T/dup" >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -qi 'duplicate' "$T/err"
ok $? "an index with a duplicate key is refused ($(cat "$T/err"))"

# the layout is read as the caller (nobody, in group lens): a blob the
# caller cannot read is refused, though lensvmm could read it
LENSGID=$(getent group lens | cut -d: -f3)
asnobody() {
	setpriv --reuid=nobody --regid=nogroup --groups="$LENSGID" \
	    --inh-caps=-all "$LENSCTL" -s "$VMM_SOCK" "$@"
}
$MK "$T/mine" --tag p --seed 9 >/dev/null && chmod -R a+rX "$T/mine"
asnobody pull -q oci:"$T/mine":p >/dev/null 2>"$T/err"
ok $? "a member of group lens pulls a layout it can read ($(cat "$T/err"))"
$MK "$T/theirs" --tag p --seed 10 >/dev/null && chmod -R a+rX "$T/theirs"
chmod 0600 "$T"/theirs/blobs/sha256/*
asnobody pull -q oci:"$T/theirs":p >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q 'Permission denied' "$T/err"
ok $? "a blob the caller cannot read is not read for it ($(cat "$T/err"))"

