#!/usr/bin/env python3
"""Build an OCI image layout from a root file system directory.

mkimage.py OUT ROOTFS [--tag T] [--config JSON] [--file PATH=TEXT ...]

The first layer is ROOTFS as a gzip'd tar (owners 0:0); with --file a
second layer holds those files (TEXT as their content, mode 0644, in
directories of mode 1777).  --config is the image config's "config"
object (Entrypoint, Cmd, Env, WorkingDir, User).  Prints the manifest
digest.
"""
import argparse, gzip, hashlib, io, json, os, tarfile

def blob(d, data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}

def owner0(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.mtime = 0
    return ti

def layer(d, build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        build(t)
    raw = buf.getvalue()
    desc = blob(d, gzip.compress(raw, mtime=0))
    desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    return desc, "sha256:" + hashlib.sha256(raw).hexdigest()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("rootfs")
    ap.add_argument("--tag", default="latest")
    ap.add_argument("--config", default="{}")
    ap.add_argument("--file", action="append", default=[])
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "blobs", "sha256"), exist_ok=True)
    layers, diffs = [], []

    def base(t):
        for name in sorted(os.listdir(a.rootfs)):
            if name.startswith(".lens"):
                continue
            t.add(os.path.join(a.rootfs, name), arcname=name, filter=owner0)
    l, dd = layer(a.out, base)
    layers.append(l)
    diffs.append(dd)
    if a.file:
        def extra(t):
            dirs = set()
            for spec in a.file:
                path, text = spec.split("=", 1)
                path = path.strip("/")
                parts = path.split("/")[:-1]
                for i in range(1, len(parts) + 1):
                    dn = "/".join(parts[:i])
                    if dn in dirs:
                        continue
                    dirs.add(dn)
                    ti = owner0(tarfile.TarInfo(dn))
                    ti.type = tarfile.DIRTYPE
                    ti.mode = 0o1777
                    t.addfile(ti)
                data = text.encode()
                ti = owner0(tarfile.TarInfo(path))
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
        l, dd = layer(a.out, extra)
        layers.append(l)
        diffs.append(dd)
    cfg = {"architecture": "amd64", "os": "linux",
           "config": json.loads(a.config),
           "rootfs": {"type": "layers", "diff_ids": diffs}}
    c = blob(a.out, json.dumps(cfg).encode())
    c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    man = {"schemaVersion": 2,
           "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": c, "layers": layers}
    m = blob(a.out, json.dumps(man).encode())
    m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    m["annotations"] = {"org.opencontainers.image.ref.name": a.tag}
    idx = {"schemaVersion": 2, "manifests": [m]}
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(idx, f)
    with open(os.path.join(a.out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    print(m["digest"])

main()
