#!/bin/sh
# Attack: whoever can write the audit log directory (a compromised
# writer, a root intruder after the fact) replaces the whole log with a
# forged one: its own key pair, its own records, its own head file, its
# own audit.pub beside the log.  lensctl audit verify used to take the
# key from beside the log, so the forgery verified as intact.  The
# verifier must use the trusted key from outside the log directory
# (/etc/lens/audit.pub or --pubkey), print its fingerprint, and fail
# naming the fingerprints when the key beside the log is another one.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"

tap_plan 8
tmpdir_setup
require_built "$LENSCTL" "$MKAUDITLOG"

# run ARGS: lensctl; sets $rc, $T/out, $T/err
run() {
	"$LENSCTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
# the key id of a head file
keyid() {
	sed 's/.*"key":"\([0-9a-f]*\)".*/\1/' "$1"
}
L=$T/log

# the genuine log, and the trusted copy of its key outside the directory
"$MKAUDITLOG" -d "$L" -k -e genuine-key -n 50 -c 10 ||
    { echo "Bail out! mkauditlog failed"; exit 1; }
cp "$L/audit.pub" "$T/trusted.pub"
GOOD=$(keyid "$L/lens-audit.head")
run audit verify --dir "$L" --pubkey "$T/trusted.pub"
[ "$rc" -eq 0 ] && grep -qx "trusted key $T/trusted.pub: fingerprint $GOOD" "$T/out"
ok $? "the genuine log verifies and the trusted key's fingerprint is printed"

# the forgery: everything in the directory replaced, consistently (in
# the format without log ids, which every verifier reads)
rm -rf "$L"
"$MKAUDITLOG" -d "$L" -k -e forger-key -n 20 -c 10 -L
BAD=$(keyid "$L/lens-audit.head")
run audit verify --dir "$L" --pubkey "$T/trusted.pub"
[ "$rc" -eq 1 ] &&
    [ "$(head -n 1 "$T/err")" = "lensctl: $L/audit.pub: key fingerprint mismatch: audit.pub beside the log is key $BAD, the trusted key $T/trusted.pub is key $GOOD (a log signed with another key, or forged)" ]
ok $? "forged log with its own key and head: fails, naming both fingerprints"
! grep -q intact "$T/out"
ok $? "... and nothing says intact"

# the forger puts the genuine audit.pub back beside the forged log
cp "$T/trusted.pub" "$L/audit.pub"
run audit verify --dir "$L" --pubkey "$T/trusted.pub"
[ "$rc" -eq 1 ] &&
    [ "$(head -n 1 "$T/err")" = "lensctl: lens-audit.000001.log:11: seq 11: wrong key (checkpoint signed by key $BAD, public key is $GOOD)" ]
ok $? "forged log beside the genuine audit.pub: its first checkpoint, wrong key"

# a forgery with nothing signed: no checkpoint, no head
rm -rf "$L"
"$MKAUDITLOG" -d "$L" -k -e forger-key -n 20 -c 0 -L
cp "$T/trusted.pub" "$L/audit.pub"
run audit verify --dir "$L" --pubkey "$T/trusted.pub"
[ "$rc" -eq 1 ] &&
    grep -q "^lensctl: 20 records after seq 0 not covered by a signature, the oldest [0-9]* s old" "$T/err"
ok $? "forged log without a single signature: fails (strict), not a warning"

# the default trusted key is /etc/lens/audit.pub, never the copy
# beside the log: where none is installed, verify fails and says so
rm -rf "$L"
"$MKAUDITLOG" -d "$L" -k -e forger-key -n 20 -c 10 -L
mkdir "$T/empty"
if [ -e /etc/lens ]; then
	# hide the host's copy in a private mount namespace
	if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
		unshare -m sh -c 'mount --bind "$1" /etc/lens &&
		    exec "$2" audit verify --dir "$3"' sh "$T/empty" \
		    "$LENSCTL" "$L" >"$T/out" 2>"$T/err"
		rc=$?
	else
		rc=skip
	fi
else
	run audit verify --dir "$L"
fi
if [ "$rc" = skip ]; then
	skip "/etc/lens exists and cannot be hidden (not root)"
	skip "/etc/lens exists and cannot be hidden (not root)"
else
	[ "$rc" -eq 1 ] && ! grep -q intact "$T/out"
	ok $? "no --pubkey and no /etc/lens/audit.pub: fails, the key beside the log is not used"
	grep -qx "lensctl: verify needs the trusted public key: /etc/lens/audit.pub, which lensauditd installs (its -P), or --pubkey FILE; the audit.pub beside the log is not trusted" "$T/err"
	ok $? "... with a message that says where the trusted key comes from"
fi

# a malformed audit.pub beside the log is not ignored either
echo "ed25519 nothex" >"$L/audit.pub"
run audit verify --dir "$L" --pubkey "$T/trusted.pub"
[ "$rc" -eq 1 ] && grep -q "audit.pub: not an ed25519 public key" "$T/err"
ok $? "malformed audit.pub beside the log: fails"
tap_done
