#!/usr/bin/env python3
"""A registry of the OCI distribution API for regress/image-registry.t.

registry.py LAYOUT CERT KEY LOG USER:PASS ADDR:PORT:MODE ...

Serves the OCI layout LAYOUT (regress/tools/mkoci.py) over HTTPS on
each ADDR:PORT, with MODE:
  anon    no authentication
  bearer  401 with a Bearer challenge; the token at /token of the same
          port for USER:PASS (Basic) only
  basic   Basic USER:PASS on every request
  blobs   the other host a redirect names: /blobs/DIGEST, anonymous
Repositories (any name/REPO works; the last component decides):
  .../lie    the first layer's bytes altered (its digest lies)
  .../big    manifests of 5 MiB
  .../redir  blobs answered by a 307 to the blobs port (--blobs URL)
Every request is logged to LOG: "PORT MODE METHOD PATH auth=yes|no";
LOG.ready is created once every port listens.
"""
import base64, http.server, json, os, socketserver, ssl, sys, threading

layout, cert, key, logf, cred = sys.argv[1:6]
listens = sys.argv[6:]
blobs_url = None
for l in listens:
    a, p, m = l.rsplit(":", 2)
    if m == "blobs":
        blobs_url = "https://blobs.test:%s" % p
good_basic = "Basic " + base64.b64encode(cred.encode()).decode()
TOKEN = "tok-" + base64.b64encode(os.urandom(12)).decode().replace("/", "_")
lock = threading.Lock()
idx = json.load(open(os.path.join(layout, "index.json")))
first_layer = None


def blob(d):
    p = os.path.join(layout, "blobs", "sha256", d[7:])
    try:
        with open(p, "rb") as f:
            return f.read()
    except OSError:
        return None


def mediatype(data):
    try:
        return json.loads(data).get("mediaType", "application/octet-stream")
    except Exception:
        return "application/octet-stream"


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", ctype="application/json", hdrs=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in hdrs:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        mode, port = self.server.mode, self.server.server_address[1]
        auth = self.headers.get("Authorization")
        with lock, open(logf, "a") as f:
            f.write("%d %s GET %s auth=%s\n" % (port, mode, self.path,
                                                "yes" if auth else "no"))
        if mode == "blobs":
            return self.send(200, blob(self.path.rsplit("/", 1)[1]),
                             "application/octet-stream")
        if mode == "bearer" and self.path.startswith("/token"):
            if auth != good_basic:
                return self.send(401, b'{"errors":[]}')
            return self.send(200, json.dumps({"token": TOKEN}).encode())
        if mode == "bearer" and auth != "Bearer " + TOKEN:
            realm = "https://registry.test:%d/token" % port
            return self.send(401, b'{"errors":[]}', hdrs=[(
                "WWW-Authenticate",
                'Bearer realm="%s",service="registry.test"' % realm)])
        if mode == "basic" and auth != good_basic:
            return self.send(401, b'{"errors":[]}', hdrs=[(
                "WWW-Authenticate", 'Basic realm="registry"')])
        if self.path == "/v2/":
            return self.send(200, b"{}")
        parts = self.path.split("/")
        if len(parts) < 5 or parts[1] != "v2":
            return self.send(404)
        kind, ref, repo = parts[-2], parts[-1], parts[-3]
        if kind == "manifests":
            if repo == "big":
                return self.send(200, b" " * (5 << 20),
                                 "application/vnd.oci.image.manifest.v1+json")
            if not ref.startswith("sha256:"):
                for m in idx["manifests"]:
                    if m.get("annotations", {}).get(
                            "org.opencontainers.image.ref.name") == ref:
                        ref = m["digest"]
                        break
                else:
                    return self.send(404)
            data = blob(ref)
            if data is None:
                return self.send(404, b'{"errors":[]}')
            return self.send(200, data, mediatype(data))
        if kind == "blobs":
            if repo == "redir":
                return self.send(307, hdrs=[("Location", "%s/blobs/%s" %
                                            (blobs_url, ref))])
            data = blob(ref)
            if data is None:
                return self.send(404, b'{"errors":[]}')
            if repo == "lie" and mediatype(data) == "application/octet-stream" \
                    and data[:2] == b"\x1f\x8b":
                data = data[:20] + bytes([data[20] ^ 1]) + data[21:]
            return self.send(200, data, "application/octet-stream")
        return self.send(404)


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def server_bind(self):
        # no getfqdn(): the test internet has no reverse DNS to wait for
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
threads = []
for l in listens:
    a, p, m = l.rsplit(":", 2)
    s = S((a, int(p)), H)
    s.mode = m
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
    t = threading.Thread(target=s.serve_forever, daemon=True)
    t.start()
    threads.append(t)
open(logf + ".ready", "w").close()   # every port listens
for t in threads:
    t.join()
