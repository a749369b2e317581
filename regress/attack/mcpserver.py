#!/usr/bin/python3
"""A small MCP server for the tests: Streamable HTTP, one JSON-RPC
message per POST, over TLS.

    mcpserver.py CERT KEY ADDR PORT LOG

Every request it receives is appended to LOG as one line: method,
path, the Mcp-Name header ("-" when none) and the body as received.
A POST to /mcp holding a JSON-RPC request is answered with a result
naming the method and tool it saw; a notification with 202; anything
else with 400.  Prints "listening" when it is.
"""
import http.server
import socketserver
import json
import ssl
import sys

CERT, KEY, ADDR, PORT, LOG = sys.argv[1:6]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, body):
        with open(LOG, "ab") as f:
            f.write(b"%s %s %s %s\n" % (
                self.command.encode(), self.path.encode(),
                (self.headers.get("Mcp-Name") or "-").encode(),
                body.replace(b"\n", b"\\n")))

    def reply(self, code, obj=None):
        data = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.record(b"")
        self.reply(405, {"error": "no server-to-client stream here"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self.record(body)
        try:
            msg = json.loads(body)
        except ValueError:
            return self.reply(400, {"error": "not JSON"})
        if not isinstance(msg, dict) or "method" not in msg:
            return self.reply(400, {"error": "not one request"})
        if "id" not in msg:
            return self.reply(202)
        params = msg.get("params") or {}
        self.reply(200, {"jsonrpc": "2.0", "id": msg["id"], "result": {
            "served": msg["method"], "tool": params.get("name"),
            "content": [{"type": "text", "text": "ok"}]}})


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        # no getfqdn(): the test internet has no reverse DNS to wait for
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


srv = Server((ADDR, int(PORT)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("listening", flush=True)
srv.serve_forever()
