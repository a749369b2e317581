#!/bin/sh
# lensctl run's docker-style options against a real lensvmm and jail:
# --env-file, --mount type=bind (the long form of -v), -m (--memory);
# and the docker options that would break the sandbox model
# (--privileged, --cap-add, --device, --network host) refused with a
# sentence saying why, before anything starts (exit 125).  lensctl
# doctor on this working setup (exit 0), and on a broken one: a socket
# that does not exist is a failure with its fix (exit 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 47
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

# --hostname (-h): the sandbox's UTS name; by default its name
lctl run --rm $R --hostname web-1.test -- hostname >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = web-1.test ]
ok $? "--hostname web-1.test: hostname says so ($(cat "$T/out" "$T/err"))"
lctl run --rm $R -h h2 -- cat /proc/sys/kernel/hostname >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = h2 ]
ok $? "-h h2: the kernel's too ($(cat "$T/out" "$T/err"))"
lctl run --rm $R --name named-sb -- hostname >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = named-sb ]
ok $? "no --hostname: the sandbox's name ($(cat "$T/out"))"
lctl run --rm $R --hostname -bad -- hostname >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q -- '--hostname -bad: .*starts with' "$T/err"
ok $? "--hostname -bad: refused ($(cat "$T/err"))"

# --label, ps --filter label=KEY[=VALUE], inspect's labels
a=$(lctl run -d $R --name lab-a --label tier=web --label team -- sleep 60)
b=$(lctl run -d $R --name lab-b --label tier=db -- sleep 60)
lctl ps --filter label=tier=web >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && grep -q lab-a "$T/out" && ! grep -q lab-b "$T/out"
ok $? "ps --filter label=tier=web: only lab-a ($(tail -n +2 "$T/out" | awk '{print $2}' | tr '\n' ' '))"
lctl ps --filter label=tier >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && grep -q lab-a "$T/out" && grep -q lab-b "$T/out"
ok $? "ps --filter label=tier: both"
lctl ps --filter label=team= >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && grep -q lab-a "$T/out" && ! grep -q lab-b "$T/out"
ok $? "--label team (no value): label=team= matches it"
lctl inspect lab-a | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["labels"] == {"tier": "web", "team": ""}, j["labels"]' 2>"$T/err"
ok $? "inspect: labels {tier: web, team: ''} $(cat "$T/err")"
lctl ps --filter status=running >"$T/out" 2>"$T/err"
[ $? -eq 2 ] && grep -q -- '--filter status=running: only label=KEY or label=KEY=VALUE' "$T/err"
ok $? "ps --filter status=running: exit 2, said what is supported"
lctl rm -f lab-a lab-b >/dev/null 2>&1

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
# exec inherits run's -e, -w and -u unless it gives its own
id=$(lctl run -d $R -e A=1 -e B=run -w /tmp -u 1234 -- sleep 60)
lctl exec "$id" -- sh -c 'echo "$A|$B|$(pwd)|$(id -u)"' >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = "1|run|/tmp|1234" ]
ok $? "exec without -e/-w/-u: run's ($(cat "$T/out" "$T/err"))"
lctl exec -e B=exec -e C=3 -w / -u 4321 "$id" -- \
    sh -c 'echo "$A|$B|$C|$(pwd)|$(id -u)"' >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = "1|exec|3|/|4321" ]
ok $? "exec -e B=exec -w / -u 4321: exec's win, run's A stays ($(cat "$T/out" "$T/err"))"
lctl exec -u root "$id" -- id -u >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = 0 ]
ok $? "exec -u root in a sandbox run as 1234: root ($(cat "$T/out" "$T/err"))"
lctl rm -f "$id" >/dev/null 2>&1
id=$(lctl run -d $R -u root -- sleep 60)
lctl exec "$id" -- id -u >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = 0 ]
ok $? "exec in a sandbox run -u root: root too ($(cat "$T/out" "$T/err"))"
lctl rm -f "$id" >/dev/null 2>&1

