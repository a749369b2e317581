#!/usr/bin/python3
"""Is NEEDLE in the memory of processes?  (regress/cred-secretgrep.t)

    memgrep.py NEEDLE PID...

reads every mapping of /proc/PID/maps through /proc/PID/mem, whatever
its protection (root reads PROT_NONE pages too; [vvar] and [vsyscall]
are not memory of the process), in 4 MiB pieces that overlap by the
needle's length less one, so that no occurrence across two pieces is
missed.  Prints a line for each PID:

    PID found|absent BYTES-READ MAPPINGS-READ MAPPINGS-UNREADABLE

Exit 0 when found in one of them, 1 when absent from all, 2 when a
process could not be read at all (gone, or nothing read): "absent" must
mean read and not there.
"""
import sys

PIECE = 4 << 20


def grep(pid, needle):
    read = maps = bad = 0
    found = False
    with open('/proc/%d/maps' % pid) as f:
        ranges = []
        for ln in f:
            parts = ln.split()
            if len(parts) > 5 and parts[5] in ('[vvar]', '[vsyscall]',
                                               '[vvar_vclock]'):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split('-'))
            ranges.append((lo, hi))
    with open('/proc/%d/mem' % pid, 'rb', buffering=0) as m:
        for lo, hi in ranges:
            tail = b''
            ok = False
            off = lo
            while off < hi:
                n = min(PIECE, hi - off)
                try:
                    m.seek(off)
                    b = m.read(n)
                except (OSError, OverflowError):
                    break
                if not b:
                    break
                ok = True
                read += len(b)
                if needle in tail + b:
                    found = True
                tail = b[-(len(needle) - 1):] if len(needle) > 1 else b''
                off += len(b)
            if ok:
                maps += 1
            else:
                bad += 1
    return found, read, maps, bad


def main():
    needle = sys.argv[1].encode()
    rc = 1
    for p in sys.argv[2:]:
        try:
            found, read, maps, bad = grep(int(p), needle)
        except OSError as e:
            print('%s unreadable %s' % (p, e))
            return 2
        if read == 0:
            print('%s unreadable nothing read' % p)
            return 2
        print('%s %s %d %d %d' % (p, 'found' if found else 'absent', read,
                                  maps, bad))
        if found:
            rc = 0
    return rc


sys.exit(main())
