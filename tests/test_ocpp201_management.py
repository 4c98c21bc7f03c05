"""What the firmware and security issues built, through 2.0.1's messages: UpdateFirmware (L01, unsigned and with a
signing certificate no root vouches for), GetLog (N01), the certificate messages (M03-M05), against real HTTP
servers and certificates made here, and the loopback CSMS speaking 2.0.1."""

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from ocpp.v201 import call

from firmware.clock import iso, utc_now
from tests.conftest import CHARGE_POINT
from tests.file_servers import http_files
from tests.pki import authority
from tests.test_firmware_management import installer

CSMS_PROTOCOL = "ocpp2.0.1"
"""The `csms` fixture speaks 2.0.1 in this module."""
FIRMWARE = b"evsed firmware image\n" * 1000


@pytest.fixture
def served(tmp_path) -> Path:
    """A folder an HTTP server will serve, holding the firmware file `fw.bin`."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "fw.bin").write_bytes(FIRMWARE)
    return root


async def update(csms, location: str, request_id: int) -> None:
    """UpdateFirmware of `location`, to be retrieved now; Accepted."""
    request = call.UpdateFirmware(request_id=request_id, firmware={"location": location,
                                                                    "retrieve_date_time": iso(utc_now())})
    assert (await csms.call(CHARGE_POINT, request)).status == "Accepted"


def reported(csms, action: str, after: int = 0) -> list[tuple[str, int | None]]:
    return [(m.payload["status"], m.payload.get("requestId")) for m in csms.received[after:] if m.action == action]


async def test_update_firmware_reports_each_step_with_its_request_id(csms, start201, tmp_path, served):
    await start201(install_command=installer(tmp_path))
    with http_files(served) as http:
        mark = len(csms.received)
        await update(csms, http.url("fw.bin"), 31)
        await csms.wait_for("FirmwareStatusNotification", after=mark, within=20,
                            where=lambda p: p["status"] == "Installed")
    assert reported(csms, "FirmwareStatusNotification", mark) == [
        ("Downloading", 31), ("Downloaded", 31), ("Installing", 31), ("Installed", 31)]
    assert (tmp_path / "installed.txt").read_text().split()[1] == hashlib.sha256(FIRMWARE).hexdigest()
    mark = len(csms.received)
    trigger = call.TriggerMessage(requested_message="FirmwareStatusNotification")
    assert (await csms.call(CHARGE_POINT, trigger)).status == "Accepted"
    idle = await csms.wait_for("FirmwareStatusNotification", after=mark)
    assert idle.payload == {"status": "Idle"}


async def test_an_untrusted_signing_certificate_schedules_nothing(csms, start201):
    await start201()
    stranger = authority("Not a manufacturer")
    pem = stranger.cert.public_bytes(serialization.Encoding.PEM).decode()
    request = call.UpdateFirmware(request_id=32, firmware={
        "location": "http://127.0.0.1:9/fw.bin", "retrieve_date_time": iso(utc_now()),
        "signing_certificate": pem, "signature": "c2lnbmF0dXJl"})
    assert (await csms.call(CHARGE_POINT, request)).status == "InvalidCertificate"
    assert csms.of("FirmwareStatusNotification") == []


async def test_get_log_uploads_the_security_log(csms, start201, tmp_path):
    await start201()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with http_files(inbox) as http:
        mark = len(csms.received)
        answer = await csms.call(CHARGE_POINT, call.GetLog(log={"remote_location": http.url("logs/")},
                                                           log_type="SecurityLog", request_id=7))
        assert answer.status == "Accepted" and answer.filename.startswith("security-log-")
        await csms.wait_for("LogStatusNotification", after=mark, within=20,
                            where=lambda p: p["status"] == "Uploaded")
    assert reported(csms, "LogStatusNotification", mark) == [("Uploading", 7), ("Uploaded", 7)]
    assert (inbox / answer.filename).stat().st_size > 0


async def test_certificates_install_list_and_delete(csms, start201):
    await start201()
    root = authority("CSMS Root for 2.0.1")
    pem = root.cert.public_bytes(serialization.Encoding.PEM).decode()
    assert (await csms.call(CHARGE_POINT, call.GetInstalledCertificateIds())).status == "NotFound"
    install = call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=pem)
    assert (await csms.call(CHARGE_POINT, install)).status == "Accepted"
    v2g = call.InstallCertificate(certificate_type="V2GRootCertificate", certificate=pem)
    assert (await csms.call(CHARGE_POINT, v2g)).status == "Rejected"
    listed = await csms.call(CHARGE_POINT, call.GetInstalledCertificateIds(certificate_type=["CSMSRootCertificate"]))
    assert listed.status == "Accepted" and len(listed.certificate_hash_data_chain) == 1
    entry = listed.certificate_hash_data_chain[0]
    assert entry["certificate_type"] == "CSMSRootCertificate"
    assert int(entry["certificate_hash_data"]["serial_number"], 16) == root.cert.serial_number
    delete = call.DeleteCertificate(certificate_hash_data=entry["certificate_hash_data"])
    assert (await csms.call(CHARGE_POINT, delete)).status == "Accepted"
    assert (await csms.call(CHARGE_POINT, call.GetInstalledCertificateIds())).status == "NotFound"


async def test_an_update_that_asks_for_a_restart_boots_with_reason_firmware_update(csms, start201, tmp_path,
                                                                                     served):
    """L01 with B01: an installer asking for a restart gets one, and the next BootNotification says FirmwareUpdate."""
    await start201(install_command=installer(tmp_path, exit_status=10))
    with http_files(served) as http:
        mark = len(csms.received)
        await update(csms, http.url("fw.bin"), 33)
        boot = await csms.wait_for("BootNotification", after=mark, within=30)
    assert boot.payload["reason"] == "FirmwareUpdate"
    assert ("Installed", 33) in reported(csms, "FirmwareStatusNotification", mark)
