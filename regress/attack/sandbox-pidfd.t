#!/bin/sh
# Attack: the sandbox's root takes lens-init's control channel (its fd 3,
# the socket lensvmm drives the sandbox through) with pidfd_open(1) and
# pidfd_getfd(2), or looks at it through /proc/1/fd.  The workload's
# seccomp filter refuses pidfd_getfd and pidfd_open of pid 1, and
# lens-init is non-dumpable, so its /proc/1/fd entries are closed to a
# root without CAP_SYS_PTRACE (issue 10, item 11).  regress/sandbox/pidfdprobe.c
# makes the attempts; uid 1000 is tried too.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$LENS_REGRESS/lib.sh"
. "$LENS_REGRESS/daemon.sh"
vmm_require

tap_plan 9
tmpdir_setup
vmm_setup

mkdir -p "$ROOTFS/usr/local/bin"
gcc -static -O1 -o "$ROOTFS/usr/local/bin/pidfdprobe" \
    "$(dirname "$0")/../sandbox/pidfdprobe.c"
ok $? "pidfdprobe built static into the rootfs"

v() { sed -n "s/^$2 //p" "$T/probe.$1" | head -n 1; }
for who in root 1000; do
	lctl run --rm $R -u $who -- /usr/local/bin/pidfdprobe \
	    >"$T/probe.$who" 2>"$T/err.$who"
	diag "as $who: $(tr '\n' ' ' <"$T/probe.$who") $(head -n 2 "$T/err.$who")"
done

# EPERM (1) from the filter; EACCES (13) from non-dumpable
[ "$(v root pidfd_open)" = 1 ]
ok $? "as root: pidfd_open(1) of lens-init is refused ($(v root pidfd_open))"
[ "$(v root getfd)" != sock ] && [ "$(v root getfd_any)" = 1 ]
ok $? "as root: pidfd_getfd is refused, lens-init's channel not taken ($(v root getfd), $(v root getfd_any))"
# the numbers may be listed (the directory is the sandbox root's), never
# what they are
[ "$(v root procfdlinks)" = 0 ] || case $(v root procfd) in e*) true ;; *) false ;; esac
ok $? "as root: none of /proc/1/fd's entries can be read ($(v root procfdlinks) of $(v root procfd))"
case $(v root procfd3) in 1|13) true ;; *) false ;; esac
ok $? "as root: /proc/1/fd/3 cannot be read ($(v root procfd3))"
[ "$(v 1000 pidfd_open)" = 1 ] && [ "$(v 1000 getfd)" != sock ]
ok $? "as 1000: no pidfd of lens-init, no channel ($(v 1000 pidfd_open), $(v 1000 getfd))"
case $(v 1000 procfd) in 0|e1|e13) true ;; *) false ;; esac
ok $? "as 1000: /proc/1/fd lists none of lens-init's descriptors ($(v 1000 procfd))"

# lens-init is non-dumpable, what it runs is not (exec makes it dumpable)
lctl run --rm $R -u root -- sh -c 'grep -c . /proc/self/status >/dev/null && ls /proc/self/fd >/dev/null && echo selfok' \
    >"$T/self" 2>&1
[ "$(cat "$T/self")" = selfok ]
ok $? "the workload's own /proc/self/fd stays readable ($(head -c 200 "$T/self"))"
# pidfd_open of a child still works (only pid 1 is refused)
lctl run --rm $R -u root -- sh -c 'sleep 5 & p=$!; ls /proc/$p/fd >/dev/null && echo childok; kill $p' \
    >"$T/child" 2>&1
[ "$(cat "$T/child")" = childok ]
ok $? "the workload's own children stay inspectable ($(head -c 200 "$T/child"))"
tap_done