# logs: the main command's output only, not a failed exec's lens-init
# error (which its client got, and lensvmm's log keeps)
id=$(lctl run -d $R -- sh -c 'echo main-out; echo main-err >&2; sleep 60')
wait_until 10 sh -c "'$LENSCTL' -s '$VMM_SOCK' logs $id 2>&1 | grep -q main-err"
lctl exec -u nosuchuser "$id" -- true >"$T/out" 2>"$T/exec.err"
lctl exec "$id" -- /no/such/command >"$T/out" 2>>"$T/exec.err"
lctl logs "$id" >"$T/lout" 2>"$T/lerr"
[ "$(cat "$T/lout")" = main-out ] && [ "$(cat "$T/lerr")" = main-err ] &&
    grep -q nosuchuser "$T/exec.err"
ok $? "logs after two failed execs: only main-out and main-err ($(tr '\n' '|' <"$T/lerr"))"
lctl rm -f "$id" >/dev/null 2>&1

# logs --tail, --timestamps, --since (four lines, the last 2 s later)
id=$(lctl run -d $R -- sh -c 'echo one; echo two; echo three; sleep 2; echo four; sleep 60')
wait_until 15 sh -c "'$LENSCTL' -s '$VMM_SOCK' logs $id | grep -q four"
lctl logs --tail 2 "$id" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(tr '\n' ' ' <"$T/out")" = "three four " ]
ok $? "logs --tail 2: the last two lines ($(tr '\n' ' ' <"$T/out"))"
lctl logs -n 0 "$id" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ ! -s "$T/out" ]
ok $? "logs -n 0: nothing"
lctl logs -t "$id" >"$T/out" 2>"$T/err"
now=$(date -u +%s)
ok_t=1
while read -r ts line; do
	t=$(date -u -d "$ts" +%s 2>/dev/null) || { ok_t=0; break; }
	[ $((now - t)) -ge 0 ] && [ $((now - t)) -lt 120 ] || ok_t=0
done <"$T/out"
[ $ok_t = 1 ] && [ "$(cut -d' ' -f2 "$T/out" | tr '\n' ' ')" = "one two three four " ] &&
    grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z four$' "$T/out"
ok $? "logs -t: each line after the time it was written ($(tail -n 1 "$T/out"))"
t4=$(sed -n 's/ four$//p' "$T/out")
lctl logs --since "$t4" "$id" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(cat "$T/out")" = four ]
ok $? "logs --since $t4: only what was written from then ($(tr '\n' ' ' <"$T/out"))"
lctl logs --since 1h --tail 3 "$id" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ "$(tr '\n' ' ' <"$T/out")" = "two three four " ]
ok $? "logs --since 1h --tail 3 ($(tr '\n' ' ' <"$T/out"))"
lctl logs --since yesterday "$id" >"$T/out" 2>"$T/err"
[ $? -eq 2 ] && grep -q -- '--since yesterday: not an RFC 3339 time' "$T/err"
ok $? "logs --since yesterday: exit 2, said why"
lctl rm -f "$id" >/dev/null 2>&1

# doctor: this test's daemons are up, so nothing required is missing
"$LENSCTL" doctor -s "$VMM_SOCK" -a "$T/auditd.sock" -P "$T/audit.pub" \
    -D "$T" -n "$T/no-netd.sock" -k "$T/no-credd.sock" -g "$T/no-guest" -S "$OBJ" \
    >"$T/doc" 2>"$T/doc.err"
rc=$?
[ $rc -eq 0 ] && grep -q "^ok    lensvmm        $VMM_SOCK: accepting" "$T/doc" &&
    grep -q "^ok    lensauditd     $T/auditd.sock: accepting" "$T/doc" &&
    grep -q '^ok    cgroup         v[12]' "$T/doc" &&
    grep -q '^ok    user-ns ' "$T/doc" && grep -q '^0 failed, ' "$T/doc"
ok $? "doctor, working setup: exit $rc, lensvmm, lensauditd, cgroup, user-ns ok ($(tail -n 1 "$T/doc"))"
fp=$("$LENSCTL" audit verify --dir "$T/audit" --pubkey "$T/audit.pub" 2>&1 |
    sed -n 's/.*fingerprint \([^ ]*\).*/\1/p' | head -n 1)
