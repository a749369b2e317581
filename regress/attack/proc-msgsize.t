#!/bin/sh
# A compromised child sends its parent (or its peer) a message one
# byte short or one byte long: the receiver checks the exact size for
# the type before any handler runs, logs the peer, type and size, and
# never acts on it (doc/DESIGN.md, IPC: a parent trusts no child).
# The regress builds (LENS_REGRESS_MSGSIZE=ROLE:TYPE:short|long,
# common/imsg.c) make the named role mangle every message of TYPE.
#
#	lensvmm control -> parent, every request type: the parent drops
#		the request with an error, keeps serving, and neither
#		creates, stops nor removes a sandbox.  Before the fix the
#		parent copied the payload unchecked ("control checked the
#		lengths").
#	lensvmm jail -> parent, every message type (READY, FAILED,
#		EXEC_EXIT, EXIT): the jail process parses the workload's
#		lens-init frames and may be compromised; the parent names
#		peer, type and size, kills that sandbox, and goes on serving
#		the others.  Before the change (a loop of its own) the
#		parent refused them with "bad READY" and the like, naming
#		neither type nor size.
#	lensctl client -> jail process, on an attached exec stream
#		(STDIN, STDIN_EOF, RESIZE, SIGNAL, an unknown type): the
#		client is a member of group lens talking to the jail
#		process directly once its connection was passed on; the jail
#		process names peer, type and size, detaches that client and
#		the sandbox runs on.  Before the change (a loop of its own)
#		it named neither the size nor the peer's channel.
#	lensvmm parent -> jail process, STOP and FINISH: the jail process
#		(proc_dispatch) names peer, type and size, kills its sandbox
#		and exits; lensvmm serves on.  Before the change the sizes of
#		neither were checked by a table and FINISH's not at all.
#	lensnetd dns, proxy -> parent, AUDIT: the parent ends lensnetd
#		(exit 1) naming peer, type and size, and forwards nothing.
#		Before the fix AUDIT carried no length of its own: a short or
#		long one went on to lensauditd.
#	lensnetd proxy -> dns, RESOLVE, and dns -> proxy, RESOLVED and
#		DNSMAP, on the channel between the two (no longer relayed by
#		the parent): the receiving child names peer, type and size
#		and ends, lensnetd exits 1; a RESOLVE never reaches the
#		upstream, a RESOLVED never opens a connection.  Before the
#		change the parent refused them (the receiver was the parent).
#	lensnetd proxy -> parent, LEAF_REQ (TLS interception): the parent
#		names peer, type and size and lensnetd exits 1; nothing is
#		asked of lenscredd and the sandbox gets no certificate.
#		New with the message (sized by the parent's table from the
#		start).
#	lensauditd listener -> writer, HELLO and APPEND: the writer ends
#		the daemon (exit 1, not a crash) naming peer, type and size,
#		and writes no record.  Before the fix APPEND carried no
#		length of its own: a short or long one went on to the
#		record's formatting, whose failure named none of them.
#	lensauditd client -> listener, HELLO and APPEND (auditpeer, not a
#		regress build: a client is any allowed user, e.g. a hostile
#		member of an audit client's group): the listener names the
#		client, type and size, ends that connection, writes nothing,
#		and serves a client that stayed connected meanwhile.  Before
#		the change (a loop of its own) it said "HELLO of the wrong
#		size", naming neither type nor size.
LENS_REGRESS=$(cd "$(dirname "$0")/.." && pwd)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
. "$(dirname "$0")/../networld.sh"
vmm_require
RVMM=$OBJ/regress/lensvmm
RAUDITD=$OBJ/regress/lensauditd
for b in "$RVMM" "$RAUDITD" "$TOOLS/auditpeer"; do
	[ -x "$b" ] || { echo "1..0 # SKIP $b not built (make regress-bins)"; exit 0; }
done

tap_plan 128
tmpdir_setup
chmod 0755 "$T"

