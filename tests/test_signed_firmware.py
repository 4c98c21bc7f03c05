"""SignedUpdateFirmware (OCPP 1.6 Security Whitepaper ed. 3, use case L01) end to end: the real daemon against the
real CSMS and a real HTTP server on 127.0.0.1, with a manufacturer root and signing certificate made in the test.
A good signature is verified before the install (SignatureVerified, then Installing, Installed), a bad one stops
the update before anything is installed (InvalidSignature, a security event), a signing certificate no installed
root vouches for is InvalidCertificate at once; every status carries the requestId."""

import base64
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from ocpp.v16 import call

from firmware.clock import iso, utc_now
from tests.conftest import CHARGE_POINT
from tests.file_servers import http_files
from tests.pki import authority, issue

FIRMWARE = b"evsed signed firmware\n" * 20_000


def signed_statuses(csms, after: int) -> list[tuple[str, int]]:
    return [(m.payload["status"], m.payload["requestId"]) for m in csms.received[after:]
            if m.action == "SignedFirmwareStatusNotification"]


async def prepared(make_daemon, csms, tmp_path):
    """A charger with a ManufacturerRootCertificate installed, the signing certificate, its key, the served file."""
    marker = tmp_path / "installed.txt"
    script = tmp_path / "install.py"
    script.write_text(f"import pathlib, sys\npathlib.Path({str(marker)!r}).write_text(sys.argv[1])\n")
    await make_daemon(install_command=[sys.executable, str(script)])
    manufacturer = authority("Manufacturer root")
    install = call.InstallCertificate(certificate_type="ManufacturerRootCertificate",
                                      certificate=manufacturer.cert.public_bytes(Encoding.PEM).decode())
    assert (await csms.call(CHARGE_POINT, install)).status == "Accepted"
    signer = issue(manufacturer, "firmware signing", hosts=("signing.example.org",))
    www = tmp_path / "www"
    www.mkdir()
    (www / "fw.bin").write_bytes(FIRMWARE)
    return signer, www, marker


def request(url: str, signer, signature: bytes, request_id: int) -> call.SignedUpdateFirmware:
    return call.SignedUpdateFirmware(request_id=request_id, firmware={
        "location": url, "retrieve_date_time": iso(utc_now()),
        "signing_certificate": signer.cert.public_bytes(Encoding.PEM).decode(),
        "signature": base64.b64encode(signature).decode()})


async def test_a_signed_update_is_verified_before_it_installs(make_daemon, csms, tmp_path):
    signer, www, marker = await prepared(make_daemon, csms, tmp_path)
    signature = signer.key.sign(FIRMWARE, ec.ECDSA(hashes.SHA256()))
    with http_files(www) as http:
        mark = len(csms.received)
        assert (await csms.call(CHARGE_POINT, request(http.url("fw.bin"), signer, signature, 7))).status == "Accepted"
        await csms.wait_for("SignedFirmwareStatusNotification", after=mark, within=20,
                            where=lambda p: p["status"] == "Installed")
    assert signed_statuses(csms, mark) == [(s, 7) for s in ("Downloading", "Downloaded", "SignatureVerified",
                                                            "Installing", "Installed")]
    assert marker.exists()


async def test_a_bad_signature_stops_the_update_before_the_install(make_daemon, csms, tmp_path):
    signer, www, marker = await prepared(make_daemon, csms, tmp_path)
    signature = signer.key.sign(FIRMWARE + b"tampered", ec.ECDSA(hashes.SHA256()))
    with http_files(www) as http:
        mark = len(csms.received)
        assert (await csms.call(CHARGE_POINT, request(http.url("fw.bin"), signer, signature, 8))).status == "Accepted"
        await csms.wait_for("SignedFirmwareStatusNotification", after=mark, within=20,
                            where=lambda p: p["status"] == "InvalidSignature")
    assert signed_statuses(csms, mark) == [("Downloading", 8), ("Downloaded", 8), ("InvalidSignature", 8)]
    assert not marker.exists(), "nothing was installed"
    assert "InvalidFirmwareSignature" in (tmp_path / "state" / "security.log").read_text()


async def test_a_signing_certificate_from_another_root_is_refused_at_once(make_daemon, csms, tmp_path):
    _, www, marker = await prepared(make_daemon, csms, tmp_path)
    stranger = issue(authority("Somebody else"), "firmware signing", hosts=("signing.example.org",))
    signature = stranger.key.sign(FIRMWARE, ec.ECDSA(hashes.SHA256()))
    mark = len(csms.received)
    answer = await csms.call(CHARGE_POINT, request("http://127.0.0.1:9/fw.bin", stranger, signature, 9))
    assert answer.status == "InvalidCertificate"
    trigger = call.ExtendedTriggerMessage(requested_message="FirmwareStatusNotification")
    assert (await csms.call(CHARGE_POINT, trigger)).status == "Accepted"
    idle = await csms.wait_for("SignedFirmwareStatusNotification", after=mark)
    assert idle.payload == {"status": "Idle"} and not marker.exists() and www.exists()
