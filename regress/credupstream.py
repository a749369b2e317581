#!/usr/bin/python3
"""A test upstream API for the credential tests (regress/credworld.sh).

    credupstream.py ADDR CERT KEY LOG SECRETS CTLDIR

HTTPS on ADDR:443 with CERT/KEY, one thread a connection, HTTP/1.1
keep-alive.  Every request it receives becomes one JSON line of LOG,
written before it answers:

    {"sni", "method", "target", "headers": [[name, value], ...],
     "body": latin-1 text, "checks": {"hmac": ..., "sigv4": ...}}

checks verifies what lenscredd wrote with the secrets of SECRETS (a
JSON file the test wrote: hmac_key, hmac_header, aws_akid, aws_secret):
"hmac" for a request with X-Lens-Timestamp, recomputing the canonical
string of lenscredd(8) ("ok" or why not); "sigv4" for an Authorization
of AWS4-HMAC-SHA256, signing the same request again with botocore
("ok" or why not).

Answers, by path:
    /hold/NAME      waits until the file CTLDIR/NAME exists, then as below
    /status/NNN     NNN with no body (Content-Length: 0, none for 204)
    /echo-reason    the Authorization it got as its reason phrase, and its
                    last word in the name of a header X-WORD
    /echo-chunked   the Authorization it got in the X-Echo-Auth header and
                    its body chunked in 7-byte chunks: 2000 times
                    "<Authorization>|" then the body it got
    /echo-gzip      as below, gzip'd (Content-Encoding: gzip, whatever
                    the request accepts: httpbin's /gzip does the same)
    .../chat/completions
                    an OpenAI-compatible LLM backend (proxy-llm.t): the
                    answer's text is "served <model>"; with "stream": true
                    SSE chunks (role, two text pieces, the finish, usage
                    when stream_options.include_usage, [DONE]), else one
                    chat.completion; usage 11 in, 7 out.  A last user
                    message with MALFORMED: the stream's second event is
                    not JSON; with LONG: the text is 30000 pieces of 10
                    bytes (300 kB); a body that is not JSON: 400
    anything else   200, the JSON of its log line (an echo of every
                    header and of the body), with a Content-Length
"""
import base64
import datetime
import gzip
import hashlib
import hmac
import json
import os
import socket
import ssl
import sys
import threading
import time
from unittest import mock

ADDR, CERT, KEY, LOG, SECRETS, CTL = sys.argv[1:7]
LOCK = threading.Lock()


def secrets():
    with open(SECRETS) as f:
        return json.load(f)


def check_hmac(s, method, target, hdrs, body):
    ts = [v for n, v in hdrs if n.lower() == 'x-lens-timestamp']
    if not ts:
        return None
    name = s.get('hmac_header', 'X-Signature').lower()
    sig = [v for n, v in hdrs if n.lower() == name]
    if len(ts) != 1 or len(sig) != 1:
        return 'bad: %d timestamps, %d signatures' % (len(ts), len(sig))
    if abs(time.time() - int(ts[0])) > 300:
        return 'bad: timestamp %s too far from now' % ts[0]
    path, _, query = target.partition('?')
    q = '&'.join(sorted(p for p in query.split('&') if p))
    canon = '\n'.join(['LENS-HMAC-SHA256', method, path, q, ts[0],
                       hashlib.sha256(body).hexdigest()])
    want = hmac.new(s['hmac_key'].encode(), canon.encode(),
                    hashlib.sha256).hexdigest()
    return 'ok' if hmac.compare_digest(want, sig[0]) else \
        'bad: got %s, want %s over %r' % (sig[0], want, canon)