# --- lensauditd: listener -> writer
for c in 41100001:short 41100001:long 41100003:short 41100003:long; do
	rm -rf "$T/audit"
	: >"$T/auditd.log"
	rm -f "$T/audit.pub" "$T/audit.witness"
	LENS_REGRESS_MSGSIZE=listener:$c timeout 20 "$RAUDITD" -d \
	    -D "$T/audit" -s "$T/auditd.sock" -P "$T/audit.pub" \
	    -W "$T/audit.witness" >>"$T/auditd.log" 2>&1 &
	apid=$!
	wait_until 10 grep -q 'ready at seq' "$T/auditd.log"
	"$TOOLS/auditpeer" "$T/auditd.sock" typed sizer regress.sizecheck \
	    >"$T/peer.out" 2>&1
	wait "$apid"
	rc=$?
	[ "$rc" -eq 1 ] &&
	    grep -q "writer.*listener: bad message 0x${c%%:*} ([0-9]* bytes)" \
	    "$T/auditd.log"
	r=$?
	ok $r "lensauditd: listener's ${c#*:} 0x${c%%:*}: the writer names peer, type and size, the daemon exits 1 (exit $rc)"
	[ $r -eq 0 ] || sed 's/^/#   /' "$T/auditd.log" | tail -n 6
	! grep -rqs 'regress.sizecheck' "$T/audit"
	ok $? "lensauditd: listener's ${c#*:} 0x${c%%:*}: no record written"
done

# --- lensauditd: client -> listener
rm -rf "$T/audit" "$T/audit.pub" "$T/audit.witness"
auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
rm -f "$T/held.in"; mkfifo "$T/held.in"
"$TOOLS/auditpeer" "$T/auditd.sock" held keeper <"$T/held.in" \
    >"$T/held.out" 2>&1 &
held=$!
exec 4>"$T/held.in"
wait_until 10 grep -q '^welcome 0$' "$T/held.out"
ok $? "lensauditd: a client stays connected (welcomed)"
# scenario type size expected-size answers
for c in "hello-short 41000001 35 36 closed" \
    "hello-long 41000001 37 36 closed" \
    "append-short 41000002 145 146 to 60144 welcome 0 closed" \
    "append-long 41000002 60145 146 to 60144 welcome 0 closed"; do
	set -- $c
	sc=$1 type=$2 size=$3
	shift 3
	case $1 in
	36) want=36; shift ;;
	*) want="$1 $2 $3"; shift 3 ;;
	esac
	from=$(($(wc -l <"$T/auditd.log") + 1))
	out=$("$TOOLS/auditpeer" "$T/auditd.sock" "$sc" sizer | tr '\n' ' ')
	[ "$out" = "$* " ] &&
	    wait_until 5 sh -c "tail -n +$from '$T/auditd.log' | grep -q \
	    'listener\[[0-9]*\]: client [0-9]* (uid 0, pid [0-9]*[^)]*): bad message 0x$type ($size bytes): its size is $want\$'"
	r=$?
	ok $r "lensauditd: client's $sc (0x$type, $size bytes): refused ('$out'), logged naming client, type and size"
	[ $r -eq 0 ] || tail -n +$from "$T/auditd.log" | sed 's/^/#   /'
done
exec 4>&-
wait "$held"
grep -q '^ack 2000000$' "$T/held.out"
ok $? "lensauditd: the client that stayed connected is still served: $(tr '\n' ' ' <"$T/held.out")"
kill -0 "$AUDITD_PID" && [ -n "$(auditd_child listener)" ] &&
    [ -n "$(auditd_child writer)" ]
ok $? "lensauditd: still runs with both children"
[ "$("$LENSCTL" audit show --dir "$T/audit" --type test.sized --json |
    wc -l)" -eq 0 ] &&
    [ "$("$LENSCTL" audit show --dir "$T/audit" --type test.held --json |
    wc -l)" -eq 1 ]
ok $? "lensauditd: no record of a refused message, the held client's written"
auditd_stop
ok $? "lensauditd: clean stop"
rm -rf "$T/audit" "$T/audit.pub" "$T/audit.witness"

# --- lensvmm: control -> parent
auditd_start || { echo "Bail out! lensauditd did not start"; exit 1; }
at_exit 'vmm_stop; auditd_stop'
rootfs_setup || { echo "Bail out! cannot build the test rootfs"; exit 1; }
R="--rootfs $ROOTFS --backend jail"

# sbx_state NAME: its STATUS column in ps -a
sbx_state() {
	lctl ps -a | awk -v n="$1" '$2 == n { print $4 }'
}

