#!/bin/sh
# lens-init, PID 1 of a real pid namespace, driven through its agent
# protocol by regress/tools/initdrive: exit codes and signals, stdio
# kept apart, stdin and EOF, a real pty with its window size, signal
# forwarding, users (default 1000, root, named from a busybox rootfs,
# numeric, unknown), exec errors, orphans reaped, the shutdown grace,
# concurrent execs, malformed requests, the -m mounts and -h.
. "$(dirname "$0")/lib.sh"

tap_plan 48
tmpdir_setup
chmod 0755 "$T"		# uid 1000 reads and writes in there

DRIVE=$OBJ/regress/tools/initdrive
INIT="unshare --pid --fork --mount-proc $OBJ/lens-init -v"

if [ "$(id -u)" -ne 0 ] || ! unshare --pid --fork --mount-proc true \
    2>/dev/null; then
	skip_rest "needs root and pid namespaces"
fi

# drive [initdrive options] -- CMD...: lens-init in a fresh pid namespace
# on the host's filesystem; $T/out, $T/err, $rc
drive() {
	_o=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		_o="$_o '$1'"
		shift
	done
	shift
	eval "\"$DRIVE\" $_o -v -- $INIT -- \"\$@\"" >"$T/out" 2>"$T/err"
	rc=$?
}
out() { cat "$T/out"; }
is() {	# is WANT GOT WHAT
	[ "$1" = "$2" ]
	ok $? "$3 (got '$2')"
	[ "$1" = "$2" ] || sed 's/^/#   /' "$T/err"
}

# exit codes and signals
drive -- true
is 0 $rc "exit 0"
drive -- sh -c 'exit 3'
is 3 $rc "exit 3"
drive -- sh -c 'exit 255'
is 255 $rc "exit 255"
drive -- sh -c 'kill -USR1 $$'
is 138 $rc "killed by SIGUSR1: 128 + 10"
grep -q "exit 138 sig 10 core 0" "$T/err"
ok $? "EXIT carries the signal"

# stdio
drive -- sh -c 'echo out; echo err >&2; echo out2'
is "out out2" "$(out | tr '\n' ' ' | sed 's/ $//')" "stdout alone on stdout"
grep -qx err "$T/err" && ! grep -q out "$T/err"
ok $? "stderr alone on stderr"
head -c 1048576 /dev/urandom >"$T/rand"
"$DRIVE" -i -- $INIT -- cat <"$T/rand" >"$T/rand.out" 2>"$T/err"
rc=$?
cmp -s "$T/rand" "$T/rand.out" && [ $rc -eq 0 ]
ok $? "1 MiB of random bytes through cat, byte-exact (rc $rc)"
printf 'hello\n' | "$DRIVE" -i -- $INIT -- sh -c 'cat; echo eof-seen' \
    >"$T/out" 2>"$T/err"
is "hello eof-seen" "$(out | tr '\n' ' ' | sed 's/ $//')" "EOF reaches stdin"
drive -- sh -c 'cat; echo eof'
is eof "$(out)" "no -i: stdin is /dev/null"
head -c 5000000 /dev/urandom >"$T/big"
"$DRIVE" -- $INIT -- cat "$T/big" >"$T/big.out" 2>"$T/err"
cmp -s "$T/big" "$T/big.out"
ok $? "5 MB of output, byte-exact"
head -c 8388608 /dev/zero | "$DRIVE" -i -- $INIT -- sh -c 'sleep 1; wc -c' \
    >"$T/out" 2>"$T/err"
n=$(out | tr -d ' ')
[ "$n" -lt 8388608 ] && grep -q "stdin unread, closing its stdin" "$T/err"
ok $? "unread stdin past the limit: closed, logged ($n bytes read)"

# a pty
drive -t -z 30x100 -- sh -c 'tty; test -t 0 && test -t 1 && test -t 2 &&
    echo all-tty; stty size'
