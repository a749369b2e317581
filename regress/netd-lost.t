#!/bin/sh
# lensnetd killed under a running sandbox: the sandbox stays fail closed
# (no network), and lensvmm notices: `ps` says "running (network
# lost)", `inspect` says network state "lost", the audit has a
# sandbox.network_lost event.  No lensnetd comes back here: the
# sandbox stays lost until it is stopped.  Re-attaching it to a
# restarted lensnetd is regress/netd-restart.t.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/networld.sh"
netd_require
require_cmds curl dnsmasq

tap_plan 6
tmpdir_setup
chmod 0755 "$T"
networld_up
netrootfs_setup
deny_policy "$T/policy.yaml" <<EOF
    http:
      - {match: ok.test, verdict: allow}
EOF
netstack_setup
lctl run -d --name nl --rootfs "$NR" --policy "$T/policy.yaml" -- sleep 600 \
    >/dev/null 2>&1
ok $? "a sandbox with a network runs"
out=$(lctl exec nl curl -sS --max-time 10 http://ok.test/ 2>&1)
[ "$out" = ok-web ]
ok $? "it reaches ok.test ($out)"
lctl inspect nl | tr -d ' \n' | grep -q '"network":{[^}]*"state":"attached"'
ok $? "inspect: network attached"

netd_kill9
wait_until 10 sh -c "'$LENSCTL' -s '$VMM_SOCK' ps | grep -q ' nl .*running (network lost)'"
ok $? "ps: running (network lost) ($(lctl ps | grep ' nl '))"
lctl inspect nl | tr -d ' \n' | grep -q '"network":{[^}]*"state":"lost"'
ok $? "inspect: network lost"
wait_until 5 sh -c "'$LENSCTL' audit show --json --dir '$T/audit' |
    grep -q '\"type\":\"sandbox.network_lost\"'"
ok $? "the audit has sandbox.network_lost"
lctl stop -t 1 nl >/dev/null 2>&1
log_if_failed lensvmm "$T/vmm.log" 20
tap_done
