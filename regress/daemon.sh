# Helpers to run Lens daemons in the foreground on private paths.
# Source after regress/lib.sh; needs $T (the test's temp directory).

: "${OBJ:=$(cd "$(dirname "$0")/.." && pwd)/obj}"
AUDITD=${AUDITD:-$OBJ/lensauditd}
LENSCTL=${LENSCTL:-$OBJ/lensctl}
TOOLS=$OBJ/regress/tools
MKAUDITLOG=${MKAUDITLOG:-$TOOLS/mkauditlog}

# wait_until SECONDS CMD...: poll every 50 ms until CMD succeeds
wait_until() {
	_t=$1; shift
	_n=$((_t * 20))
	while [ "$_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
		_n=$((_n - 1))
	done
	return 1
}

# auditd_require: skip the whole test file (TAP plan 1..0) unless this
# is root and the users exist (make users); call before tap_plan
auditd_require() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # skip lensauditd must run as root"
		exit 0
	fi
	if ! id _lensaudit >/dev/null 2>&1 || ! getent group lens >/dev/null; then
		echo "1..0 # skip no _lensaudit user or lens group (make users)"
		exit 0
	fi
}

# _ready_count LOG PATTERN: how many lines of LOG say PATTERN
_ready_count() {
	[ -f "$1" ] || { echo 0; return; }
	grep -c -- "$2" "$1"
}

# _ready_wait NAME LOG PATTERN BEFORE: wait until LOG says PATTERN more
# often than BEFORE times, else print LOG as TAP comments and fail
_ready_wait() {
	wait_until 20 sh -c "[ \$(grep -c -- '$3' '$2') -gt $4 ]" && return 0
	echo "# $1 did not become ready; its log:" >&2
	sed 's/^/#   /' "$2" >&2
	return 1
}

# auditd_start [lensauditd flags]: start on $T/audit and $T/auditd.sock,
# the trusted key in $T/audit.pub, the witness $T/audit.witness,
# log to $T/auditd.log, wait until the writer is ready
auditd_start() {
	_before=$(_ready_count "$T/auditd.log" 'ready at seq')
	"$AUDITD" -d -D "$T/audit" -s "$T/auditd.sock" -P "$T/audit.pub" \
	    -W "$T/audit.witness" "$@" \
	    >>"$T/auditd.log" 2>&1 &
	AUDITD_PID=$!
	_ready_wait lensauditd "$T/auditd.log" 'ready at seq' "$_before"
}

# auditd_verify [lensctl audit verify flags]: the log of auditd_start
# verifies with its trusted key and witness
auditd_verify() {
	"$LENSCTL" audit verify --dir "$T/audit" --pubkey "$T/audit.pub" \
	    --witness "$T/audit.witness" "$@"
}

# the pid of a child role of the running lensauditd
auditd_child() {
	pgrep -P "$AUDITD_PID" -f "lensauditd: $1" | head -n 1
}

auditd_stop() {
	[ -n "${AUDITD_PID:-}" ] || return 0
	kill -TERM "$AUDITD_PID" 2>/dev/null
	wait "$AUDITD_PID" 2>/dev/null
	_rc=$?
	AUDITD_PID=
	return $_rc
}

# kill -9 the parent only: its children must die with it (PDEATHSIG)
auditd_kill9() {
	kill -KILL "$AUDITD_PID" 2>/dev/null
	wait "$AUDITD_PID" 2>/dev/null
	AUDITD_PID=
}

# ---- lensvmm (sandboxes)
VMM=${VMM:-$OBJ/lensvmm}
LENSINIT=${LENSINIT:-$OBJ/lens-init}
# VMM_SOCK: $T/vmm.sock, set by vmm_start ($T is not known yet here)
# the pattern of lensvmm's log line that says it serves its socket
VMM_READY=${VMM_READY:-'started: socket'}

# vmm_require: skip the whole test file (TAP plan 1..0) unless lensvmm
# and lens-init are built and this is root; call before tap_plan
vmm_require() {
	_why=
	[ -x "$VMM" ] || _why="lensvmm not built"
	[ -z "$_why" ] && [ ! -x "$LENSINIT" ] && _why="lens-init not built"
	[ -z "$_why" ] && [ "$(id -u)" -ne 0 ] && _why="not root"
	[ -z "$_why" ] && [ ! -x /bin/busybox ] && _why="no /bin/busybox"
	if [ -n "$_why" ]; then
		echo "1..0 # SKIP $_why"
		exit 0
	fi
}

