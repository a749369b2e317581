#!/usr/bin/env python3
"""An HTTPS upstream that prints what it received (regress/cred-exchange.t).

    exchupstream.py ADDR PORT CERT KEY LOG

Each request (head and body, the body de-chunked) is appended to LOG as
it arrived, between "=== request N" and "=== end N" lines.  The answer:

    /echo...     200, the whole request echoed in the body and its
                 Authorization header in "X-Echo-Auth"; with "chunked"
                 in the path the body goes in chunks of 5 bytes (every
                 echo of a value is split across chunks), else with a
                 Content-Length
    /interim...  a 100 Continue first, then as /echo
    /bad         a head with two Content-Length headers
    anything     200 "hello\\n"

One request per connection (the exchange says Connection: close).
"""
import socket
import ssl
import sys
import threading

addr, port, cert, key, logpath = sys.argv[1:6]
lock = threading.Lock()
count = [0]


def read_request(f):
    head = b''
    while not head.endswith(b'\r\n\r\n'):
        c = f.read(1)
        if not c:
            return None, None
        head += c
    lines = head.split(b'\r\n')
    hdrs = {}
    for ln in lines[1:]:
        if b':' in ln:
            k, v = ln.split(b':', 1)
            hdrs[k.strip().lower()] = v.strip()
    body = b''
    if b'content-length' in hdrs:
        body = f.read(int(hdrs[b'content-length']))
    elif hdrs.get(b'transfer-encoding', b'').lower() == b'chunked':
        while True:
            size = int(f.readline().strip().split(b';')[0], 16)
            if size == 0:
                while f.readline() not in (b'\r\n', b''):
                    pass
                break
            body += f.read(size)
            f.readline()
    return head, body, hdrs


def serve(conn):
    try:
        f = conn.makefile('rwb')
        got = read_request(f)
        if got[0] is None:
            return
        head, body, hdrs = got
        with lock:
            count[0] += 1
            n = count[0]
            with open(logpath, 'ab') as log:
                log.write(b'=== request %d\n' % n + head + body +
                          b'\n=== end %d\n' % n)
        path = head.split(b' ')[1]
        if path.startswith(b'/interim'):
            f.write(b'HTTP/1.1 100 Continue\r\n\r\n')
        if path.startswith(b'/bad'):
            out = (b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n'
                   b'Content-Length: 6\r\n\r\nhello\n')
        elif path.startswith(b'/echo') or path.startswith(b'/interim'):
            echo = head + body
            auth = hdrs.get(b'authorization', b'none')
            out = (b'HTTP/1.1 200 Echo\r\nX-Echo-Auth: ' + auth +
                   b'\r\nConnection: close\r\n')
            if b'chunked' in path:
                out += b'Transfer-Encoding: chunked\r\n\r\n'
                for i in range(0, len(echo), 5):
                    piece = echo[i:i + 5]
                    out += b'%x\r\n' % len(piece) + piece + b'\r\n'
                out += b'0\r\n\r\n'
            else:
                out += b'Content-Length: %d\r\n\r\n' % len(echo) + echo
        else:
            out = (b'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n'
                   b'Connection: close\r\n\r\nhello\n')
        f.write(out)
        f.flush()
    except (OSError, ValueError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, int(port)))
s.listen(128)
while True:
    c, _ = s.accept()
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (OSError, ssl.SSLError):
        # a client that refused our certificate: log that it came
        with lock, open(logpath, 'ab') as log:
            log.write(b'=== handshake failed\n')
        c.close()
        continue
    threading.Thread(target=serve, args=(t,), daemon=True).start()
