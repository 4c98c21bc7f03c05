"""Certificates of the OCPP 1.6 Security Whitepaper ("Improved security for OCPP 1.6-J", edition 3): the roots the
Central System installs, the charge point's own key pair and certificate, and the check of a signed firmware.

Use cases (the whitepaper numbers them as OCPP 2.0.1 does): M05 InstallCertificate, M03 GetInstalledCertificateIds,
M04 DeleteCertificate, A02/A03 "Update Charge Point Certificate" (SignCertificate, then CertificateSigned), L01
"Secure Firmware Update" (SignedUpdateFirmware). Everything cryptographic is done by `cryptography`: parsing,
hashes, key generation, CSRs, signature checks.

What is kept, in one directory (0700; every file 0600, written to a new file, synced, then renamed over the old):

- `<CertificateUse>-<sha256 fingerprint>.pem`: one installed root each (CentralSystemRootCertificate: trusted for
  the Central System's TLS server certificate; ManufacturerRootCertificate: trusted for firmware signing
  certificates);
- `pending-key.pem`, `pending-csr.pem`: the key pair of the last SignCertificate.req, until a CertificateSigned.req
  brings its certificate ("the Charge Point SHALL generate a new public/private key pair", A02/A03; the private key
  "SHALL NOT leave the Charge Point at any time");
- `client-chain.pem` and `client-key-<key id>.pem`: the charge point certificate (with its sub-CAs) and its key,
  for TLS security profile 3. The chain file names its key through the leaf's public key, so the one rename of the
  chain file switches both at once.
- `ca-bundle.pem`: the trust anchors for the Central System's server certificate, made by `ca_bundle`.

Protocol-neutral: the OCPP 1.6 handlers turn these answers into their .conf messages and SecurityEventNotifications.
"""

import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

ACCEPTED = "Accepted"
REJECTED = "Rejected"
FAILED = "Failed"
NOT_FOUND = "NotFound"

HASH_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}
"""HashAlgorithmEnumType: the hashes a CertificateHashDataType may be computed with."""

READ_CHUNK = 64 * 1024
"""How much of a firmware file is read at a time while hashing it."""

PREHASHED = utils.Prehashed(hashes.SHA256())
RSA_PADDINGS = (padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO), padding.PKCS1v15())
"""L01 asks for RSA-PSS with SHA-256; PKCS#1 v1.5 with SHA-256 is what `openssl dgst -sha256 -sign` (the usual
manufacturer tool) makes, and is accepted too."""


Pending = tuple[ec.EllipticCurvePrivateKey, x509.CertificateSigningRequest]


class CertificateUse(StrEnum):
    """CertificateUseEnumType (InstallCertificate.req, GetInstalledCertificateIds.req)."""

    CENTRAL_SYSTEM_ROOT = "CentralSystemRootCertificate"
    """"Root certificate, used by the CA to sign the Central System and Charge Point certificate"."""
    MANUFACTURER_ROOT = "ManufacturerRootCertificate"
    """"Root certificate for verification of the Manufacturer certificate" (the firmware signing certificate)."""


@dataclass(frozen=True)
class HashData:
    """CertificateHashDataType: a certificate named as OCSP (RFC 6960 CertID) names it.

    The whitepaper (and OCPP 2.0.1 §2.6) gives hashAlgorithm, issuerNameHash ("Hashed value of the Issuer DN"),
    issuerKeyHash ("Hashed value of the issuers public key") and serialNumber ("The serial number of the
    certificate"), each at most 128 (serialNumber 40) characters. OCPP 2.1 spells out what was meant: the name hash
    over "the DER encoding of the issuer's name field in the certificate being checked", the key hash over "the value
    (excluding tag and length) of the subject public key field in the issuer's certificate", the serial number as
    "the string representation of the hexadecimal value of the serial number without the prefix 0x and without
    leading zeroes". No edition says upper or lower case: this module writes lower case (as EVerest's evse_security
    does) and compares without regard to case or leading zeros (`normalized`).
    """

    hash_algorithm: str
    """"SHA256", "SHA384" or "SHA512"."""
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def to_ocpp(self) -> dict[str, str]:
        return {"hashAlgorithm": self.hash_algorithm, "issuerNameHash": self.issuer_name_hash,
                "issuerKeyHash": self.issuer_key_hash, "serialNumber": self.serial_number}

    @classmethod
    def from_ocpp(cls, d: dict[str, str]) -> "HashData":
        """From a certificateHashData object, its keys camelCase (the wire) or snake_case (as the `ocpp` library
        hands a request's fields over); normalized."""

        def field(camel: str, snake: str) -> str:
            return str(d[camel] if camel in d else d[snake])

        return cls(field("hashAlgorithm", "hash_algorithm"), field("issuerNameHash", "issuer_name_hash"),
                   field("issuerKeyHash", "issuer_key_hash"), field("serialNumber", "serial_number")).normalized()

    def normalized(self) -> "HashData":
        """The same hash data as this module writes it: hex in lower case, the serial number without leading
        zeros (a Central System may well send "0A1B" for "a1b")."""
        return HashData(self.hash_algorithm.upper(), self.issuer_name_hash.lower(), self.issuer_key_hash.lower(),
                        self.serial_number.lower().lstrip("0") or "0")


