#!/usr/bin/env python3
"""A syslog collector for the remote witness tests (regress/audit-witness.t).

    syslogrecv.py serve [--tls CERT KEY] ADDR PORT OUT READY
        accepts TCP (or TLS) connections one at a time, reads RFC 6587
        octet-counted frames, appends each message as one line to OUT
        (flushed at once) and creates READY once it listens.  A torn
        frame at the end of a connection is dropped, as a collector
        does; a malformed frame ends the connection.
"""
import socket
import ssl
import sys


def frames(conn, out):
    buf = b""
    while True:
        try:
            data = conn.recv(65536)
        except (OSError, ssl.SSLError) as e:
            print("syslogrecv: recv: %s" % e, file=sys.stderr, flush=True)
            return
        if not data:
            if buf:
                print("syslogrecv: torn frame dropped (%d bytes)" % len(buf),
                      file=sys.stderr, flush=True)
            return
        buf += data
        while buf:
            sp = buf.find(b" ")
            if sp == -1:
                break
            if sp == 0 or sp > 5 or not buf[:sp].isdigit() or \
                    buf[:1] == b"0":
                print("syslogrecv: bad frame length %r" % buf[:sp],
                      file=sys.stderr, flush=True)
                return
            n = int(buf[:sp])
            if len(buf) < sp + 1 + n:
                break
            msg = buf[sp + 1:sp + 1 + n]
            buf = buf[sp + 1 + n:]
            if b"\n" in msg:
                print("syslogrecv: newline in a message", file=sys.stderr,
                      flush=True)
                return
            out.write(msg + b"\n")
            out.flush()


def serve(args):
    ctx = None
    if args[0] == "--tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[1], args[2])
        args = args[3:]
    addr, port, outpath, ready = args
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(4)
    open(ready, "w").close()
    with open(outpath, "ab") as out:
        while True:
            conn, _ = s.accept()
            if ctx is not None:
                try:
                    conn = ctx.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError) as e:
                    print("syslogrecv: TLS: %s" % e, file=sys.stderr,
                          flush=True)
                    conn.close()
                    continue
            print("syslogrecv: connection", file=sys.stderr, flush=True)
            frames(conn, out)
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[2:])
