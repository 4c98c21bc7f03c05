"""The Security Whitepaper's certificate messages end to end: the real daemon against the real CSMS on 127.0.0.1, with
certificates made in the test (`tests.pki`). Install, list and delete roots; the CSR round trip (ExtendedTriggerMessage
SignChargePointCertificate → SignCertificate with a CSR made on the charger → CertificateSigned) installs a
certificate the next connection presents (security profile 3, a CSMS that requires client certificates); a chain
for another key is rejected; no key reaches the log or the status."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from ocpp.v16 import call

from tests.conftest import CHARGE_POINT
from tests.ocpp_steps import configure, logged
from tests.pki import Issued, authority, ca_file, issue


def pem(issued: Issued) -> str:
    return issued.cert.public_bytes(Encoding.PEM).decode()


def sign(csr_pem: str, ca: Issued) -> str:
    """What a CPO's CA does with the CSR: a client certificate for its key and subject."""
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.cert.subject)
            .public_key(csr.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca.key, hashes.SHA256()))
    return cert.public_bytes(Encoding.PEM).decode()


async def test_roots_are_installed_listed_and_deleted(make_daemon, csms):
    await make_daemon()
    root, other = authority("CSMS root"), authority("Manufacturer root")
    install = call.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate=pem(root))
    assert (await csms.call(CHARGE_POINT, install)).status == "Accepted"
    install = call.InstallCertificate(certificate_type="ManufacturerRootCertificate", certificate=pem(other))
    assert (await csms.call(CHARGE_POINT, install)).status == "Accepted"
    garbage = call.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate="not a cert")
    assert (await csms.call(CHARGE_POINT, garbage)).status == "Rejected"
    listed = await csms.call(CHARGE_POINT, call.GetInstalledCertificateIds(
        certificate_type="CentralSystemRootCertificate"))
    assert listed.status == "Accepted" and len(listed.certificate_hash_data) == 1
    hash_data = listed.certificate_hash_data[0]
    assert hash_data["serial_number"] == format(root.cert.serial_number, "x")
    assert (await csms.call(CHARGE_POINT, call.DeleteCertificate(certificate_hash_data=hash_data))).status == \
        "Accepted"
    assert (await csms.call(CHARGE_POINT, call.DeleteCertificate(certificate_hash_data=hash_data))).status == \
        "NotFound"
    empty = await csms.call(CHARGE_POINT, call.GetInstalledCertificateIds(
        certificate_type="CentralSystemRootCertificate"))
    assert empty.status == "NotFound"


async def test_the_csr_round_trip_installs_a_certificate_the_next_connection_presents(make_daemon, tls_csms,
                                                                                      tmp_path):
    root, cpo = authority("CSMS root"), authority("CPO charge point CA")
    csms = await tls_csms(issue(root, "csms"), client_ca=cpo, require_client=False)
    charger = await make_daemon(url=csms.url, csms={"ca_file": ca_file(root, tmp_path)}, ocpp={"CpoName": "EVSED CPO"},
                                boot=False)
    await csms.wait_for("BootNotification")
    mark = len(csms.received)
    trigger = call.ExtendedTriggerMessage(requested_message="SignChargePointCertificate")
    assert (await csms.call(CHARGE_POINT, trigger)).status == "Accepted"
    request = await csms.wait_for("SignCertificate", after=mark)
    csr = x509.load_pem_x509_csr(request.payload["csr"].encode())
    subject = {a.oid._name: a.value for a in csr.subject}
    assert subject == {"commonName": CHARGE_POINT, "organizationName": "EVSED CPO"} and csr.is_signature_valid
    wrong = issue(cpo, CHARGE_POINT, client=True)  # a certificate for a key the charger never made
    refused = await csms.call(CHARGE_POINT, call.CertificateSigned(certificate_chain=pem(wrong)))
    assert refused.status == "Rejected"
    signed = await csms.call(CHARGE_POINT, call.CertificateSigned(certificate_chain=sign(request.payload["csr"], cpo)))
    assert signed.status == "Accepted"
    connections = csms.connections
    assert await configure(csms, "SecurityProfile", "3") == "Accepted"  # every prerequisite is there now
    await csms.wait_until(lambda: csms.connections > connections, within=15)
    assert csms.authorizations[-1] is None, "profile 3: the certificate, no password"
    assert not csms.client_certificates[0], "profile 0 presented no certificate"
    subject = dict(pair[0] for pair in csms.client_certificates[-1]["subject"])
    assert subject == {"commonName": CHARGE_POINT, "organizationName": "EVSED CPO"}
    state = await charger.cmd(cmd="state")
    keys = list((tmp_path / "state" / "certificates").glob("*key*.pem"))
    assert keys and all(oct(k.stat().st_mode & 0o777) == "0o600" for k in keys)
    for key in keys:
        secret = key.read_text().splitlines()[1]
        assert secret not in charger.log() and secret not in str(state)


async def test_a_certificate_signing_request_waits_for_a_cpo_name(make_daemon, csms):
    charger = await make_daemon()
    mark = len(csms.received)
    trigger = call.ExtendedTriggerMessage(requested_message="SignChargePointCertificate")
    assert (await csms.call(CHARGE_POINT, trigger)).status == "Accepted"
    await logged(charger, "set CpoName first")
    assert [m for m in csms.received[mark:] if m.action == "SignCertificate"] == []
