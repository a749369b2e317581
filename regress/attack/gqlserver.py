#!/usr/bin/env python3
# A minimal GraphQL test upstream for regress/attack/proxy-graphql.t:
# HTTP/1.1 keep-alive on ADDR:PORT; every POST body it receives is
# appended to LOG as one line (JSON-escaped), and answered with
# {"data":{"received":N}} (N: the body's length).  It parses nothing
# of GraphQL: whatever reaches it is what the proxy let through.
import http.server
import json
import sys

addr, port = sys.argv[1].rsplit(":", 1)
log = sys.argv[2]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "") == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n) if n else b""
        with open(log, "a") as f:
            f.write(json.dumps(body.decode("utf-8", "replace")) + "\n")
        out = json.dumps({"data": {"received": len(body)}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        out = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


s = http.server.ThreadingHTTPServer((addr, int(port)), H)
print("listening", flush=True)
s.serve_forever()