[ -n "$fp" ] && grep -q "^ok    audit-key      $T/audit.pub: fingerprint $fp\$" "$T/doc"
ok $? "doctor: the audit key's fingerprint is audit verify's ($fp)"
grep -q "^warn  backend        jail (.*$T/no-guest" "$T/doc" ||
    grep -q "^warn  backend        jail (microvm unavailable: no /dev/kvm)" "$T/doc" ||
    grep -q "^warn  backend        jail (/dev/kvm without vmx or svm" "$T/doc"
ok $? "doctor: the backend this host can run and why ($(grep backend "$T/doc"))"
grep -q "^warn  lensnetd       $T/no-netd.sock: No such file" "$T/doc" &&
    grep -q 'fix: start lensnetd' "$T/doc"
ok $? "doctor: a missing lensnetd is a warning with the fix"
# doctor: each daemon's version, running (as root: the binary behind
# its socket) and installed (-S: here the build's), lensctl's own
v=$("$LENSCTL" --version | sed 's/^lensctl //')
"$LENSCTL" doctor -s "$VMM_SOCK" -a "$T/auditd.sock" -P "$T/audit.pub" \
    -D "$T" -S "$OBJ" >"$T/doc" 2>&1
grep -q "^ok    lensvmm        $VMM_SOCK: accepting connections, version $v, installed $v\$" "$T/doc" &&
    grep -q "^ok    lensauditd     $T/auditd.sock: accepting connections, version $v, installed $v\$" "$T/doc"
ok $? "doctor: lensvmm and lensauditd $v, running and installed ($(grep '^ok    lens' "$T/doc" | tr '\n' ' '))"
# an installed lensauditd of another version, and one that says nothing
mkdir "$T/sbin"
printf '#!/bin/sh\necho "lensauditd 0.1"\n' >"$T/sbin/lensauditd"
printf '#!/bin/sh\necho "hello"\n' >"$T/sbin/lensvmm"
chmod 755 "$T/sbin/lensauditd" "$T/sbin/lensvmm"
"$LENSCTL" doctor -s "$VMM_SOCK" -a "$T/auditd.sock" -P "$T/audit.pub" \
    -D "$T" -S "$T/sbin" >"$T/doc" 2>&1
rc=$?
[ $rc -eq 0 ] &&
    grep -q "^warn  lensauditd     $T/auditd.sock: accepting connections, version $v, installed 0.1, lensctl $v\$" "$T/doc" &&
    grep -q "^ok    lensvmm        $VMM_SOCK: accepting connections, version $v (installed: $T/sbin/lensvmm -V answered no version)\$" "$T/doc" &&
    grep -A1 '^warn  lensauditd' "$T/doc" | grep -q 'fix: install this version'
ok $? "doctor: an installed daemon of another version is a warning with the fix (exit $rc; $(grep -A1 '^warn  lensauditd' "$T/doc" | tr '\n' ' '))"
# a socket another user listens on: its binary is never run by root
mkdir -m 0777 "$T/nob"
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
time.sleep(60)' "$T/nob/netd.sock" &
NOB=$!
at_exit "kill $NOB 2>/dev/null"
wait_until 10 test -S "$T/nob/netd.sock"
"$LENSCTL" doctor -s "$VMM_SOCK" -a "$T/auditd.sock" -P "$T/audit.pub" \
    -D "$T" -S "$T/none" -n "$T/nob/netd.sock" >"$T/doc" 2>&1
kill $NOB 2>/dev/null
grep -q "^warn  lensnetd       $T/nob/netd.sock: accepting connections, version unknown (not asked: the socket is uid 65534's; " "$T/doc"
ok $? "doctor: a socket of another user: its binary is not run ($(grep '^warn  lensnetd' "$T/doc"))"
"$LENSCTL" doctor -s "$T/none.sock" -a "$T/auditd.sock" -P "$T/audit.pub" \
    -D "$T" >"$T/doc" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "^FAIL  lensvmm        $T/none.sock: No such file or directory" "$T/doc" &&
    grep -q 'fix: start lensvmm (systemctl start lensvmm), or name its socket with -s' "$T/doc" &&
    grep -q '^1 failed, ' "$T/doc"
ok $? "doctor, broken setup (no lensvmm socket): exit $rc, FAIL with the fix"
tap_done