for t in RUN:1 EXEC:2 PS:3 STOP:4 RM:5 LOGS:6 INSPECT:7; do
	for how in short long; do
		name=${t%%:*}
		type=5600000${t#*:}
		: >"$T/vmm.log"
		rm -rf "$T/state"
		mkdir -p "$T/state"
		# vmm_start asks ps whether it is ready: not when ps is hooked
		LENS_REGRESS_MSGSIZE=control:$type:$how "$RVMM" -d \
		    -s "$T/vmm.sock" -D "$T/state" -a "$T/auditd.sock" \
		    -i "$LENSINIT" -c "lens-$(basename "$T")" -x "$T/audit" \
		    >>"$T/vmm.log" 2>&1 &
		VMM_PID=$!
		VMM_SOCK=$T/vmm.sock
		wait_until 20 grep -q -- "$VMM_READY" "$T/vmm.log" ||
		    { echo "Bail out! lensvmm did not start"; exit 1; }
		case $name in
		RUN)	out=$(lctl run --name ms-new $R -- echo hello 2>&1) ;;
		*)	lctl run -d --name ms-1 $R -- sleep 600 >/dev/null 2>&1 ||
			    { echo "Bail out! no sandbox to aim at"; exit 1; }
			case $name in
			EXEC)	out=$(lctl exec ms-1 echo hello 2>&1) ;;
			STOP)	out=$(lctl stop ms-1 2>&1) ;;
			RM)	out=$(lctl rm -f ms-1 2>&1) ;;
			LOGS)	out=$(lctl logs ms-1 2>&1) ;;
			INSPECT) out=$(lctl inspect ms-1 2>&1) ;;
			esac ;;
		esac
		[ "$name" = PS ] && out=$(lctl ps 2>&1)
		echo "$out" | grep -q 'refused the request from its control process' &&
		    grep -q "parent.*control: bad message 0x$type ([0-9]* bytes)" "$T/vmm.log"
		r=$?
		ok $r "lensvmm: control's $how $name is refused, the parent names peer, type and size"
		[ $r -eq 0 ] || { diag "lensctl: $out"; sed 's/^/#   /' "$T/vmm.log" | tail -n 6; }
		# never acted on: no new sandbox, ms-1 still running;
		# and the parent keeps serving (ps is not the hooked type)
		if [ "$name" = RUN ]; then
			[ -z "$(lctl ps -a | tail -n +2)" ]
		elif [ "$name" = PS ]; then
			kill -0 "$VMM_PID" && ! echo "$out" | grep -q ms-1 &&
			    pgrep -f 'lensvmm: jail ms-1' >/dev/null &&
			    lctl inspect ms-1 | grep -q '"running"'
		else
			[ "$(sbx_state ms-1)" = running ]
		fi
		ok $? "lensvmm: control's $how $name: not acted on, lensvmm still serves"
		vmm_stop
		[ $? -eq 0 ]
		ok $? "lensvmm: control's $how $name: lensvmm stops cleanly"
	done
done