is "/dev/pts/N all-tty 30 100" "$(out | tr -d '\r' | tr '\n' ' ' |
    sed 's/ $//; s,^/dev/pts/[0-9]*,/dev/pts/N,')" \
    "-t: a pty on 0, 1, 2 with the window size"
drive -t -z 30x100 -R 40x120@300 -- sh -c 'sleep 0.8; stty size'
is "40 120" "$(out | tr -d '\r')" "RESIZE reaches the pty"
printf 'abc\n' | "$DRIVE" -t -i -- $INIT -- cat >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(out | tr -d '\r' | sort -u)" = abc ]
ok $? "stdin through the pty, STDIN_EOF is ^D (rc $rc)"
drive -t -- sh -c 'echo out; echo err >&2'
is "out err" "$(out | tr -d '\r' | tr '\n' ' ' | sed 's/ $//')" \
    "-t: stderr on the pty too"

# signals
drive -s 15@300 -- sleep 10
is 143 $rc "SIGNAL: sleep killed by SIGTERM"
drive -s 2@300 -- sh -c 'sleep 10 & wait'
is 130 $rc "SIGNAL goes to the process group"

# users
drive -- id -u
is 1000 "$(out)" "default uid 1000"
drive -- id -g
is 1000 "$(out)" "default gid 1000"
drive -r -- id -u
is 0 "$(out)" "root on request (INIT_EXEC_ROOT)"
drive -u root -- id -u
is 0 "$(out)" "root by name"
drive -u 1234:55 -- id
is "uid=1234 gid=55 groups=55" "$(out)" "numeric uid:gid"
drive -u nosuchuser -- true
is 125 $rc "unknown user: 125"
grep -q "error stage 1 errno 2: unable to find user nosuchuser" "$T/err"
ok $? "unknown user: ERROR stage USER, ENOENT, names the user"

# a busybox rootfs with its own passwd and group; -m does the mounts
R=$T/root
mkdir -p "$R/bin" "$R/sbin" "$R/etc" "$R/home/alice"
cp /bin/busybox "$R/bin/" && chroot "$R" /bin/busybox --install -s /bin
cp "$OBJ/lens-init" "$R/sbin/"
printf 'root:x:0:0:root:/root:/bin/sh\n# a comment\nbroken line\n' \
    >"$R/etc/passwd"
printf 'alice:x:1500:1600:Alice:/home/alice:/bin/sh\n' >>"$R/etc/passwd"
printf 'root:x:0:\nstaff:x:1600:\nextra:x:1700:bob,alice\n' >"$R/etc/group"
printf 'other:x:1800:alicia\n' >>"$R/etc/group"
chown 1500:1600 "$R/home/alice"
ROOTINIT="unshare --pid --fork --mount --uts --root=$R /sbin/lens-init -m -v"
rdrive() {
	"$DRIVE" -v "$@" -- $ROOTINIT -h sandy -- sh -c 'id; echo $HOME $USER;
	    pwd; hostname' >"$T/out" 2>"$T/err"
	rc=$?
}
rdrive -u alice
is "uid=1500(alice) gid=1600(staff) groups=1600(staff),1700(extra)" \
    "$(out | sed -n 1p)" "named user from the rootfs's passwd and group"
is "/home/alice alice /home/alice" "$(out | sed -n 2,3p | tr '\n' ' ' |
    sed 's/ $//')" "HOME, USER and cwd from passwd"
is sandy "$(out | sed -n 4p)" "-h sets the hostname"
rdrive -u alice:extra -e HOME=/tmp -w /
is "uid=1500(alice) gid=1700(extra) groups=1700(extra)" \
    "$(out | sed -n 1p)" "user:group by names"
is "/tmp alice /" "$(out | sed -n 2,3p | tr '\n' ' ' | sed 's/ $//')" \
    "HOME from the request wins, -w wins"
"$DRIVE" -- $ROOTINIT -- sh -c 'mount; test -c /dev/null &&
    test -w /dev/ptmx && echo devok' >"$T/out" 2>"$T/err"
