"""Firmware Management (OCPP 1.6 §5.9 GetDiagnostics, §5.19 UpdateFirmware, §4.4, §4.5) end to end: the real daemon on
simulated hardware against a real CSMS (the `ocpp` library) on 127.0.0.1, with real HTTP and FTP servers
(`tests.file_servers`). The exact status sequences; a 404 and an unreachable location; an update that waits for the
session to end and keeps the connectors Unavailable while installing; a SIGKILL during the download (resumed by a
Range request) and during the install (judged, never left half-way); an installer that asks for a restart; the
diagnostics archive unpacked, with no secret inside; the triggered statuses."""

import asyncio
import hashlib
import io
import json
import signal
import sys
import tarfile
from pathlib import Path

import pytest
from ocpp.v16 import call

from firmware.clock import iso, utc_now
from tests.conftest import CHARGE_POINT
from tests.file_servers import ftp_files, http_files

OCPP = {"MeterValueSampleInterval": 5, "ConnectionTimeOut": 5}
FIRMWARE = b"evsed firmware image\n" * 50_000  # about 1 MB


def statuses(csms, action: str, after: int = 0) -> list[str]:
    return [m.payload["status"] for m in csms.received[after:] if m.action == action]


async def firmware_statuses_until(csms, last: str, after: int = 0, within: float = 20.0) -> list[str]:
    """FirmwareStatusNotifications from index `after` until one with status `last` (bounded)."""
    await csms.wait_for("FirmwareStatusNotification", within=within, after=after,
                        where=lambda p: p["status"] == last)
    return statuses(csms, "FirmwareStatusNotification", after)


async def update(csms, location: str, retries: int = 0, retry_interval: int = 1) -> None:
    request = call.UpdateFirmware(location=location, retrieve_date=iso(utc_now()), retries=retries,
                                  retry_interval=retry_interval)
    await csms.call(CHARGE_POINT, request)


def installer(tmp_path: Path, exit_status: int = 0, sleep_s: float = 0.0) -> list[str]:
    """An install command that records the file it got (and its sha256) and exits with `exit_status`."""
    script = tmp_path / "install.py"
    script.write_text(
        "import hashlib, pathlib, sys, time\n"
        f"time.sleep({sleep_s})\n"
        "data = pathlib.Path(sys.argv[1]).read_bytes()\n"
        f"pathlib.Path({str(tmp_path / 'installed.txt')!r}).write_text(sys.argv[1] + ' ' + "
        "hashlib.sha256(data).hexdigest())\n"
        f"sys.exit({exit_status})\n")
    return [sys.executable, str(script)]


@pytest.fixture
def served(tmp_path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "evsed-fw.bin").write_bytes(FIRMWARE)
    return root


