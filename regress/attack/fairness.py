# Clients of regress/attack/netd-fairness.t, run inside a sandbox's
# network namespace (or the test internet's).  Python 3, standard
# library only.
#
#   fairness.py hostile OKADDR GATEWAY STATUSFILE [QPS [dns]]
#	Floods the sandbox's own limits until killed: keeps 1000
#	connections to slow.ok.test:8081 (an upstream that never answers)
#	and 250 to h<random>.hole.test (whose lookups never come back),
#	reopening every one that is closed 20 ms later (none with "dns"),
#	and sends QPS (500) DNS queries a second for q<n>.hole.test to the
#	gateway.  Writes its counters to STATUSFILE twice a second.
#   fairness.py victim OKADDR GATEWAY N TAG
#	N DNS lookups of TAG<i>.v.ok.test and N HTTP fetches of
#	http://TAG<i>.f.ok.test/ (fresh names: each needs an upstream
#	lookup), one after the other, each given 5 s; prints one line per
#	request and "summary dns_ok=D http_ok=H max_ms=M".
#   fairness.py slow ADDR PORT READYFILE
#	Accepts connections and never answers nor closes them.
#   fairness.py drop ADDR PORT READYFILE
#	A UDP "DNS server" that reads queries and never answers.
import os
import random
import resource
import selectors
import socket
import struct
import sys
import time


def nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def dns_query(qid, name, qtype=1):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


def slow(addr, port, ready):
    nofile(4096)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(4096)
    open(ready, "w").close()
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)


def drop(addr, port, ready):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    open(ready, "w").close()
    while True:
        s.recv(4096)


def hostile(okaddr, gw, status, qps="500", only=""):
    qps = int(qps)
    nofile(4096)
    sel = selectors.DefaultSelector()
    st = {"attempts": 0, "closed": 0, "dns_sent": 0, "dns_servfail": 0,
          "dns_other": 0}
    reopen = []     # (time, kind)

    def open_conn(kind):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((okaddr, 8081 if kind == "slow" else 80))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            reopen.append((time.monotonic() + 0.02, kind))
            return
        st["attempts"] += 1
        sel.register(s, selectors.EVENT_WRITE, kind)

    def lost(s, kind):
        sel.unregister(s)
        s.close()
        st["closed"] += 1
        reopen.append((time.monotonic() + 0.02, kind))

    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d.setblocking(False)
    d.connect((gw, 53))
    sel.register(d, selectors.EVENT_READ, "dns")
    for _ in range(0 if only == "dns" else 250):
        open_conn("hole")
    for _ in range(0 if only == "dns" else 1000):
        open_conn("slow")
    start = last = time.monotonic()
    qn = 0
    while True:
        for key, ev in sel.select(0.01):
            s, kind = key.fileobj, key.data
            if kind == "dns":
                try:
                    while True:
                        a = d.recv(4096)
                        if len(a) >= 4 and a[3] & 0xf == 2:
                            st["dns_servfail"] += 1
                        else:
                            st["dns_other"] += 1
                except OSError:
                    pass
                continue
            if ev & selectors.EVENT_WRITE:
                host = ("slow.ok.test:8081" if kind == "slow" else
                        "h%d.hole.test" % random.getrandbits(48))
                try:
                    s.send(("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" %
                            host).encode())
                    sel.modify(s, selectors.EVENT_READ, kind)
                except OSError:
                    lost(s, kind)
                continue
            try:
                if s.recv(65536):
                    continue
            except BlockingIOError:
                continue
            except OSError:
                pass
            lost(s, kind)
        now = time.monotonic()
        due = [k for t, k in reopen if t <= now]
        reopen[:] = [(t, k) for t, k in reopen if t > now]
        for k in due:
            open_conn(k)
        # qps queries a second, each for a fresh name
        while st["dns_sent"] < (now - start) * qps:
            qn += 1
            try:
                d.send(dns_query(qn & 0xffff, "q%d-%d.hole.test" %
                                 (qn, random.getrandbits(32))))
            except OSError:
                pass
            st["dns_sent"] += 1
        if now - last >= 0.5:
            last = now
            with open(status + ".new", "w") as f:
                f.write(" ".join("%s=%d" % kv for kv in st.items()) + "\n")
            os.rename(status + ".new", status)


def victim(okaddr, gw, n, tag):
    n = int(n)
    dns_ok = http_ok = 0
    worst = 0
    want = socket.inet_aton(okaddr)
    for i in range(n):
        name = "%s%d.v.ok.test" % (tag, i)
        t0 = time.monotonic()
        why = "no answer"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        qid = random.getrandbits(16)
        try:
            s.sendto(dns_query(qid, name), (gw, 53))
            while True:
                a = s.recv(4096)
                if struct.unpack(">H", a[:2])[0] == qid:
                    break
            rcode = a[3] & 0xf
            if rcode == 0 and want in a[12:]:
                why = None
            else:
                why = "rcode %d" % rcode
        except OSError as e:
            why = str(e)
        s.close()
        ms = int((time.monotonic() - t0) * 1000)
        worst = max(worst, ms)
        if why is None:
            dns_ok += 1
        print("dns %s %s %d ms" % (name, why or "ok", ms), flush=True)
    for i in range(n):
        name = "%s%d.f.ok.test" % (tag, i)
        t0 = time.monotonic()
        why = None
        data = b""
        try:
            s = socket.create_connection((okaddr, 80), timeout=5)
            s.settimeout(max(0.1, 5 - (time.monotonic() - t0)))
            s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" %
                       name).encode())
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
            s.close()
        except OSError as e:
            why = str(e) or type(e).__name__
        if why is None and not (data.startswith(b"HTTP/1.") and
                                b" 200 " in data.split(b"\r\n")[0] and
                                b"ok-web" in data):
            why = "answer %r" % data[:60]
        ms = int((time.monotonic() - t0) * 1000)
        worst = max(worst, ms)
        if why is None:
            http_ok += 1
        print("http %s %s %d ms" % (name, why or "ok", ms), flush=True)
    print("summary dns_ok=%d http_ok=%d max_ms=%d" % (dns_ok, http_ok, worst),
          flush=True)


if __name__ == "__main__":
    {"hostile": hostile, "victim": victim, "slow": slow,
     "drop": drop}[sys.argv[1]](*sys.argv[2:])
