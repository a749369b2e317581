#!/bin/sh
# lensctl run's docker-style options against a real lensvmm and jail:
# --env-file, --mount type=bind (the long form of -v), -m (--memory);
# and the docker options that would break the sandbox model
# (--privileged, --cap-add, --device, --network host) refused with a
# sentence saying why, before anything starts (exit 125).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 19
tmpdir_setup
vmm_setup

# --env-file: K=V as written, K from here, comments and blanks skipped
printf '%s\n' '# a comment' '' 'A=1' '  B=two words' 'C="quoted"' \
    'FROMHERE' 'EMPTY=' 'D=x=y' >"$T/env"
FROMHERE=here lctl run --rm $R --env-file "$T/env" -e A=override -- \
    sh -c 'printf "%s|%s|%s|%s|%s|%s\n" "$A" "$B" "$C" "$FROMHERE" "${EMPTY-unset}" "$D"' \
    >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = 'override|two words|"quoted"|here||x=y' ]
ok $? "--env-file: every variable as docker reads it, -e after it wins ($(cat "$T/out") $(cat "$T/err"))"
printf 'OK=1\nBAD KEY=1\n' >"$T/env2"
lctl run --rm $R --env-file "$T/env2" -- true >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q -- "--env-file $T/env2:2: \"BAD KEY=1\" is not K=V" "$T/err"
ok $? "--env-file: a bad line named by file and line, exit 125 ($(cat "$T/err"))"
printf 'NOT_SET_HERE_X\n' >"$T/env3"
lctl run --rm $R --env-file "$T/env3" -- true >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q "env3:1: no '=' and NOT_SET_HERE_X is not set here" "$T/err"
ok $? "--env-file: K unset here is refused ($(cat "$T/err"))"
lctl run --rm $R --env-file "$T/none" -- true >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q -- "--env-file $T/none: No such file" "$T/err"
ok $? "--env-file: a missing file ($(cat "$T/err"))"
head -c 300000 /dev/zero | tr '\0' 'a' | sed 's/^/A=/' >"$T/envbig"
lctl run --rm $R --env-file "$T/envbig" -- true >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q "larger than" "$T/err"
ok $? "--env-file: a huge file is refused ($(cat "$T/err"))"

# --mount type=bind: the same as -v
mkdir "$T/vol" && echo inside >"$T/vol/f" && chmod 0777 "$T/vol" && chmod a+r "$T/vol/f"
lctl run --rm $R --mount "type=bind,source=$T/vol,target=/mnt/v" -- \
    cat /mnt/v/f >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = inside ]
ok $? "--mount type=bind,source,target: the directory is there ($(cat "$T/out" "$T/err"))"
lctl run --rm $R -u root --mount "type=bind,src=$T/vol,dst=/mnt/v,readonly" -- \
    sh -c 'echo x >/mnt/v/g' >"$T/out" 2>"$T/err"
[ $? -ne 0 ] && [ ! -e "$T/vol/g" ] && grep -qi 'read-only' "$T/err"
ok $? "--mount ...,readonly: read-only ($(cat "$T/err"))"
lctl run --rm $R -u root --mount "type=bind,source=$T/vol,target=/mnt/v,readonly=false" -- \
    sh -c 'echo y >/mnt/v/g' >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/vol/g" 2>/dev/null)" = y ]
ok $? "--mount ...,readonly=false: writable ($(cat "$T/err"))"
for m in "type=volume,source=x,target=/x:type volume is not supported" \
    "type=bind,target=/x:needs source= and target=" \
    "type=bind,source=$T/vol,target=/x,bogus=1:unknown or malformed field \"bogus\"" \
    "type=bind,source=$T/vol,target=/proc:is /, or in /proc or /dev"; do
	spec=${m%%:*} want=${m#*:}
	lctl run --rm $R --mount "$spec" -- true >"$T/out" 2>"$T/err"
	[ $? -eq 125 ] && grep -q -- "$want" "$T/err"
	ok $? "--mount $spec: refused ($(cat "$T/err"))"
done

# -m is --memory: the cgroup's limit
lctl run --rm $R -m 64m -- cat /sys/fs/cgroup/memory.max >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$T/out")" = 67108864 ]; then
	ok 0 "-m 64m: memory.max 67108864"
else
	id=$(lctl run -d $R -m 64m -- sleep 30)
	v=$(lctl inspect "$id" | sed -n 's/^ *"memory": \([0-9]*\).*/\1/p' | head -n 1)
	lctl rm -f "$id" >/dev/null 2>&1
	[ "$v" = 67108864 ]
	ok $? "-m 64m: the sandbox's memory limit is 67108864 (inspect: $v)"
fi
lctl run --rm $R -m 12x -- true >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q -- '--memory 12x: unknown unit' "$T/err"
ok $? "-m 12x: refused as --memory is"

# what breaks the sandbox model: refused with the reason, nothing runs
n0=$(lctl ps -a | wc -l)
for o in "--privileged:the host's privileges" \
    "--cap-add=SYS_ADMIN:capabilities are fixed" \
    "--device=/dev/kvm:host devices are outside the sandbox" \
    "--network=host:would bypass both"; do
	opt=${o%%:*} want=${o#*:}
	lctl run --rm $R $opt -- touch /tmp/ran >"$T/out" 2>"$T/err"
	[ $? -eq 125 ] && grep -q "refused: .*$want" "$T/err"
	ok $? "$opt: refused, saying why ($(cat "$T/err"))"
done
[ "$(lctl ps -a | wc -l)" = "$n0" ]
ok $? "no sandbox was created by the refused runs"
tap_done
