#!/bin/sh
# lenscredd's SigV4 (lenscredd/sign.c, through regress/tools/sigv4)
# against botocore's (Debian's python3-botocore, /usr/bin/python3):
# each request is signed by both with a key pair made for this run, and
# the Authorization headers must be the same.  lenscredd gets the path
# and query as a sandbox might have sent them (encoded otherwise:
# lower-case hex, reserved characters bare, another order), botocore
# the same request as AWS's SDK would send it.  Requests: reserved
# characters and UTF-8 in the query, a path with spaces and dot
# segments, a POST with a body, S3 with UNSIGNED-PAYLOAD and S3 with the
# body's hash.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! $PY -c 'import botocore.auth' 2>/dev/null; then
	echo "1..0 # SKIP $PY has no botocore (python3-botocore)"
	exit 0
fi
require_built "$OBJ/regress/tools/sigv4"
tap_plan 7
tmpdir_setup

$PY - "$OBJ/regress/tools/sigv4" >"$T/out" 2>"$T/err" <<'EOF'
import base64, datetime, hashlib, os, subprocess, sys, types
from unittest import mock
from botocore.auth import SigV4Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

tool = sys.argv[1]
akid = 'AKID' + base64.b32encode(os.urandom(10)).decode()
secret = base64.b64encode(os.urandom(30)).decode()

def boto(service, ts, method, url, headers, body, params, unsigned):
    req = AWSRequest(method=method, url=url, headers=headers, data=body,
                     params=params)
    if unsigned:
        req.context['client_config'] = types.SimpleNamespace(
            s3={'payload_signing_enabled': False})
    cls = S3SigV4Auth if service == 's3' else SigV4Auth
    a = cls(Credentials(akid, secret), service, 'eu-west-3')
    dt = datetime.datetime.strptime(ts, '%Y%m%dT%H%M%SZ')
    with mock.patch('botocore.auth.datetime') as m:
        m.datetime.utcnow.return_value = dt
        m.datetime.strptime = datetime.datetime.strptime
        a.add_auth(req)
    return req.headers['Authorization']

def lens(service, ts, method, path, query, payload, headers):
    args = [tool, akid, secret, 'eu-west-3', service, ts, method, path,
            query, payload] + ['%s:%s' % h for h in headers]
    p = subprocess.run(args, capture_output=True, text=True)
    return (p.stdout + p.stderr).strip()

EMPTY = hashlib.sha256(b'').hexdigest()
cases = []
# name, service, ts, method, boto url, boto params, boto headers, body,
# unsigned, lens path, lens query, lens payload, lens extra headers
cases.append(('query with reserved characters, UTF-8, + and ~', 'execute-api',
    '20260105T010203Z', 'GET', 'https://api.example.test/v1/items',
    [('prefix', 'a/b c'), ('marker', 'x:y&z=w'), ('utf8', '\u1234'),
     ('tilde', '~*+'), ('empty', ''), ('marker', 'a')],
    {'Host': 'api.example.test'}, b'', False,
    '/v1/items', 'prefix=a/b%20c&marker=x%3ay%26z%3dw&utf8=%e1%88%b4&'
    'tilde=%7E%2A%2B&empty&marker=a', EMPTY, []))
cases.append(('path with spaces and dot segments', 'service',
    '20261207T235959Z', 'GET',
    'https://example.amazonaws.com/my%20dir/./a%20b//../file%20name.txt',
    [], {'Host': 'example.amazonaws.com'}, b'', False,
    '/my%20dir/./a%20b//../file%20name.txt', '-', EMPTY, []))
body = b'Action=ListUsers&Version=2010-05-08&Note=' + os.urandom(8).hex().encode()
cases.append(('POST with a body', 'iam', '20261207T120000Z', 'POST',
    'https://iam.amazonaws.com/', [],
    {'Host': 'iam.amazonaws.com',
     'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'},
    body, False, '/', '-', hashlib.sha256(body).hexdigest(),
    [('Content-Type', 'application/x-www-form-urlencoded;  charset=utf-8 ')]))
cases.append(('S3 GET with UNSIGNED-PAYLOAD', 's3', '20261207T080910Z', 'GET',
    'https://bucket.s3.eu-west-3.amazonaws.com/dir/my%20key%21%28x%29.txt',
    [('versionId', 'a+b/c=')], {'Host': 'bucket.s3.eu-west-3.amazonaws.com',
     'Content-MD5': '1B2M2Y8AsgTpgAmY7PhCfg=='}, b'', True,
    "/dir/my%20key!(x).txt", 'versionId=a%2bb/c%3D', 'UNSIGNED-PAYLOAD',
    [('X-Amz-Content-SHA256', 'UNSIGNED-PAYLOAD'),
     ('Content-MD5', '1B2M2Y8AsgTpgAmY7PhCfg==')]))
cases.append(('S3 PUT with the body hash', 's3', '20261207T080911Z', 'PUT',
    'http://bucket.s3.eu-west-3.amazonaws.com/k%C3%A9y', [],
    {'Host': 'bucket.s3.eu-west-3.amazonaws.com'}, body, False,
    '/k%c3%a9y', '-', hashlib.sha256(body).hexdigest(),
    [('X-Amz-Content-SHA256', hashlib.sha256(body).hexdigest())]))

for (name, service, ts, method, url, params, hdrs, body, unsigned, path,
     query, payload, extra) in cases:
    want = boto(service, ts, method, url, dict(hdrs), body, params, unsigned)
    h = [('Host', hdrs['Host']), ('X-Amz-Date', ts)] + extra
    got = lens(service, ts, method, path, query, payload, h)
    print('%s\t%s\t%s' % (name, want, got))
EOF
ok $? "botocore ran"
[ -s "$T/err" ] && sed 's/^/# /' "$T/err"
n=$(wc -l <"$T/out")
[ "$n" -eq 5 ]
ok $? "five requests signed ($n)"
tab=$(printf '\t')
while IFS="$tab" read -r name want got; do
	[ -n "$want" ] && [ "$want" = "$got" ]
	ok $? "$name: the same Authorization as botocore"
	[ "$want" = "$got" ] || { diag "botocore: $want"; diag "lens:     $got"; }
done <"$T/out"
tap_done
