#!/usr/bin/env python3
"""Image layers for the regress tests, hostile ones included.

    mklayer.py KIND OUT [COMPRESSION]
    mklayer.py -a DIR
    mklayer.py -o DIR [-t TAG] [-c CONFIG-JSON] KIND|dir:PATH...

Writes the layer blob OUT (COMPRESSION gzip, the default, zstd, none,
or a compressor's command) and prints its diff id (sha256 of the
uncompressed tar).  KIND names a layer of entries(), or 'sparse',
'many', 'bomb', 'trailer-bomb' (built without tarfile).  With -a: every
KIND as DIR/KIND.blob and its diff id in DIR/KIND.diffid, and 'good'
also as good-none, good-zstd and good-bzip2 (one python start-up).
With -o: an OCI image layout in DIR (index.json, tag TAG, default
latest) of those layers in order, gzip'd, dir:PATH the tree at PATH
(owners 0), 'slow' 1 GiB of zeros with a wrong diff id (for a test
that kills the unpack), its config's "config" object CONFIG-JSON; prints the
manifest digest.
"""
import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
import zlib

ESCAPE = '../' * 16 + 'tmp/lens-layer-escape'


def entries(kind):
    """(name, type, data, mode, linkname, pax) of each entry of kind"""
    R, D, S, H, C, F = (tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE,
                        tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE)
    return {
        'good': [('./', D, b'', 0o755, '', None),
                 ('./bin', D, b'', 0o555, '', None),
                 ('./bin/hello', R, b'#!/bin/sh\necho hi\n', 0o755, '', None),
                 ('./bin/again', H, b'', 0, './bin/hello', None),
                 ('./lib', S, b'', 0o777, 'usr/lib', None),
                 ('./usr/lib/x.so', R, b'x', 0o644, '', None),
                 ('./etc/f', R, b'hi', 0o600,  '',
                  {'SCHILY.xattr.user.note': 'kept',
                   'SCHILY.xattr.security.capability': 'dropped',
                   'SCHILY.xattr.user.overlay.opaque': 'y'}),
                 ('./etc/.wh.passwd', R, b'', 0o644, '', None),
                 ('./var/.wh..wh..opq', R, b'', 0o644, '', None)],
        'dotdot': [('a/../../../' + ESCAPE, R, b'pwned', 0o644, '', None)],
        'absolute': [('/tmp/lens-layer-escape', R, b'pwned', 0o644, '',
                      None)],
        'symlink-etc': [('etc', S, b'', 0o777, '/etc', None),
                        ('etc/lens-layer-escape', R, b'pwned', 0o644, '',
                         None)],
        'symlink-up': [('up', S, b'', 0o777, '../' * 16 + 'tmp', None),
                       ('up/lens-layer-escape', R, b'pwned', 0o644, '',
                        None)],
        'hardlink-out': [('passwd', H, b'', 0, '../' * 16 + 'etc/passwd',
                          None)],
        'hardlink-abs': [('passwd', H, b'', 0, '/etc/passwd', None)],
        'hardlink-via-symlink': [('e', S, b'', 0o777, '/etc', None),
                                 ('passwd', H, b'', 0, 'e/passwd', None)],
        'whiteout-dotdot': [('a/.wh...', R, b'', 0o644, '', None)],
        'whiteout-dot': [('.wh..', R, b'', 0o644, '', None)],
        'device': [('dev', D, b'', 0o755, '', None),
                   ('dev/sda', C, b'', 0o666, '', None),
                   ('dev/fifo', F, b'', 0o666, '', None),
                   ('ok', R, b'ok', 0o644, '', None)],
        'base': [('etc/passwd', R, b'root:x:0:0::/:/bin/sh\n', 0o644, '',
                   None),
                  ('etc/keep', R, b'kept', 0o644, '', None),
                  ('var/old', R, b'old', 0o644, '', None)],
        'top': [('etc/.wh.passwd', R, b'', 0o644, '', None),
                ('var/.wh..wh..opq', R, b'', 0o644, '', None),
                ('var/new', R, b'new', 0o644, '', None)],
        'ten': [('f%d' % i, R, b'', 0o644, '', None) for i in range(10)],
        'setuid': [('su', R, b'#!/bin/sh\n', 0o6755, '', None),
                   ('tmp', D, b'', 0o3777, '', None)],
    }[kind]


