#!/bin/sh
# Attack: a symbolic link planted in a shared directory picks what a -v
# volume mounts: the host's / instead of the directory the caller
# meant, read-write in the sandbox.  Planted as the source itself,
# planted higher up in its path, or swapped in for a real directory
# between lensvmm's look at the path and the jail's mount (raced by
# regress/sandbox/swapper.c).  lensvmm resolves the path once, as the
# caller, following no symbolic link, and mounts that descriptor
# (issue 10, item 3): a link is refused with its reason, and no
# sandbox ever sees the host's /.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
vmm_require

TRIES=30
tap_plan 8
tmpdir_setup
vmm_setup

S=$T/shared			# a directory others can write to
mkdir -p "$S/real" "$S/dir"
chmod 1777 "$S"
echo mine >"$S/real/REAL"
echo mine >"$S/dir/REAL"

# what the sandbox sees at /mnt: HOST if it is the host's /
SEE='if [ -e /mnt/etc/passwd ] && [ -d /mnt/proc ]; then echo HOST; elif [ -e /mnt/REAL ]; then echo REAL; else echo OTHER; fi'

# 1. the source is a link to /
ln -s / "$S/link"
out=$(lctl run --rm $R -v "$S/link:/mnt" -- sh -c "$SEE" 2>"$T/err1")
rc=$?
diag "link: $rc $out $(cat "$T/err1")"
[ "$rc" = 125 ] && [ -z "$out" ]
ok $? "-v LINK:/mnt (LINK -> /): refused, no sandbox ($rc $out)"
grep -q "volume $S/link: .*symbolic link" "$T/err1"
ok $? "... naming the path and the reason ($(head -n 1 "$T/err1"))"

# 2. a link higher up in the path: $S/up -> /, -v $S/up/etc
ln -s / "$S/up"
out=$(lctl run --rm $R -v "$S/up/etc:/mnt" -- sh -c 'ls /mnt | head -n 3' 2>"$T/err2")
rc=$?
diag "up: $rc $out $(cat "$T/err2")"
[ "$rc" = 125 ] && [ -z "$out" ] &&
    grep -q "volume $S/up/etc: .*symbolic link" "$T/err2"
ok $? "-v UP/etc:/mnt (UP -> /): refused, with the reason ($rc $(head -n 1 "$T/err2"))"

# 3. the real directory works (the check is not just "refuse all")
out=$(lctl run --rm $R -v "$S/real:/mnt" -- sh -c "$SEE" 2>"$T/err3")
[ "$out" = REAL ]
ok $? "-v of the real directory: mounted ($out $(head -n 1 "$T/err3"))"

# 4. the race: $S/dir swapped with a link to / while sandboxes start
gcc -O1 -o "$T/swapper" "$LENS_REGRESS/sandbox/swapper.c"
ok $? "swapper built"
ln -s / "$S/dir.alt"
"$T/swapper" "$S/dir" "$S/dir.alt" 120 >"$T/swaps" 2>"$T/swapper.err" &
SWAPPER=$!
at_exit "kill $SWAPPER 2>/dev/null"
host=0 real=0 refused=0 other=0 i=0
while [ $i -lt $TRIES ]; do
	out=$(lctl run --rm $R -v "$S/dir:/mnt" -- sh -c "$SEE" 2>"$T/err4")
	rc=$?
	case "$rc:$out" in
	*HOST*)	host=$((host + 1)) ;;
	0:REAL)	real=$((real + 1)) ;;
	125:)	if grep -q 'symbolic link' "$T/err4"; then
			refused=$((refused + 1))
		else
			other=$((other + 1)); diag "try $i: $rc $(cat "$T/err4")"
		fi ;;
	*)	other=$((other + 1)); diag "try $i: $rc $out $(cat "$T/err4")" ;;
	esac
	i=$((i + 1))
done
kill -TERM $SWAPPER
wait $SWAPPER
diag "race: $(cat "$T/swaps") swaps; $TRIES tries: host $host, real $real, refused $refused, other $other"
[ "$(cat "$T/swaps")" -gt 0 ] 2>/dev/null
ok $? "the swapper swapped while the sandboxes started ($(cat "$T/swaps") swaps)"
[ $host = 0 ]
ok $? "no sandbox of $TRIES saw the host's / ($host did)"
[ $other = 0 ] && [ $((real + refused)) = $TRIES ]
ok $? "each either mounted the real directory ($real) or was refused for the link ($refused)"

tap_done
