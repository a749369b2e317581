#!/bin/sh
# The microVM monitor (lensvmm/vm/*.c, run by obj/regress/tools/vmrun)
# under real KVM with the freestanding test guest (lensvmm/testguest/).
# One VM per case: "basic" drives every device the way a driver does;
# the others are hostile drivers (descriptor loops, addresses outside
# memory, huge lengths, bad queue sizes, writes to the read-only disk,
# garbage register writes).  For each case: the VMM must stop cleanly
# on the guest's final i8042 reset, and every TAP line of the guest
# must be "ok".  Host-side effects checked too: the writable disk's
# bytes, the read-only disk untouched, the hvc0 line in the console
# log, and no sanitizer report (under make SANITIZE=1).  Every case runs
# the way the daemon's vm process will: seccomp filters on the process
# and on each vCPU and I/O thread, chrooted into an empty directory as
# an unprivileged uid (vmrun -S -U); "basic" runs once more without
# them, so LeakSanitizer (off under seccomp) checks it too.
# Where /dev/kvm is missing, KVM comes from a nested QEMU guest (see
# regress/vmkvm.sh); without either, every test is skipped with the
# reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vmkvm.sh"

CASES="basic loop oob hole hugelen wrap nextoob availidx headoob qsize
ringoob indirect rowrite blkbad garbage"
ncases=$(echo $CASES | wc -w)
tap_plan $((2 * ncases + 10))
tmpdir_setup

VMRUN=$OBJ/regress/tools/vmrun
CASE_TIMEOUT=${VM_CASE_TIMEOUT:-300}	# seconds per VM (nested: emulated)
GUEST=$OBJ/testguest.bin
mode=$(kvm_mode)
if [ ! -x "$VMRUN" ] || [ ! -f "$GUEST" ]; then
	mode="none: $VMRUN or $GUEST not built (make regress-bins)"
fi
case $mode in
direct|nested)
	diag "KVM: $mode"
	;;
*)
	skip_rest "${mode#none: }"
	;;
esac

# vda: sector s, byte j = (s * 7 + j) mod 256 (the guest checks it);
# vdb: zeros, the guest writes "lens vdb sector N\n" + 'x' at 2..5
mkdir "$T/w"
perl -e 'for $s (0..511) { print pack("C*", map { ($s * 7 + $_) & 255 }
    0..511) }' >"$T/w/vda.img"
dd if=/dev/zero of="$T/w/vdb0.img" bs=1024 count=1024 2>/dev/null
vdasum=$(md5sum <"$T/w/vda.img" | cut -c1-32)
cp "$GUEST" "$T/w/testguest.bin"
printf 'lens uart input\n' >"$T/w/uartin"

cat >"$T/run.sh" <<EOF
for c in $(echo $CASES) nosb; do
	cp vdb0.img vdb.img
	if [ \$c = nosb ]; then
		sb= t=basic
	else
		sb="-S -U 60999 -R \$(pwd)/empty" t=\$c
	fi
	timeout $CASE_TIMEOUT $VMRUN -m 64 -E -I uartin -d vda.img -w vdb.img -n lvt0 -N 198.18.0.1/24 \\
	    \$sb -T testguest.bin -t \$t >out.\$c 2>err.\$c
	rc=\$?
	sed "s/^/G \$c: /" out.\$c
	sed "s/^/E \$c: /" err.\$c
	echo "RC \$c: \$rc"
	if [ \$c = basic ]; then
		for s in 2 3 4 5; do
			echo "VDB \$s: \$(dd if=vdb.img bs=512 skip=\$s count=1 \\
			    2>/dev/null | head -c 17)"
		done
		echo "VDBX: \$(dd if=vdb.img bs=512 skip=2 count=4 2>/dev/null |
		    tr -d 'lensvdbctor0-9 \\n' | tr -d x | wc -c)"
	fi
	echo "VDA \$c: \$(md5sum <vda.img | cut -c1-32)"
done
# each thread role's filter kills a forbidden call, and it is named
for r in process vcpu io; do
	timeout $CASE_TIMEOUT $VMRUN -m 64 -S -U 60999 -R \$(pwd)/empty \
	    -K \$r -T testguest.bin -t basic >/dev/null 2>err.trap
	echo "RC trap-\$r: \$?"
	sed "s/^/E trap-\$r: /" err.trap