# --- lensvmm: jail -> parent
# vmm_jail_start TYPE HOW [INIT]: lensvmm whose jail processes mangle TYPE
vmm_jail_start() {
	: >"$T/vmm.log"
	rm -rf "$T/state"
	mkdir -p "$T/state"
	LENS_REGRESS_MSGSIZE=jail:$1:$2 "$RVMM" -d \
	    -s "$T/vmm.sock" -D "$T/state" -a "$T/auditd.sock" \
	    -i "${3:-$LENSINIT}" -c "lens-$(basename "$T")" -x "$T/audit" \
	    >>"$T/vmm.log" 2>&1 &
	VMM_PID=$!
	VMM_SOCK=$T/vmm.sock
	wait_until 20 grep -q -- "$VMM_READY" "$T/vmm.log" ||
	    { echo "Bail out! lensvmm did not start"; exit 1; }
}
# no_jail NAME: its jail process is gone, its sandbox not running
no_jail() {
	wait_until 10 sh -c "! pgrep -f 'lensvmm: [j]ail $1 ' >/dev/null" &&
	    [ "$(sbx_state "$1")" != running ]
}
for t in READY:1 FAILED:2 EXEC_EXIT:4 EXIT:6; do
	for how in short long; do
		name=${t%%:*}
		type=4a00000${t#*:}
		init=
		[ "$name" = FAILED ] && init=/bin/false
		vmm_jail_start "$type" "$how" $init
		case $name in
		READY|FAILED)
			lctl run -d --name ms-2 $R -- sleep 600 >/dev/null 2>&1 ;;
		EXEC_EXIT)
			lctl run -d --name ms-1 $R -- sleep 600 >/dev/null 2>&1 &&
			lctl run -d --name ms-2 $R -- sleep 600 >/dev/null 2>&1 ||
			    { echo "Bail out! no sandbox to aim at"; exit 1; }
			lctl exec ms-2 true >/dev/null 2>&1 ;;
		EXIT)
			lctl run -d --name ms-1 $R -- sleep 600 >/dev/null 2>&1 ||
			    { echo "Bail out! no sandbox to aim at"; exit 1; }
			lctl run --name ms-2 $R -- true >/dev/null 2>&1 ;;
		esac
		wait_until 10 grep -q "parent.*jail ms-2: bad message 0x$type ([0-9]* bytes)" "$T/vmm.log"
		r=$?
		ok $r "lensvmm: jail's $how $name: the parent names peer, type and size"
		[ $r -eq 0 ] || sed 's/^/#   /' "$T/vmm.log" | tail -n 6
		# that sandbox ends, lensvmm serves on, another sandbox runs
		# (READY, FAILED: every jail process is hooked, so a second
		# one is refused the same way and lensvmm survives it too)
		case $name in
		READY|FAILED)
			no_jail ms-2 &&
			! lctl run -d --name ms-3 $R -- sleep 600 >/dev/null 2>&1 &&
			wait_until 10 grep -q "parent.*jail ms-3: bad message 0x$type" "$T/vmm.log" &&
			no_jail ms-3 ;;
		EXEC_EXIT)
			no_jail ms-2 &&
			pgrep -f 'lensvmm: jail ms-1 ' >/dev/null &&
			[ "$(sbx_state ms-1)" = running ] ;;
		EXIT)
			no_jail ms-2 &&
			[ "$(lctl exec ms-1 echo hello 2>&1)" = hello ] ;;
		esac &&
		    kill -0 "$VMM_PID" && lctl ps -a >/dev/null
		r=$?
		ok $r "lensvmm: jail's $how $name: that sandbox ends, lensvmm and the others run on"
		[ $r -eq 0 ] || { pgrep -af "lensvmm: jail" | sed "s/^/#   /"; lctl ps -a | sed 's/^/#   /'; sed 's/^/#   /' "$T/vmm.log" | tail -n 6; }
		vmm_stop
		[ $? -eq 0 ]
		ok $? "lensvmm: jail's $how $name: lensvmm stops cleanly"
	done
done

# --- lensctl client -> jail process, on an exec stream
PEER=$TOOLS/ctlpeer
vmm_jail_start 0 none
lctl run -d --name ms-1 $R -- sleep 600 >/dev/null 2>&1 ||
    { echo "Bail out! no sandbox to aim at"; exit 1; }
for c in 56000008:0 56000009:1 5600000a:7 5600000a:9 5600000b:7 \
    5600000b:9 56000fff:0; do
	type=${c%%:*} len=${c#*:}
	out=$(timeout 20 "$PEER" "$T/vmm.sock" exec-stream ms-1 "$type" "$len" 2>&1)
	[ "$out" = closed ] &&
	    wait_until 10 grep -q "jail.*exec [0-9]* client: bad message 0x$type ($len bytes)" "$T/vmm.log"
	r=$?
	ok $r "lensvmm: a client's $len-byte 0x$type on an exec stream: the jail process names peer, type and size and detaches it"
	[ $r -eq 0 ] || { diag "ctlpeer: $out"; sed 's/^/#   /' "$T/vmm.log" | tail -n 6; }
	[ "$(sbx_state ms-1)" = running ] &&
	    [ "$(lctl exec ms-1 echo hello 2>&1)" = hello ]
	ok $? "lensvmm: a client's $len-byte 0x$type: the sandbox runs on"
done
vmm_stop

# --- lensvmm parent -> jail process
for c in 4a000005:short 4a000005:long 4a000007:long; do
	type=${c%%:*} how=${c#*:}
	: >"$T/vmm.log"
	rm -rf "$T/state"
	mkdir -p "$T/state"
	LENS_REGRESS_MSGSIZE=parent:$type:$how "$RVMM" -d \
	    -s "$T/vmm.sock" -D "$T/state" -a "$T/auditd.sock" \
	    -i "$LENSINIT" -c "lens-$(basename "$T")" -x "$T/audit" \
	    >>"$T/vmm.log" 2>&1 &
	VMM_PID=$!
	VMM_SOCK=$T/vmm.sock
	wait_until 20 grep -q -- "$VMM_READY" "$T/vmm.log" ||
	    { echo "Bail out! lensvmm did not start"; exit 1; }
	lctl run -d --name ms-1 $R -- sleep 600 >/dev/null 2>&1 ||
	    { echo "Bail out! no sandbox to aim at"; exit 1; }
	case $type in
	4a000005) lctl stop -t 30 ms-1 >/dev/null 2>&1 ;;
	4a000007) lctl run --name ms-2 $R -- true >/dev/null 2>&1 ;;
	esac
	wait_until 10 grep -q "jail.*parent: bad message 0x$type ([0-9]* bytes)" "$T/vmm.log"
	r=$?
	ok $r "lensvmm: the parent's $how 0x$type: the jail process names peer, type and size"
	[ $r -eq 0 ] || sed 's/^/#   /' "$T/vmm.log" | tail -n 6
	case $type in
	4a000005) no_jail ms-1 ;;
	4a000007) no_jail ms-2 && [ "$(sbx_state ms-1)" = running ] ;;
	esac &&
	    kill -0 "$VMM_PID" && lctl ps -a >/dev/null
	r=$?
	ok $r "lensvmm: the parent's $how 0x$type: that jail process and its sandbox end, lensvmm serves on"
	[ $r -eq 0 ] || { pgrep -af "lensvmm: jail" | sed "s/^/#   /"; sed 's/^/#   /' "$T/vmm.log" | tail -n 6; }
	vmm_stop