def check_sigv4(s, method, target, hdrs, body):
    auth = [v for n, v in hdrs if n.lower() == 'authorization']
    if len(auth) != 1 or not auth[0].startswith('AWS4-HMAC-SHA256 '):
        return None
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    try:
        f = dict(p.strip().split('=', 1)
                 for p in auth[0][len('AWS4-HMAC-SHA256 '):].split(','))
        akid, date, region, service, term = f['Credential'].split('/')
        signed = f['SignedHeaders'].split(';')
    except (ValueError, KeyError) as e:
        return 'bad: Authorization %r: %s' % (auth[0], e)
    if akid != s['aws_akid']:
        return 'bad: access key id %s' % akid
    h = {}
    for n, v in hdrs:
        if n.lower() in signed:
            v = ' '.join(v.split())
            h[n.lower()] = h[n.lower()] + ',' + v if n.lower() in h else v
    if set(h) != set(signed) or 'host' not in h or 'x-amz-date' not in h:
        return 'bad: signed headers %s, present %s' % (signed, sorted(h))
    amzdate = h['x-amz-date']
    req = AWSRequest(method=method, url='https://' + h['host'] + target,
                     headers=h, data=body)
    a = SigV4Auth(Credentials(akid, s['aws_secret']), service, region)
    dt = datetime.datetime.strptime(amzdate, '%Y%m%dT%H%M%SZ')
    with mock.patch('botocore.auth.datetime') as m:
        m.datetime.utcnow.return_value = dt
        m.datetime.strptime = datetime.datetime.strptime
        a.add_auth(req)
    want = req.headers['Authorization']
    return 'ok' if want == auth[0] else 'bad: got %s, want %s' % (auth[0], want)


class Conn:
    def __init__(self, t):
        self.t = t
        self.buf = b''

    def line(self):
        while b'\r\n' not in self.buf:
            d = self.t.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        ln, self.buf = self.buf.split(b'\r\n', 1)
        return ln.decode('latin-1')

    def read(self, n):
        while len(self.buf) < n:
            d = self.t.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        r, self.buf = self.buf[:n], self.buf[n:]
        return r


def request(c, sni):
    method, target, _ = c.line().split(' ', 2)
    hdrs = []
    while True:
        ln = c.line()
        if not ln:
            break
        n, _, v = ln.partition(':')
        hdrs.append([n, v.strip()])
    low = {n.lower(): v for n, v in hdrs}
    body = b''
    if low.get('transfer-encoding', '').lower() == 'chunked':
        while True:
            n = int(c.line().split(';')[0], 16)
            if n == 0:
                while c.line():
                    pass
                break
            body += c.read(n)
            c.read(2)
    elif 'content-length' in low:
        body = c.read(int(low['content-length']))
    s = secrets()
    rec = {'sni': sni, 'method': method, 'target': target,
           'headers': hdrs, 'body': body.decode('latin-1'), 'checks': {}}
    for k, f in (('hmac', check_hmac), ('sigv4', check_sigv4)):
        try:
            r = f(s, method, target, hdrs, body)
        except Exception as e:    # a verifier that breaks says so
            r = 'bad: %s: %s' % (type(e).__name__, e)
        if r is not None:
            rec['checks'][k] = r
    line = json.dumps(rec, sort_keys=True)
    with LOCK, open(LOG, 'a') as f:
        f.write(line + '\n')
        f.flush()
    return method, target, low, body, line, low.get('connection') == 'close'


