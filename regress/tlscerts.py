#!/usr/bin/env python3
"""Certificates for the TLS interception tests (regress/netd-tls.t).

    tlscerts.py DIR

writes into DIR (PEM, keys 0600):
    ca.crt/.key        the test internet's CA ("lens tls test CA")
    good.crt/.key      good.test, good2.test, good3.test, pass.test,
                       signed by ca
    expired.crt/.key   expired.test, signed by ca, expired a day ago
    self.crt/.key      self.test, self-signed
    pca.crt            a private CA ("lens private CA"), in no trust store
    private.crt/.key   private.test, signed by pca
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def key():
    return ec.generate_private_key(ec.SECP256R1())


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(subject, skey, issuer, ikey, names=None, ca=False,
         nb=NOW - DAY, na=NOW + 2 * DAY):
    b = (x509.CertificateBuilder().subject_name(name(subject))
         .issuer_name(name(issuer)).public_key(skey.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(nb).not_valid_after(na)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                        critical=True))
    if names:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in names]), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if ca:
        b = b.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False,
            key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    return b.sign(ikey, hashes.SHA256())


def write(d, base, c, k=None):
    with open(os.path.join(d, base + ".crt"), "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    if k is not None:
        p = os.path.join(d, base + ".key")
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    cak = key()
    ca = cert("lens tls test CA", cak, "lens tls test CA", cak, ca=True)
    write(d, "ca", ca, cak)
    k = key()
    write(d, "good", cert("good.test", k, "lens tls test CA", cak,
                          ["good.test", "good2.test", "good3.test",
                           "pass.test"]), k)
    k = key()
    write(d, "expired", cert("expired.test", k, "lens tls test CA", cak,
                             ["expired.test"], nb=NOW - 3 * DAY,
                             na=NOW - DAY), k)
    k = key()
    write(d, "self", cert("self.test", k, "self.test", k, ["self.test"]), k)
    pk = key()
    write(d, "pca", cert("lens private CA", pk, "lens private CA", pk,
                         ca=True))
    k = key()
    write(d, "private", cert("private.test", k, "lens private CA", pk,
                             ["private.test"]), k)


if __name__ == "__main__":
    main()
