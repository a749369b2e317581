#!/bin/sh
# Attack: a sandbox fills the host's disk.  Its writable layer (the
# overlay's upper directory) was a directory in lensvmm's state
# directory, on the host's file system, with no bound: `dd if=/dev/zero
# of=/big` in any sandbox wrote until the host's disk was full (lensvmm's
# state, the audit log, everything else on it).  The writable layer is
# now a tmpfs in the sandbox's own mount namespace, holding at most half
# of --memory (else tmpfs's half of RAM), its pages the sandbox's memory;
# nothing a sandbox writes reaches the host's disk.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
vmm_require

tap_plan 10
tmpdir_setup
vmm_setup
kb() { du -sk "$T/state" | cut -f1; }

# a sandbox of 64 MiB writes 200 MiB into its root
id=$(lctl run -d --name fill --memory 64m $R -u root -- sleep 600)
ok $? "a sandbox with --memory 64m starts ($id)"
k0=$(kb)
lctl exec -u root fill -- dd if=/dev/zero of=/big bs=1M count=200 \
    >"$T/dd.out" 2>&1
rc=$?
k1=$(kb)
diag "dd: exit $rc, $(tail -n 2 "$T/dd.out" | tr '\n' ' ')"
[ "$rc" -ne 0 ]
ok $? "writing 200 MiB into a 64 MiB sandbox's root fails (exit $rc)"
grep -qi 'no space' "$T/dd.out"
ok $? "... for want of space ($(tail -n 1 "$T/dd.out"))"
[ $((k1 - k0)) -lt 1024 ]
ok $? "the host's disk under the state directory grew by $((k1 - k0)) KiB, not 200 MiB"
out=$(lctl exec fill -- echo alive)
[ "$out" = alive ]
ok $? "the sandbox still answers ($out)"
lctl rm -f fill >/dev/null

# without --memory: writes work, and none lands on the host's disk
id=$(lctl run -d --name w $R -u root -- sleep 600)
lctl exec -u root w -- sh -c 'echo written >/etc/lens-w; mkdir -p /var/x; \
    dd if=/dev/zero of=/var/x/f bs=1k count=512 2>/dev/null'
out=$(lctl exec w -- cat /etc/lens-w)
[ "$out" = written ]
ok $? "the sandbox reads back what it wrote ($out)"
f=$(find "$T/state/sandboxes/$id" \( -name lens-w -o -name f \) 2>/dev/null)
[ -z "$f" ]
ok $? "its files are not on the host's disk ($f)"
lctl rm -f w >/dev/null
[ ! -e "$T/state/sandboxes/$id" ]
ok $? "rm removes the sandbox's state directory"

# a tree deeper than PATH_MAX in the writable layer must not defeat rm
# (a guard: removal by path on the host would give up with ENAMETOOLONG
# and leave the files; lensvmm's nftw removal coped before the tmpfs
# too, and now nothing of the layer is on the host)
id=$(lctl run -d --name deep $R -u root -- sleep 600)
# built from the bottom (each step wraps the tree in a new parent): no
# path the sandbox uses is long
lctl exec -u root deep -- sh -c 'cd /var/tmp && mkdir c && echo deep >c/f && \
    L=d0123456789abcdef0123456789 && i=0 && while [ $i -lt 300 ]; do \
    mkdir $L && mv c $L/ && mv $L c || exit 1; i=$((i + 1)); done'
ok $? "the sandbox made a tree 300 directories (8700 bytes of path) deep"
lctl rm -f deep >/dev/null 2>&1
[ ! -e "$T/state/sandboxes/$id" ]
ok $? "rm removes its state directory all the same"
tap_done
