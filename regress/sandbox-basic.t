#!/bin/sh
# lensctl run/exec/ps/inspect/logs/stop/rm against a real lensvmm with
# the jail backend: exit codes and signals, stdout and stderr kept
# apart, stdin piped through (and not without -i), environment, working
# directory, users, detached sandboxes named by name and id prefix.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
vmm_require

tap_plan 46
tmpdir_setup
vmm_setup

# run EXPECTED-STATUS DESCRIPTION lensctl-run-args...
status_is() {
	_want=$1 _d=$2
	shift 2
	lctl run --rm $R "$@" >"$T/out" 2>"$T/err" </dev/null
	_rc=$?
	[ "$_rc" -eq "$_want" ]
	ok $? "$_d: exit $_rc (want $_want)"
}

status_is 0 "true" -- /bin/true
status_is 1 "false" -- /bin/false
status_is 3 "exit 3" -- sh -c 'exit 3'
status_is 255 "exit 255" -- sh -c 'exit 255'
status_is 143 "killed by SIGTERM" -- sh -c 'kill -TERM $$'
status_is 137 "killed by SIGKILL" -- sh -c 'kill -KILL $$'
[ ! -s "$T/err" ]
ok $? "a signal death prints nothing of its own ($(cat "$T/err"))"

lctl run --rm $R -- sh -c 'echo out1; echo err1 >&2; echo out2' \
    >"$T/out" 2>"$T/err"
[ "$(cat "$T/out")" = "$(printf 'out1\nout2')" ]
ok $? "stdout has exactly stdout's lines"
[ "$(cat "$T/err")" = "err1" ]
ok $? "stderr has exactly stderr's lines"

out=$(printf 'a\nb\n' | lctl run --rm -i $R -- cat)
[ "$out" = "$(printf 'a\nb')" ]
ok $? "-i: stdin piped through ('$out')"
head -c 3000000 /dev/urandom >"$T/big"
lctl run --rm -i $R -- cat <"$T/big" >"$T/big.out"
cmp -s "$T/big" "$T/big.out"
ok $? "-i: 3 MB of binary stdin come back unchanged"
out=$(printf 'x\n' | lctl run --rm -i $R -- wc -l | tr -d ' ')
[ "$out" = 1 ]
ok $? "-i: EOF reaches the command ($out)"
out=$(echo leaked | lctl run --rm $R -- cat)
[ $? -eq 0 ] && [ -z "$out" ]
ok $? "without -i stdin is not forwarded ('$out')"

out=$(lctl run --rm $R -e FOO=bar -e 'SP=a b' -- sh -c 'echo "$FOO/$SP"')
[ "$out" = "bar/a b" ]
ok $? "-e K=V ('$out')"
out=$(LENS_FROM_HERE=xyz lctl run --rm $R -e LENS_FROM_HERE -- \
    sh -c 'echo "$LENS_FROM_HERE"')
[ "$out" = xyz ]
ok $? "-e K takes K's value from lensctl's environment ('$out')"
out=$(LENS_NOT_PASSED=1 lctl run --rm $R -- sh -c 'echo "${LENS_NOT_PASSED:-unset}"')
[ "$out" = unset ]
ok $? "lensctl's environment is not passed otherwise ('$out')"
out=$(lctl run --rm $R -w /tmp -- pwd)
[ "$out" = /tmp ]
ok $? "-w /tmp ('$out')"
out=$(lctl run --rm $R -- id -u)
[ "$out" = 1000 ]
ok $? "runs as uid 1000 by default ('$out')"
out=$(lctl run --rm $R -u root -- id -u)
[ "$out" = 0 ]
ok $? "-u root ('$out')"
out=$(lctl run --rm $R -u bob -- id -un)
[ "$out" = bob ]
ok $? "-u bob ('$out')"
out=$(lctl run --rm $R -u 1001:1001 -- id -g)
[ "$out" = 1001 ]
ok $? "-u 1001:1001 ('$out')"

