#!/usr/bin/env python3
# GraphQL over WebSocket for regress/attack/proxy-graphql-ws.t, python3
# standard library only (frames are built by hand: the client must be
# able to send what no WebSocket library would).
#
#   wsgql.py serve ADDR:PORT LOG
#	a graphql-transport-ws (and graphql-ws) server: each upgrade's
#	Sec-WebSocket-Extensions and each text message it receives are
#	appended to LOG as one line; connection_init is acked, ping
#	ponged, a subscribe answered with two "next" events and
#	"complete".  It judges nothing: what reaches it got through.
#   wsgql.py client ADDR:PORT HOST SCENARIO
#	one scenario through the proxy, what came back on stdout.
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(op, payload, mask=True, fin=True, rsv=0, length=None):
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    h = bytes([(0x80 if fin else 0) | rsv | op])
    m = 0x80 if mask else 0
    if n < 126:
        h += bytes([m | n])
    elif n <= 0xFFFF:
        h += bytes([m | 126]) + struct.pack(">H", n)
    else:
        h += bytes([m | 127]) + struct.pack(">Q", n)
    if mask:
        k = os.urandom(4)
        h += k
        payload = bytes(b ^ k[i % 4] for i, b in enumerate(payload))
    return h + payload


def readn(f, n):
    b = b""
    while len(b) < n:
        c = f.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def read_frame(s):
    h = readn(s, 2)
    op, n, masked = h[0] & 0x0F, h[1] & 0x7F, h[1] & 0x80
    if n == 126:
        n = struct.unpack(">H", readn(s, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", readn(s, 8))[0]
    k = readn(s, 4) if masked else None
    p = readn(s, n)
    if k:
        p = bytes(b ^ k[i % 4] for i, b in enumerate(p))
    return h[0] & 0x80, op, p


def read_head(s):
    b = b""
    while b"\r\n\r\n" not in b:
        c = s.recv(1)
        if not c:
            raise EOFError
        b += c
    return b.decode("latin-1")


# the server

def serve(addr, log):
    lock = threading.Lock()

    def note(line):
        with lock, open(log, "a") as f:
            f.write(line + "\n")

    def conn(s):
        try:
            head = read_head(s)
            hdr = {}
            for l in head.split("\r\n")[1:]:
                if ":" in l:
                    k, v = l.split(":", 1)
                    hdr.setdefault(k.strip().lower(), []).append(v.strip())
            offered = [p.strip() for v in hdr.get("sec-websocket-protocol", [])
                       for p in v.split(",")]
            proto = next((p for p in offered if p in
                          ("graphql-transport-ws", "graphql-ws")), None)
            note("upgrade extensions=%s protocols=%s" % (
                ";".join(hdr.get("sec-websocket-extensions", [])) or "-",
                ",".join(offered) or "-"))
            acc = base64.b64encode(hashlib.sha1(
                (hdr["sec-websocket-key"][0] + GUID).encode()).digest())
            r = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                 % acc.decode())
            evil = hdr.get("x-evil", [""])[0]
            if proto and evil != "noproto":
                r += "Sec-WebSocket-Protocol: %s\r\n" % proto
            if evil == "ext":
                r += "Sec-WebSocket-Extensions: permessage-deflate\r\n"
            s.sendall((r + "\r\n").encode())
            msg, mop = b"", 0
            while True:
                fin, op, p = read_frame(s)
                if op == 8:
                    note("close")
                    s.sendall(frame(8, p[:2], mask=False))
                    return
                if op == 9:
                    s.sendall(frame(10, p, mask=False))
                    continue
                if op in (1, 2):
                    mop = op
                msg += p
                if not fin:
                    continue
                text, msg = msg, b""
                note("message " + json.dumps(text.decode("utf-8", "replace")))
                m = json.loads(text)
                t = m.get("type")
                out = []
                if t == "connection_init":
                    out = [{"type": "connection_ack"}]
                elif t == "ping":
                    out = [{"type": "pong"}]
                elif t in ("subscribe", "start"):
                    nx = "next" if t == "subscribe" else "data"
                    out = [{"id": m["id"], "type": nx,
                            "payload": {"data": {"tick": i}}}
                           for i in (1, 2)]
                    out.append({"id": m["id"], "type": "complete"})
                for o in out:
                    s.sendall(frame(1, json.dumps(o), mask=False))
        except (EOFError, OSError, ValueError, KeyError):
            pass
        finally:
            s.close()

    a, p = addr.rsplit(":", 1)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a, int(p)))
    ls.listen(64)
    print("listening", flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()


# the client

def connect(addr, host, protos="graphql-transport-ws", ext=True, evil=None):
    a, p = addr.rsplit(":", 1)
    s = socket.create_connection((a, int(p)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET /graphql HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n" % (host, key))
    if protos:
        req += "Sec-WebSocket-Protocol: %s\r\n" % protos
    if evil:
        req += "X-Evil: %s\r\n" % evil
    if ext:
        req += ("Sec-WebSocket-Extensions: permessage-deflate; "
                "client_max_window_bits\r\n")
    s.sendall((req + "\r\n").encode())
    head = read_head(s)
    status = head.split(" ", 2)[1]
    print("status", status)
    if status != "101":
        return None
    print("protocol", [l.split(":", 1)[1].strip() for l in head.split("\r\n")
                       if l.lower().startswith("sec-websocket-protocol:")])
    return s


def until(s, want_id=None, stop=("complete", "error")):
    """print the messages received until one of stop (for want_id) or
    a close"""
    while True:
        try:
            fin, op, p = read_frame(s)
        except (EOFError, OSError) as e:
            print("eof", type(e).__name__)
            return
        if op == 8:
            code = struct.unpack(">H", p[:2])[0] if len(p) >= 2 else 0
            print("close", code, p[2:].decode())
            return
        if op != 1:
            print("frame", op)
            continue
        m = json.loads(p)
        print("recv", json.dumps(m, sort_keys=True))
        if m.get("type") in stop and (want_id is None or
                                      m.get("id") == want_id):
            return


def sub(id, query, **kw):
    return json.dumps({"id": id, "type": "subscribe",
                       "payload": dict({"query": query}, **kw)})


ALLOWED = "subscription S { tick }"


def client(addr, host, scenario):
    if scenario == "subprotocol":
        connect(addr, host, protos="chat")
        return
    if scenario == "noproto":
        connect(addr, host, protos=None)
        return
    if scenario in ("evil-ext", "evil-noproto"):
        # the server agrees to an extension never offered, or picks
        # no subprotocol
        connect(addr, host, evil=scenario[5:])
        return
    s = connect(addr, host, protos="graphql-ws" if scenario == "legacy"
                else "graphql-transport-ws")
    if s is None:
        return
    s.sendall(frame(1, json.dumps({"type": "connection_init"})))
    until(s, stop=("connection_ack",))
    if scenario == "allowed":
        s.sendall(frame(1, sub("1", ALLOWED)))
        until(s, "1")
        s.sendall(frame(8, struct.pack(">H", 1000)))
        until(s)
    elif scenario == "denied":
        # a mutation sent as a subscribe, then an allowed one, then an
        # alias hiding a denied field: error, events, 4403
        s.sendall(frame(1, sub("m1", "mutation { deleteRepo(id: 1) { id } }")))
        until(s, "m1")
        s.sendall(frame(1, sub("2", ALLOWED)))
        until(s, "2")
        s.sendall(frame(1, sub("a1", "subscription { tick: deleteRepo }")))
        until(s)
    elif scenario == "fragment":
        s.sendall(frame(1, sub("f1", "subscription { ...F } fragment F on "
                              "Subscription { deleteRepo }")))
        until(s, "f1")
    elif scenario == "split":
        # one subscribe in three frames, a ping between two of them
        m = sub("3", ALLOWED).encode()
        s.sendall(frame(1, m[:10], fin=False) + frame(0, m[10:20], fin=False)
                  + frame(9, b"hi") + frame(0, m[20:]))
        until(s, "3")
        m = sub("4", "mutation { deleteRepo }").encode()
        s.sendall(frame(1, m[:7], fin=False) + frame(0, m[7:]))
        until(s, "4")
    elif scenario == "unmasked":
        s.sendall(frame(1, sub("5", ALLOWED), mask=False))
        until(s)
    elif scenario == "bigping":
        s.sendall(frame(9, b"x" * 126))
        until(s)
    elif scenario == "badutf8":
        s.sendall(frame(1, b'{"type":"ping","x":"\xc0\xaf"}'))
        until(s)
    elif scenario == "binary":
        s.sendall(frame(2, sub("6", ALLOWED)))
        until(s)
    elif scenario == "rsv":
        s.sendall(frame(1, sub("7", ALLOWED), rsv=0x40))
        until(s)
    elif scenario == "notjson":
        s.sendall(frame(1, '{"type":"subscribe","id":"8","payload":{"query":'
                        '"subscription { tick }"},"payload":{"query":'
                        '"mutation { deleteRepo }"}}'))
        until(s)
    elif scenario == "legacy":
        # graphql-ws: "start", answered by "data"; a mutation refused
        s.sendall(frame(1, json.dumps({"id": "l1", "type": "start",
                                       "payload": {"query": ALLOWED}})))
        until(s, "l1")
        s.sendall(frame(1, json.dumps({"id": "l2", "type": "start",
                                       "payload": {"query": "mutation { x }"}})))
        until(s, "l2")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        client(sys.argv[2], sys.argv[3], sys.argv[4])
