#!/usr/bin/env python3
"""Build an OCI image layout for the image tests.

mkoci.py DIR [--tag T] [--layers N] [--platforms os/arch,...] [--corrupt]
         [--symlink-blob] [--size-lie] [--seed S] [--noise BYTES]

Each layer is a gzip'd tar of one file whose content depends on the
seed and the layer number (so images differ); with --platforms the
layout's index points to an image index with one manifest per platform.
--corrupt: the first layer's blob is overwritten after its digest is
taken (a layout that lies); --symlink-blob: the config blob is a
symbolic link to /etc/passwd's directory entry; --size-lie: the first
layer's descriptor claims one byte less.  Prints the manifest digest
(of the first platform).
"""
import argparse, gzip, hashlib, io, json, os, tarfile

def blob(d, data):
    h = hashlib.sha256(data).hexdigest()
    p = os.path.join(d, "blobs", "sha256", h)
    with open(p, "wb") as f:
        f.write(data)
    return "sha256:" + h, len(data)

def layer(seed, i, big, noise):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = (f"layer {i} of image {seed}\n" * (1 + big)).encode()
        data += os.urandom(noise)
        ti = tarfile.TarInfo(f"file{i}.txt")
        ti.size = len(data)
        ti.mtime = 0
        t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()

def image(d, a, osname, arch):
    layers, diffs = [], []
    for i in range(a.layers):
        gz, diff = layer(f"{a.seed}-{osname}-{arch}", i, a.big, a.noise)
        dg, sz = blob(d, gz)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": dg, "size": sz - (1 if a.size_lie and i == 0 else 0)})
        diffs.append(diff)
        if a.corrupt and i == 0:
            with open(os.path.join(d, "blobs", "sha256", dg[7:]), "r+b") as f:
                f.seek(10)
                f.write(b"X")
    cfg = json.dumps({"architecture": arch, "os": osname,
                      "config": {"Entrypoint": ["/bin/sh"], "Cmd": ["-c", "echo hi"],
                                 "Env": ["PATH=/bin", "A=1"], "WorkingDir": "/",
                                 "User": "0", "ExposedPorts": {"80/tcp": {}}},
                      "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    cd, cs = blob(d, cfg)
    if a.symlink_blob:
        p = os.path.join(d, "blobs", "sha256", cd[7:])
        os.unlink(p)
        os.symlink("/etc/passwd", p)
    man = json.dumps({"schemaVersion": 2,
                      "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": cd, "size": cs},
                      "layers": layers}).encode()
    md, ms = blob(d, man)
    return md, ms

def docker_archive(d, md, out, tag):
    rd = lambda dg: open(os.path.join(d, "blobs", "sha256", dg[7:]), "rb").read()
    m = json.loads(rd(md))
    with tarfile.open(out, "w") as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        names = []
        for i, l in enumerate(m["layers"]):
            names.append("%d/layer.tar" % i)
            add(names[-1], gzip.decompress(rd(l["digest"])))
        cfg = m["config"]["digest"][7:] + ".json"
        add(cfg, rd(m["config"]["digest"]))
        add("manifest.json", json.dumps([{"Config": cfg, "Layers": names,
            "RepoTags": ["lens/busy:" + tag]}]).encode())

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--tag", default="latest")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--platforms", default="")
    ap.add_argument("--corrupt", action="store_true")
    ap.add_argument("--symlink-blob", action="store_true")
    ap.add_argument("--size-lie", action="store_true")
    ap.add_argument("--seed", default="0")
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--docker-archive", default="",
                    help="also write the image as a `docker save` tar there")
    ap.add_argument("--noise", type=int, default=0,
                    help="random bytes per layer (incompressible)")
    a = ap.parse_args()
    d = a.dir
    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    ann = {"org.opencontainers.image.ref.name": a.tag}
    if a.platforms:
        ms = []
        first = None
        for p in a.platforms.split(","):
            o, ar = p.split("/")
            md, sz = image(d, a, o, ar)
            first = first or md
            ms.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": md, "size": sz,
                       "platform": {"os": o, "architecture": ar}})
        sub = json.dumps({"schemaVersion": 2,
                          "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": ms}).encode()
        sd, ss = blob(d, sub)
        top = [{"mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": sd, "size": ss, "annotations": ann}]
    else:
        first, sz = image(d, a, "linux", "amd64")
        top = [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": first, "size": sz, "annotations": ann}]
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": top}, f)
    if a.docker_archive:
        docker_archive(d, first, a.docker_archive, a.tag)
    print(first)

main()
