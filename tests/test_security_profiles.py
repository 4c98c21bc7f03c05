"""Security profiles 0-3 (OCPP 1.6 Security Whitepaper, edition 3) end to end: the real daemon against the real CSMS
(the `ocpp` library's side behind `websockets`) on 127.0.0.1, over TLS with a CA, server and client certificates
made in the test (`tests.pki`). Each profile connects and boots; the Basic-auth header is exact (hex text, or the
bytes it encodes); a 401 and refused certificates (another CA, expired, another hostname) are survived and never
connect; the profile only rises, with its prerequisites; a raised profile that cannot connect falls back; a preset
lower than the stored profile stops the start (exit 2); the AuthorizationKey never shows."""

import asyncio
import base64
import os
import sys
from pathlib import Path

import pytest
from ocpp.v16 import call

from firmware.config_file import CsmsSection
from firmware.demo.loopback_csms import LoopbackCsms
from firmware.persistence.db import Store
from firmware.protocol.security import LinkSecurity
from firmware.settings import Settings
from tests.conftest import CHARGE_POINT, Daemon
from tests.file_servers import http_files
from tests.ocpp_steps import configure
from tests.pki import authority, ca_file, issue
from tests.test_firmware_management import diagnostics_to

KEY = "00112233445566778899aabbccddeeff0a0b0c0d"
"""An AuthorizationKey: the hex text of 20 bytes."""


async def booted(csms: LoopbackCsms, within: float = 10.0) -> None:
    await csms.wait_for("BootNotification", within=within)


async def test_profile_1_sends_the_exact_basic_header_and_boots(make_daemon, csms):
    csms.behaviour.password = KEY.encode()
    await make_daemon(ocpp={"SecurityProfile": 1, "AuthorizationKey": KEY})
    expected = "Basic " + base64.b64encode(f"{CHARGE_POINT}:{KEY}".encode()).decode()
    assert csms.authorizations[-1] == expected


async def test_profile_1_with_the_decoded_password_option(make_daemon, csms):
    csms.behaviour.password = bytes.fromhex(KEY)
    await make_daemon(ocpp={"SecurityProfile": 1, "AuthorizationKey": KEY}, csms={"basic_auth_password": "decoded"})
    assert base64.b64decode(csms.authorizations[-1].split()[1]) == CHARGE_POINT.encode() + b":" + bytes.fromhex(KEY)


async def test_a_401_is_survived_and_the_right_password_then_connects(make_daemon, csms):
    csms.behaviour.password = b"not-the-key"
    charger = await make_daemon(ocpp={"SecurityProfile": 1, "AuthorizationKey": KEY}, boot=False)
    await csms.wait_until(lambda: len(csms.authorizations) >= 2, within=15)
    assert csms.connections == 0 and charger.proc.returncode is None
    assert "401" in charger.log()
    csms.behaviour.password = KEY.encode()
    await booted(csms, within=15)


async def test_profile_2_verifies_the_csms_and_boots(make_daemon, tls_csms, tmp_path):
    root = authority()
    csms = await tls_csms(issue(root, "csms"))
    csms.behaviour.password = KEY.encode()
    await make_daemon(url=csms.url, ocpp={"SecurityProfile": 2, "AuthorizationKey": KEY},
                      csms={"ca_file": ca_file(root, tmp_path)}, boot=False)
    await booted(csms)
    assert csms.authorizations[-1].startswith("Basic ")


@pytest.mark.parametrize("wrong", ["another CA", "expired", "another host"])
async def test_profile_2_refuses_a_csms_certificate_it_cannot_trust(make_daemon, tls_csms, tmp_path, wrong):
    root, other = authority(), authority("Somebody else's root")
    server = {"another CA": issue(other, "csms"), "expired": issue(root, "csms", expired=True),
              "another host": issue(root, "csms", hosts=("csms.example.org",))}[wrong]
    csms = await tls_csms(server)
    charger = await make_daemon(url=csms.url, ocpp={"SecurityProfile": 2, "AuthorizationKey": KEY},
                                csms={"ca_file": ca_file(root, tmp_path)}, boot=False)
    async with asyncio.timeout(15):
        while charger.log().count("CSMS link down") < 2:
            await asyncio.sleep(0.1)
    assert "CERTIFICATE_VERIFY_FAILED" in charger.log() and csms.connections == 0
    assert charger.proc.returncode is None


@pytest.mark.parametrize("kind", ["ec", "rsa"])
async def test_profile_3_presents_the_client_certificate(make_daemon, tls_csms, tmp_path, kind):
    root = authority()
    client_root = authority("Charge point CA")
    csms = await tls_csms(issue(root, "csms"), client_ca=client_root)
    cert, key = issue(client_root, CHARGE_POINT, client=True, kind=kind).write(tmp_path, "cp")
    await make_daemon(url=csms.url, ocpp={"SecurityProfile": 3},
                      csms={"ca_file": ca_file(root, tmp_path), "client_cert": str(cert), "client_key": str(key)},
                      boot=False)
    await booted(csms)
    assert csms.authorizations[-1] is None, "profile 3: no password"