def tar_of(kind):
    if kind == 'sparse':
        return sparse()
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT)
    for name, typ, data, mode, link, pax in entries(kind):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.linkname = typ, mode, link
        ti.size = len(data) if typ == tarfile.REGTYPE else 0
        ti.mtime = 1700000000
        if pax:
            ti.pax_headers = pax
        t.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
    t.close()
    return buf.getvalue()


def header(name, size, typ=b'0', pax=False):
    """a ustar header block (size as 11 octal digits, or base-256)"""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b'0000644\0'
    h[108:116] = b'0000000\0'
    h[116:124] = b'0000000\0'
    if size < 8 ** 11:
        h[124:136] = b'%011o\0' % size
    else:
        h[124:136] = b'\x80' + size.to_bytes(11, 'big')
    h[136:148] = b'14361416000\0'
    h[156:157] = typ
    h[257:265] = b'ustar\x0000'
    h[148:156] = b'        '
    h[148:156] = b'%06o\0 ' % sum(h)
    return bytes(h)


def sparse():
    """a PAX 1.0 sparse file of 10 GiB real size, 1 byte of data"""
    real = 10 << 30
    recs = {'GNU.sparse.major': '1', 'GNU.sparse.minor': '0',
            'GNU.sparse.name': 'big', 'GNU.sparse.realsize': str(real)}
    body = b''
    for k, v in recs.items():
        rec = ' %s=%s\n' % (k, v)
        n = len(rec) + 1
        while len(str(n)) + len(rec) != n:
            n = len(str(n)) + len(rec)
        body += (str(n) + rec).encode()
    out = header(b'./PaxHeaders/big', len(body), b'x')
    out += body + b'\0' * (-len(body) % 512)
    # the map in the data: 1 region, offset real-1, 1 byte
    sm = b'1\n%d\n1\n' % (real - 1)
    sm += b'\0' * (-len(sm) % 512)
    data = sm + b'X' + b'\0' * 511
    out += header(b'GNUSparseFile.0/big', len(data)) + data
    return out + b'\0' * 1024


def many(out):
    """a million empty files: 1000 names, each 1000 times (a gzip
    member of 1000 headers, repeated); the entry-count limit"""
    block = b''.join(header(b'f%03d' % i, 0) for i in range(1000))
    member = gzip.compress(block, 9)
    h = hashlib.sha256()
    with open(out, 'wb') as f:
        for _ in range(1000):
            f.write(member)
            h.update(block)
        f.write(gzip.compress(b'\0' * 1024))
    h.update(b'\0' * 1024)
    return 'sha256:' + h.hexdigest()


KINDS = ['good', 'base', 'top', 'dotdot', 'absolute', 'symlink-etc', 'symlink-up',
         'hardlink-out', 'hardlink-abs', 'hardlink-via-symlink',
         'whiteout-dotdot', 'whiteout-dot', 'device', 'setuid', 'sparse',
         'many', 'bomb', 'trailer-bomb']


def tree_tar(path):
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT)

    def owner0(ti):
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = 'root'
        return ti
    t.add(path, arcname='.', filter=owner0)
    t.close()
    return buf.getvalue()


