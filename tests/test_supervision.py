"""The connector's supervisor looks at the contactor when it changes, not on a timer (issue 22: an idle charger
sleeps), and still polls one that cannot report its changes; either way a contact welded shut faults the
connector once its time to follow has run out."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from firmware.core import supervision
from firmware.core.connector import Connector, ConnectorDevices
from firmware.core.connector_state import ErrorCode
from firmware.core.safety import EnergyGate
from firmware.core.supervision import Supervisor
from firmware.ocpp16.status import StatusReporter
from firmware.persistence.db import Store
from firmware.settings import Settings
from firmware.transactions.outbox import Outbox
from firmware.transactions.store import TransactionStore
from hal.sim import SimStation
from hal.sim.contactor import SimContactor
from tests.clocks import RTC_CLOCK


class SilentContactor(SimContactor):
    """A contactor whose driver cannot report its changes."""

    def watch(self, changed: Callable[[], None]) -> bool:
        return False


class CountingSupervisor(Supervisor):
    rounds = 0

    async def check_contactor(self) -> None:
        self.rounds += 1
        await super().check_contactor()


def supervised(tmp_path: Path, contactor: SimContactor) -> tuple[Connector, CountingSupervisor]:
    store = Store(tmp_path / "evsed.db")
    settings = Settings(store, {}, {})
    sim = SimStation(1, 11000.0, tmp_path).connectors[1]
    devices = ConnectorDevices(contactor, sim.meter, sim.ev, sim.lock, sim.led, feedback_timeout_s=0.2)
    reporter = StatusReporter(settings, RTC_CLOCK, sink=lambda report: None)
    txs = TransactionStore(store, Outbox(store, RTC_CLOCK))
    connector = Connector(1, devices, EnergyGate({1: contactor}), txs, settings, reporter, RTC_CLOCK)
    return connector, CountingSupervisor(connector)


@asynccontextmanager
async def running(supervisor: Supervisor) -> AsyncIterator[None]:
    """The supervisor's loop, past its first round."""
    task = asyncio.create_task(supervisor.run())
    try:
        await asyncio.sleep(0.05)
        yield
    finally:
        task.cancel()


async def rounds_in(supervisor: CountingSupervisor, seconds: float) -> int:
    before = supervisor.rounds
    await asyncio.sleep(seconds)
    return supervisor.rounds - before


@pytest.mark.parametrize("contactor_type", [SimContactor, SilentContactor])
async def test_a_weld_faults_the_connector_whether_the_contactor_reports_it_or_is_polled(tmp_path, contactor_type):
    contactor = contactor_type()
    connector, supervisor = supervised(tmp_path, contactor)
    async with running(supervisor):
        welded_at = time.monotonic()
        contactor.weld(True)
        async with asyncio.timeout(3):
            while connector.fault is None:
                await asyncio.sleep(0.01)
        assert connector.fault.error_code is ErrorCode.POWER_SWITCH_FAILURE
        assert connector.fault.vendor_error_code == "WeldedClosed"
        assert time.monotonic() - welded_at >= 0.2, "the contact had its time to follow first"
        assert contactor.tripped, "the upstream breaker was tripped"


async def test_a_contactor_that_reports_its_changes_is_not_polled(tmp_path):
    connector, supervisor = supervised(tmp_path, SimContactor())
    async with running(supervisor):
        assert await rounds_in(supervisor, 0.6) == 0, "nothing changed: no round"
        connector.devices.contactor.weld(True)
        await asyncio.sleep(0.05)
        assert supervisor.rounds >= 2, "a change brings a round at once"


async def test_a_contactor_that_cannot_report_is_polled(tmp_path):
    _, supervisor = supervised(tmp_path, SilentContactor())
    async with running(supervisor):
        assert await rounds_in(supervisor, 0.6) >= 0.6 / supervision.CONTACTOR_CHECK_S / 2
