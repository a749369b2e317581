#!/bin/sh
# A compromised lensnetd proxy forges IMSG_NETD_EXCH_REQ to its parent
# (issue 13): the REAL parent, with real lenscredd, lensauditd, lensvmm
# and the test internet's API upstream (credworld.sh).  The regress
# build's LENS_REGRESS_EXCHREQ (lensnetd/proxy.c, -DREGRESS only) makes
# the proxy forge its n-th request as the n-th item says; the sandbox
# f1 sends, each time, an honest request with its placeholder to
# hdr.api.test, the host its credential k is bound to.  Forged: a
# credential index the policy lacks, a host the credential is not bound
# to, a port it is not bound to, a host it is bound to but the policy
# denies, a bad address family, a host without its NUL, a sandbox that
# does not exist, another sandbox (f2, whose credential 0 is bound
# elsewhere).  Each: the parent refuses it, logging the reason; the
# sandbox gets 502 naming it; nothing reaches lenscredd's exchange (no
# cred.use, nothing upstream); lensnetd serves on, and the last,
# unforged request goes through the exchange (cred.use, the upstream
# gets the real value).  With exchreq.c's family and policy_http checks
# disabled, the denied and family forgeries reach lenscredd (cred.use):
# tests 15-22 and 39 fail.  What no check can refuse: a proxy naming
# another sandbox AND a credential that sandbox's policy binds to the
# host (the proxy carries every sandbox's traffic); the parent bounds
# it to that sandbox's policy.  A wrong size is proc-msgsize.t's class.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
. "$(dirname "$0")/../networld.sh"
. "$(dirname "$0")/../credworld.sh"
NETD=$OBJ/regress/lensnetd
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
cw_need
[ -x "$NETD" ] || { echo "1..0 # SKIP $NETD not built (make regress-bins)"; exit 0; }

# name:answer:forgery:what the parent says; answer none: the refusal
# goes to the sandbox the proxy named, the forger's request gets none
CASES='cred:502:cred=5:the sandbox has no credential 5
host:502:host=other.api.test:credential k is not bound to other.api.test:443
port:502:port=8443:credential k is not bound to hdr.api.test:8443
denied:502:host=d.api.test:the policy does not allow d.api.test:443
family:502:family=99:address family 99
nonul:502:nonul:host not NUL-terminated
nosandbox:none:sandbox=999:no such sandbox
othersandbox:none:sandbox+1:credential k2 is not bound to hdr.api.test:443'
N=$(printf '%s\n' "$CASES" | wc -l)
tap_plan $((N * 4 + 7))
tmpdir_setup
chmod 0755 "$T"

LENS_REGRESS_EXCHREQ=$(printf '%s\n' "$CASES" | cut -d: -f3 | paste -sd,)
export LENS_REGRESS_EXCHREQ
K=$(cw_secret) K2=$(cw_secret)
cw_up
cw_store k "$K" >"$T/store.out" 2>&1 && cw_store k2 "$K2" >>"$T/store.out" 2>&1 ||
    { echo "Bail out! cred add: $(cat "$T/store.out")"; exit 1; }
at_exit 'log_if_failed lensnetd "$T/netd.log" 40'

deny_policy "$T/p1.yaml" <<'EOF2'
    http:
      - {match: "*.api.test", verdict: allow, caFile: testca.pem}
      - {match: d.api.test, verdict: deny}
credentials:
  - id: k
    envVar: K_KEY
    injections:
      - {type: header, host: "hdr.api.test:443", name: Authorization, value: "Bearer {secret}"}
      - {type: header, host: d.api.test, name: Authorization, value: "Bearer {secret}"}
EOF2
deny_policy "$T/p2.yaml" <<'EOF2'
    http:
      - {match: "*.api.test", verdict: allow, caFile: testca.pem}
credentials:
  - id: k2
    envVar: K2_KEY
    injections:
      - {type: header, host: two.api.test, name: Authorization, value: "Bearer {secret}"}
EOF2
# f1 attaches first (lensnetd's sandbox 1), f2 second (sandbox+1)
cw_run f1 "$T/p1.yaml" && ID1=$CW_ID && cw_run f2 "$T/p2.yaml"
ok $? "sandboxes f1 and f2 run" || diag "$(cat "$T/run-f1.out" "$T/run-f2.out" 2>/dev/null)"
PH=$(cw_ph f1 K_KEY)
case $PH in lens-ph-*) true ;; *) false ;; esac
ok $? "f1's K_KEY holds a placeholder"

C='curl -sS --max-time 20 -w "\ncode=%{http_code}\n"'
uses() {
	"$LENSCTL" audit show --json --dir "$T/audit" 2>/dev/null |
	    grep -c '"type":"cred.use"'
}
i=0
printf '%s\n' "$CASES" >"$T/cases"
while IFS=: read -r name answer forge why; do
	i=$((i + 1))
	# a forger's request that gets no answer waits 5 s, not 20
	none=; mt=20; [ "$answer" = none ] && none=1 mt=5
	cw_sh f1 "$C --max-time $mt -H \"Authorization: Bearer \$K_KEY\" https://hdr.api.test/forged/$name" \
	    >"$T/resp-$name" 2>&1 </dev/null
	if [ -n "$none" ]; then
		! grep -q '^code=200$' "$T/resp-$name" &&
		    ! grep -q '^code=502$' "$T/resp-$name"
		ok $? "$name ($forge): the forger's request gets no answer (the refusal went to the sandbox it named)" ||
		    diag "$(tail -n 3 "$T/resp-$name")"
	else
		[ "$(tail -n 1 "$T/resp-$name")" = "code=502" ] &&
		    grep -qF "credential exchange: $why" "$T/resp-$name"
		ok $? "$name ($forge): the sandbox gets 502 naming why" ||
		    diag "$(tail -n 3 "$T/resp-$name")"
	fi
	grep -q "proxy: exchange refused for sandbox .*: $why\$" "$T/netd.log" &&
	    grep -q "regress: proxy forges exchange request $i: $forge\$" "$T/netd.log"
	ok $? "$name: the parent refused it, logging the reason"
	[ -z "$(cw_log "r['target'] == '/forged/$name'")" ]
	ok $? "$name: nothing reached the upstream"
	[ "$(uses)" -eq 0 ]
	ok $? "$name: no cred.use (lenscredd's exchange never asked)"
done <"$T/cases"

# lensnetd serves on, and the honest exchange goes through
kill -0 "$NETD_PID"
ok $? "lensnetd still runs after $N forged requests"
cw_sh f1 "$C -H \"Authorization: Bearer \$K_KEY\" https://hdr.api.test/honest" \
    >"$T/resp-honest" 2>&1 </dev/null
[ "$(tail -n 1 "$T/resp-honest")" = "code=200" ] && ! grep -qF "$K" "$T/resp-honest"
ok $? "the next, unforged request: 200 through the exchange, no secret" ||
    diag "$(tail -n 3 "$T/resp-honest")"
[ -n "$(cw_log "r['target'] == '/honest' and ['Authorization', 'Bearer $K'] in r['headers']")" ]
ok $? "the upstream received the real value for it"
cw_audit '"type":"cred.use"' "\"sandbox\":\"$ID1\"" '"credential":"k"' '"path":"/honest"'
ok $? "audited cred.use for it"
[ "$(uses)" -eq 1 ]
ok $? "exactly one cred.use in all"