async def test_the_profile_only_rises_with_its_prerequisites_and_the_key_never_shows(make_daemon, csms):
    charger = await make_daemon()
    assert await configure(csms, "SecurityProfile", "0") == "Rejected"  # equal
    assert await configure(csms, "SecurityProfile", "1") == "Rejected"  # no AuthorizationKey yet
    assert await configure(csms, "SecurityProfile", "2") == "Rejected"  # no wss://, no root certificate
    for malformed in ("00112233", "zz" * 20, "0" * 41, KEY + "00"):
        assert await configure(csms, "AuthorizationKey", malformed) == "Rejected", malformed
    assert await configure(csms, "AuthorizationKey", KEY) == "Accepted"
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["AuthorizationKey", "SecurityProfile"]))
    shown = {k["key"]: k for k in conf.configuration_key}
    assert "value" not in shown["AuthorizationKey"] and shown["SecurityProfile"]["value"] == "0"
    connections = csms.connections
    assert await configure(csms, "SecurityProfile", "1") == "Accepted"
    await csms.wait_until(lambda: csms.connections > connections, within=15)  # it connected again, with Basic auth
    assert csms.authorizations[-1] == "Basic " + base64.b64encode(f"{CHARGE_POINT}:{KEY}".encode()).decode()
    assert await configure(csms, "SecurityProfile", "0") == "Rejected"  # lower
    status = await charger.cmd(cmd="state")
    for text in (charger.log(), str(status), (charger.workdir / "evsed.toml").read_text()):
        assert KEY not in text and KEY.upper() not in text
    database = charger.workdir / "state" / "evsed.db"  # holds the key: the service user's only
    assert oct(database.stat().st_mode & 0o777) == "0o600"


async def test_a_raised_profile_that_cannot_connect_falls_back(make_daemon, csms):
    csms.behaviour.password, csms.behaviour.anonymous = b"the CSMS wants another key", True
    charger = await make_daemon()
    assert await configure(csms, "AuthorizationKey", KEY) == "Accepted"
    connections = csms.connections
    assert await configure(csms, "SecurityProfile", "1") == "Accepted"  # the CSMS then answers 401 to it
    await csms.wait_until(lambda: csms.connections > connections, within=40)  # back on profile 0
    assert csms.authorizations[-1] is None
    assert "security profile 1 does not connect" in charger.log()
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["SecurityProfile"]))
    assert conf.configuration_key[0]["value"] == "0"


async def test_a_raised_profile_redials_only_once_the_csms_answered_the_call_in_flight(make_daemon, csms):
    """A StatusNotification of ours is in flight (the CSMS takes 0.5 s to answer it) when the ChangeConfiguration
    answer goes out. The link closes only once the CSMS answered it: a CSMS on the `ocpp` library whose answer
    cannot be sent any more drops what it had received but not read, the ChangeConfiguration answer among it (CI
    saw that before the redial waited)."""
    csms.behaviour.password, csms.behaviour.anonymous = KEY.encode(), True
    await make_daemon()
    assert await configure(csms, "AuthorizationKey", KEY) == "Accepted"
    csms.behaviour.answer_delay_s = {"StatusNotification": 0.5}
    mark, connections = len(csms.received), csms.connections
    trigger = call.TriggerMessage(requested_message="StatusNotification", connector_id=1)
    assert (await csms.call(CHARGE_POINT, trigger)).status == "Accepted"
    await csms.wait_for("StatusNotification", after=mark)
    assert await configure(csms, "SecurityProfile", "1") == "Accepted"
    await csms.wait_until(lambda: csms.connections > connections, within=20)
    assert csms.authorizations[-1] is not None, "connected again, with the key"


async def test_a_preset_lower_than_the_stored_profile_stops_the_start(make_daemon, csms, tmp_path):
    csms.behaviour.password = KEY.encode()
    charger = await make_daemon(ocpp={"SecurityProfile": 1, "AuthorizationKey": KEY})
    await charger.stop()
    lower = Daemon(tmp_path, csms.url, ocpp={"SecurityProfile": 0})
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "firmware", "run", "-c", str(lower.config),
                                                   stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(30):
        _, stderr = await process.communicate()
    assert process.returncode == 2
    assert "[ocpp] SecurityProfile" in stderr.decode() and "lower" in stderr.decode()


async def test_no_secret_in_a_diagnostics_archive_and_no_listening_port(make_daemon, csms, tmp_path):
    csms.behaviour.password = KEY.encode()
    charger = await make_daemon(ocpp={"SecurityProfile": 1, "AuthorizationKey": KEY})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with http_files(inbox) as http:
        members = await diagnostics_to(csms, http.url(), inbox)
    assert "AuthorizationKey" in members["evsed.toml"]  # the key's line is there, its value is not
    assert all(KEY not in text and KEY.upper() not in text for text in members.values())
    assert listening_ports(charger.proc.pid) == [], "evsed only dials out"


def listening_ports(pid: int) -> list[int]:
    """The TCP ports process `pid` listens on: its socket inodes matched against /proc/net/tcp{,6} (state 0A)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_profile_0_over_ws_to_another_host_warns_and_loopback_does_not(tmp_path, caplog):
    settings = Settings(Store(tmp_path / "evsed.db"), {}, fixed={})
    for url, warned in (("ws://csms.example.org/ocpp", True), ("ws://127.0.0.1:9/ocpp", False),
                        ("wss://csms.example.org/ocpp", False)):
        caplog.clear()
        LinkSecurity(CsmsSection(url=url), CHARGE_POINT, settings, lambda: None, lambda: None).warn_if_open()
        assert ("without security" in caplog.text) is warned, url
