"""Device faults end to end on the simulated backend (`evsed sim fault`): a welded contact, a dead
meter and a failing card reader, as the CSMS and an installer see them."""

import asyncio
import logging
import sys

import pytest
from ocpp.v16 import call

from firmware.core.connector import BackwardsReading, Connector, ConnectorDevices
from firmware.core.safety import EnergyGate
from firmware.ocpp16.status import StatusReporter
from firmware.persistence.db import Store
from firmware.settings import Settings
from firmware.transactions.outbox import Outbox
from firmware.transactions.store import TransactionStore
from hal import MeterReading
from hal.meter import EnergyMeter
from hal.sim import SimStation
from tests.clocks import RTC_CLOCK
from tests.conftest import CHARGE_POINT


async def test_contact_welded_closed_faults_trips_and_refuses_sessions_until_sane(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid="04A1B2C3", connector=1)
    await daemon.wait_state(1, status="Charging", contactor_closed=True)
    await daemon.cmd(cmd="fault", device="weld", connector=1, on=True)
    await daemon.cmd(cmd="tap", uid="04A1B2C3", connector=1)  # the driver stops: the contact stays closed
    c = await daemon.wait_state(1, status="Faulted", error_code="PowerSwitchFailure", contactor_closed=False)
    assert c["vendor_error_code"] == "WeldedClosed"
    report = await csms.wait_for("StatusNotification", where=lambda p: p["errorCode"] == "PowerSwitchFailure")
    assert report.payload["vendorErrorCode"] == "WeldedClosed" and report.payload["status"] == "Faulted"
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "Local"
    energy = c["energy_wh"]
    await asyncio.sleep(1.0)
    assert (await daemon.connector(1))["energy_wh"] == energy, "the shunt trip cut the supply"
    await daemon.cmd(cmd="tap", uid="04A1B2C3", connector=1)
    await asyncio.sleep(0.5)
    assert (await daemon.connector(1))["status"] == "Faulted" and len(csms.of("StartTransaction")) == 1
    await daemon.cmd(cmd="fault", device="weld", connector=1, on=False)
    await daemon.wait_state(1, error_code="NoError", status="Finishing")
    assert "connector fault cleared connector=1 error_code=PowerSwitchFailure" in daemon.log()
    assert daemon.log().count("connector faulted connector=1 error_code=PowerSwitchFailure") == 1, "acted on once"


async def test_dead_meter_stops_the_session_safely_and_blocks_new_ones(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid="04A1B2C3", connector=1)
    tx_id = await daemon.transaction_id(1)
    await daemon.cmd(cmd="fault", device="meter", connector=1, on=True)
    await daemon.wait_state(1, status="Faulted", error_code="PowerMeterFailure", contactor_closed=False,
                            transaction_id=None)
    stop = await csms.wait_for("StopTransaction")
    start = csms.of("StartTransaction")[0]
    assert stop.payload["transactionId"] == tx_id and stop.payload["reason"] == "Other"
    assert stop.payload["meterStop"] >= start.payload["meterStart"], "the last good reading"
    await daemon.cmd(cmd="tap", uid="04A1B2C3", connector=1)
    await asyncio.sleep(0.5)
    assert len(csms.of("StartTransaction")) == 1, "no session on a meter that cannot be read"
    await daemon.cmd(cmd="fault", device="meter", connector=1, on=False)
    await daemon.wait_state(1, within=10, error_code="NoError")


async def test_failing_shared_reader_shows_on_connector_0(daemon, csms):
    await daemon.cmd(cmd="fault", device="reader", connector=0, on=True)
    report = await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 0
                                 and p["errorCode"] == "ReaderFailure")
    assert report.payload["status"] == "Available" and "fault injected" in report.payload["info"]
    assert "fault injected" in (await daemon.state())["reader_problem"]
    await daemon.cmd(cmd="fault", device="reader", connector=0, on=False)
    await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 0 and p["errorCode"] == "NoError",
                        after=csms.received.index(report))
    await daemon.cmd(cmd="plug", connector=2)
    await daemon.cmd(cmd="tap", uid="04A1B2C3", connector=None)
    await daemon.wait_state(2, status="Charging")


async def test_failing_connector_reader_shows_on_its_connector_and_remote_starts_still_work(daemon, csms):
    """A connector's own reader fails: StatusNotification errorCode ReaderFailure on that connector with its
    status unchanged (not Faulted: a remote start still charges), and NoError once it works again."""
    await daemon.cmd(cmd="fault", device="reader", connector=1, on=True)
    report = await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 1
                                 and p["errorCode"] == "ReaderFailure")
    assert report.payload["status"] == "Available" and "fault injected" in report.payload["info"]
    await daemon.cmd(cmd="plug", connector=1)
    assert (await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QR1", connector_id=1))).status \
        == "Accepted"
    await daemon.wait_state(1, status="Charging", contactor_closed=True)
    charging = await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 1
                                   and p["status"] == "Charging")
    assert charging.payload["errorCode"] == "ReaderFailure", "the reader is still failing"
    await daemon.cmd(cmd="fault", device="reader", connector=1, on=False)
    cleared = await csms.wait_for("StatusNotification", after=csms.received.index(report),
                                  where=lambda p: p["connectorId"] == 1 and p["errorCode"] == "NoError")
    assert cleared.payload["status"] == "Charging"


class ScriptedMeter(EnergyMeter):
    def __init__(self, readings: list[float]) -> None:
        self.readings = readings

    async def read(self) -> MeterReading:
        return MeterReading(self.readings.pop(0) if len(self.readings) > 1 else self.readings[0], 0.0)


async def test_meter_reading_that_goes_backwards_is_rejected_and_logged(tmp_path, caplog):
    store = Store(tmp_path / "evsed.db")
    config = Settings(store, {"sample_interval_s": 1}, {})
    station = SimStation(1, 11000.0, tmp_path)
    sim = station.connectors[1]
    meter = ScriptedMeter([1000.0, 1010.0, 900.0, 1020.0])
    devices = ConnectorDevices(sim.contactor, meter, sim.ev, sim.lock, sim.led)
    reporter = StatusReporter(config, RTC_CLOCK, sink=lambda report: None)
    txs = TransactionStore(store, Outbox(store, RTC_CLOCK))
    connector = Connector(1, devices, EnergyGate({1: sim.contactor}), txs, config, reporter, RTC_CLOCK)
    caplog.set_level(logging.ERROR)
    for expected in (1000.0, 1010.0):
        assert (await connector.read_meter()).energy_wh == expected
    with pytest.raises(BackwardsReading, match=r"went from 1010\.0 to 900\.0"):
        await connector.read_meter()
    assert "meter reading went backwards, rejected connector=1 energy_wh=900.0" in caplog.text
    assert (await connector.read_meter()).energy_wh == 1020.0, "the next good reading is taken"


async def test_status_tells_an_installer_what_the_daemon_is_doing(daemon):
    await daemon.cmd(cmd="fault", device="weld", connector=2, on=True)
    await daemon.wait_state(2, status="Faulted")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "firmware", "status", "-c", str(daemon.config),
                                                stdout=asyncio.subprocess.PIPE)
    out = (await proc.communicate())[0].decode()
    assert proc.returncode == 0
    assert "charge point CP_TEST: CSMS ws://127.0.0.1" in out and "connected, registration Accepted" in out
    assert "connector 1: Available, meter" in out
    assert "connector 2: Faulted, PowerSwitchFailure (contact welded closed, WeldedClosed)" in out
    assert "queue: 0 message(s) unsent; 0 dead letter(s)" in out
