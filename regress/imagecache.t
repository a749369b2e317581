#!/bin/sh
# The microVM rootfs image cache at lensvmm's start (lensvmm/diskimg.c):
# a bad -C is refused; what interrupted builds left is removed (the
# temporary image of a process that is gone, a lock file without an
# image); the least recently used images go until the rest fit in -C;
# each removal is logged.  Builds, hits, LRU and the locks between
# sandboxes are tested in regress/unit/diskimg.c.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 7
tmpdir_setup
chmod 0755 "$T"
at_exit 'vmm_stop; auditd_stop'

"$VMM" -d -C 4Q -s "$T/no.sock" -D "$T/nostate" >"$T/out" 2>&1
rc=$?
[ $rc -eq 2 ] && [ ! -e "$T/nostate" ] &&
    grep -q -- '-C 4Q: unknown unit' "$T/out"
ok $? "-C 4Q is refused at start, naming option and value (exit $rc: $(head -n 1 "$T/out"))"

I=$T/state/images
mkdir -p "$I"
OLD=$(printf '%064d' 1)
NEW=$(printf '%064d' 2)
STALE=$(printf '%064d' 3)
TMPK=$(printf '%064d' 4)
head -c 65536 /dev/urandom >"$I/$OLD.erofs"
head -c 65536 /dev/urandom >"$I/$NEW.ext4"
: >"$I/$NEW.lock"
: >"$I/$STALE.lock"
touch -d '2020-01-01 00:00' "$I/$OLD.erofs"
touch -d '2021-01-01 00:00' "$I/$NEW.ext4"
sh -c 'exit 0' &
DEAD=$!
wait $DEAD
: >"$I/$TMPK.erofs.$DEAD"
: >"$I/$TMPK.ext4.$$"

# 128 KiB of images, 100 KiB allowed: the older one goes
vmm_start -C 100K || { echo "Bail out! lensvmm did not start"; exit 1; }
[ ! -e "$I/$OLD.erofs" ] && grep -q "image cache: removed $OLD.erofs" "$T/vmm.log"
ok $? "the least recently used image is removed down to -C (logged)"
[ -e "$I/$NEW.ext4" ] && [ -e "$I/$NEW.lock" ]
ok $? "the more recent image and its lock file stay"
[ ! -e "$I/$TMPK.erofs.$DEAD" ] &&
    grep -q "removed $TMPK.erofs.$DEAD, left by process $DEAD" "$T/vmm.log"
ok $? "the temporary image of a process that is gone is removed (logged)"
[ -e "$I/$TMPK.ext4.$$" ]
ok $? "the temporary image of a live process stays"
[ ! -e "$I/$STALE.lock" ] &&
    grep -q "removed $STALE.lock, a lock without an image" "$T/vmm.log"
ok $? "a lock file without an image nor a holder is removed (logged)"
lctl ps >/dev/null
ok $? "lensvmm serves after cleaning its cache"
tap_done