grep -q "^proc on /proc" "$T/out" && grep -q "^devpts on /dev/pts" "$T/out" &&
    grep -q "^tmpfs on /tmp" "$T/out" && grep -qx devok "$T/out"
ok $? "-m mounts /proc, /dev, /dev/pts and /tmp"
"$DRIVE" -t -- $ROOTINIT -- sh -c 'tty' >"$T/out" 2>"$T/err"
is /dev/pts/0 "$(out | tr -d '\r')" "-m: a pty from the sandbox's own devpts"

# cwd and exec errors
drive -w /nonexistent -- true
is 125 $rc "bad cwd: 125"
grep -q "error stage 2 errno 2: chdir /nonexistent" "$T/err"
ok $? "bad cwd: ERROR stage CWD"
drive -w /tmp -e FOO=bar -- sh -c 'pwd; echo $FOO; echo $PATH'
is "/tmp bar /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "$(out | tr '\n' ' ' | sed 's/ $//')" "cwd, env and the default PATH"
drive -- no-such-command-xyz
is 127 $rc "command not found: 127"
grep -q "no-such-command-xyz: command not found" "$T/err"
ok $? "command not found: named in the message"
printf 'echo hi\n' >"$T/noexec"
chmod 0644 "$T/noexec"
drive -- "$T/noexec"
is 126 $rc "not executable: 126"
drive -e PATH="$T" -- noexec
is 126 $rc "not executable, found by the PATH of the request: 126"

# orphans: the grandchild's parent exits at once; the orphan is
# reparented to lens-init and must not stay a zombie.  The same count
# sees a zombie whose parent does not reap (the check can fail).
zombies='grep -h "^State:" /proc/[0-9]*/status | grep -c zombie'
drive -- sh -c "sh -c 'sleep 0.2 & exit 0'; sleep 0.8; $zombies"
is 0 "$(out)" "orphans reaped: no zombie in the sandbox"
grep -q "reaped orphan" "$T/err"
ok $? "lens-init reaped the orphan itself"
drive -- sh -c "(sleep 0.2 & exec sleep 1.5) & sleep 0.8; $zombies"
is 1 "$(out)" "the zombie check sees a zombie whose parent lives"

# shutdown: SIGTERM, then SIGKILL after the grace
start=$(date +%s%N)
drive -S 1000@200 -- sh -c 'trap "" TERM; sleep 30'
ms=$((($(date +%s%N) - start) / 1000000))
is 137 $rc "SHUTDOWN: a process ignoring SIGTERM is SIGKILLed"
[ $ms -ge 1100 ] && [ $ms -lt 4000 ]
ok $? "SHUTDOWN: after the 1000 ms grace (${ms} ms in all)"
start=$(date +%s%N)
drive -S 5000@200 -- sleep 30
ms=$((($(date +%s%N) - start) / 1000000))
[ $rc -eq 143 ] && [ $ms -lt 2000 ]
ok $? "SHUTDOWN: SIGTERM ends a willing process at once ($rc, ${ms} ms)"
grep -q "lens-init ended, status 0" "$T/err"
ok $? "lens-init exits 0 after SHUTDOWN"

# concurrent execs: exec 1 reads a FIFO that exec 2 writes
mkfifo -m 0666 "$T/fifo"
drive -x "sleep 0.3; echo through-the-fifo >$T/fifo" -- cat "$T/fifo"
is through-the-fifo "$(out)" "two execs at once"

# malformed requests, then a good one on the same channel
drive -b short -b argc0 -b argc2 -b toomany -b nostrings -b nonul \
    -b extra -b flags -b user -b cwd -b relcwd -b env -b id0 -- echo fine
n=$(grep -c "^initdrive: bad .*: stage 4: bad request\|bad id0: stage 4" \
    "$T/err")
[ "$n" -eq 13 ] && [ "$(out)" = fine ] && [ $rc -eq 0 ]
ok $? "13 malformed EXECs refused with ERROR stage SETUP, then one runs"

tap_done