async def test_an_update_downloads_installs_through_the_command_and_reports_each_step(make_daemon, csms, tmp_path,
                                                                                         served):
    charger = await make_daemon(ocpp=OCPP, install_command=installer(tmp_path))
    with http_files(served) as http:
        mark = len(csms.received)
        await update(csms, http.url("evsed-fw.bin"))
        assert await firmware_statuses_until(csms, "Installed", mark) == [
            "Downloading", "Downloaded", "Installing", "Installed"]
    path, digest = (tmp_path / "installed.txt").read_text().split()
    assert digest == hashlib.sha256(FIRMWARE).hexdigest() and path.endswith("evsed-fw.bin")
    assert not (tmp_path / "state" / "firmware" / "evsed-fw.bin").exists(), "the file goes once the update is over"
    triggered = len(csms.received)
    await csms.call(CHARGE_POINT, call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    assert await firmware_statuses_until(csms, "Idle", triggered) == ["Idle"]
    assert charger.proc.returncode is None


async def test_a_failing_installer_and_a_missing_file_are_reported(make_daemon, csms, tmp_path, served):
    await make_daemon(ocpp=OCPP, install_command=installer(tmp_path, exit_status=3))
    with http_files(served) as http:
        mark = len(csms.received)
        await update(csms, http.url("evsed-fw.bin"))
        assert await firmware_statuses_until(csms, "InstallationFailed", mark) == [
            "Downloading", "Downloaded", "Installing", "InstallationFailed"]
        mark = len(csms.received)
        await update(csms, http.url("no-such-file.bin"), retries=1, retry_interval=1)
        assert await firmware_statuses_until(csms, "DownloadFailed", mark) == ["Downloading", "DownloadFailed"]
        assert [r for r in http.requests if r[1] == "/no-such-file.bin"] == [
            ("GET", "/no-such-file.bin", None)] * 2, "one attempt and one retry"


async def test_an_update_during_a_session_installs_after_it_with_the_connectors_unavailable(make_daemon, csms,
                                                                                          tmp_path, served):
    charger = await make_daemon(ocpp=OCPP, install_command=installer(tmp_path, sleep_s=2.0))
    await charger.card_start(1)
    with http_files(served) as http:
        mark = len(csms.received)
        await update(csms, http.url("evsed-fw.bin"))
        await firmware_statuses_until(csms, "Downloaded", mark)
        await asyncio.sleep(1.0)
        assert statuses(csms, "FirmwareStatusNotification", mark) == ["Downloading", "Downloaded"]
        assert (await charger.connector(1))["status"] == "Charging"
        await charger.card_stop(1)
        await firmware_statuses_until(csms, "Installing", mark, within=15)
        c = await charger.wait_state(2, status="Unavailable")
        assert (await charger.connector(1))["status"] == "Unavailable"
        await charger.cmd(cmd="tap", uid="04A1B2C3", connector=2)  # no session while installing
        await firmware_statuses_until(csms, "Installed", mark)
        assert c["transaction_id"] is None and (await charger.connector(2))["transaction_id"] is None
    await charger.wait_state(2, status="Available")


async def test_a_kill_during_the_download_resumes_it_after_the_restart(make_daemon, csms, tmp_path, served):
    charger = await make_daemon(ocpp=OCPP, install_command=installer(tmp_path))
    partial = tmp_path / "state" / "firmware" / "evsed-fw.bin"
    with http_files(served, rate_bytes_s=400_000) as http:
        mark = len(csms.received)
        await update(csms, http.url("evsed-fw.bin"))
        async with asyncio.timeout(10):
            while not partial.exists() or partial.stat().st_size < 200_000:
                await asyncio.sleep(0.05)
        await charger.stop(signal.SIGKILL)
        http.rate_bytes_s = None
        got = partial.stat().st_size
        await make_daemon(ocpp=OCPP, workdir=tmp_path, install_command=installer(tmp_path))
        await firmware_statuses_until(csms, "Installed", mark)
        resumed = [r for r in http.requests if r[0] == "GET"][1:]
        assert resumed and resumed[0][2] is not None and int(resumed[0][2].split("=")[1].rstrip("-")) >= got
    assert (tmp_path / "installed.txt").read_text().split()[1] == hashlib.sha256(FIRMWARE).hexdigest()


async def test_a_kill_during_the_install_is_judged_at_the_next_start(make_daemon, csms, tmp_path, served):
    charger = await make_daemon(ocpp=OCPP, install_command=installer(tmp_path, sleep_s=30.0))
    with http_files(served) as http:
        mark = len(csms.received)
        await update(csms, http.url("evsed-fw.bin"))
        await firmware_statuses_until(csms, "Installing", mark)
    async with asyncio.timeout(5):  # Installing confirmed (else it is sent again after the restart: at least once)
        while (await charger.state())["outbox"]["depth"]:
            await asyncio.sleep(0.05)
    await charger.stop(signal.SIGKILL)
    mark = len(csms.received)
    charger = await make_daemon(ocpp=OCPP, workdir=tmp_path, install_command=installer(tmp_path))
    # The version did not change: the install did not happen (it was cut off), and the connectors work again.
    assert await firmware_statuses_until(csms, "InstallationFailed", mark) == ["InstallationFailed"]
    await charger.card_start(1)


async def test_an_installer_asking_for_a_restart_gets_one_and_a_new_boot(make_daemon, csms, tmp_path, served):
    await make_daemon(ocpp=OCPP, install_command=installer(tmp_path, exit_status=10))
    boots = len(csms.of("BootNotification"))
    with http_files(served) as http:
        mark = len(csms.received)
        await update(csms, http.url("evsed-fw.bin"))
        await firmware_statuses_until(csms, "Installed", mark)
    await csms.wait_for("BootNotification", within=15, after=mark)
    assert len(csms.of("BootNotification")) == boots + 1


async def diagnostics_to(csms, location: str, inbox: Path) -> dict[str, str]:
    """GetDiagnostics to `location` (served from `inbox`), awaited until Uploaded: the archive's members."""
    mark = len(csms.received)
    answer = await csms.call(CHARGE_POINT, call.GetDiagnostics(location=location))
    await csms.wait_for("DiagnosticsStatusNotification", after=mark, where=lambda p: p["status"] == "Uploaded")
    assert statuses(csms, "DiagnosticsStatusNotification", mark) == ["Uploading", "Uploaded"]
    return unpack((inbox / answer.file_name).read_bytes())


def unpack(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {m.name: archive.extractfile(m).read().decode() for m in archive.getmembers()}  # type: ignore[union-attr]


async def test_diagnostics_reach_an_http_server_unpack_and_hold_no_secret(make_daemon, csms, tmp_path):
    secret = "topsecret-csms-password"
    url = csms.url.replace("ws://", f"ws://{CHARGE_POINT}:{secret}@")
    charger = await make_daemon(ocpp=OCPP, url=url)
    await charger.card_start(1)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with http_files(inbox) as http:
        members = await diagnostics_to(csms, http.url("upload/"), inbox)
    assert set(members) == {"evsed.log", "evsed.toml", "status.txt", "database.txt"}
    assert "transaction started connector=1" in members["evsed.log"]
    assert "connector 1: Charging" in members["status.txt"] and "schema version" in members["database.txt"]
    assert "***@" in members["evsed.toml"]
    assert all(secret not in text for text in members.values())
    # No idTag in the facts; the log shows them as its level does (here debug: whole; at info: last four).
    assert "04A1B2C3" not in members["database.txt"] + members["status.txt"]


async def test_diagnostics_by_ftp_and_by_post_and_a_failed_upload(make_daemon, csms, tmp_path):
    await make_daemon(ocpp=OCPP)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with ftp_files(inbox) as ftp:
        assert "evsed.log" in await diagnostics_to(csms, ftp.url(), inbox)
    with http_files(inbox, refuse_put=True) as http:
        assert "database.txt" in await diagnostics_to(csms, http.url("forms"), inbox)
        assert [r[0] for r in http.requests] == ["PUT", "POST"]
    mark = len(csms.received)
    await csms.call(CHARGE_POINT, call.GetDiagnostics(location="http://127.0.0.1:9/nowhere", retries=1,
                                                      retry_interval=1))
    await csms.wait_for("DiagnosticsStatusNotification", after=mark, where=lambda p: p["status"] == "UploadFailed")
    assert statuses(csms, "DiagnosticsStatusNotification", mark) == ["Uploading", "UploadFailed"]


async def test_triggered_statuses_report_what_runs(make_daemon, csms, tmp_path, served):
    await make_daemon(ocpp=OCPP)
    with http_files(served, rate_bytes_s=200_000) as http:
        mark = len(csms.received)
        await update(csms, http.url("evsed-fw.bin"))
        await csms.wait_for("FirmwareStatusNotification", after=mark, where=lambda p: p["status"] == "Downloading")
        triggered = len(csms.received)
        await csms.call(CHARGE_POINT, call.TriggerMessage(requested_message="FirmwareStatusNotification"))
        await csms.call(CHARGE_POINT, call.TriggerMessage(requested_message="DiagnosticsStatusNotification"))
        await csms.wait_for("DiagnosticsStatusNotification", after=triggered)
        assert statuses(csms, "FirmwareStatusNotification", triggered)[:1] == ["Downloading"]
        assert statuses(csms, "DiagnosticsStatusNotification", triggered) == ["Idle"]
        http.rate_bytes_s = None
        await firmware_statuses_until(csms, "Installed", mark)


async def test_hostile_retry_values_are_bounded_and_end_nothing(make_daemon, csms, served):
    """A negative retries and a 400-digit retryInterval (the schemas allow both): clamped to 0 retries and a day."""
    charger = await make_daemon(ocpp=OCPP)
    huge = 10**400
    with http_files(served) as http:
        mark = len(csms.received)
        await csms.send_raw(CHARGE_POINT, f'[2,"u-1","UpdateFirmware",{{"location":"{http.url("nothing.bin")}",'
                            f'"retrieveDate":"{iso(utc_now())}","retries":-3,"retryInterval":{huge}}}]', "u-1")
        assert await firmware_statuses_until(csms, "DownloadFailed", mark) == ["Downloading", "DownloadFailed"]
    await csms.send_raw(CHARGE_POINT, f'[2,"d-1","GetDiagnostics",{{"location":"ftp://127.0.0.1:9/",'
                        f'"retries":-1,"retryInterval":{huge}}}]', "d-1")
    await csms.wait_for("DiagnosticsStatusNotification", after=mark, where=lambda p: p["status"] == "UploadFailed")
    assert "retries bounded" in charger.log() and charger.proc.returncode is None
    # A 1000-character file name (the long fuzz run: ENAMETOOLONG ended the daemon, again at each start), a URL
    # urlsplit refuses and a retrieveDate beyond datetime's range in UTC (OverflowError): DownloadFailed, the
    # charger goes on, no traceback.
    for n, location in enumerate(("http://127.0.0.1:9/" + "A" * 1000, "https://D.c.D.AlsA]CE/fw.bin")):  # the
        mark = len(csms.received)  # second: "Invalid IPv6 URL" to urlsplit, which the file's name was taken with
        await csms.send_raw(CHARGE_POINT, json.dumps([2, f"u-{n}", "UpdateFirmware", {
            "location": location, "retrieveDate": "9999-12-31T23:59:59-14:00", "retries": 0}]), f"u-{n}")
        assert await firmware_statuses_until(csms, "DownloadFailed", mark) == ["Downloading", "DownloadFailed"]
    assert charger.proc.returncode is None and "Traceback" not in charger.log()