# vmm_start [lensvmm flags]: start lensvmm on $T/vmm.sock with its
# state in $T/state, logging to $T/vmm.log; lensauditd must run on
# $T/auditd.sock (it is started here if this test has not started it;
# its state directory $T/audit is one lensvmm keeps out of sandboxes),
# its default policy is $T/default-policy.yaml (none unless the test
# writes one);
# waits until lensvmm logs that it is ready and answers `ps`
vmm_start() {
	if [ -z "${AUDITD_PID:-}" ]; then
		auditd_start || return 1
	fi
	VMM_SOCK=$T/vmm.sock
	mkdir -p "$T/state"
	_before=$(_ready_count "$T/vmm.log" "$VMM_READY")
	"$VMM" -d -s "$VMM_SOCK" -D "$T/state" -a "$T/auditd.sock" \
	    -i "$LENSINIT" -c "lens-$(basename "$T")" \
	    -P "$T/default-policy.yaml" -x "$T/audit" "$@" >>"$T/vmm.log" 2>&1 &
	VMM_PID=$!
	_ready_wait lensvmm "$T/vmm.log" "$VMM_READY" "$_before" || return 1
	if ! wait_until 10 "$LENSCTL" -s "$VMM_SOCK" ps; then
		echo "# lensvmm does not answer ps; its log:" >&2
		sed 's/^/#   /' "$T/vmm.log" >&2
		return 1
	fi
}

vmm_stop() {
	[ -n "${VMM_PID:-}" ] || return 0
	kill -TERM "$VMM_PID" 2>/dev/null
	wait "$VMM_PID" 2>/dev/null
	_rc=$?
	VMM_PID=
	return $_rc
}

# kill -9 lensvmm's parent only
vmm_kill9() {
	kill -KILL "$VMM_PID" 2>/dev/null
	wait "$VMM_PID" 2>/dev/null
	VMM_PID=
}

# lensctl on this test's lensvmm
lctl() {
	"$LENSCTL" -s "$VMM_SOCK" "$@"
}

# rootfs_setup: $ROOTFS, the test rootfs of regress/mkrootfs.sh, built
# once under $OBJ/regress and reused
rootfs_setup() {
	ROOTFS=$OBJ/regress/rootfs
	sh "${LENS_REGRESS:-$(dirname "$0")}/mkrootfs.sh" "$ROOTFS" >&2 ||
	    return 1
	export ROOTFS
}

# vmm_setup [lensvmm flags]: the usual start of a sandbox test after
# tap_plan and tmpdir_setup: $ROOTFS built, lensauditd and lensvmm
# running, both stopped at exit; bails out if they do not start.  $R:
# lensctl run's options for a sandbox of $ROOTFS on the jail backend
# (named: quiet, and a jail on KVM hosts too)
vmm_setup() {
	chmod 0755 "$T"		# lensvmm's unprivileged processes use it
	at_exit 'vmm_stop; auditd_stop'
	rootfs_setup || { echo "Bail out! cannot build the test rootfs"; exit 1; }
	vmm_start "$@" || { echo "Bail out! lensvmm did not start"; exit 1; }
	R="--rootfs $ROOTFS --backend jail"
}

# netrootfs_setup: $NR, the rootfs with network clients (curl, dig,
# openssl) of regress/mknetrootfs.sh, built once under $OBJ/regress and
# reused; bails out if it cannot be built
netrootfs_setup() {
	NR=$OBJ/regress/netrootfs
	sh "${LENS_REGRESS:-$(dirname "$0")}/mknetrootfs.sh" "$NR" >&2 ||
	    { echo "Bail out! cannot build the network rootfs"; exit 1; }
}

# netstack_setup [lensvmm flags]: after networld_up, the governed
# network as it runs in production: lensauditd (user _lensnet may
# append), lensnetd on the test internet's DNS, lensvmm attaching its
# sandboxes to lensnetd; all stopped at exit; bails out if one does
# not start
netstack_setup() {
	at_exit 'netd_stop; vmm_stop; auditd_stop'
	auditd_start -u _lensnet ||
	    { echo "Bail out! lensauditd did not start"; exit 1; }
	netd_start "$NW_DNS" ||
	    { echo "Bail out! lensnetd did not start"; exit 1; }
	vmm_setup -n "$T/netd.sock" "$@"
}

# ---- lensnetd (the network)
NETD=${NETD:-$OBJ/lensnetd}