def oci(args):
    import json
    import os
    d, tag, cfg = args[0], 'latest', {}
    args = args[1:]
    while args and args[0] in ('-t', '-c'):
        if args[0] == '-t':
            tag = args[1]
        else:
            cfg = json.loads(args[1])
        args = args[2:]
    os.makedirs(d + '/blobs/sha256', exist_ok=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        with open('%s/blobs/sha256/%s' % (d, h), 'wb') as f:
            f.write(data)
        return {'digest': 'sha256:' + h, 'size': len(data)}
    layers, diffs = [], []
    for k in args:
        if k == 'slow':
            # 1 GiB of zeros in one file, slow to unpack: its diff id is
            # the header's alone (wrong), the test kills the unpack first
            z = zlib.compressobj(9, zlib.DEFLATED, 31)
            member = z.compress(b'\0' * (16 << 20)) + z.flush()
            head = header(b'zeros', 1 << 30)
            diffs.append('sha256:' + hashlib.sha256(head).hexdigest())
            desc = put(gzip.compress(head, 1) + member * 64)
            desc['mediaType'] = 'application/vnd.oci.image.layer.v1.tar+gzip'
            layers.append(desc)
            continue
        raw = tree_tar(k[4:]) if k.startswith('dir:') else tar_of(k)
        diffs.append('sha256:' + hashlib.sha256(raw).hexdigest())
        desc = put(gzip.compress(raw, 1, mtime=0))
        desc['mediaType'] = 'application/vnd.oci.image.layer.v1.tar+gzip'
        layers.append(desc)
    config = {'architecture': 'amd64', 'os': 'linux', 'config': cfg,
              'rootfs': {'type': 'layers', 'diff_ids': diffs}}
    cdesc = put(json.dumps(config).encode())
    cdesc['mediaType'] = 'application/vnd.oci.image.config.v1+json'
    man = {'schemaVersion': 2,
           'mediaType': 'application/vnd.oci.image.manifest.v1+json',
           'config': cdesc, 'layers': layers}
    mdesc = put(json.dumps(man).encode())
    mdesc['mediaType'] = 'application/vnd.oci.image.manifest.v1+json'
    mdesc['annotations'] = {'org.opencontainers.image.ref.name': tag}
    with open(d + '/index.json', 'w') as f:
        json.dump({'schemaVersion': 2, 'manifests': [mdesc]}, f)
    with open(d + '/oci-layout', 'w') as f:
        json.dump({'imageLayoutVersion': '1.0.0'}, f)
    print(mdesc['digest'])


def main():
    if sys.argv[1] == '-o':
        oci(sys.argv[2:])
        return
    if sys.argv[1] == '-a':
        d = sys.argv[2]
        todo = [(k, k, 'gzip') for k in KINDS] + [
            ('good-' + c, 'good', c) for c in ('none', 'zstd', 'bzip2')]
        for name, kind, comp in todo:
            with open('%s/%s.diffid' % (d, name), 'w') as f:
                sys.stdout = f
                make(kind, '%s/%s.blob' % (d, name), comp)
                sys.stdout = sys.__stdout__
        return
    make(sys.argv[1], sys.argv[2],
         sys.argv[3] if len(sys.argv) > 3 else 'gzip')


def make(kind, out, comp):
    if kind == 'bomb' or kind == 'trailer-bomb':
        # 1 GiB of zeros in 64 gzip members of 16 MiB each (~1 MiB)
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        member = z.compress(b'\0' * (16 << 20)) + z.flush()
        if kind == 'bomb':
            head = header(b'zeros', 1 << 30)
        else:
            head = tar_of('good')	# a whole tar, then the zeros
        h = hashlib.sha256(head)
        zero = hashlib.sha256()
        with open(out, 'wb') as f:
            f.write(gzip.compress(head, 1))
            for _ in range(64):
                f.write(member)
        # the diff id of the whole 1 GiB stream is not needed: the limit
        # stops it first; the head's is printed
        print('sha256:' + h.hexdigest())
        return
    if kind == 'many':
        print(many(out))
        return
    raw = tar_of(kind)
    if comp == 'gzip':
        blob = gzip.compress(raw, 1)
    elif comp == 'zstd':
        blob = subprocess.run(['zstd', '-q', '-c'], input=raw,
                              stdout=subprocess.PIPE, check=True).stdout
    elif comp == 'none':
        blob = raw
    else:
        blob = subprocess.run([comp, '-c'], input=raw,
                              stdout=subprocess.PIPE, check=True).stdout
    with open(out, 'wb') as f:
        f.write(blob)
    print('sha256:' + hashlib.sha256(raw).hexdigest())


if __name__ == '__main__':
    main()