# a detached sandbox, named
id=$(lctl run -d --name basic-1 $R -- sh -c 'echo logged; echo logerr >&2; exec sleep 600')
echo "$id" | grep -qx '[0-9a-f]\{64\}'
ok $? "-d prints the sandbox id ($id)"
short=$(echo "$id" | cut -c 1-12)
lctl ps >"$T/ps"
grep -q "^$short  *basic-1  *jail  *running" "$T/ps"
ok $? "ps lists it, running, 12-character id"
head -n 1 "$T/ps" | grep -q '^ID  *NAME  *BACKEND  *STATUS  *CREATED  *COMMAND'
ok $? "ps has its header"
lctl ps --json | grep "\"id\":\"$id\"" | grep -q '"status":"running"'
ok $? "ps --json has it"
lctl inspect basic-1 >"$T/inspect"
ok $? "inspect by name"
grep -q "$id" "$T/inspect"
ok $? "inspect's JSON names the id"
wait_until 5 sh -c "'$LENSCTL' -s '$VMM_SOCK' logs basic-1 2>&1 | grep -q logerr"
# lensvmm keeps one console log per sandbox, streams apart
lctl logs basic-1 >"$T/logs.out" 2>"$T/logs.err"
grep -qx logged "$T/logs.out" && ! grep -q logerr "$T/logs.out"
ok $? "logs: the command's stdout on stdout ($(cat "$T/logs.out"))"
grep -qx logerr "$T/logs.err" && ! grep -q logged "$T/logs.err"
ok $? "logs: the command's stderr on stderr ($(cat "$T/logs.err"))"
out=$(lctl exec basic-1 -- sh -c 'echo in-exec; exit 7')
[ $? -eq 7 ] && [ "$out" = in-exec ]
ok $? "exec by name: output and exit code 7"
out=$(echo piped | lctl exec -i "$short" -- cat)
[ "$out" = piped ]
ok $? "exec -i by id prefix ('$out')"
out=$(lctl exec -u root -e X=1 -w /tmp basic-1 -- sh -c 'echo $(id -u)$X$(pwd)')
[ "$out" = "01/tmp" ]
ok $? "exec -u root -e -w ('$out')"
lctl exec basic-1 -- /no/such/cmd 2>"$T/err"
[ $? -eq 127 ]
ok $? "exec of a missing command: 127 ($(cat "$T/err"))"
lctl stop -t 2 "$short" >/dev/null
ok $? "stop by id prefix"
lctl ps >"$T/ps"
! grep -q basic-1 "$T/ps"
ok $? "ps no longer lists it"
lctl ps -a | grep -q "^$short  *basic-1  *jail  *exited"
ok $? "ps -a lists it as exited"
lctl exec basic-1 -- true 2>"$T/err"
[ $? -eq 125 ] && [ -s "$T/err" ]
ok $? "exec into a stopped sandbox: 125 ($(cat "$T/err"))"
lctl rm basic-1 >/dev/null
ok $? "rm"
! lctl ps -a | grep -q basic-1
ok $? "ps -a no longer lists it"
lctl inspect basic-1 >/dev/null 2>"$T/err"
[ $? -eq 1 ] && [ -s "$T/err" ]
ok $? "inspect of a removed sandbox fails ($(cat "$T/err"))"
lctl rm basic-1 2>/dev/null
[ $? -eq 1 ]
ok $? "rm of a removed sandbox fails"

# --rm and rm -f
lctl run --rm --name basic-rm $R -- true
! lctl ps -a | grep -q basic-rm
ok $? "--rm: gone after it ended"
lctl run -d --name basic-2 $R -- sleep 600 >/dev/null
lctl rm basic-2 2>/dev/null
[ $? -eq 1 ] && lctl ps | grep -q basic-2
ok $? "rm of a running sandbox fails without -f"
lctl rm -f basic-2 >/dev/null && ! lctl ps -a | grep -q basic-2
ok $? "rm -f stops and removes it"
lctl run -d --name basic-3 $R -- sleep 600 >/dev/null
lctl run -d --name basic-3 $R -- true >/dev/null 2>"$T/err"
[ $? -eq 125 ] && [ -s "$T/err" ]
ok $? "a second sandbox of the same name is refused ($(cat "$T/err"))"
lctl rm -f basic-3 >/dev/null

kill -0 "$VMM_PID"
ok $? "lensvmm still runs"
tap_done
