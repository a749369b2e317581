#!/bin/sh
# A full disk (issue 20): the log lives on a small loop-mounted ext4.  A
# client stream fills it; lensauditd stays up (same pids), cuts a failed
# write back to the last complete record, acknowledges nothing more,
# and resumes by itself once a filler file is removed: every event of
# the stream is then in the log exactly once, audit.disk_full records
# the episode, and the chain verifies.  A flood while the disk is full
# does not grow lensauditd's memory.  With -F (keepFree) it stops
# before the filesystem is full.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"

[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root (loop mount)"; exit 0; }
require_cmds mkfs.ext4 losetup fallocate
require_built "$AUDITD" "$LENSCTL" "$TOOLS/auditstream"

tap_plan 16
tmpdir_setup
at_exit 'auditd_stop; for p in ${SP:-} ${FP:-}; do kill "$p" 2>/dev/null; done;
    umount "$T/audit" 2>/dev/null; umount "$T/fs" 2>/dev/null'

# the log filesystem: 32 MiB of ext4 (the flood below leaves up to 8 MiB queued in the listener, written once space is back), the log directory bind-mounted
# where auditd_start puts it
truncate -s 32M "$T/fs.img"
mkfs.ext4 -q -F "$T/fs.img" >/dev/null 2>&1 ||
    { echo "Bail out! mkfs.ext4 failed"; exit 1; }
mkdir "$T/fs" "$T/audit"
mount -o loop "$T/fs.img" "$T/fs" ||
    { echo "Bail out! cannot loop-mount the test filesystem"; exit 1; }
mkdir "$T/fs/audit"
mount --bind "$T/fs/audit" "$T/audit" ||
    { echo "Bail out! cannot bind-mount the log directory"; exit 1; }

avail() { df -B1 --output=avail "$T/fs" | tail -n 1 | tr -d ' '; }
# leave about $1 bytes free
fill_to() { fallocate -l $(($(avail) - $1)) "$T/fs/$2"; }
# the resident memory of lensauditd's processes, in KiB
rss() {
	for p in "$AUDITD_PID" $(pgrep -P "$AUDITD_PID"); do
		sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$p/status"
	done | awk '{ s += $1 } END { print s }'
}
pids() { echo "$AUDITD_PID $(pgrep -P "$AUDITD_PID" | sort | tr '\n' ' ')"; }
logged() { [ "$(grep -c -- "$1" "$T/auditd.log")" -ge "${2:-1}" ]; }
# every log file ends with a complete record
untorn() {
	for f in "$T"/audit/lens-audit.*.log; do
		[ ! -s "$f" ] || [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] ||
		    return 1
	done
}
# the n of each event of type $1 in the log, sorted
events() {
	"$LENSCTL" audit show --dir "$T/audit" --type "$1" --json |
	    sed -n 's/.*"details":{"n":\([0-9]*\),.*/\1/p' | sort -n
}

auditd_start -n 200 -r 256k || { echo "Bail out! lensauditd did not start"; exit 1; }
before=$(pids)

# ---- ENOSPC: the stream needs more than is left
fill_to $((1536 * 1024)) filler
rss0=$(rss)
# the flooder: 9 MB/s offered, never waiting for acknowledgements
"$TOOLS/auditstream" -s "$T/auditd.sock" -S flood -T test.flood \
    -n 1000000 -w 1000000 -p 3000 -r 3000 -t 60 >/dev/null 2>"$T/flood.err" &
FP=$!
N=2500
"$TOOLS/auditstream" -s "$T/auditd.sock" -S stream -n $N -w 400 -p 1000 \
    -t 60 >"$T/stream.out" 2>"$T/stream.err" &
SP=$!
wait_until 20 logged 'disk full (ENOSPC)'
ok $? "the writer found the disk full"
rssf=$(rss)
[ "$(pids)" = "$before" ] && kill -0 "$SP" 2>/dev/null
ok $? "lensauditd is still up, same processes ($before); the stream waits"
untorn
ok $? "no log file ends with a torn record"

# attack: a client, welcomed before, floods while the disk is full
sleep 3	# a duration to measure over, not a synchronisation
rss1=$(rss)
sleep 2
rss2=$(rss)
kill "$FP" 2>/dev/null; wait "$FP" 2>/dev/null; FP=
diag "lensauditd RSS: ${rss0} KiB at start, full ${rssf} KiB, 3 s of flood later ${rss1} KiB, 5 s ${rss2} KiB"
# 9 MB/s offered: unbounded, 45 MB would pile up; bounded, it stops
# growing at the listener's 8 MiB queue and the writer's batch (more
# under ASan, which keeps freed memory in quarantine)
[ "$rss2" -lt $((rss0 + 64 * 1024)) ] && [ "$rss2" -le $((rss1 + 4 * 1024)) ]
ok $? "a flood while the disk is full leaves lensauditd's memory bounded"
[ "$(grep -c 'disk full' "$T/auditd.log")" -eq 1 ]
ok $? "the full disk was logged once"

rm -f "$T/fs/filler"
wait "$SP"
rc=$?
SP=
ok $rc "space freed: the stream was acknowledged to the end by itself ($(cat "$T/stream.out"))"
wait_until 5 logged 'disk space back'
ok $? "the writer logged that it resumed"
[ "$(pids)" = "$before" ]
ok $? "the same lensauditd processes throughout"
events test.event >"$T/ns"
[ "$(wc -l <"$T/ns")" -eq $N ] && [ "$(uniq <"$T/ns" | wc -l)" -eq $N ] &&
    [ "$(head -n 1 "$T/ns")" -eq 1 ] && [ "$(tail -n 1 "$T/ns")" -eq $N ]
ok $? "all $N events in the log, each once ($(wc -l <"$T/ns") lines)"
"$LENSCTL" audit show --dir "$T/audit" --type audit.disk_full --json \
    >"$T/df.json"
[ "$(wc -l <"$T/df.json")" -eq 1 ] && grep -q '"reason":"ENOSPC"' "$T/df.json" &&
    grep -q '"needed":[1-9]' "$T/df.json"
ok $? "one audit.disk_full record, with the space needed: $(cut -c 1-300 "$T/df.json")"
untorn && auditd_verify --quiet
ok $? "no torn record; the chain verifies"

# ---- keepFree: stops while the filesystem still has room
auditd_stop
auditd_start -n 200 -r 256k -F 1M || { echo "Bail out! lensauditd did not restart"; exit 1; }
fill_to $((2560 * 1024)) filler
"$TOOLS/auditstream" -s "$T/auditd.sock" -S stream2 -T test.two -n 2500 \
    -w 400 -p 1000 -t 60 >"$T/stream2.out" 2>"$T/stream2.err" &
SP=$!
wait_until 20 logged 'disk full (keepFree)'
ok $? "with -F 1M the writer stopped accepting"
left=$(avail)
[ "$left" -ge $((768 * 1024)) ] && kill -0 "$SP" 2>/dev/null
ok $? "before the filesystem was full: $left bytes left"
# stopped while full: it exits (the writer sees the listener go while
# not reading it); the held events were never acknowledged, the client
# sends them again to the next lensauditd
auditd_stop && auditd_start -n 200 -r 256k -F 1M
ok $? "stopped cleanly while full, and started again"
rm -f "$T/fs/filler"
wait "$SP"
ok $? "space freed: stream acknowledged to the end ($(cat "$T/stream2.out"))"
events test.two >"$T/ns2"
[ "$(wc -l <"$T/ns2")" -eq 2500 ] && [ "$(uniq <"$T/ns2" | wc -l)" -eq 2500 ] &&
    untorn && auditd_verify --quiet
ok $? "all 2500 events once, the chain verifies"
SP=
log_if_failed "lensauditd log" "$T/auditd.log" 40
log_if_failed auditstream "$T/stream.err" 10
tap_done
