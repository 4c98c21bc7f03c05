"""`evsed selftest` and `evsed force-open`, run as an installer runs them.

Backend "pi" is tested with a real Modbus TCP meter (a pymodbus server) and the loopback CSMS; its
GPIO pins are gpiozero's MockFactory (`GPIOZERO_PIN_FACTORY=mock`), because no GPIO exists on this
machine: the pins are the one mock-level part. The simulated backend is tested through the running
daemon with faults injected by `evsed sim fault`.
"""

import asyncio
import os
import ssl
import sys
from pathlib import Path

import pytest
import websockets
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
from ocpp.v16 import call

from drivers.meter_profile import load_profile
from firmware.app import App
from firmware.config_file import load_config, parse_config
from firmware.daemon.selftest import check_csms
from tests.conftest import CHARGE_POINT
from tests.modbus_peer import Fault, MeterServer, SimulatedMeter


async def evsed(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "firmware", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"})
    async with asyncio.timeout(30):
        out, _ = await proc.communicate()
    return proc.returncode, " ".join(out.decode().split())  # the table's column padding aside


def pi_config(tmp_path, csms_url: str, meter_port: int, profile: str = "sdm630") -> str:
    path = tmp_path / "pi.toml"
    path.write_text(f"""
[charge_point]
id = "{CHARGE_POINT}"
connectors = 1
[csms]
url = "{csms_url}"
[hardware]
backend = "pi"
[hardware.connector.1.contactor]
pin = 17
feedback_pin = 27
[hardware.connector.1.meter]
profile = "{profile}"
host = "127.0.0.1"
tcp_port = {meter_port}
[hardware.connector.1.plug]
pin = 5
[storage]
path = "{tmp_path / 'state' / 'evsed.db'}"
""")
    return str(path)


@pytest.fixture
async def meter():
    simulated = SimulatedMeter(load_profile("sdm630"))
    simulated.energy_wh, simulated.voltage_v = 12_345_678.0, [231.0, 230.0, 229.0]
    server = MeterServer(simulated)
    port = await server.serve_tcp()
    yield simulated, port
    await server.stop()


async def test_selftest_passes_on_a_well_wired_pi_charger(tmp_path, csms, meter):
    _, port = meter
    config = pi_config(tmp_path, csms.url, port)
    code, out = await evsed("selftest", "-c", config)
    assert code == 0, out
    assert "PASS connector 1 meter 12345.678 kWh imported, 0 W, 231/230/229 V" in out
    assert "PASS connector 1 contactor open, and the feedback agrees" in out
    assert "PASS CSMS" in out and "3 of 3 checks passed" in out
    assert not csms.of("BootNotification"), "the self-test does not register the charger"
    code, out = await evsed("force-open", "-c", config)
    assert code == 0 and "GPIO17: driven low" in out, out


async def test_selftest_says_what_to_fix(tmp_path, csms, meter):
    simulated, port = meter
    simulated.fault = Fault.SILENT
    code, out = await evsed("selftest", "-c", pi_config(tmp_path, csms.url, port))
    assert code == 1
    assert "FAIL connector 1 meter" in out and "did not answer" in out and "fix: check the RS-485 wiring" in out
    simulated.fault = Fault.NONE
    simulated.voltage_v = [0.0, 0.0, 0.0]
    code, out = await evsed("selftest", "-c", pi_config(tmp_path, csms.url, port))
    assert code == 1 and "L1 voltage outside 180-270 V" in out
    await csms.stop()
    simulated.voltage_v = [230.0] * 3
    code, out = await evsed("selftest", "-c", pi_config(tmp_path, csms.url, port))
    assert code == 1 and "FAIL CSMS" in out and "cannot reach" in out


async def test_unknown_meter_profile_is_a_clear_start_up_error(tmp_path, csms, meter):
    _, port = meter
    config = pi_config(tmp_path, csms.url, port, profile="sdm999")
    code, out = await evsed("selftest", "-c", config)
    assert code == 1 and "FAIL hardware" in out and "sdm999" in out and "sdm630" in out, out
    code, out = await evsed("config", "check", "-c", config)
    assert code == 2 and "[hardware.connector.1.meter] profile" in out and "sdm999" in out, out
    code, out = await evsed("run", "-c", config)
    assert code == 4 and "hardware error, not started: [hardware.connector.1]" in out, out


async def test_selftest_through_the_running_daemon_sees_injected_faults(make_daemon):
    d = await make_daemon()
    for device, n in (("meter", 1), ("weld", 2), ("reader", 0)):
        await d.cmd(cmd="fault", device=device, connector=n, on=True)
    await d.wait_state(2, status="Faulted")
    code, out = await evsed("selftest", "-c", str(d.config))
    assert code == 1, out
    assert "FAIL card reader (shared)" in out and "fault injected" in out
    assert "FAIL connector 1 meter" in out
    assert "FAIL connector 2 contactor commanded open but the feedback says closed" in out
    assert "PASS CSMS" in out and "connected, registration Accepted" in out
    for device, n in (("meter", 1), ("weld", 2), ("reader", 0)):
        await d.cmd(cmd="fault", device=device, connector=n, on=False)
    code, out = await evsed("selftest", "-c", str(d.config))
    assert code == 0, out


async def test_pi_backend_charges_with_the_modbus_meter_end_to_end(tmp_path, csms, meter):
    """The daemon on backend "pi", in this process so the test can drive the mock plug pin: RemoteStart
    closes the contactor and the transaction bills on the Modbus meter's import register. No feedback
    input: a mock pin cannot follow the output."""
    simulated, port = meter
    path = Path(pi_config(tmp_path, csms.url, port))
    text = path.read_text()  # noqa: ASYNC240 - a small file in the test's own folder
    path.write_text(text.replace("feedback_pin = 27\n", "") + "[ocpp]\nMeterValueSampleInterval = 1\n")  # noqa: ASYNC240
    factory = MockFactory()
    Device.pin_factory = factory
    try:
        app = App(load_config(path))
        running = asyncio.create_task(app.run())
        await csms.wait_for("StatusNotification", within=15, where=lambda p: p["connectorId"] == 1)
        factory.pin(5).drive_high()  # the EV plugs in
        answer = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QR-1234", connector_id=1))
        assert answer.status == "Accepted"
        start = await csms.wait_for("StartTransaction")
        assert start.payload["meterStart"] == 12_345_678
        assert factory.pin(17).state, "contactor output driven"
        simulated.energy_wh, simulated.power_w = 12_347_678.0, 7400.0
        sample = await csms.wait_for("MeterValues", where=lambda p: abs(
            float(p["meterValue"][0]["sampledValue"][0]["value"]) - 12_347_678) < 2)  # float32 kWh register
        assert sample.payload["transactionId"] == csms.transaction_ids[0]
        await csms.call(CHARGE_POINT, call.RemoteStopTransaction(transaction_id=csms.transaction_ids[0]))
        stop = await csms.wait_for("StopTransaction")
        assert abs(stop.payload["meterStop"] - 12_347_678) <= 1 and stop.payload["reason"] == "Remote"
        assert not factory.pin(17).state, "contactor output released"
        app.stop()
        async with asyncio.timeout(15):
            await running
    finally:
        Device.pin_factory = None
        factory.close()


async def test_selftest_rejects_a_csms_whose_tls_certificate_is_not_trusted(tmp_path):
    """A wss:// CSMS with a self-signed certificate: reachable, but the self-test fails on TLS."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    made = await asyncio.create_subprocess_exec(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
        "-days", "1", "-subj", "/CN=127.0.0.1", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    assert await made.wait() == 0
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def handler(connection) -> None:
        await connection.wait_closed()

    async with websockets.serve(handler, "127.0.0.1", 0, ssl=context, subprotocols=["ocpp1.6"]) as server:
        port = server.sockets[0].getsockname()[1]
        config = parse_config(f"""
[charge_point]
id = "{CHARGE_POINT}"
connectors = 1
[csms]
url = "wss://127.0.0.1:{port}/ocpp"
[hardware]
backend = "sim"
[storage]
path = "{tmp_path / 'evsed.db'}"
""")
        check = await check_csms(config, timeout_s=5)
    assert not check.passed and "TLS certificate of wss://127.0.0.1" in check.detail and "not valid" in check.detail
