"""UnlockConnector (OCPP 1.6 §5.18): a running transaction ends first (reason UnlockCommand), then the cable lock
is released: Unlocked, UnlockFailed, NotSupported where no lock is fitted and for an unknown connector.

End to end (the real daemon on simulated hardware, a real CSMS on 127.0.0.1) where the simulator can show it; a
jammed lock and a tethered cable (the `pi` backend's connectors) in-process, through the real handler and core.
"""

import asyncio
from dataclasses import replace
from pathlib import Path

from ocpp.v16 import call

from firmware.auth.authorizer import Authorizer
from firmware.auth.cache import AuthCache
from firmware.auth.local_list import LocalList
from firmware.core.availability import Availability
from firmware.core.chargepoint import ChargePoint
from firmware.core.connector import Connector, ConnectorDevices
from firmware.core.connector_state import ConnectorState as Status
from firmware.core.safety import EnergyGate
from firmware.core.services import Services
from firmware.ocpp16.handlers import unlock_connector
from firmware.ocpp16.status import StatusReporter
from firmware.persistence.db import Store
from firmware.settings import Settings
from firmware.transactions.outbox import MessageKind, Outbox
from firmware.transactions.store import TransactionStore
from hal import TetheredCable
from hal.sim import SimStation
from tests.clocks import RTC_CLOCK
from tests.conftest import CHARGE_POINT

CARD = "04A1B2C3"


async def unlock(csms, connector_id: int) -> str:
    return (await csms.call(CHARGE_POINT, call.UnlockConnector(connector_id=connector_id))).status


async def test_unlock_stops_the_session_with_unlock_command_then_unlocks(daemon, csms):
    await daemon.card_start(1)
    tx_id = await daemon.transaction_id(1)
    assert (await daemon.connector(1))["locked"] is True
    assert await unlock(csms, 1) == "Unlocked"
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "UnlockCommand" and stop.payload["transactionId"] == tx_id
    c = await daemon.wait_state(1, status="Finishing", transaction_id=None)
    assert c["locked"] is False and c["contactor_closed"] is False
    finishing = await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 1
                                    and p["status"] == "Finishing")
    assert csms.received.index(finishing) > csms.received.index(stop)
    assert (await daemon.connector(2))["status"] == "Available", "the other connector is not touched"


async def test_unlock_without_a_session_unlocks_and_stops_nothing(daemon, csms):
    await daemon.cmd(cmd="plug", connector=2)
    assert await unlock(csms, 2) == "Unlocked"
    c = await daemon.wait_state(2, status="Preparing")
    assert c["locked"] is False
    assert csms.of("StopTransaction") == []


async def test_unknown_connector_is_not_supported(daemon, csms):
    for connector_id in (0, 3):
        assert await unlock(csms, connector_id) == "NotSupported", connector_id
    assert csms.of("StopTransaction") == []


async def test_a_lock_on_a_contact_welded_closed_is_kept_and_the_session_still_stops(daemon, csms):
    """The cable may be live: the lock is not released (UnlockFailed); the transaction still ends first."""
    await daemon.card_start(1)
    await daemon.cmd(cmd="fault", device="weld", connector=1, on=True)
    assert await unlock(csms, 1) == "UnlockFailed"
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "UnlockCommand"
    c = await daemon.wait_state(1, status="Faulted", transaction_id=None)
    assert c["locked"] is True and c["contactor_closed"] is False and c["error_code"] == "PowerSwitchFailure"


# --- in-process: the real handler and core on simulated devices --------------------------------------


class NoCsms:
    async def authorize(self, id_tag: str) -> None:
        return None


def build(tmp_path: Path, tethered: bool = False) -> tuple[Services, Connector, Store]:
    store = Store(tmp_path / "evsed.db")
    settings = Settings(store, {}, {"connectors": 1})
    station = SimStation(1, 11000.0, tmp_path)
    sim = station.connectors[1]
    devices = ConnectorDevices(sim.contactor, sim.meter, sim.ev, TetheredCable() if tethered else sim.lock, sim.led)
    reporter = StatusReporter(settings, RTC_CLOCK, sink=lambda report: None)
    availability = Availability(store)
    txs = TransactionStore(store, Outbox(store, RTC_CLOCK))
    connector = Connector(1, devices, EnergyGate({1: sim.contactor}), txs, settings, reporter, RTC_CLOCK, availability)
    authorizer = Authorizer(LocalList(store, max_entries=100, max_update=100), AuthCache(store), settings,
                            NoCsms())  # type: ignore[arg-type]
    charge_point = ChargePoint([connector], None, authorizer, settings, reporter, availability)
    return Services(settings, authorizer, charge_point, None, None, None, None, None, None), connector, store  # type: ignore[arg-type]


async def wait_until_stopped(connector: Connector) -> None:
    async with asyncio.timeout(5):
        while connector.tx is not None:
            await asyncio.sleep(0.01)


async def test_a_jammed_lock_is_unlock_failed_after_the_session_stopped(tmp_path):
    services, connector, store = build(tmp_path)
    connector.devices.plug.plug()  # type: ignore[attr-defined]
    await connector.begin(CARD)
    assert connector.state is Status.CHARGING and connector.devices.lock.locked
    connector.devices.lock.jammed = True  # type: ignore[attr-defined]
    assert unlock_connector.handle(services, connector_id=1).status == "UnlockFailed"
    assert connector.devices.contactor.commanded_closed is False, "energy off before the lock was tried"
    await wait_until_stopped(connector)
    stop = store.db.execute("SELECT body FROM outbox WHERE kind = ?", [MessageKind.TRANSACTION_STOP]).fetchone()
    assert '"reason": "UnlockCommand"' in stop[0]
    assert connector.devices.lock.locked and connector.state is Status.FINISHING

    connector.devices.lock.jammed = False  # type: ignore[attr-defined]
    assert unlock_connector.handle(services, connector_id=1).status == "Unlocked", "a new attempt works"
    assert not connector.devices.lock.locked


async def test_a_connector_without_a_lock_is_not_supported_and_keeps_charging(tmp_path):
    services, connector, store = build(tmp_path, tethered=True)
    connector.devices.plug.plug()  # type: ignore[attr-defined]
    await connector.begin(CARD)
    assert unlock_connector.handle(services, connector_id=1).status == "NotSupported"
    await asyncio.sleep(0.05)
    assert connector.state is Status.CHARGING and connector.devices.contactor.commanded_closed
    assert MessageKind.TRANSACTION_STOP not in [kind for kind, in store.db.execute("SELECT kind FROM outbox")]
    assert unlock_connector.handle(services, connector_id=2).status == "NotSupported"


async def test_an_ev_pilot_change_during_the_unlock_stop_does_not_close_the_contactor_again(tmp_path):
    """Between the energy cut and the recorded end, an EV asking for energy again must not re-close."""
    services, connector, _ = build(tmp_path)
    ev = connector.devices.plug
    ev.plug()  # type: ignore[attr-defined]
    await connector.begin(CARD)
    assert unlock_connector.handle(services, connector_id=1).status == "Unlocked"
    await connector.on_plug(replace(ev.state, requesting=True))
    assert connector.devices.contactor.commanded_closed is False
    await wait_until_stopped(connector)
    assert connector.devices.contactor.commanded_closed is False
