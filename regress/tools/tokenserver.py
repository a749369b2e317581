#!/usr/bin/env python3
"""An OAuth 2.0 token endpoint and an API that takes its access tokens,
for the oauth2Refresh tests (regress/cred-oauth.t).  Runs in a test
network namespace; HTTPS with a certificate of the test CA.

    tokenserver.py --token ADDR:PORT --api ADDR:PORT --cert C --key K
                   --state DIR --refresh RT [--client-id ID]
                   [--expires N] [--rotate]

Token endpoint (POST, any path, application/x-www-form-urlencoded):
grant_type=refresh_token, refresh_token = the current refresh token,
client_id = ID when --client-id is given (else none may be sent).
Answers {"access_token": "at-N-RANDOM", "token_type": "Bearer",
"expires_in": N} (and with --rotate a new "refresh_token", the old one
no longer valid); a wrong refresh token or client, or the file
DIR/revoked existing: 400 {"error": "invalid_grant"}.  While DIR/hold
exists, a refresh is held (DIR/pending counts the held ones).

API (any method and path): 200 "api ok" when the request's
Authorization is "Bearer T" for an access token T issued and not yet
expired, else 401.

While DIR/evil exists, every token request is answered by the hostile
answer it names (one word): crlf (an access token with CR LF and a
header after it), type (token_type "mac"), expiry (expires_in 0), dup
(access_token twice), trailing (JSON and then more), huge (a 70000-byte
body), html (200 with an HTML page), chunkbad (a malformed chunked body).

DIR/log: one line per request, "refresh N rt=RT client_id=ID -> at-N..."
or "refresh N ... -> invalid_grant (why)", "api METHOD PATH
authorization=VALUE -> 200|401"; DIR/refreshes: the number of token
requests answered with a token.  DIR/ready once both ports listen.
"""
import argparse
import json
import os
import secrets
import ssl
import threading
import time
import urllib.parse
import socketserver
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.RLock()
state = {"refresh": None, "issued": {}, "n": 0, "ok": 0, "pending": 0}
opts = None


def log(line):
    with lock:
        with open(os.path.join(opts.state, "log"), "a") as f:
            f.write(line + "\n")


def put(name, value):
    p = os.path.join(opts.state, name)
    with open(p + ".tmp", "w") as f:
        f.write("%s\n" % value)
    os.rename(p + ".tmp", p)


class Token(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def evil(self, kind):
        at = "at-evil-" + secrets.token_hex(8)
        bodies = {
            "crlf": '{"access_token":"%s\\r\\nX-Injected: 1",'
                    '"token_type":"Bearer","expires_in":60}' % at,
            "type": '{"access_token":"%s","token_type":"mac",'
                    '"expires_in":60}' % at,
            "expiry": '{"access_token":"%s","token_type":"Bearer",'
                      '"expires_in":0}' % at,
            "dup": '{"access_token":"x","access_token":"%s",'
                   '"token_type":"Bearer"}' % at,
            "trailing": '{"access_token":"%s","token_type":"Bearer"}'
                        '{"x":1}' % at,
            "huge": '{"access_token":"%s","token_type":"Bearer",'
                    '"pad":"%s"}' % (at, "p" * 70000),
            "html": "<html>%s</html>" % at,
        }
        log("refresh evil %s -> %s" % (kind, at))
        if kind == "chunkbad":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                             b"\r\nConnection: close\r\n\r\nzz\r\n{}\r\n")
            return
        body = bodies[kind].encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode("ascii", "replace")
        ev = os.path.join(opts.state, "evil")
        if os.path.exists(ev):
            with open(ev) as f:
                return self.evil(f.read().strip())
        ctype = self.headers.get("Content-Type", "")
        form = urllib.parse.parse_qs(raw, keep_blank_values=True)
        one = {k: v[0] for k, v in form.items() if len(v) == 1}
        rt = one.get("refresh_token", "")
        cid = one.get("client_id", "")
        with lock:
            state["n"] += 1
            num = state["n"]
        hold = os.path.join(opts.state, "hold")
        if os.path.exists(hold):
            with lock:
                state["pending"] += 1
                put("pending", state["pending"])
            while os.path.exists(hold):
                time.sleep(0.01)
            with lock:
                state["pending"] -= 1
                put("pending", state["pending"])
        why = None
        if ctype != "application/x-www-form-urlencoded":
            why = "content type %s" % ctype
        elif any(len(v) != 1 for v in form.values()):
            why = "a repeated parameter"
        elif one.get("grant_type") != "refresh_token":
            why = "grant_type %s" % one.get("grant_type")
        elif os.path.exists(os.path.join(opts.state, "revoked")):
            why = "revoked"
        elif cid != (opts.client_id or ""):
            why = "client_id %s" % cid
        with lock:
            if why is None and rt != state["refresh"]:
                why = "unknown refresh token"
            if why is not None:
                log("refresh %d rt=%s client_id=%s -> invalid_grant (%s)"
                    % (num, rt, cid, why))
            else:
                at = "at-%d-%s" % (num, secrets.token_hex(8))
                state["issued"][at] = time.monotonic() + opts.expires
                state["ok"] += 1
                put("refreshes", state["ok"])
                resp = {"access_token": at, "token_type": "Bearer",
                        "expires_in": opts.expires}
                if opts.rotate:
                    state["refresh"] = "rt-%d-%s" % (num,
                                                     secrets.token_hex(8))
                    resp["refresh_token"] = state["refresh"]
                log("refresh %d rt=%s client_id=%s -> %s%s"
                    % (num, rt, cid, at, " rotated to " + state["refresh"]
                       if opts.rotate else ""))
        if why is not None:
            self.answer(400, {"error": "invalid_grant",
                              "error_description": why})
        else:
            self.answer(200, resp)


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def any(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n:
            self.rfile.read(n)
        auth = self.headers.get("Authorization", "")
        good = False
        if auth.startswith("Bearer "):
            with lock:
                exp = state["issued"].get(auth[7:])
            good = exp is not None and time.monotonic() < exp
        status = 200 if good else 401
        log("api %s %s authorization=%s -> %d" % (self.command, self.path,
                                                   auth, status))
        body = b"api ok\n" if good else b"api: no valid access token\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = any


class Server(ThreadingHTTPServer):
    def server_bind(self):
        # no getfqdn(): the test internet has no reverse DNS to wait for
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def serve(hp, handler, ctx):
    addr, port = hp.rsplit(":", 1)
    s = Server((addr, int(port)), handler)
    s.daemon_threads = True
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
    t = threading.Thread(target=s.serve_forever, daemon=True)
    t.start()
    return t


def main():
    global opts
    p = argparse.ArgumentParser()
    p.add_argument("--token", required=True)
    p.add_argument("--api", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--refresh", required=True)
    p.add_argument("--client-id")
    p.add_argument("--expires", type=int, default=3600)
    p.add_argument("--rotate", action="store_true")
    opts = p.parse_args()
    state["refresh"] = opts.refresh
    put("refreshes", 0)
    put("pending", 0)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts.cert, opts.key)
    ts = [serve(opts.token, Token, ctx), serve(opts.api, Api, ctx)]
    put("ready", 1)
    for t in ts:
        t.join()


if __name__ == "__main__":
    main()