done
EOF
KVM_BINS=$VMRUN
out=$T/out
# nested, 16 VMs take ~15 min on two idle cores; the default 900 s
# ended the last one (nosb) on a loaded machine
KVM_QEMU_TIMEOUT=${KVM_QEMU_TIMEOUT:-2400} kvm_run "$T/run.sh" "$T/w" "$out"
rc=$?
[ $rc -eq 0 ] || { diag "kvm run failed ($rc):"; tail -n 40 "$out" |
    sed 's/^/#   /'; }

for c in $CASES; do
	r=$(sed -n "s/^RC $c: //p" "$out")
	[ "$r" = 0 ]
	ok $? "$c: the VMM stopped cleanly on the guest's reset (exit ${r:-none}): $(sed -n "s/^E $c: vmrun: stopped: //p" "$out")"
	sed -n "s/^G $c: //p" "$out" >"$T/g.$c"
	nok=$(grep -c '^ok ' "$T/g.$c")
	nnot=$(grep -c '^not ok ' "$T/g.$c")
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$T/g.$c")
	[ "$nnot" -eq 0 ] && [ -n "$plan" ] && [ "$plan" -eq "$nok" ] &&
	    [ "$nok" -gt 1 ]
	ok $? "$c: guest reported $nok ok, $nnot not ok, plan ${plan:-missing}"
	if [ "$nnot" -ne 0 ] || [ -z "$plan" ] || [ "$r" != 0 ]; then
		grep -v '^ok ' "$T/g.$c" | head -n 20 | sed 's/^/#   guest: /'
		sed -n "s/^E $c: /#   vmm: /p" "$out" | head -n 20
	fi
done

r=$(sed -n "s/^RC nosb: //p" "$out")
[ "$r" = 0 ] && ! grep -q '^G nosb: not ok' "$out" &&
    grep -q '^G nosb: 1\.\.' "$out"
ok $? "basic without seccomp and privsep: exit ${r:-none}, all ok"
n=$(grep -c '^E [a-z]*: vmrun: uid 60999 gid 60999, chroot .*, no_new_privs 1$' \
    "$out")
[ "$n" -eq "$ncases" ]
ok $? "$n of $ncases cases ran as uid 60999 in a chroot with no_new_privs and seccomp"

good=1
for s in 2 3 4 5; do
	grep -qx "VDB $s: lens vdb sector $s" "$out" || good=0
done
grep -qx 'VDBX: 0' "$out" || good=0
[ $good = 1 ]
ok $? "basic: the writable disk holds the guest's 4 sectors"
n=$(grep -c "^VDA .*: $vdasum\$" "$out")
[ "$n" -eq $((ncases + 1)) ]
ok $? "the read-only disk is unchanged after every case ($n of $((ncases + 1)))"
n=0 missing=
for c in $CASES; do
	case $c in basic|rowrite) continue ;; esac
	if grep -q "^E $c: .*device needs reset" "$out"; then
		n=$((n + 1))
	else
		missing="$missing $c"
	fi
done
[ -z "$missing" ]
ok $? "the VMM logged the reason for NEEDS_RESET in $n hostile cases${missing:+ (not in:$missing)}"
grep -q '^G basic: hvc0: hello from the test guest$' "$out"
ok $? "basic: the guest's hvc0 line is in the console log"
for r in process vcpu io; do
	[ "$(sed -n "s/^RC trap-$r: //p" "$out")" = 1 ] &&
	    grep -q "^E trap-$r: vmrun: VM process killed by signal 31, syscall ptrace\$" "$out"
	ok $? "seccomp of the $r thread: a forbidden call kills the VM process and is named ($(sed -n "s/^E trap-$r: vmrun: VM process //p" "$out"))"
done
! grep -E '^E .*(AddressSanitizer|LeakSanitizer|runtime error|Segmentation|Aborted)' \
    "$out" >"$T/san"
ok $? "no sanitizer report or crash from the VMM in any case"
sed 's/^/#   /' "$T/san" | head -n 20
tap_done