done

# --- lensnetd: dns, proxy -> parent
vmm_stop
ATTACH=$OBJ/regress/tools/netdattach
RNETD=$OBJ/regress/lensnetd
SB=lnms$$
NETD_INST=nms$$
at_exit 'netd_stop; ip netns del $SB 2>/dev/null'
networld_up
ip netns add "$SB" || { echo "Bail out! ip netns add"; exit 1; }
printf 'version: 1\nnetwork:\n  defaultVerdict: deny\n  egress:\n    http:\n      - match: "ok.test"\n        verdict: allow\n      - match: "*.ok.test"\n        verdict: allow\n      - match: "*.tls.ok.test"\n        verdict: allow\n        tlsTerminate: true\n' \
    >"$T/net-policy.yaml"
# the same set-up unmangled: the page comes, over dns and proxy (so the
# checks below can see a RESOLVED that was acted on)
rm -f "$T/netd.log"
NETD=$RNETD netd_start "$NW_DNS" || { echo "Bail out! lensnetd did not start"; exit 1; }
rm -f "$T/hold"; mkfifo "$T/hold"
"$ATTACH" -P "$T/net-policy.yaml" "$T/netd.sock" "/run/netns/$SB" \
    <"$T/hold" >"$T/a.out" 2>&1 &
apid=$!
exec 3>"$T/hold"
wait_until 30 grep -q '^attached' "$T/a.out" ||
    { sed 's/^/#   /' "$T/a.out" "$T/netd.log"; echo "Bail out! the sandbox was not attached"; exit 1; }
http_proxy=http://10.200.0.1:3128 ip netns exec "$SB" timeout 5 \
    /bin/busybox wget -q -O - http://rd-ctl.ok.test/ >"$T/w.out" 2>&1
grep -q ok-web "$T/w.out"
ok $? "lensnetd unmangled: the sandbox gets the page of rd-ctl.ok.test ($(cat "$T/w.out"))"
netd_stop
exec 3>&-
wait "$apid" 2>/dev/null

