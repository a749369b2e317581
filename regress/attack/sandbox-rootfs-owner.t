#!/bin/sh
# Attack: a member of group lens (not root) reads host files through a
# sandbox.  The rootfs is idmapped into the sandbox, where root has
# CAP_DAC_OVERRIDE over every file in it: --rootfs /var/lib/lens/audit
# (or this test's lensauditd directory) hands out the audit signing
# key, --rootfs /root root's files; a -v source the caller cannot read
# is another way in.  lensvmm opens both as the caller (uid, gid and
# groups of the lensctl connection) and refuses, naming the reason, a
# rootfs the caller does not own, anything that is, holds or lies in a
# Lens state directory, and what the caller cannot read (issue 10,
# item 5).  The caller's own rootfs still works.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
vmm_require
LENSGID=$(getent group lens | cut -d: -f3)
if [ -z "$LENSGID" ] || ! command -v setpriv >/dev/null; then
	echo "1..0 # SKIP needs group lens (make users) and setpriv"
	exit 0
fi

tap_plan 15
tmpdir_setup
U=4242				# the lens member: no passwd entry needed
OTHER=4343
mkdir -p "$T/u/lensdata"	# a directory of U's holding a daemon's state
vmm_setup -x "$T/u/lensdata"
BB="-v /bin/busybox:/busybox:ro"	# the attacker brings a shell along

# as U, in group lens only
asu() {
	setpriv --reuid=$U --regid=$U --groups=$LENSGID -- \
	    "$LENSCTL" -s "$VMM_SOCK" "$@"
}
# refused ROOTFS-OR-VOLUME-ARGS PATTERN NAME: exit 125, nothing printed,
# the reason matching PATTERN on stderr
refused() {
	_args=$1 _pat=$2 _name=$3
	# shellcheck disable=SC2086
	_out=$(asu run --rm --backend jail -u root $_args -- /busybox sh -c \
	    'cat /*.key /*.pem /secret /mnt/secret 2>/dev/null; echo RAN' \
	    2>"$T/err")
	_rc=$?
	diag "$_name: $_rc $(echo "$_out" | head -c 120) $(head -n 1 "$T/err")"
	[ "$_rc" = 125 ] && [ -z "$_out" ] && grep -q -- "$_pat" "$T/err"
	ok $? "$_name: refused ($_rc, $(head -n 1 "$T/err" | cut -c 1-160))"
}

# the real audit directory of lensauditd: its key is inside
ls "$T/audit" >"$T/auditfiles"
diag "audit directory: $(tr '\n' ' ' <"$T/auditfiles")"
refused "--rootfs $T/audit $BB" "rootfs $T/audit: " \
    "--rootfs of lensauditd's directory (-x)"
grep -q "rootfs $T/audit: is the Lens state directory $T/audit" "$T/err"
ok $? "... the reason is named ($(cut -c 1-160 "$T/err"))"

# /var/lib/lens/audit, the default place of the key
# (made for the test where lensauditd never ran: lensvmm made /var/lib/lens)
if [ ! -e /var/lib/lens/audit ]; then
	mkdir -m 0700 /var/lib/lens/audit
	echo "not the key" >/var/lib/lens/audit/secret
	at_exit 'rm -rf /var/lib/lens/audit'
fi
refused "--rootfs /var/lib/lens/audit $BB" \
    "rootfs /var/lib/lens/audit: \(not readable by uid $U\|lies inside the Lens state directory /var/lib/lens\)" \
    "--rootfs /var/lib/lens/audit"

# root's home
refused "--rootfs /root $BB" "rootfs /root: " "--rootfs /root"
grep -q "not readable by uid $U\|owned by uid 0, not by the caller" "$T/err"
ok $? "... not U's: the reason is named ($(cut -c 1-160 "$T/err"))"

# a readable directory of another user
mkdir -p "$T/other"
echo "other's" >"$T/other/secret"
chown -R $OTHER:$OTHER "$T/other"
chmod 0755 "$T/other"
refused "--rootfs $T/other $BB" \
    "rootfs $T/other: owned by uid $OTHER, not by the caller (uid $U)" \
    "--rootfs of a readable directory owned by uid $OTHER"

# U's own directory that holds a Lens state directory
chown $U:$U "$T/u"
refused "--rootfs $T/u $BB" \
    "rootfs $T/u: contains the Lens state directory $T/u/lensdata" \
    "--rootfs of U's directory holding a state directory"

# lensvmm's own state, as U and as root
refused "--rootfs $T/state $BB" "rootfs $T/state: " "--rootfs of lensvmm's -D"
lctl run --rm --backend jail --rootfs "$T/state" -- /bin/true 2>"$T/err"
[ $? = 125 ] && grep -q "rootfs $T/state: is the Lens state directory $T/state" "$T/err"
ok $? "root too: --rootfs of lensvmm's -D refused ($(cut -c 1-160 "$T/err"))"

# a root-owned rootfs the operator shares in the library works for U
LIB=/var/lib/lens/rootfs
madelib=
[ -d $LIB ] || { mkdir -p $LIB && madelib=1; }
cp -a "$ROOTFS" "$LIB/regress-$$"
at_exit "rm -rf $LIB/regress-$$"
[ -z "$madelib" ] || at_exit "rmdir $LIB"
out=$(asu run --rm --backend jail --rootfs "$LIB/regress-$$" -- echo shared 2>"$T/err")
[ "$out" = shared ]
ok $? "a root-owned rootfs under $LIB works for U ($out $(head -n 1 "$T/err"))"

# U's own rootfs: works; -v of a file U cannot read: refused
cp -a "$ROOTFS" "$T/own"
cp "$T/own/bin/busybox" "$T/own/busybox"	# what refused() runs
chown -R $U:$U "$T/own"
mkdir -p "$T/pub"
echo "root only" >"$T/pub/secret"
chmod 0600 "$T/pub/secret"
echo "for all" >"$T/pub/open"
chmod 0755 "$T/pub"
out=$(asu run --rm --backend jail --rootfs "$T/own" -- echo works 2>"$T/err")
[ "$out" = works ]
ok $? "U's own rootfs works ($out $(head -n 1 "$T/err"))"
refused "--rootfs $T/own -v $T/pub/secret:/mnt/secret" \
    "volume $T/pub/secret: not readable by uid $U" \
    "-v of a file U cannot read"
out=$(asu run --rm --backend jail --rootfs "$T/own" -v "$T/pub/open:/mnt/open:ro" -- cat /mnt/open 2>"$T/err")
[ "$out" = "for all" ]
ok $? "-v of a file U can read works ($out $(head -n 1 "$T/err"))"
chmod 0700 "$T/pub"
refused "--rootfs $T/own -v $T/pub:/mnt" \
    "volume $T/pub: not readable by uid $U" \
    "-v of a directory U cannot read"
refused "--rootfs $T/own -v $T/state:/mnt" \
    "volume $T/state: is the Lens state directory" \
    "-v of lensvmm's state directory"
tap_done