# netd_require: skip the test file unless lensnetd, nft and python3 are
# there (and what vmm_require wants); call before tap_plan
netd_require() {
	vmm_require
	if [ ! -x "$NETD" ] || ! command -v nft >/dev/null ||
	    ! command -v python3 >/dev/null; then
		echo "1..0 # SKIP needs lensnetd, nft and python3"
		exit 0
	fi
}

# netd_start UPSTREAM [lensnetd flags]: lensnetd on $T/netd.sock with
# the DNS upstream UPSTREAM, logging to $T/netd.log; ready once it has
# reached lensauditd (which must run on $T/auditd.sock)
netd_start() {
	_up=$1
	shift
	NETD_INST=${NETD_INST:-n$$}
	_before=$(grep -c 'audit: connected to lensauditd' "$T/netd.log" \
	    2>/dev/null || echo 0)
	"$NETD" -d -v -n "$NETD_INST" -s "$T/netd.sock" -a "$T/auditd.sock" \
	    -u "$_up" "$@" >>"$T/netd.log" 2>&1 &
	NETD_PID=$!
	wait_until 10 sh -c "[ \$(grep -c 'audit: connected to lensauditd' \
	    '$T/netd.log') -gt $_before ]"
}

netd_stop() {
	[ -n "${NETD_PID:-}" ] || return 0
	kill -TERM "$NETD_PID" 2>/dev/null
	wait "$NETD_PID" 2>/dev/null
	_rc=$?
	NETD_PID=
	rm -f "/run/lens/$NETD_INST.lock"
	return $_rc
}

netd_kill9() {
	kill -KILL "$NETD_PID" 2>/dev/null
	wait "$NETD_PID" 2>/dev/null
	NETD_PID=
}

# ---- lenscredd (the sandbox CAs)
CREDD=${CREDD:-$OBJ/lenscredd}

_credd_ready_count() {
	[ -f "$T/credd.log" ] || { echo 0; return; }
	grep -c 'vault.*ready:' "$T/credd.log"
}

# credd_require BINARY...: skip the whole test file (TAP plan 1..0)
# unless this is root, the Lens users exist and the binaries are built;
# call before tap_plan
credd_require() {
	if [ "$(id -u)" -ne 0 ] || ! id _lenscred >/dev/null 2>&1 ||
	    ! id _lensnet >/dev/null 2>&1 || ! getent group lens >/dev/null; then
		echo "1..0 # SKIP needs root and the Lens users (make users)"
		exit 0
	fi
	for _b in "$@"; do
		[ -x "$_b" ] || { echo "1..0 # SKIP $_b not built (make regress-bins)"; exit 0; }
	done
}

# credd_as USER GROUP [SUPPLEMENTARY] CMD...: CMD with that uid and gid
# (and supplementary group), no others
credd_as() {
	_u=$1 _g=$2 _sg=$3
	shift 3
	if [ -n "$_sg" ]; then
		setpriv --reuid="$_u" --regid="$_g" --groups="$_sg" "$@"
	else
		setpriv --reuid="$_u" --regid="$_g" --clear-groups "$@"
	fi
}

# credd_start [lenscredd flags]: lenscredd on $T/cred.sock with its
# state in $T/cred, its audit to $T/auditd.sock (a private path: where
# auditd_start puts lensauditd; -a in the flags overrides it), logging
# to $T/credd.log; waits until the vault says it is ready; 1 (and its
# log) if it does not
credd_start() {
	_before=$(_credd_ready_count)
	"$CREDD" -d -D "$T/cred" -s "$T/cred.sock" -a "$T/auditd.sock" "$@" \
	    >>"$T/credd.log" 2>&1 &
	CREDD_PID=$!
	if ! wait_until 20 sh -c \
	    "[ \$(grep -c 'vault.*ready:' '$T/credd.log') -gt $_before ]"; then
		echo "# lenscredd did not become ready; its log:" >&2
		sed 's/^/#   /' "$T/credd.log" | tail -n 20 >&2
		return 1
	fi
}

# the pid of a child role of the running lenscredd
credd_child() {
	pgrep -P "$CREDD_PID" -f "lenscredd: $1" | head -n 1
}

credd_stop() {
	[ -n "${CREDD_PID:-}" ] || return 0
	kill -TERM "$CREDD_PID" 2>/dev/null
	wait "$CREDD_PID" 2>/dev/null
	_rc=$?
	CREDD_PID=
	return $_rc
}

credd_kill9() {
	kill -KILL "$CREDD_PID" 2>/dev/null
	wait "$CREDD_PID" 2>/dev/null
	CREDD_PID=
}
