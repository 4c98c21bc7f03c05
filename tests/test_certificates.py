"""The certificate side of the OCPP 1.6 Security Whitepaper (firmware/security/certificates.py), every certificate
and key made here with `cryptography`: InstallCertificate / GetInstalledCertificateIds / DeleteCertificate (M05, M03,
M04) with the CertificateHashDataType checked against values computed here by other means (hashlib over the DER
name and the raw public key), their rejections and the store's limit; file and directory modes; the CA bundle for
the TLS connection; SignCertificate's CSR and CertificateSigned (A02/A03) with good and bad chains, and the client
identity loaded by `ssl`; SignedUpdateFirmware's signature check (L01) with ECDSA, RSA-PSS and PKCS#1 v1.5."""

import base64
import hashlib
import logging
import os
import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from firmware.security.certificates import (
    CertificateStore,
    CertificateUse,
    HashData,
    hash_data,
    verify_signed_firmware,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CS_ROOT = CertificateUse.CENTRAL_SYSTEM_ROOT
MF_ROOT = CertificateUse.MANUFACTURER_ROOT
SERIAL = "EVSED-0001"
CPO = "Example CPO"


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def name(cn: str, org: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)] if org else []
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def certificate(subject: x509.Name, public_key, issuer: x509.Name, signer, *, ca: bool | None,
                serial: int | None = None, not_before: datetime = NOW - DAY,
                not_after: datetime = NOW + 365 * DAY) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(serial if serial is not None else x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after))
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    return builder.sign(signer, hashes.SHA256())


class Ca:
    """A CA: its key and certificate (self-signed unless `parent` is given)."""

    def __init__(self, cn: str, parent: "Ca | None" = None, key=None, **validity) -> None:
        self.key = key or ec_key()
        issuer_name = parent.cert.subject if parent else name(cn)
        signer = parent.key if parent else self.key
        self.cert = certificate(name(cn), self.key.public_key(), issuer_name, signer, ca=True, **validity)

    def issue(self, subject: x509.Name, public_key, *, ca: bool = False, **options) -> x509.Certificate:
        return certificate(subject, public_key, self.cert.subject, self.key, ca=ca, **options)


