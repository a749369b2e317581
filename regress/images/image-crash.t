#!/bin/sh
# Crash safety of the image store: a pull of a 3-layer image (48 MiB of
# incompressible layers) has its fetch process SIGKILLed at a random
# moment 20 times, lensvmm itself SIGKILLed mid-pull once; after each,
# every blob in blobs/sha256 hashes to its name, every ref names a
# manifest whose meta and blobs are all there, images answers, and in
# the end a fresh pull completes and prune leaves only what is needed.
# (The random delay before each kill picks the moment; nothing waits
# on it for a condition.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon.sh"
vmm_require

tap_plan 8
tmpdir_setup
chmod 0755 "$T"
at_exit 'vmm_stop; auditd_stop'
vmm_start || { echo "Bail out! lensvmm did not start"; exit 1; }
S=$T/state

python3 "$(dirname "$0")/../tools/mkoci.py" "$T/big" --tag v1 --layers 3 \
    --noise $((16 << 20)) >"$T/digest" || exit 1
D=$(cat "$T/digest")

# every stored blob matches its name; every ref's image is complete
consistent() {
	for _b in "$S"/blobs/sha256/*; do
		[ -e "$_b" ] || continue
		[ "$(sha256sum <"$_b" | cut -d' ' -f1)" = "$(basename "$_b")" ] ||
		    { echo "# $_b does not match its name"; return 1; }
	done
	for _r in "$S"/refs/*; do
		[ -e "$_r" ] || continue
		case $_r in */.tmp.*) continue ;; esac
		_m=$(sed 's/^sha256://' "$_r")
		[ -f "$S/blobs/sha256/$_m" ] && [ -f "$S/blobs/meta/$_m" ] ||
		    { echo "# $_r: manifest or meta missing"; return 1; }
		for _d in $(sed 's/^sha256://' "$S/blobs/meta/$_m"); do
			[ -f "$S/blobs/sha256/$_d" ] ||
			    { echo "# $_r: blob $_d missing"; return 1; }
		done
	done
	return 0
}

# the fetch process: lensvmm's child whose title is "fetch"
fetch_pid() {
	for _p in $(ps -o pid= --ppid "$VMM_PID"); do
		case $(cat /proc/"$_p"/cmdline 2>/dev/null | tr '\0' ' ') in
		*fetch*) echo "$_p"; return 0 ;;
		esac
	done
	return 1
}

bad=0 killed=0
for i in $(seq 20); do
	lctl pull -q oci:"$T/big":v1 >/dev/null 2>&1 &
	cpid=$!
	# a random moment: 0 to 200 ms after the fetch process starts
	wait_until 10 fetch_pid
	sleep "0.$(printf '%03d' $(( $(od -An -N2 -tu2 /dev/urandom) % 200 )))"
	if p=$(fetch_pid); then
		kill -KILL "$p" && killed=$((killed + 1))
	fi
	wait "$cpid"
	consistent || bad=$((bad + 1))
	# the next pull starts from nothing stored, its partials left by
	# the kill in odd rounds
	if [ -e "$S/refs/big%3Av1" ]; then
		lctl rmi big:v1 >/dev/null 2>&1
	elif [ $((i % 2)) -eq 0 ]; then
		lctl image prune >/dev/null 2>&1
	fi
done
[ "$bad" -eq 0 ]
ok $? "20 pulls killed at random moments ($killed killed mid-pull): the store consistent after each"
[ "$killed" -ge 5 ]
ok $? "at least 5 were killed mid-pull ($killed of 20)"

# lensvmm itself killed mid-pull
lctl rmi big:v1 >/dev/null 2>&1
lctl pull -q oci:"$T/big":v1 >/dev/null 2>&1 &
cpid=$!
wait_until 10 fetch_pid
fp=$(fetch_pid)
vmm_kill9
wait "$cpid"
# the orphaned fetch process dies with its parent (PDEATHSIG)
wait_until 10 sh -c "! kill -0 $fp"
consistent
ok $? "lensvmm SIGKILLed mid-pull: the fetch process gone, the store consistent"
vmm_start || { echo "Bail out! lensvmm did not restart"; exit 1; }

lctl images >/dev/null
ok $? "images answers after the crashes"
lctl pull -q oci:"$T/big":v1 >"$T/out" 2>"$T/err"
ok $? "a fresh pull completes ($(cat "$T/err"))"
grep -q "$D" "$T/out"
ok $? "with the same manifest"
lctl image prune >/dev/null 2>"$T/err"
ok $? "prune ($(cat "$T/err"))"
consistent && [ "$(ls "$S/blobs/sha256" | wc -l)" -eq 5 ] &&
    [ -z "$(ls "$S/blobs/tmp" | grep partial)" ]
ok $? "prune left the 5 blobs needed and no partial ($(ls "$S/blobs/sha256" | wc -l))"