def llm(c, body):
    """An OpenAI Chat Completions backend."""
    try:
        req = json.loads(body)
        model = req['model']
        last = json.dumps(req['messages'][-1])
    except (ValueError, KeyError, IndexError, TypeError):
        data = b'{"error":{"message":"bad request"}}'
        c.t.sendall(b'HTTP/1.1 400 Bad Request\r\nContent-Type: '
                    b'application/json\r\nContent-Length: %d\r\n\r\n%s'
                    % (len(data), data))
        return
    usage = {'prompt_tokens': 11, 'completion_tokens': 7,
             'total_tokens': 18}
    text = ['served ', model]
    if 'LONG' in last:      # more than the proxy's buffers hold
        text = ['0123456789'] * 30000
    if not req.get('stream'):
        data = json.dumps({
            'id': 'chatcmpl-1', 'object': 'chat.completion',
            'created': 1, 'model': model, 'usage': usage,
            'choices': [{'index': 0, 'finish_reason': 'stop', 'message': {
                'role': 'assistant', 'content': ''.join(text)}}]}
        ).encode()
        c.t.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json'
                    b'\r\nContent-Length: %d\r\n\r\n%s' % (len(data), data))
        return

    def chunk(delta, finish=None, **kw):
        d = {'id': 'chatcmpl-1', 'object': 'chat.completion.chunk',
             'created': 1, 'model': model,
             'choices': [{'index': 0, 'delta': delta,
                          'finish_reason': finish}]}
        d.update(kw)
        return 'data: ' + json.dumps(d) + '\n\n'
    ev = [chunk({'role': 'assistant', 'content': ''})] + \
        [chunk({'content': t}) for t in text] + [chunk({}, 'stop')]
    if 'MALFORMED' in last:
        ev[1] = 'data: {"choices": [\n\n'
    if (req.get('stream_options') or {}).get('include_usage'):
        ev.append('data: ' + json.dumps({
            'id': 'chatcmpl-1', 'object': 'chat.completion.chunk',
            'created': 1, 'model': model, 'choices': [],
            'usage': usage}) + '\n\n')
    ev.append('data: [DONE]\n\n')
    out = [b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n'
           b'Transfer-Encoding: chunked\r\n\r\n']
    for e in ev:
        e = e.encode()
        out.append(b'%x\r\n%s\r\n' % (len(e), e))
    out.append(b'0\r\n\r\n')
    c.t.sendall(b''.join(out))


def answer(c, method, target, low, body, line):
    if target.split('?')[0].endswith('/chat/completions'):
        llm(c, body)
        return
    if target.startswith('/hold/'):
        name = target[len('/hold/'):].split('?')[0]
        while not os.path.exists(os.path.join(CTL, os.path.basename(name))):
            time.sleep(0.02)
    if target.startswith('/status/'):
        code = int(target[len('/status/'):].split('?')[0])
        c.t.sendall(b'HTTP/1.1 %d Status\r\n%s\r\n' % (
            code, b'' if code == 204 else b'Content-Length: 0\r\n'))
        return
    if target.startswith('/echo-reason'):
        auth = low.get('authorization', '')
        c.t.sendall(('HTTP/1.1 200 %s\r\nX-%s: 1\r\nContent-Length: 2\r\n\r\nok'
                     % (auth, auth.split(' ')[-1])).encode('latin-1'))
        return
    if target.startswith('/echo-chunked'):
        auth = low.get('authorization', '')
        data = ((auth + '|') * 2000).encode('latin-1') + body
        head = ('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n'
                'X-Echo-Auth: %s\r\nTransfer-Encoding: chunked\r\n\r\n' % auth)
        out = [head.encode('latin-1')]
        for i in range(0, len(data), 7):
            piece = data[i:i + 7]
            out.append(b'%x\r\n%s\r\n' % (len(piece), piece))
        out.append(b'0\r\n\r\n')
        c.t.sendall(b''.join(out))
        return
    data = line.encode() + b'\n'
    enc = b''
    if target.startswith('/echo-gzip'):
        data = gzip.compress(data)
        enc = b'Content-Encoding: gzip\r\n'
    c.t.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                b'%sContent-Length: %d\r\n\r\n%s' % (enc, len(data), data))


def serve(sock, ctx):
    sni = []
    ctx2 = ctx

    def cb(s, name, _):
        sni.append(name)
    ctx2.sni_callback = cb
    try:
        t = ctx2.wrap_socket(sock, server_side=True)
    except (OSError, ssl.SSLError):
        sock.close()
        return
    c = Conn(t)
    try:
        while True:
            m, tg, low, body, line, close = request(c, sni[0] if sni else None)
            answer(c, m, tg, low, body, line)
            if close:
                break
    except (EOFError, OSError, ValueError):
        pass
    try:
        t.close()
    except OSError:
        pass


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ADDR, 443))
    ls.listen(64)
    print('listening', flush=True)
    while True:
        s, _ = ls.accept()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERT, KEY)
        threading.Thread(target=serve, args=(s, ctx), daemon=True).start()


main()
