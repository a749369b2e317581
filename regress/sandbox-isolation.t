#!/bin/sh
# Isolation: host processes, host files and other sandboxes are not
# visible; the uid map is the documented one (the sandbox's root is an
# unprivileged host uid of a range of its own, never a real user's);
# only loopback; -v binds exactly what it names, :ro read-only; the
# rootfs is never written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 21
tmpdir_setup
vmm_setup
UIDBASE=1000000		# VMM_UIDBASE in lensvmm/lensvmm.h

# a host process with a marker
sh -c 'sleep 600' lens-host-marker >/dev/null 2>&1 &
hostpid=$!
at_exit "pkill -P $hostpid; kill $hostpid 2>/dev/null"
out=$(lctl run --rm $R -- sh -c 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " "')
! echo "$out" | grep -q lens-host-marker
ok $? "host processes are invisible"
n=$(lctl run --rm $R -- sh -c 'ls -d /proc/[0-9]* | wc -l')
[ "$n" -le 4 ]
ok $? "the sandbox sees only its own few processes ($n)"
out=$(lctl run --rm $R -- cat /proc/1/cmdline | tr '\0' ' ')
! echo "$out" | grep -q 'systemd\|/sbin/init\|lensvmm'
ok $? "pid 1 is the sandbox's own ($out)"
lctl run --rm $R -- kill -0 "$hostpid" 2>/dev/null
[ $? -ne 0 ]
ok $? "the host pid $hostpid cannot be signalled from inside"

# host files
echo secret >"$T/host-secret"
out=$(lctl run --rm -u root $R -- sh -c "find / -xdev -name host-secret 2>/dev/null; ls $T 2>&1; cat /etc/hostname")
! echo "$out" | grep -q "host-secret\|^secret"
ok $? "host files are invisible ($out)"
lctl run --rm $R -- test -e /work 2>/dev/null
[ $? -ne 0 ] || [ ! -e /work ]
ok $? "host directories are not there"

# other sandboxes
lctl run -d --name iso-a $R -- sh -c 'echo a-was-here >/tmp/a; exec sh -c "sleep 600" iso-a-marker' >/dev/null
wait_until 5 sh -c "'$LENSCTL' -s '$VMM_SOCK' exec iso-a -- test -f /tmp/a"
out=$(lctl run --rm $R -- sh -c 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " "; cat /tmp/a 2>&1')
! echo "$out" | grep -q 'iso-a-marker\|a-was-here'
ok $? "another sandbox's processes and files are invisible"
lctl exec iso-a -- cat /tmp/a | grep -q a-was-here
ok $? "(while that sandbox sees its own)"

# uid maps
mapa=$(lctl exec iso-a -- cat /proc/self/uid_map)
mapb=$(lctl run --rm $R -- cat /proc/self/uid_map)
set -- $mapa
[ "$#" -eq 3 ] && [ "$1" -eq 0 ] && [ "$2" -ge $UIDBASE ] && [ "$3" -eq 65536 ]
ok $? "uid_map: sandbox 0..65535 -> host $UIDBASE+ ($mapa)"
a=$2
set -- $mapb
[ "$#" -eq 3 ] && [ "$2" -ge $UIDBASE ] &&
    { [ $(($2 + 65536)) -le "$a" ] || [ $((a + 65536)) -le "$2" ]; }
ok $? "two sandboxes get disjoint host ranges ($a, $2)"
gmap=$(lctl exec iso-a -- cat /proc/self/gid_map)
[ "$(echo $gmap)" = "$(echo $mapa)" ]
ok $? "gid_map is the same ($gmap)"
kill -0 "$hostpid"
ok $? "(the host marker process runs: $hostpid)"
# iso-a's workload (uid 1000 inside) runs as host uid base + 1000
huid=$((a + 1000))
ps -eo uid=,args= | awk -v u=$huid '$1 == u && /sleep 600/' | grep -q .
ok $? "the workload (uid 1000 inside) is host uid $huid"
! getent passwd "$huid" >/dev/null
ok $? "no host user has that uid"
out=$(lctl run --rm -u root $R -- sh -c 'echo x >/proc/sys/kernel/hostname 2>&1; cat /proc/sys/kernel/hostname')
[ "$out" != "$(hostname)" ]
ok $? "the uts namespace is its own ($out)"

# network: loopback only
out=$(lctl run --rm $R -- sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
[ "$out" = lo ]
ok $? "only loopback ($out)"

# volumes
mkdir -p "$T/vol" && echo host-data >"$T/vol/f" && chmod -R 0777 "$T/vol"
out=$(lctl run --rm -v "$T/vol:/mnt/v:ro" $R -- cat /mnt/v/f)
[ "$out" = host-data ]
ok $? "-v :ro: the bound file is readable"
lctl run --rm -u root -v "$T/vol:/mnt/v:ro" $R -- sh -c 'echo x >/mnt/v/g' 2>/dev/null
[ $? -ne 0 ] && [ ! -e "$T/vol/g" ]
ok $? "-v :ro: not writable, even as root"
lctl run --rm -u root -v "$T/vol:/mnt/v" $R -- sh -c 'echo written >/mnt/v/h'
[ "$(cat "$T/vol/h" 2>/dev/null)" = written ]
ok $? "-v rw: a write reaches the host"

# the rootfs stays as it was
lctl run --rm -u root $R -- sh -c 'echo x >/etc/lens-new; rm -f /bin/cat' 2>/dev/null
[ ! -e "$ROOTFS/etc/lens-new" ] && [ -e "$ROOTFS/bin/cat" ]
ok $? "writes go to the sandbox's own layer, not the rootfs"
lctl run --rm $R -- test -e /etc/lens-new
[ $? -ne 0 ]
ok $? "nor to the next sandbox"
lctl rm -f iso-a >/dev/null
tap_done