def hash_data(cert: x509.Certificate, issuer: x509.Certificate | None = None,
              algorithm: str = "SHA256") -> HashData:
    """`cert`'s CertificateHashDataType, computed as an OCSP request's CertID is (`cryptography`'s OCSP builder);
    `issuer` is the certificate that signed `cert` (None: `cert` is self-signed, as every installed root is)."""
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer or cert, HASH_ALGORITHMS[algorithm]()).build()
    return HashData(algorithm, request.issuer_name_hash.hex(), request.issuer_key_hash.hex(),
                    format(request.serial_number, "x"))


class CertificateStore:
    """Certificates and the charge point's key pair in a directory (files 0600, directory 0700)."""

    CA_BUNDLE = "ca-bundle.pem"
    CLIENT_CHAIN = "client-chain.pem"
    PENDING_KEY = "pending-key.pem"
    PENDING_CSR = "pending-csr.pem"

    def __init__(self, directory: Path, max_certificates: int = 20) -> None:
        self.directory = directory
        self.max_certificates = max_certificates
        """CertificateStoreMaxLength: how many roots (of both uses together) may be installed."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)

    # InstallCertificate, GetInstalledCertificateIds, DeleteCertificate (use cases M05, M03, M04)

    def install(self, use: CertificateUse, pem: str, now: datetime) -> str:
        """InstallCertificate.req: "Accepted"; "Rejected" when `pem` is not one PEM X.509 certificate, not a
        self-signed CA certificate (a root), not valid at `now` (aware), or the store is full ("Rejected: Certificate
        is invalid and/or incorrect OR the CertificateStoreMaxLength is exceeded"); "Failed" when it could not be
        written ("Failed: Certificate is valid and correct, but there is another reason the installation did not
        succeed"). A root installed already for this use is Accepted again and not counted twice."""
        cert = _one_certificate(pem)
        problem = "not one PEM X.509 certificate" if cert is None else _root_problem(cert, now)
        if cert is None or problem:
            log.warning("certificate rejected use=%s reason=%r", use, problem)
            return REJECTED
        path = self._root_path(use, cert)
        if path.is_file():
            log.info("certificate installed already use=%s %s", use, _describe(cert))
            return ACCEPTED
        if self._count() >= self.max_certificates:
            log.warning("certificate rejected use=%s reason='store full' max=%d", use, self.max_certificates)
            return REJECTED
        try:
            _write_private(path, cert.public_bytes(serialization.Encoding.PEM))
        except OSError as e:
            log.error("certificate not installed use=%s error=%r", use, str(e))
            return FAILED
        log.info("certificate installed use=%s %s", use, _describe(cert))
        return ACCEPTED

    def installed(self, use: CertificateUse | None = None) -> list[HashData]:
        """GetInstalledCertificateIds.conf's certificateHashData: the installed roots of `use` (None: of both)."""
        return [hash_data(cert) for _, cert in self._installed(use)]

    def delete(self, hash: HashData) -> str:
        """DeleteCertificate.req: "Accepted" (every installed root with that hash data deleted, whatever its use),
        "NotFound", "Failed" (a file could not be removed). The hash data is compared as computed with its own
        hashAlgorithm, regardless of case and leading zeros of the serial number."""
        wanted = hash.normalized()
        if wanted.hash_algorithm not in HASH_ALGORITHMS:
            log.warning("certificate not deleted hash_algorithm=%r reason='unknown hash algorithm'",
                        wanted.hash_algorithm)
            return NOT_FOUND
        paths = [path for path, cert in self._installed(None)
                 if hash_data(cert, algorithm=wanted.hash_algorithm) == wanted]
        if not paths:
            log.info("certificate not deleted serial=%s reason='not installed'", wanted.serial_number)
            return NOT_FOUND
        try:
            for path in paths:
                path.unlink()
        except OSError as e:
            log.error("certificate not deleted serial=%s error=%r", wanted.serial_number, str(e))
            return FAILED
        _sync_directory(self.directory)
        log.info("certificate deleted serial=%s files=%d", wanted.serial_number, len(paths))
        return ACCEPTED

    def roots(self, use: CertificateUse) -> list[x509.Certificate]:
        return [cert for _, cert in self._installed(use)]

    def ca_bundle(self, extra_pem_file: Path | None) -> Path | None:
        """One PEM file, in the directory, of `extra_pem_file` (the configuration's CA file; it must be readable)
        and every installed CentralSystemRootCertificate: what `ssl.SSLContext.load_verify_locations` takes to
        check the Central System's server certificate. None (and no file) when there is neither."""
        parts = [extra_pem_file.read_bytes()] if extra_pem_file else []
        parts += [c.public_bytes(serialization.Encoding.PEM) for c in self.roots(CertificateUse.CENTRAL_SYSTEM_ROOT)]
        path = self.directory / self.CA_BUNDLE
        if not parts:
            path.unlink(missing_ok=True)
            return None
        _write_private(path, b"".join(part.strip() + b"\n" for part in parts))
        return path

    # SignCertificate and CertificateSigned (use cases A02, A03)

    def create_csr(self, common_name: str, organization: str) -> str:
        """A new key pair, kept as "pending", and its certificate signing request (PKCS #10, PEM: SignCertificate.req's
        csr).

        Subject: the whitepaper's "Certificate Properties" give the Charge Point certificate "a commonName (CN) RDN
        which consists of the unique serial number of the Charge Point" (what the compliance test TC_087_CS checks in
        the TLS handshake), and SignCertificate.req says the Charge Point "SHALL put the value of the CpoName
        configuration key in the organizationName (O) RDN in the subject field of the certificate": `common_name` is
        the charge point's serial number (its identity), `organization` the CpoName. Either empty (no CpoName set)
        or longer than X.509 allows (64) is a ValueError.

        Key: EC on NIST P-256, signed with ECDSA-SHA256. The whitepaper asks for keys of at least 2048 bits (RSA) or
        224 bits (elliptic curve) and lists TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 among the cipher suites a Charge
        Point must support; P-256 meets that with a margin (about RSA-3072 strength), is generated in milliseconds on
        a small board where RSA takes seconds, and keeps the CSR far below the field's 5500 characters. The key is
        generated here and written 0600 only here; it is never logged or returned.
        """
        if not common_name or not organization:
            raise ValueError("a CSR needs a commonName (the serial number) and an organizationName (the CPO's name)")
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                             x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        _write_private(self.directory / self.PENDING_KEY, _private_pem(key))
        _write_private(self.directory / self.PENDING_CSR, csr.public_bytes(serialization.Encoding.PEM))
        log.info("certificate signing request made cn=%r o=%r key=EC-P256", common_name, organization)
        return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def accept_signed(self, chain_pem: str, now: datetime) -> str:
        """CertificateSigned.req: "Accepted" and the chain becomes the charge point certificate, or "Rejected" and
        nothing changes.

        The whitepaper (A02/A03): the Charge Point "SHALL verify validity of the signed certificate" (its validity
        period, its properties, the CPO's certificate hierarchy) and discard one that fails. Checked here: the first
        certificate is for the pending key and has the commonName the CSR asked for; every certificate is valid at
        `now`; each is signed by the next (a CA). The last must be signed by, or be, an installed
        CentralSystemRootCertificate that is valid at `now` when one is installed. When none is, the chain is taken
        as it is: it came from the Central System over a connection whose server certificate was checked against
        the configuration's CA file (security profiles 2 and 3), which this store does not see; a warning says so.
        """
        chain = _certificates(chain_pem)
        pending = self._pending()
        problem = self._signed_problem(chain, pending, now)
        if problem or pending is None:
            log.warning("charge point certificate rejected reason=%r", problem)
            return REJECTED
        try:
            self._install_identity(chain, pending[0])
        except OSError as e:
            log.error("charge point certificate not installed error=%r", str(e))
            return REJECTED
        log.info("charge point certificate installed %s chain=%d", _describe(chain[0]), len(chain))
        return ACCEPTED

    def client_identity(self) -> tuple[Path, Path] | None:
        """(chain PEM, key PEM) of the installed charge point certificate, for `ssl.SSLContext.load_cert_chain`;
        None when there is none (or its files are unreadable)."""
        chain_path = self.directory / self.CLIENT_CHAIN
        try:
            leaf = x509.load_pem_x509_certificates(chain_path.read_bytes())[0]
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.warning("charge point certificate unreadable path=%s error=%r", chain_path, str(e))
            return None
        key_path = self._client_key_path(leaf.public_key())
        return (chain_path, key_path) if key_path.exists() else None

    # Internals

    def _root_path(self, use: CertificateUse, cert: x509.Certificate) -> Path:
        return self.directory / f"{use}-{cert.fingerprint(hashes.SHA256()).hex()}.pem"

    def _installed(self, use: CertificateUse | None) -> list[tuple[Path, x509.Certificate]]:
        """The installed roots of `use` (None: both), by file name; an unreadable file is skipped (and logged)."""
        found = []
        for kind in [use] if use else list(CertificateUse):
            for path in sorted(self.directory.glob(f"{kind}-*.pem")):
                try:
                    found.append((path, x509.load_pem_x509_certificate(path.read_bytes())))
                except (OSError, ValueError) as e:
                    log.warning("installed certificate unreadable, skipped path=%s error=%r", path, str(e))
        return found

    def _count(self) -> int:
        return sum(1 for kind in CertificateUse for _ in self.directory.glob(f"{kind}-*.pem"))

    def _pending(self) -> Pending | None:
        """The key pair and CSR of the last `create_csr` not yet answered by an accepted CertificateSigned."""
        try:
            key = serialization.load_pem_private_key((self.directory / self.PENDING_KEY).read_bytes(), None)
            csr = x509.load_pem_x509_csr((self.directory / self.PENDING_CSR).read_bytes())
        except (OSError, ValueError, TypeError):
            return None
        return (key, csr) if isinstance(key, ec.EllipticCurvePrivateKey) else None

    def _signed_problem(self, chain: list[x509.Certificate], pending: Pending | None, now: datetime) -> str | None:
        if not chain:
            return "no PEM X.509 certificate"
        if pending is None:
            return "no pending key (no SignCertificate.req made one)"
        key, csr = pending
        if _public_der(chain[0].public_key()) != _public_der(key.public_key()):
            return "certificate is not for the pending key"
        if _common_names(chain[0].subject) != _common_names(csr.subject):
            return "commonName is not the one asked for"
        roots = self.roots(CertificateUse.CENTRAL_SYSTEM_ROOT)
        if not roots:
            log.warning("charge point certificate not checked against a root: no CentralSystemRootCertificate")
        return _chain_problem(chain, roots, now)

    def _client_key_path(self, public_key: PublicKeyTypes) -> Path:
        return self.directory / f"client-key-{hashlib.sha256(_public_der(public_key)).hexdigest()[:16]}.pem"

    def _install_identity(self, chain: list[x509.Certificate], key: ec.EllipticCurvePrivateKey) -> None:
        """The key first (a new file of its own), then the chain: its rename is the switch. Then the old key and
        the pending pair go."""
        key_path = self._client_key_path(key.public_key())
        _write_private(key_path, _private_pem(key))
        try:
            _write_private(self.directory / self.CLIENT_CHAIN,
                           b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
        except OSError:
            key_path.unlink(missing_ok=True)
            raise
        for path in self.directory.glob("client-key-*.pem"):
            if path != key_path:
                path.unlink(missing_ok=True)
        (self.directory / self.PENDING_KEY).unlink(missing_ok=True)
        (self.directory / self.PENDING_CSR).unlink(missing_ok=True)
        _sync_directory(self.directory)


def signing_certificate_problem(signing_certificate_pem: str, manufacturer_roots: list[x509.Certificate],
                                now: datetime) -> str | None:
    """Why a firmware signing certificate is not to be trusted (SignedUpdateFirmware answers InvalidCertificate),
    or None: readable, valid at `now` and chaining to one of the ManufacturerRootCertificates."""
    chain = _signing_certificates(signing_certificate_pem)
    if not chain:
        return "signing certificate unreadable"
    if not manufacturer_roots:
        return "no ManufacturerRootCertificate installed"
    problem = _chain_problem(chain, manufacturer_roots, now)
    return f"signing certificate: {problem}" if problem else None


def verify_signed_firmware(firmware: Path, signature_b64: str, signing_certificate_pem: str,
                           manufacturer_roots: list[x509.Certificate], now: datetime) -> str | None:
    """SignedUpdateFirmware (use case L01): None when the firmware may be installed, else why not (for the log and
    the InvalidCertificate / InvalidSignature statuses).

    The signing certificate (firmware.signingCertificate: PEM since edition 3; edition 2's hex of the DER is read
    too; sub-CAs may follow it) must be valid at `now` and chain to one of the ManufacturerRootCertificates. The
    signature (firmware.signature, base64) is checked "over the entire firmware file" with SHA-256: RSA keys with
    RSA-PSS as L01 says, or PKCS#1 v1.5; EC keys with ECDSA. L01's ECSchnorr is in no common library (OpenSSL,
    `cryptography`); the manufacturers' tools and EVerest sign and verify EC firmware with ECDSA. The file is read in
    chunks of `READ_CHUNK`.
    """
    problem = signing_certificate_problem(signing_certificate_pem, manufacturer_roots, now)
    if problem:
        return problem
    key = _signing_certificates(signing_certificate_pem)[0].public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return "signing key neither RSA nor EC"
    try:
        signature = base64.b64decode("".join(signature_b64.split()), validate=True)
    except (binascii.Error, ValueError):
        return "signature is not base64"
    try:
        digest = _sha256_of(firmware)
    except OSError as e:
        return f"firmware unreadable: {e.strerror}"
    return None if _signature_valid(key, signature, digest) else "signature does not verify"


# Certificates


def _certificates(pem: str) -> list[x509.Certificate]:
    """Every certificate of a PEM text, in order; [] when it holds none or is malformed."""
    try:
        return x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        return []


def _one_certificate(pem: str) -> x509.Certificate | None:
    certs = _certificates(pem)
    return certs[0] if len(certs) == 1 else None


def _signing_certificates(text: str) -> list[x509.Certificate]:
    """PEM (edition 3), else the hex of one DER certificate (edition 2)."""
    certs = _certificates(text)
    if certs:
        return certs
    try:
        return [x509.load_der_x509_certificate(bytes.fromhex(text.strip()))]
    except ValueError:
        return []


def _root_problem(cert: x509.Certificate, now: datetime) -> str | None:
    if not _is_ca(cert):
        return "not a CA certificate"
    if not _issued_by(cert, cert):
        return "not self-signed (not a root)"
    if not _valid_at(cert, now):
        return "expired or not yet valid"
    return None


def _chain_problem(chain: list[x509.Certificate], anchors: list[x509.Certificate], now: datetime) -> str | None:
    """Why `chain` (leaf first) is not to be trusted: a certificate not valid at `now`, one not signed by the next
    (or the next not a CA), the last neither one of `anchors` nor signed by one valid at `now` (no anchors: that
    last check is left out). None when trusted."""
    for cert in chain:
        if not _valid_at(cert, now):
            return f"not valid now serial={cert.serial_number:x}"
    for cert, issuer in pairwise(chain):
        if not (_is_ca(issuer) and _issued_by(cert, issuer)):
            return f"not signed by the next certificate (a CA) serial={cert.serial_number:x}"
    last = chain[-1]
    if anchors and not any(last == root or (_valid_at(root, now) and _issued_by(last, root)) for root in anchors):
        return "not issued by an installed root valid now"
    return None


def _valid_at(cert: x509.Certificate, now: datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """`issuer`'s name is `cert`'s issuer and its key verifies `cert`'s signature."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _common_names(name: x509.Name) -> list[str]:
    return [str(attribute.value) for attribute in name.get_attributes_for_oid(NameOID.COMMON_NAME)]


def _describe(cert: x509.Certificate) -> str:
    return (f"subject={cert.subject.rfc4514_string()!r} serial={cert.serial_number:x} "
            f"not_after={cert.not_valid_after_utc.isoformat()}")


# Keys and signatures


def _public_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _sha256_of(path: Path) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            digest.update(chunk)
    return digest.finalize()


def _signature_valid(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, signature: bytes, digest: bytes) -> bool:
    """`signature` over the data whose SHA-256 is `digest`, by `key` (RSA: either padding of `RSA_PADDINGS`)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _verifies(key.verify, signature, digest, ec.ECDSA(PREHASHED))
    return any(_verifies(key.verify, signature, digest, rsa_padding, PREHASHED) for rsa_padding in RSA_PADDINGS)


def _verifies(verify: Callable[..., None], *args: object) -> bool:
    try:
        verify(*args)
    except InvalidSignature:
        return False
    return True


# Files


def _write_private(path: Path, data: bytes) -> None:
    """`data` into `path`, atomically: a new file (0600) beside it, written and synced, renamed over `path`."""
    tmp = path.with_name(f".{path.name}.new")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
