#!/bin/sh
# lensnetd and lenscredd: the sandbox CA made at attach (CA_CREATE) and
# handed to lensvmm in NETD_ATTACHED, destroyed at detach; a sandbox
# attached while lenscredd is away runs without one (logged, audited
# as net.ca), lensnetd reconnects when lenscredd is back, and a CA
# reply of the wrong size is refused.  netdattach plays lensvmm.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

ATTACH=$OBJ/regress/tools/netdattach
CREDD=$OBJ/regress/lenscredd	# the MSGSIZE hook
CP=$TOOLS/credpeer
if [ "$(id -u)" -ne 0 ] || [ ! -x "$NETD" ] || [ ! -x "$ATTACH" ] ||
    [ ! -x "$CREDD" ] || [ ! -x "$CP" ] || ! id _lenscred >/dev/null 2>&1 ||
    ! command -v nft >/dev/null || ! command -v openssl >/dev/null; then
	echo "1..0 # SKIP needs root, lensnetd, lenscredd, netdattach, credpeer, nft, openssl"
	exit 0
fi

tap_plan 14
tmpdir_setup
chmod 0755 "$T"
SB=lnca$$
NETD_INST=netca$$
ID=$(printf 'ca%062d' $$)
at_exit 'netd_stop; credd_stop; auditd_stop; ip netns del $SB 2>/dev/null'

attach_bg() {	# attach_bg NAME: attach $SB as $ID, held through NAME.hold
	rm -f "$T/$1.hold" "$T/$1.out"
	mkfifo "$T/$1.hold"
	"$ATTACH" -i "$ID" "$T/netd.sock" "/run/netns/$SB" <"$T/$1.hold" \
	    >"$T/$1.out" 2>&1 &
	ATTACH_PID=$!
	exec 3>"$T/$1.hold"
	wait_until 15 grep -q -e '^attached' -e '^error' -e '^closed' \
	    "$T/$1.out"
}
detach() {	# close the held connection; wait for the detach
	_n=$(grep -c 'detached: connection closed' "$T/netd.log")
	exec 3>&-
	wait "$ATTACH_PID"
	wait_until 10 sh -c "[ \$(grep -c 'detached: connection closed' \
	    '$T/netd.log') -gt $_n ]"
}
pem() {		# the PEM netdattach printed
	sed -n '/^-----BEGIN/,/^-----END/p' "$T/$1.out"
}
audit_has() {
	wait_until 10 sh -c "cat '$T'/audit/*.log | grep -q '$1'"
}

auditd_start -u _lensnet || { echo "Bail out! lensauditd did not start"; exit 1; }
credd_start || { echo "Bail out! lenscredd did not start"; exit 1; }
ip netns add "$SB" || { echo "Bail out! ip netns add"; exit 1; }
netd_start 198.18.0.53 -k "$T/cred.sock" ||
    { echo "Bail out! lensnetd did not start"; exit 1; }
wait_until 10 grep -q "lenscredd: connected to $T/cred.sock" "$T/netd.log"
ok $? "lensnetd connects to lenscredd (-k)"

# 1. attach: the CA comes back in ATTACHED
attach_bg a1
grep -q '^ca [0-9]' "$T/a1.out"
ok $? "ATTACHED carries the sandbox CA" || { diag "$(cat "$T/a1.out")"; diag "$(grep -i -e cred -e " CA" "$T/netd.log")"; }
pem a1 >"$T/a1.pem"
openssl x509 -in "$T/a1.pem" -noout -text >"$T/a1.txt" 2>&1 &&
    grep -q 'CA:TRUE' "$T/a1.txt" && grep -q "$ID" "$T/a1.txt"
ok $? "it is a CA certificate naming the sandbox" || diag "$(head -20 "$T/a1.txt")"
"$CP" "$T/cred.sock" get "$ID" "$T/get.pem" >"$T/get.out" 2>&1 &&
    cmp -s "$T/get.pem" "$T/a1.pem"
ok $? "it is the CA lenscredd holds for the sandbox" || diag "$(cat "$T/get.out")"
audit_has '"net.ca"'
ok $? "the CA is audited (net.ca)"

# 2. detach: lenscredd destroys the CA
detach
wait_until 10 sh -c "'$CP' '$T/cred.sock' get '$ID' | grep -q '^error'"
ok $? "after the detach lenscredd has no CA for the sandbox (CA_GET fails)"

# 3. lenscredd away: the sandbox attaches without a CA, and it is said
credd_stop
wait_until 10 grep -q 'lenscredd: .*reconnecting' "$T/netd.log"
attach_bg a2
grep -q '^attached' "$T/a2.out" && grep -q '^no ca$' "$T/a2.out"
ok $? "lenscredd down: the sandbox attaches, without a CA" || diag "$(cat "$T/a2.out")"
grep -q "sandbox $ID: no sandbox CA: lenscredd is not connected" "$T/netd.log"
ok $? "the log says why it has no CA"
audit_has '"reason":"lenscredd is not connected"'
ok $? "and the audit too (net.ca, ca false)"
detach

# 4. lenscredd back: reconnected, CA again; the DESTROY kept while it
# was away reached it
n=$(grep -c 'lenscredd: connected' "$T/netd.log")
credd_start || { echo "Bail out! lenscredd did not restart"; exit 1; }
wait_until 10 sh -c "[ \$(grep -c 'lenscredd: connected' '$T/netd.log') -gt $n ]"
ok $? "lensnetd reconnects when lenscredd is back"
attach_bg a3
grep -q '^ca [0-9]' "$T/a3.out"
ok $? "and the next sandbox gets its CA" || diag "$(cat "$T/a3.out")"
detach
wait_until 10 sh -c "'$CP' '$T/cred.sock' get '$ID' | grep -q '^error'"
ok $? "destroyed again at detach"

# 5. a CA reply one byte long (a compromised lenscredd listener)
credd_stop
n=$(grep -c 'lenscredd: connected' "$T/netd.log")
LENS_REGRESS_MSGSIZE=listener:43000005:long credd_start ||
    { echo "Bail out! lenscredd did not restart"; exit 1; }
wait_until 10 sh -c "[ \$(grep -c 'lenscredd: connected' '$T/netd.log') -gt $n ]"
attach_bg a4
grep -q '^attached' "$T/a4.out" && grep -q '^no ca$' "$T/a4.out" &&
    grep -q 'lenscredd: refused reply: CA: pemlen' "$T/netd.log"
ok $? "a CA reply of the wrong size is refused; the sandbox has no CA" ||
    diag "$(cat "$T/a4.out"; grep lenscredd "$T/netd.log" | tail -5)"
detach
kill -0 "$NETD_PID"
ok $? "lensnetd still runs"
