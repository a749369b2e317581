#!/usr/bin/env python3
# heldclient.py ADDR:PORT HOST N SIZE: N connections each send the head
# of a POST /graphql with a SIZE-byte JSON body, all before any body.
# Those the proxy answers at once (503 over its budget of held bodies)
# are counted; of the others (held), the first quarter go away without
# their body, the next quarter send a mutation, the rest an allowed
# query; their statuses are counted.  One line on stdout:
#   refused R held H gone G statuses S... reason WHY
import select
import socket
import sys
import time

addr, host, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
a, p = addr.rsplit(":", 1)


def body(q):
    b = '{"query":"%s","pad":"' % q
    return (b + "x" * (size - len(b) - 2) + '"}').encode()


socks = []
for i in range(n):
    s = socket.create_connection((a, int(p)), timeout=20)
    s.sendall(("POST /graphql HTTP/1.1\r\nHost: %s\r\nContent-Type: "
               "application/json\r\nContent-Length: %d\r\n\r\n"
               % (host, size)).encode())
    socks.append(s)

# answered at once: until 1 s passes with no answer (a held one never is)
answered, why = {}, ""
deadline = time.time() + 5
while time.time() < deadline:
    rd, _, _ = select.select([s for s in socks if s not in answered], [], [],
                             0.2)
    for s in rd:
        d = s.recv(65536)
        answered[s] = d
        deadline = time.time() + 1
        if b" 503 " in d.split(b"\r\n")[0]:
            why = d.split(b"\r\n\r\n", 1)[1].decode().strip()
held = [s for s in socks if s not in answered]
refused = sum(1 for d in answered.values() if b" 503 " in d[:16])

q = len(held) // 4
gone = held[:q]
for s in gone:
    s.close()
statuses = []
for i, s in enumerate(held[q:]):
    s.sendall(body("mutation { deleteRepo }" if i < q else "{ viewer }"))
for s in held[q:]:
    d = b""
    while b"\r\n" not in d:
        c = s.recv(4096)
        if not c:
            break
        d += c
    statuses.append(d.split(b" ")[1].decode() if d else "eof")
for s in socks:
    s.close()
print("refused", refused, "held", len(held), "gone", len(gone), "statuses",
      " ".join(sorted(set("%s*%d" % (x, statuses.count(x)) for x in statuses))),
      "reason", why)
