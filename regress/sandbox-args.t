#!/bin/sh
# lensctl's sandbox commands check their arguments before they talk to
# lensvmm: every bad value is refused with exit status 125 (run, exec)
# or 2 (the others) and a message naming the option and the value.
# The socket named here does not exist, so an argument that got past
# the checks would fail with "cannot connect" instead.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

tap_plan 58
tmpdir_setup
mkdir "$T/rootfs"
: >"$T/file"
NOSOCK=$T/no.sock
R="--rootfs $T/rootfs"

# refused EXPECTED-STATUS MESSAGE-PATTERN lensctl-args...
refused() {
	_st=$1 _pat=$2
	shift 2
	"$LENSCTL" -s "$NOSOCK" "$@" >"$T/out" 2>"$T/err"
	_rc=$?
	[ "$_rc" -eq "$_st" ] && ! grep -q "cannot connect" "$T/err"
	ok $? "$* -> exit $_rc"
	grep -q -- "$_pat" "$T/err"
	ok $? "$*: says '$_pat' ($(head -n 1 "$T/err"))"
}

refused 125 '--memory 12x: unknown unit' run $R --memory 12x -- true
refused 125 '--memory 0: too small' run $R --memory 0 -- true
refused 125 '--memory abc: not a size' run $R --memory abc -- true
refused 125 '--cpus abc: not a number' run $R --cpus abc -- true
refused 125 '--cpus 0: out of range (0.001 to 1024)' run $R --cpus 0 -- true
refused 125 '--cpus 1.2345: at most 3 decimals' run $R --cpus 1.2345 -- true
refused 125 '--memory 0512m: leading zero' run $R --memory 0512m -- true
refused 125 '--memory 1025t: too large (at most 1024t)' run $R --memory 1025t -- true
refused 125 "--cpus 999: more than the $(nproc) CPUs" run $R --cpus 999 -- true
refused 125 '--pids 0: out of range' run $R --pids 0 -- true
refused 125 '-v /tmp: not SRC:DST' run $R -v /tmp -- true
refused 125 '-v tmp:/x: host path "tmp" is not absolute' run $R -v tmp:/x -- true
refused 125 '-v /tmp:x: sandbox path "x" is not absolute' run $R -v /tmp:x -- true
refused 125 '-v /tmp:/x:rx: unknown mode' run $R -v /tmp:/x:rx -- true
refused 125 '-v /tmp://proc: sandbox path "/proc" is /, or in /proc or /dev' run $R -v /tmp://proc -- true
refused 125 '-p 8080:80/udp: protocol "udp" is not supported' run $R -p 8080:80/udp -- true
refused 125 '-p 65536:80: host port "65536" is not a number' run $R -p 65536:80 -- true
refused 125 "-v $T/none:/x: $T/none: No such file" run $R -v "$T/none:/x" -- true
refused 125 '-e =v: empty variable name' run $R -e =v -- true
refused 125 '-e LENS_NOT_SET_X: no' run $R -e LENS_NOT_SET_X -- true
refused 125 "--rootfs $T/none: No such file or directory" run --rootfs "$T/none" -- true
refused 125 "--rootfs $T/file: not a directory" run --rootfs "$T/file" -- true
refused 125 '--backend qemu: unknown backend' run $R --backend qemu -- true
refused 125 '-w tmp: not an absolute path' run $R -w tmp -- true
refused 125 'no command given' run $R
refused 125 "unrecognized option '--bogus'" run $R --bogus -- true
refused 2 '-t x: not a number' stop -t x sb
refused 2 'a/b: not a sandbox id or name' rm a/b

# a value that passes reaches the socket: the checks are not blanket
LENS_SET_X=1 "$LENSCTL" -s "$NOSOCK" run $R --memory 2t --cpus 1.5 \
    --pids 64 -v /tmp:/mnt:ro -p '[::1]:8080:80/tcp' -e A=1 -e LENS_SET_X \
    -w /tmp -u bob \
    --backend jail --name ok-1 -- true 2>"$T/err"
[ $? -eq 125 ] && grep -q "lensvmm is not running: cannot connect to $NOSOCK" "$T/err"
ok $? "good arguments get as far as connecting ($(cat "$T/err"))"
LENS_VMM_SOCKET=$NOSOCK "$LENSCTL" ps 2>"$T/err"
[ $? -eq 1 ] && grep -q "connect to $NOSOCK" "$T/err"
ok $? "LENS_VMM_SOCKET names the socket ($(cat "$T/err"))"
tap_done