# SENDER:TYPE:HOW:WHAT:RECEIVER
for c in dns:4e000109:short:dns:parent dns:4e000109:long:dns:parent \
    proxy:4e000109:short:deny:parent proxy:4e000109:long:deny:parent \
    proxy:4e000107:short:rs:dns proxy:4e000107:long:rs:dns \
    dns:4e000108:short:rd:proxy dns:4e000108:long:rd:proxy \
    dns:4e000106:short:dm:proxy dns:4e000106:long:dm:proxy \
    proxy:4e000300:short:leaf:parent proxy:4e000300:long:leaf:parent; do
	role=${c%%:*}; rest=${c#*:}; type=${rest%%:*}; rest=${rest#*:}
	how=${rest%%:*}; rest=${rest#*:}; what=${rest%%:*}; recv=${rest#*:}
	rm -f "$T/netd.log"	# (netd_start counts its lines)
	NETD=$RNETD LENS_REGRESS_MSGSIZE=$role:$type:$how \
	    netd_start "$NW_DNS" || { sed "s/^/#   /" "$T/netd.log"; echo "Bail out! lensnetd did not start"; exit 1; }
	rm -f "$T/hold"; mkfifo "$T/hold"
	"$ATTACH" -P "$T/net-policy.yaml" "$T/netd.sock" "/run/netns/$SB" \
	    <"$T/hold" >"$T/a.out" 2>&1 &
	apid=$!
	exec 3>"$T/hold"
	# a sandbox not attached yet has no way to the gateway: its query
	# would go nowhere and the check below would wait for nothing
	wait_until 30 grep -q '^attached' "$T/a.out" ||
	    { sed 's/^/#   /' "$T/a.out" "$T/netd.log"; echo "Bail out! the sandbox was not attached"; exit 1; }
	# provoke the message until lensnetd ends (what the check wants)
	# or 30 s pass (a lensnetd that let the message through lives on)
	tries=0
	while kill -0 "$NETD_PID" 2>/dev/null && [ $tries -lt 10 ]; do
	tries=$((tries + 1))
	case $what in
	dns)	ip netns exec "$SB" timeout 3 /bin/busybox nslookup \
		    denied-$how.test 10.200.0.1 >/dev/null 2>&1 ;;
	deny)	http_proxy=http://10.200.0.1:3128 ip netns exec "$SB" \
		    timeout 3 /bin/busybox wget -q -O /dev/null \
		    http://denied-$how.test/ >/dev/null 2>&1 ;;
	rs|rd)	http_proxy=http://10.200.0.1:3128 ip netns exec "$SB" \
		    timeout 3 /bin/busybox wget -q -O - \
		    http://$what-$how.ok.test/ >"$T/w.out" 2>&1 ;;
	dm)	ip netns exec "$SB" timeout 3 /bin/busybox nslookup \
		    dm-$how.ok.test 10.200.0.1 >/dev/null 2>&1 ;;
	leaf)	echo | ip netns exec "$SB" timeout 3 openssl s_client \
		    -connect "$NW_OK:443" -servername "lf-$how.tls.ok.test" \
		    >"$T/w.out" 2>&1 ;;
	esac
	# the message is sent by now if it was going to be: give lensnetd
	# 2 s to act on it before the next try
	wait_until 2 sh -c "! kill -0 $NETD_PID"
	done
	kill -TERM "$NETD_PID" 2>/dev/null
	wait "$NETD_PID"
	rc=$?
	NETD_PID=
	rm -f "/run/lens/$NETD_INST.lock"
	exec 3>&-
	wait "$apid" 2>/dev/null
	[ "$rc" -eq 1 ] &&
	    grep -q "^$recv\[[0-9]*\]: $role: bad message 0x$type ([0-9]* bytes)" "$T/netd.log"
	r=$?
	ok $r "lensnetd: $role's $how 0x$type: $recv names peer, type and size, lensnetd exits 1 (exit $rc)"
	[ $r -eq 0 ] || { echo "#   $tries tries"; sed 's/^/#   /' "$T/netd.log"; }
	case $what in
	dns|deny)
		! grep -rqs "denied-$how.test" "$T/audit"
		ok $? "lensnetd: $role's $how 0x$type: nothing of it reaches the audit log" ;;
	rs)	! grep -q "rs-$how.ok.test" "$NW_LOG"
		ok $? "lensnetd: $role's $how 0x$type: dns asks the upstream nothing" ;;
	rd)	grep -q "rd-$how.ok.test" "$NW_LOG" && ! grep -q ok-web "$T/w.out"
		ok $? "lensnetd: $role's $how 0x$type: dns resolved it, the proxy connects nowhere" ;;
	dm)	grep -q "dm-$how.ok.test" "$NW_LOG" &&
		    grep -q "proxy (pid [0-9]*) exited with status 1" "$T/netd.log"
		ok $? "lensnetd: $role's $how 0x$type: the proxy ends (fatal for the channel)" ;;
	leaf)	grep -q 'no peer certificate available' "$T/w.out"
		ok $? "lensnetd: $role's $how 0x$type: the sandbox gets no certificate" ;;
	esac
done
tap_done
