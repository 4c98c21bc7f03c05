"""Safety: an unexpected error inside a session opens the contactor first, then reports and stops.

In-process, with the simulated devices: the error is injected by a meter that breaks mid-session.
"""

import asyncio

from firmware.core.connector import Connector, ConnectorDevices
from firmware.core.connector_state import ConnectorState as Status
from firmware.core.safety import EnergyGate
from firmware.ocpp16.status import StatusReporter
from firmware.persistence.db import Store
from firmware.settings import Settings
from firmware.transactions.outbox import MessageKind, Outbox
from firmware.transactions.store import TransactionStore
from hal import MeterReading
from hal.sim import SimStation
from tests.clocks import RTC_CLOCK


class BreakingMeter:
    """Reads fine, then raises an error no driver would: a bug, not a MeterError."""

    def __init__(self, reads_before_breaking: int) -> None:
        self.left = reads_before_breaking

    async def read(self) -> MeterReading:
        self.left -= 1
        if self.left < 0:
            raise RuntimeError("bug in meter handling")
        return MeterReading(energy_wh=1000.0, power_w=0.0)


async def test_error_in_session_opens_contactor_faults_and_stops(tmp_path):
    store = Store(tmp_path / "evsed.db")
    config = Settings(store, {"sample_interval_s": 1}, {})
    reporter = StatusReporter(config, RTC_CLOCK, sink=lambda report: None)
    outbox = Outbox(store, RTC_CLOCK)
    station = SimStation(1, 11000.0, tmp_path)
    sim = station.connectors[1]
    devices = ConnectorDevices(sim.contactor, BreakingMeter(reads_before_breaking=1), sim.ev, sim.lock, sim.led)
    gate = EnergyGate({1: sim.contactor})
    connector = Connector(1, devices, gate, TransactionStore(store, outbox), config, reporter, RTC_CLOCK)
    sim.ev.plug()
    await connector.begin("04A1B2C3")
    assert sim.contactor.commanded_closed and connector.state is Status.CHARGING
    async with asyncio.timeout(5):
        while connector.state is not Status.FAULTED or connector.tx is not None:
            await asyncio.sleep(0.05)
    assert sim.contactor.commanded_closed is False
    assert connector.fault is not None and connector.fault.error_code == "InternalError"
    rows = store.db.execute("SELECT kind, body FROM outbox ORDER BY id").fetchall()
    assert rows[-1][0] == MessageKind.TRANSACTION_STOP
    stop = next(body for kind, body in rows if kind == MessageKind.TRANSACTION_STOP)
    assert '"reason": "Other"' in stop and '"meter_stop": 1000' in stop
    await connector.begin("04A1B2C3")
    assert sim.contactor.commanded_closed is False, "a faulted connector starts nothing"