def pem(*certs: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def raw_public_key(cert: x509.Certificate) -> bytes:
    """The value of subjectPublicKeyInfo's BIT STRING (what RFC 6960's issuerKeyHash hashes), from the key."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def expected_hash(cert: x509.Certificate, issuer: x509.Certificate, digest=hashlib.sha256) -> dict[str, str]:
    spki = issuer.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert spki.endswith(raw_public_key(issuer))  # the BIT STRING's value closes the SPKI
    return {"issuerNameHash": digest(cert.issuer.public_bytes()).hexdigest(),
            "issuerKeyHash": digest(raw_public_key(issuer)).hexdigest(),
            "serialNumber": format(cert.serial_number, "x")}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def root() -> Ca:
    return Ca("CPO Root")


@pytest.fixture(scope="module")
def sub_ca(root: Ca) -> Ca:
    return Ca("CPO Sub-CA", parent=root)


@pytest.fixture(scope="module")
def maker() -> Ca:
    return Ca("Manufacturer Root")


@pytest.fixture
def store(tmp_path: Path) -> CertificateStore:
    return CertificateStore(tmp_path / "certs")


def csr_of(store: CertificateStore, cn: str = SERIAL) -> x509.CertificateSigningRequest:
    return x509.load_pem_x509_csr(store.create_csr(cn, CPO).encode())


# CertificateHashDataType


def test_hash_data_of_a_root_and_of_a_leaf_is_computed_as_ocsp_does(root: Ca, sub_ca: Ca, rsa_key):
    rsa_root = Ca("RSA Root", key=rsa_key, serial=0x0ABC)
    for cert, issuer in [(root.cert, root.cert), (sub_ca.cert, root.cert), (rsa_root.cert, rsa_root.cert)]:
        data = hash_data(cert, issuer if issuer is not cert else None)
        assert data.to_ocpp() == {"hashAlgorithm": "SHA256", **expected_hash(cert, issuer)}
        assert len(data.issuer_name_hash) == len(data.issuer_key_hash) == 64
    assert hash_data(rsa_root.cert).serial_number == "abc"  # no leading zero, lower case
    sha384 = hash_data(sub_ca.cert, root.cert, algorithm="SHA384")
    assert sha384.to_ocpp() == {"hashAlgorithm": "SHA384", **expected_hash(sub_ca.cert, root.cert, hashlib.sha384)}


def test_a_serial_number_with_its_top_bit_set_has_no_zero_byte_in_front():
    key = ec_key()
    cert = certificate(name("x"), key.public_key(), name("x"), key, ca=True, serial=0x80FF)
    assert cert.public_bytes(serialization.Encoding.DER).find(bytes([0x02, 0x03, 0x00, 0x80, 0xFF])) > 0
    assert hash_data(cert).serial_number == "80ff"


def test_hash_data_reads_the_wire_and_the_library_spelling_and_normalizes():
    wire = {"hashAlgorithm": "sha256", "issuerNameHash": "AB" * 32, "issuerKeyHash": "CD" * 32,
            "serialNumber": "000A1B"}
    snake = {"hash_algorithm": "SHA256", "issuer_name_hash": "ab" * 32, "issuer_key_hash": "cd" * 32,
             "serial_number": "a1b"}
    assert HashData.from_ocpp(wire) == HashData.from_ocpp(snake) == HashData("SHA256", "ab" * 32, "cd" * 32, "a1b")
    assert HashData.from_ocpp(snake).to_ocpp() == {"hashAlgorithm": "SHA256", "issuerNameHash": "ab" * 32,
                                                   "issuerKeyHash": "cd" * 32, "serialNumber": "a1b"}
    assert HashData.from_ocpp({**snake, "serial_number": "0"}).serial_number == "0"


# InstallCertificate, GetInstalledCertificateIds, DeleteCertificate


def test_install_list_delete_round_trip(store: CertificateStore, root: Ca, maker: Ca):
    assert store.installed() == [] and store.installed(CS_ROOT) == []
    assert store.install(CS_ROOT, pem(root.cert), NOW) == "Accepted"
    assert store.install(MF_ROOT, pem(maker.cert), NOW) == "Accepted"

    [cs] = store.installed(CS_ROOT)
    assert cs.to_ocpp() == {"hashAlgorithm": "SHA256", **expected_hash(root.cert, root.cert)}
    [mf] = store.installed(MF_ROOT)
    assert mf.to_ocpp() == {"hashAlgorithm": "SHA256", **expected_hash(maker.cert, maker.cert)}
    assert sorted(store.installed(), key=lambda h: h.serial_number) == sorted([cs, mf], key=lambda h: h.serial_number)
    assert store.roots(CS_ROOT) == [root.cert] and store.roots(MF_ROOT) == [maker.cert]

    assert store.delete(HashData.from_ocpp(cs.to_ocpp())) == "Accepted"
    assert store.installed(CS_ROOT) == [] and store.roots(CS_ROOT) == []
    assert store.installed(MF_ROOT) == [mf]
    assert store.delete(cs) == "NotFound"


def test_delete_by_hash_data_in_upper_case_with_leading_zeros_or_another_algorithm(store: CertificateStore,
                                                                                     root: Ca, maker: Ca):
    store.install(CS_ROOT, pem(root.cert), NOW)
    store.install(MF_ROOT, pem(maker.cert), NOW)
    shouted = {k: v.upper() for k, v in expected_hash(root.cert, root.cert).items()}
    shouted["serialNumber"] = "00" + shouted["serialNumber"]
    assert store.delete(HashData.from_ocpp({"hashAlgorithm": "SHA256", **shouted})) == "Accepted"
    assert store.roots(CS_ROOT) == []

    sha512 = {"hashAlgorithm": "SHA512", **expected_hash(maker.cert, maker.cert, hashlib.sha512)}
    assert store.delete(HashData.from_ocpp(sha512)) == "Accepted"
    assert store.installed() == []
    assert store.delete(HashData("MD5", "00", "00", "1")) == "NotFound"


def test_the_same_root_installed_twice_is_one_entry(store: CertificateStore, root: Ca):
    assert store.install(CS_ROOT, pem(root.cert), NOW) == "Accepted"
    assert store.install(CS_ROOT, pem(root.cert), NOW) == "Accepted"
    assert len(store.installed(CS_ROOT)) == 1


def test_install_rejects_what_is_not_a_valid_root(store: CertificateStore, root: Ca, sub_ca: Ca):
    leaf_key = ec_key()
    no_ca = root.issue(name("leaf"), leaf_key.public_key())
    self_signed_leaf = certificate(name("self"), leaf_key.public_key(), name("self"), leaf_key, ca=False)
    no_constraints = certificate(name("bare"), leaf_key.public_key(), name("bare"), leaf_key, ca=None)
    expired = Ca("Old Root", not_before=NOW - 400 * DAY, not_after=NOW - DAY).cert
    not_yet = Ca("Future Root", not_before=NOW + DAY, not_after=NOW + 400 * DAY).cert
    cases = {
        "garbage": "not a certificate",
        "truncated": pem(root.cert)[:200],
        "two certificates": pem(root.cert, sub_ca.cert),
        "a leaf": pem(no_ca),
        "self-signed, not a CA": pem(self_signed_leaf),
        "no basic constraints": pem(no_constraints),
        "a sub-CA, not a root": pem(sub_ca.cert),
        "expired": pem(expired),
        "not yet valid": pem(not_yet),
    }
    answers = {case: store.install(CS_ROOT, text, NOW) for case, text in cases.items()}
    assert answers == dict.fromkeys(cases, "Rejected")
    assert store.installed() == []
    assert list(store.directory.iterdir()) == []


def test_the_store_limit_counts_both_uses(tmp_path: Path, root: Ca, maker: Ca):
    store = CertificateStore(tmp_path / "certs", max_certificates=2)
    third = Ca("Third Root")
    assert store.install(CS_ROOT, pem(root.cert), NOW) == "Accepted"
    assert store.install(MF_ROOT, pem(maker.cert), NOW) == "Accepted"
    assert store.install(CS_ROOT, pem(third.cert), NOW) == "Rejected"
    assert store.install(CS_ROOT, pem(root.cert), NOW) == "Accepted"  # installed already: not a third
    assert store.roots(CS_ROOT) == [root.cert]
    assert store.delete(hash_data(maker.cert)) == "Accepted"
    assert store.install(CS_ROOT, pem(third.cert), NOW) == "Accepted"
    assert len(store.installed()) == 2


def test_install_that_cannot_write_is_failed(store: CertificateStore, root: Ca):
    target = store.directory / f"{CS_ROOT}-{root.cert.fingerprint(hashes.SHA256()).hex()}.pem"
    target.mkdir()  # a directory where the file goes: the rename fails, even for root
    assert store.install(CS_ROOT, pem(root.cert), NOW) == "Failed"
    assert store.roots(CS_ROOT) == []
    assert sorted(p.name for p in store.directory.iterdir()) == [target.name]


def test_delete_that_cannot_remove_is_failed(store: CertificateStore, root: Ca, monkeypatch):
    store.install(CS_ROOT, pem(root.cert), NOW)

    def refuse(self, missing_ok=False):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    assert store.delete(hash_data(root.cert)) == "Failed"
    monkeypatch.undo()
    assert store.roots(CS_ROOT) == [root.cert]


def test_files_are_0600_and_the_directory_0700(tmp_path: Path, root: Ca, sub_ca: Ca):
    directory = tmp_path / "certs"
    directory.mkdir(mode=0o755)
    store = CertificateStore(directory)
    assert mode(directory) == 0o700
    store.install(CS_ROOT, pem(root.cert), NOW)
    csr = csr_of(store)
    store.accept_signed(pem(sub_ca.issue(csr.subject, csr.public_key()), sub_ca.cert), NOW)
    store.ca_bundle(None)
    files = sorted(directory.iterdir())
    assert [p.name.split("-")[0] for p in files] == ["CentralSystemRootCertificate", "ca", "client", "client"]
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


# The CA bundle for the TLS connection


def test_ca_bundle_joins_the_config_file_and_the_central_system_roots(store: CertificateStore, tmp_path: Path,
                                                                      root: Ca, maker: Ca):
    assert store.ca_bundle(None) is None
    config_ca = Ca("Config CA").cert
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(pem(config_ca).rstrip("\n"))  # no newline at the end: the join adds one
    assert store.ca_bundle(ca_file) == store.directory / "ca-bundle.pem"
    assert x509.load_pem_x509_certificates(store.ca_bundle(ca_file).read_bytes()) == [config_ca]

    other = Ca("Second CS Root")
    for cert in (root.cert, other.cert):
        store.install(CS_ROOT, pem(cert), NOW)
    store.install(MF_ROOT, pem(maker.cert), NOW)  # not a TLS anchor
    bundle = store.ca_bundle(ca_file)
    assert bundle is not None and mode(bundle) == 0o600
    parsed = x509.load_pem_x509_certificates(bundle.read_bytes())
    assert parsed[0] == config_ca and sorted(parsed[1:], key=str) == sorted([root.cert, other.cert], key=str)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=bundle)
    assert context.cert_store_stats()["x509_ca"] == 3

    only_roots = store.ca_bundle(None)
    assert only_roots is not None
    assert sorted(x509.load_pem_x509_certificates(only_roots.read_bytes()), key=str) == \
        sorted([root.cert, other.cert], key=str)
    for cert in (root.cert, other.cert):
        store.delete(hash_data(cert))
    assert store.ca_bundle(None) is None and not (store.directory / "ca-bundle.pem").exists()


# SignCertificate


def test_csr_has_the_serial_number_and_cpo_name_and_a_new_p256_key_each_time(store: CertificateStore, caplog):
    caplog.set_level(logging.DEBUG, logger="firmware.security.certificates")
    first = csr_of(store)
    assert first.is_signature_valid
    assert first.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == SERIAL
    assert first.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == CPO
    assert isinstance(first.public_key(), ec.EllipticCurvePublicKey)
    assert first.public_key().curve.name == "secp256r1"
    assert isinstance(first.signature_hash_algorithm, hashes.SHA256)

    key_file = store.directory / "pending-key.pem"
    assert mode(key_file) == 0o600
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(serialization.Encoding.DER, spki) == \
        first.public_key().public_bytes(serialization.Encoding.DER, spki)

    first_key_pem = key_file.read_bytes()
    second = csr_of(store)
    assert key_file.read_bytes() != first_key_pem
    assert second.public_key() != first.public_key()
    assert "PRIVATE KEY" not in caplog.text and f"cn='{SERIAL}'" in caplog.text


def test_csr_needs_a_serial_number_and_a_cpo_name(store: CertificateStore):
    with pytest.raises(ValueError):
        store.create_csr(SERIAL, "")
    with pytest.raises(ValueError):
        store.create_csr("", CPO)
    assert not (store.directory / "pending-key.pem").exists()


# CertificateSigned


def test_a_chain_signed_for_the_csr_becomes_the_client_identity(store: CertificateStore, root: Ca, sub_ca: Ca):
    store.install(CS_ROOT, pem(root.cert), NOW)
    assert store.client_identity() is None
    csr = csr_of(store)
    leaf = sub_ca.issue(csr.subject, csr.public_key())
    assert store.accept_signed(pem(leaf, sub_ca.cert), NOW) == "Accepted"

    identity = store.client_identity()
    assert identity is not None
    chain_path, key_path = identity
    assert x509.load_pem_x509_certificates(chain_path.read_bytes()) == [leaf, sub_ca.cert]
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert key.public_key() == leaf.public_key()
    ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(chain_path, key_path)  # raises if they do not match
    assert not (store.directory / "pending-key.pem").exists()
    assert store.accept_signed(pem(leaf, sub_ca.cert), NOW) == "Rejected"  # no pending key any more


def test_a_renewal_replaces_the_identity_and_its_old_key(store: CertificateStore, root: Ca, sub_ca: Ca):
    store.install(CS_ROOT, pem(root.cert), NOW)
    csr = csr_of(store)
    store.accept_signed(pem(sub_ca.issue(csr.subject, csr.public_key()), sub_ca.cert), NOW)
    old_chain, old_key = store.client_identity()
    renewal = csr_of(store)
    renewed = sub_ca.issue(renewal.subject, renewal.public_key())
    assert store.accept_signed(pem(renewed, sub_ca.cert, root.cert), NOW) == "Accepted"  # the root may close it
    chain, key = store.client_identity()
    assert chain == old_chain and key != old_key and not old_key.exists()
    assert x509.load_pem_x509_certificates(chain.read_bytes())[0] == renewed
    assert serialization.load_pem_private_key(key.read_bytes(), None).public_key() == renewed.public_key()


def directory_state(store: CertificateStore) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(store.directory.iterdir())}


def test_chains_that_are_not_right_are_rejected_and_change_nothing(store: CertificateStore, root: Ca, sub_ca: Ca):
    store.install(CS_ROOT, pem(root.cert), NOW)
    csr = csr_of(store)
    stranger = Ca("Other Root")
    stranger_sub = Ca("Other Sub-CA", parent=stranger)
    twin_sub = Ca("CPO Sub-CA", parent=stranger)  # the same name as sub_ca, another key
    bad = {
        "another key": sub_ca.issue(csr.subject, ec_key().public_key()),
        "expired": sub_ca.issue(csr.subject, csr.public_key(), not_before=NOW - 30 * DAY, not_after=NOW - DAY),
        "not yet valid": sub_ca.issue(csr.subject, csr.public_key(), not_before=NOW + DAY),
        "another commonName": sub_ca.issue(name("EVSED-9999", CPO), csr.public_key()),
    }
    chains = {case: pem(leaf, sub_ca.cert) for case, leaf in bad.items()}
    chains["another root"] = pem(stranger_sub.issue(csr.subject, csr.public_key()), stranger_sub.cert)
    chains["a broken link"] = pem(twin_sub.issue(csr.subject, csr.public_key()), sub_ca.cert)
    chains["issuer missing"] = pem(sub_ca.issue(csr.subject, csr.public_key()))
    not_a_ca_key = ec_key()
    not_a_ca = root.issue(name("Not a CA"), not_a_ca_key.public_key())
    chains["issuer not a CA"] = pem(certificate(csr.subject, csr.public_key(), not_a_ca.subject, not_a_ca_key,
                                                ca=False), not_a_ca)
    chains["not PEM"] = "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n"
    chains["empty"] = ""
    expired_sub = Ca("CPO Sub-CA", parent=root, key=sub_ca.key, not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    chains["expired sub-CA"] = pem(sub_ca.issue(csr.subject, csr.public_key()), expired_sub.cert)

    before = directory_state(store)
    answers = {case: store.accept_signed(chain, NOW) for case, chain in chains.items()}
    assert answers == dict.fromkeys(chains, "Rejected")
    assert directory_state(store) == before
    assert store.client_identity() is None
    assert store.accept_signed(pem(sub_ca.issue(csr.subject, csr.public_key()), sub_ca.cert), NOW) == "Accepted"


def test_a_central_system_root_that_expired_since_it_was_installed_anchors_nothing(store: CertificateStore):
    short = Ca("Short-lived Root", not_after=NOW + 10 * DAY)
    assert store.install(CS_ROOT, pem(short.cert), NOW) == "Accepted"
    csr = csr_of(store)
    leaf = short.issue(csr.subject, csr.public_key(), not_after=NOW + 100 * DAY)
    assert store.accept_signed(pem(leaf), NOW + 20 * DAY) == "Rejected"
    assert store.accept_signed(pem(leaf), NOW + 5 * DAY) == "Accepted"


def test_without_a_central_system_root_a_consistent_chain_is_taken(store: CertificateStore, sub_ca: Ca):
    csr = csr_of(store)
    stranger_leaf = Ca("Any Sub-CA").issue(csr.subject, csr.public_key())
    assert store.accept_signed(pem(stranger_leaf), NOW) == "Accepted"
    assert store.client_identity() is not None


def test_a_rejected_renewal_keeps_the_identity_in_use(store: CertificateStore, root: Ca, sub_ca: Ca):
    store.install(CS_ROOT, pem(root.cert), NOW)
    csr = csr_of(store)
    store.accept_signed(pem(sub_ca.issue(csr.subject, csr.public_key()), sub_ca.cert), NOW)
    identity = store.client_identity()
    renewal = csr_of(store)
    wrong = sub_ca.issue(renewal.subject, ec_key().public_key())
    assert store.accept_signed(pem(wrong, sub_ca.cert), NOW) == "Rejected"
    assert store.client_identity() == identity
    ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(*identity)


# SignedUpdateFirmware


@pytest.fixture(scope="module")
def firmware(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fw") / "evsed-2.0.bin"
    path.write_bytes(os.urandom(200 * 1024 + 7))  # several read chunks and a tail
    return path


@pytest.fixture(scope="module")
def signer(maker: Ca) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec_key()
    return key, maker.issue(name("Firmware Signing", "Maker"), key.public_key())


def b64(signature: bytes) -> str:
    return base64.b64encode(signature).decode()


def test_a_firmware_signed_with_ecdsa_by_a_manufacturer_certificate_verifies(firmware: Path, signer, maker: Ca):
    key, cert = signer
    signature = b64(key.sign(firmware.read_bytes(), ec.ECDSA(hashes.SHA256())))
    assert verify_signed_firmware(firmware, signature, pem(cert), [maker.cert], NOW) is None
    wrapped = "\n".join(signature[i:i + 64] for i in range(0, len(signature), 64))  # base64 with line breaks
    assert verify_signed_firmware(firmware, wrapped, pem(cert), [Ca("Other").cert, maker.cert], NOW) is None
    edition_2 = cert.public_bytes(serialization.Encoding.DER).hex().upper()  # hex of the DER
    assert verify_signed_firmware(firmware, signature, edition_2, [maker.cert], NOW) is None


def test_a_firmware_signed_with_rsa_pss_or_pkcs1_verifies(firmware: Path, maker: Ca, rsa_key):
    cert = maker.issue(name("RSA Firmware Signing"), rsa_key.public_key())
    data = firmware.read_bytes()
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
    for scheme in (pss, padding.PKCS1v15()):
        assert verify_signed_firmware(firmware, b64(rsa_key.sign(data, scheme, hashes.SHA256())), pem(cert),
                                      [maker.cert], NOW) is None
    sha1 = b64(rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA1()))
    assert verify_signed_firmware(firmware, sha1, pem(cert), [maker.cert], NOW) == "signature does not verify"


def test_a_bad_signature_or_an_altered_file_does_not_verify(firmware: Path, signer, maker: Ca, tmp_path: Path):
    key, cert = signer
    signature = key.sign(firmware.read_bytes(), ec.ECDSA(hashes.SHA256()))
    altered = tmp_path / "altered.bin"
    altered.write_bytes(firmware.read_bytes()[:-1] + b"\x00")
    other_signature = ec_key().sign(firmware.read_bytes(), ec.ECDSA(hashes.SHA256()))
    check = verify_signed_firmware
    assert check(altered, b64(signature), pem(cert), [maker.cert], NOW) == "signature does not verify"
    assert check(firmware, b64(other_signature), pem(cert), [maker.cert], NOW) == "signature does not verify"
    assert check(firmware, b64(signature[:-2]), pem(cert), [maker.cert], NOW) == "signature does not verify"
    assert check(firmware, "not*base64", pem(cert), [maker.cert], NOW) == "signature is not base64"
    assert check(tmp_path / "missing.bin", b64(signature), pem(cert), [maker.cert], NOW) == \
        "firmware unreadable: No such file or directory"


def test_a_signing_certificate_not_from_an_installed_manufacturer_root_is_refused(firmware: Path, signer,
                                                                                   maker: Ca):
    key, cert = signer
    signature = b64(key.sign(firmware.read_bytes(), ec.ECDSA(hashes.SHA256())))
    impostor = Ca("Manufacturer Root")  # the same name, another key
    forged = impostor.issue(cert.subject, key.public_key())
    expired = maker.issue(cert.subject, key.public_key(), not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    check = verify_signed_firmware
    assert check(firmware, signature, pem(forged), [maker.cert], NOW) == \
        "signing certificate: not issued by an installed root valid now"
    assert check(firmware, signature, pem(cert), [impostor.cert], NOW) == \
        "signing certificate: not issued by an installed root valid now"
    assert check(firmware, signature, pem(expired), [maker.cert], NOW) == \
        f"signing certificate: not valid now serial={expired.serial_number:x}"
    assert check(firmware, signature, pem(cert), [maker.cert], NOW + 400 * DAY).startswith(
        "signing certificate: not valid now")
    lapsed = Ca("Lapsed Root", not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    from_lapsed = lapsed.issue(cert.subject, key.public_key())
    assert check(firmware, signature, pem(from_lapsed), [lapsed.cert], NOW) == \
        "signing certificate: not issued by an installed root valid now"
    assert check(firmware, signature, pem(cert), [], NOW) == "no ManufacturerRootCertificate installed"
    assert check(firmware, signature, "nonsense", [maker.cert], NOW) == "signing certificate unreadable"
