"""A small PKI made in the test with `cryptography`: CAs, server and client certificates, PEM files."""

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Issued:
    key: Key
    cert: x509.Certificate

    def write(self, directory: Path, name: str, chain: tuple["Issued", ...] = ()) -> tuple[Path, Path]:
        """(certificate PEM with `chain` after it, key PEM), 0600."""
        cert = directory / f"{name}.pem"
        key = directory / f"{name}.key"
        cert.write_bytes(b"".join(i.cert.public_bytes(serialization.Encoding.PEM) for i in (self, *chain)))
        key.write_bytes(self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        for path in (cert, key):
            path.chmod(0o600)
        return cert, key


def new_key(kind: str = "ec") -> Key:
    return ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def authority(common_name: str = "Test CSMS Root") -> Issued:
    key = new_key()
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return Issued(key, cert)


def issue(ca: Issued, common_name: str, *, hosts: tuple[str, ...] = ("127.0.0.1",), client: bool = False,
          kind: str = "ec", expired: bool = False) -> Issued:
    """A leaf for a TLS server (`hosts`: its IP or DNS names) or, with `client`, a TLS client."""
    key = new_key(kind)
    now = datetime.datetime.now(datetime.UTC)
    start, end = ((now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)) if expired
                  else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)))
    names = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h) for h in hosts]
    builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca.cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client
                                                     else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    if not client:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(key, builder.sign(ca.key, hashes.SHA256()))


def server_context(server: Issued, directory: Path, client_ca: Issued | None = None,
                   require_client: bool = True) -> ssl.SSLContext:
    """A TLS server context with `server`'s certificate; with `client_ca`, one that checks client certificates
    against it (requires one, or with `require_client` False, takes one when offered)."""
    cert, key = server.write(directory, "server")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED if require_client else ssl.CERT_OPTIONAL
        context.load_verify_locations(cadata=client_ca.cert.public_bytes(serialization.Encoding.PEM).decode())
    return context


def ca_file(ca: Issued, directory: Path) -> str:
    """`ca`'s certificate as a PEM file, for `[csms] ca_file`."""
    path = directory / "csms-root.pem"
    path.write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    return str(path)
