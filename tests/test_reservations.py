"""Reservations (OCPP 1.6 §5.13 ReserveNow, §5.1 CancelReservation) end to end: the real daemon on simulated hardware
against a real CSMS on 127.0.0.1. A reserved connector shows Reserved (§4.9 A7), refuses every other idTag (cards,
remote starts), starts for its own idTag or one of the same parentIdTag and sends the reservationId in
StartTransaction; a reservation ends at its expiryDate, by CancelReservation, when its connector becomes Faulted or
Unavailable, and survives a SIGKILL. Every outcome of ReserveNow and CancelReservation, connector 0 (one connector
kept free for the idTag) and `reservation_id` in `evsed sim state`. In-process: the §4.9 paths into Reserved, the
handlers' mapping, connector 0 where it is not supported, and an old StartTransaction body."""

import asyncio
import signal
import time
from datetime import timedelta
from pathlib import Path

from ocpp.v16 import call
from ocpp.v16.enums import AvailabilityType

from firmware.auth.authorizer import Authorizer
from firmware.auth.cache import AuthCache
from firmware.auth.local_list import LocalList
from firmware.clock import iso, utc_now
from firmware.core.availability import Availability
from firmware.core.chargepoint import ChargePoint
from firmware.core.connector import Connector, ConnectorDevices
from firmware.core.connector_state import ConnectorState as Status
from firmware.core.connector_state import ErrorCode, Fault
from firmware.core.reservations import Reservations
from firmware.core.safety import EnergyGate
from firmware.core.services import Services
from firmware.ocpp16.handlers import cancel_reservation, reserve_now
from firmware.ocpp16.outbound import StartTransaction
from firmware.ocpp16.status import StatusMachine, StatusReporter
from firmware.persistence.db import Store
from firmware.settings import Settings
from firmware.transactions.outbox import MessageKind, Outbox, OutboxMessage
from firmware.transactions.store import TransactionStore
from hal.sim import SimStation
from tests.clocks import RTC_CLOCK
from tests.conftest import CHARGE_POINT
from tests.ocpp_steps import change, logged, status_reported, statuses

OWNER = "04AA0001"
"""The reserved idTag (a card UID as the simulated reader reports it)."""
OTHER = "04BB0002"
MEMBER = "04CC0003"
"""A card of the reservation's group: the CSMS's Authorize answer names parentIdTag FLEET."""


def in_seconds(seconds: float) -> str:
    return iso(utc_now() + timedelta(seconds=seconds))


async def reserve(csms, connector_id: int, reservation_id: int, id_tag: str = OWNER, expires_in_s: float = 600,
                  parent_id_tag: str | None = None) -> str:
    request = call.ReserveNow(connector_id=connector_id, expiry_date=in_seconds(expires_in_s), id_tag=id_tag,
                              reservation_id=reservation_id, parent_id_tag=parent_id_tag)
    return (await csms.call(CHARGE_POINT, request)).status


async def cancel(csms, reservation_id: int) -> str:
    return (await csms.call(CHARGE_POINT, call.CancelReservation(reservation_id=reservation_id))).status










async def tap(daemon, uid: str, connector: int | None) -> None:
    await daemon.cmd(cmd="tap", uid=uid, connector=connector)


# --- a reservation's life ---------------------------------------------------------------------------------------


async def test_reserved_connector_refuses_another_tag_and_its_own_tag_starts_with_the_reservation_id(daemon, csms):
    mark = len(csms.received)
    assert await reserve(csms, 1, 7) == "Accepted"
    await status_reported(csms, 1, "Reserved", after=mark)
    assert statuses(csms, 1, after=mark) == ["Reserved"], "A7: straight from Available"
    c = await daemon.wait_state(1, status="Reserved", reservation_id=7)
    assert c["contactor_closed"] is False
    assert (await daemon.connector(2))["reservation_id"] is None, "only the reserved connector names it"

    await daemon.cmd(cmd="plug", connector=1)
    await status_reported(csms, 1, "Preparing", after=mark)  # G2
    await tap(daemon, OTHER, 1)
    await logged(daemon, "card refused, connector reserved for another idTag connector=1")
    await tap(daemon, OTHER, None)  # the shared reader: connector 1 is not offered, connector 2 is
    await daemon.wait_state(2, awaiting_start=True)
    c = await daemon.connector(1)
    assert c["awaiting_start"] is False and c["reservation_id"] == 7 and csms.of("StartTransaction") == []

    await tap(daemon, OWNER, 1)
    start = await csms.wait_for("StartTransaction")
    assert start.payload["connectorId"] == 1 and start.payload["idTag"] == OWNER
    assert start.payload["reservationId"] == 7, "§5.13: the reservationId tells the CSMS the reservation ended"
    c = await daemon.wait_state(1, status="Charging", contactor_closed=True)
    assert c["reservation_id"] is None
    await status_reported(csms, 1, "Charging", after=mark)
    assert statuses(csms, 1, after=mark) == ["Reserved", "Preparing", "Charging"]
    assert await cancel(csms, 7) == "Rejected", "used up: no such reservation any more"


async def test_remote_start_on_a_reserved_connector_only_for_the_reserved_id_tag(daemon, csms):
    assert await reserve(csms, 2, 8, id_tag="QRRES0001") == "Accepted"
    await daemon.wait_state(2, status="Reserved")
    refused = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QROTHER01", connector_id=2))
    assert refused.status == "Rejected"
    await logged(daemon, "remote start rejected, connector reserved for another idTag connector=2")
    accepted = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QRRES0001", connector_id=2))
    assert accepted.status == "Accepted"
    await daemon.wait_state(2, status="Preparing", awaiting_start=True)
    await daemon.cmd(cmd="plug", connector=2)
    start = await csms.wait_for("StartTransaction")
    assert (start.payload["connectorId"], start.payload["idTag"], start.payload["reservationId"]) == (
        2, "QRRES0001", 8)
    await daemon.wait_state(2, status="Charging", reservation_id=None)


async def test_a_card_of_the_reservations_group_starts_it_one_of_no_group_does_not(daemon, csms):
    """§5.13: "except when the incoming idTag or the parent idTag match the idTag or parent idTag of the
    reservation"; the parentIdTag of a card not stored here comes from Authorize.conf."""
    csms.behaviour.authorize = lambda id_tag: ({"status": "Accepted", "parentIdTag": "FLEET"} if id_tag == MEMBER
                                               else "Accepted")
    assert await reserve(csms, 1, 9, id_tag="FLEETCARD1", parent_id_tag="FLEET") == "Accepted"
    await daemon.wait_state(1, status="Reserved")
    await daemon.cmd(cmd="plug", connector=1)
    await tap(daemon, OTHER, 1)
    await logged(daemon, "card refused, connector reserved for another idTag connector=1")
    assert csms.of("StartTransaction") == []
    await tap(daemon, MEMBER, 1)
    start = await csms.wait_for("StartTransaction")
    assert (start.payload["idTag"], start.payload["reservationId"]) == (MEMBER, 9)
    assert [m.payload["idTag"] for m in csms.of("Authorize")] == [OTHER, MEMBER], "each asked for its group"


async def test_a_reservation_ends_at_its_expiry_date(daemon, csms):
    mark = len(csms.received)
    made = time.monotonic()
    assert await reserve(csms, 1, 10, expires_in_s=2.0) == "Accepted"
    await status_reported(csms, 1, "Reserved", after=mark)
    available = await status_reported(csms, 1, "Available", after=mark, within=10)
    assert available.at - made >= 1.5, "not before its expiryDate"
    assert statuses(csms, 1, after=mark) == ["Reserved", "Available"], "G1"
    await daemon.wait_state(1, status="Available", reservation_id=None)
    await logged(daemon, "reservation ended reservation_id=10 connector=1")
    await daemon.card_start(1, OTHER)  # anyone may charge there again
    assert "reservationId" not in csms.of("StartTransaction")[0].payload
    assert await cancel(csms, 10) == "Rejected"


async def test_cancel_reservation_is_accepted_and_frees_the_connector(daemon, csms):
    assert await reserve(csms, 2, 11) == "Accepted"
    await daemon.wait_state(2, status="Reserved", reservation_id=11)
    mark = len(csms.received)
    assert await cancel(csms, 11) == "Accepted"
    await status_reported(csms, 2, "Available", after=mark)
    await daemon.wait_state(2, status="Available", reservation_id=None)
    await daemon.card_start(2, OTHER)
    assert "reservationId" not in csms.of("StartTransaction")[0].payload


async def test_cancel_reservation_of_an_unknown_id_is_rejected(daemon, csms):
    assert await cancel(csms, 12) == "Rejected"
    assert await reserve(csms, 1, 13) == "Accepted"
    assert await cancel(csms, 12) == "Rejected", "another reservation's id is no match"
    assert await cancel(csms, 13) == "Accepted"
    assert await cancel(csms, 13) == "Rejected", "already cancelled"


async def test_a_reservation_survives_a_sigkill_and_one_that_expired_meanwhile_is_gone(daemon, csms):
    assert await reserve(csms, 2, 14) == "Accepted"
    expires = time.monotonic() + 3.0
    assert await reserve(csms, 1, 15, id_tag=OTHER, expires_in_s=3.0) == "Accepted"
    await daemon.wait_state(2, status="Reserved")
    await daemon.wait_state(1, status="Reserved")
    assert await daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    assert time.monotonic() < expires, "killed before reservation 15 expired"
    await asyncio.sleep(expires - time.monotonic() + 0.5)  # its expiryDate passes while the daemon is down
    mark = len(csms.received)
    await daemon.start()
    await csms.wait_for("StatusNotification", within=15, after=mark, where=lambda p: p["connectorId"] == 2)
    assert statuses(csms, 2, after=mark) == ["Reserved"] and statuses(csms, 1, after=mark) == ["Available"]
    await logged(daemon, "reservation expired while stopped reservation_id=15")
    await daemon.wait_state(2, status="Reserved", reservation_id=14)

    await daemon.cmd(cmd="plug", connector=2)
    await tap(daemon, OTHER, 2)
    await logged(daemon, "card refused, connector reserved for another idTag connector=2")
    await tap(daemon, OWNER, 2)
    start = await csms.wait_for("StartTransaction", after=mark)
    assert (start.payload["connectorId"], start.payload["reservationId"]) == (2, 14)


# --- every answer of ReserveNow -----------------------------------------------------------------------------------


async def test_reserve_now_accepted_and_the_same_id_replaces_the_reservation(daemon, csms):
    """§5.13: "If the reservationId in the request matches a reservation in the Charge Point, then the Charge Point
    SHALL replace that reservation with the new reservation in the request"."""
    assert await reserve(csms, 1, 16) == "Accepted"
    await daemon.wait_state(1, status="Reserved", reservation_id=16)
    mark = len(csms.received)
    assert await reserve(csms, 2, 16, id_tag=OTHER) == "Accepted"
    await status_reported(csms, 1, "Available", after=mark)
    await daemon.wait_state(2, status="Reserved", reservation_id=16)
    await daemon.wait_state(1, status="Available", reservation_id=None)
    await daemon.cmd(cmd="plug", connector=2)
    await tap(daemon, OWNER, 2)
    await logged(daemon, "card refused, connector reserved for another idTag connector=2")
    await tap(daemon, OTHER, 2)
    start = await csms.wait_for("StartTransaction")
    assert (start.payload["idTag"], start.payload["reservationId"]) == (OTHER, 16), "the new one holds"


async def test_reserve_now_occupied(daemon, csms):
    """§5.13 Occupied: a connector in use (§4.9: Preparing, Charging, SuspendedEV, SuspendedEVSE and Finishing are
    the old Occupied: an EV plugged in without a transaction is one) or reserved already, for another idTag or the
    same one."""
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.wait_state(1, status="Preparing")
    assert await reserve(csms, 1, 17) == "Occupied"
    await daemon.card_start(2, OTHER)
    assert await reserve(csms, 2, 18) == "Occupied"
    await daemon.card_stop(2, OTHER)
    assert await reserve(csms, 2, 19) == "Occupied", "Finishing: the EV is still there"
    await daemon.cmd(cmd="unplug", connector=1)
    await daemon.wait_state(1, status="Available")
    assert await reserve(csms, 1, 20) == "Accepted"
    assert await reserve(csms, 1, 21, id_tag=OTHER) == "Occupied", "reserved for another idTag"
    assert await reserve(csms, 1, 22) == "Occupied", "reserved for the same idTag under another id"
    assert (await daemon.connector(1))["reservation_id"] == 20


async def test_reserve_now_faulted_and_a_fault_ends_a_reservation(daemon, csms):
    await daemon.cmd(cmd="fault", device="weld", connector=2, on=True)
    await daemon.wait_state(2, status="Faulted")
    assert await reserve(csms, 2, 23) == "Faulted"
    assert await reserve(csms, 1, 24) == "Accepted"
    await status_reported(csms, 1, "Reserved")
    mark = len(csms.received)
    await daemon.cmd(cmd="fault", device="weld", connector=1, on=True)
    await status_reported(csms, 1, "Faulted", after=mark)
    await logged(daemon, "reservation ended reservation_id=24 connector=1")
    assert (await daemon.connector(1))["reservation_id"] is None
    await daemon.cmd(cmd="fault", device="weld", connector=1, on=False)
    await status_reported(csms, 1, "Available", after=mark)
    assert statuses(csms, 1, after=mark) == ["Faulted", "Available"], "G9, then I1: the reservation is gone"
    assert await reserve(csms, 0, 25) == "Accepted", "connector 1 is Available again"
    await daemon.cmd(cmd="fault", device="weld", connector=1, on=True)
    await daemon.wait_state(1, status="Faulted")
    assert await reserve(csms, 0, 26) == "Faulted", "every connector is Faulted"


async def test_reserve_now_unavailable_and_unavailable_ends_a_reservation(daemon, csms):
    assert await change(csms, 1, AvailabilityType.inoperative) == "Accepted"
    await daemon.wait_state(1, status="Unavailable")
    assert await reserve(csms, 1, 27) == "Unavailable"
    assert await reserve(csms, 2, 28) == "Accepted"
    await status_reported(csms, 2, "Reserved")
    mark = len(csms.received)
    assert await change(csms, 2, AvailabilityType.inoperative) == "Accepted"
    await status_reported(csms, 2, "Unavailable", after=mark)
    assert statuses(csms, 2, after=mark) == ["Unavailable"], "G8"
    await logged(daemon, "reservation ended reservation_id=28 connector=2 idTag=")
    assert await change(csms, 2, AvailabilityType.operative) == "Accepted"
    await daemon.wait_state(2, status="Available", reservation_id=None)
    assert await reserve(csms, 0, 29) == "Accepted"
    assert await change(csms, 0, AvailabilityType.inoperative) == "Accepted"
    await logged(daemon, "reservation ended reservation_id=29 connector=0")
    assert await reserve(csms, 0, 30) == "Unavailable"
    assert await reserve(csms, 2, 31) == "Unavailable"


async def test_reserve_now_rejected(daemon, csms):
    assert await reserve(csms, 3, 32) == "Rejected", "no connector 3 here"
    assert await reserve(csms, 1, 33, expires_in_s=-60) == "Rejected", "expired already"
    await asyncio.sleep(0.2)
    assert [(await daemon.connector(n))["status"] for n in (1, 2)] == ["Available", "Available"]
    assert await cancel(csms, 32) == "Rejected" and await cancel(csms, 33) == "Rejected", "nothing was stored"


# --- connector 0 -------------------------------------------------------------------------------------------------


async def test_connector_0_reservation_keeps_the_last_free_connector_for_its_id_tag(daemon, csms):
    """§5.13: "If the connectorId in the reservation request is 0, then the Charge Point SHALL NOT reserve a specific
    connector, but SHALL make sure that at any time during the validity of the reservation, one connector remains
    available for the reserved idTag"; a second one is Occupied ("when the Charge Point ... has been reserved")."""
    mark = len(csms.received)
    assert await reserve(csms, 0, 34) == "Accepted"
    await asyncio.sleep(0.3)
    assert statuses(csms, 1, after=mark) == statuses(csms, 2, after=mark) == [], "no connector in particular"
    assert [(await daemon.connector(n))["reservation_id"] for n in (1, 2)] == [None, None]
    assert await reserve(csms, 0, 35, id_tag=OTHER) == "Occupied", "the charge point is reserved already"

    await daemon.card_start(1, OTHER)  # another idTag may take one of two free connectors...
    await status_reported(csms, 2, "Reserved", after=mark)  # ...and the last one is kept
    await daemon.wait_state(2, reservation_id=34)
    assert await reserve(csms, 2, 36, id_tag=OTHER) == "Occupied", "connector 2 is held for reservation 34"
    await daemon.cmd(cmd="plug", connector=2)
    await tap(daemon, MEMBER, 2)
    await logged(daemon, "card refused, connector reserved for another idTag connector=2")
    assert len(csms.of("StartTransaction")) == 1

    await tap(daemon, OWNER, None)  # the shared reader: the reserved idTag gets the kept connector
    start = await csms.wait_for("StartTransaction", where=lambda p: p["idTag"] == OWNER)
    assert (start.payload["connectorId"], start.payload["reservationId"]) == (2, 34)
    await daemon.wait_state(2, status="Charging", reservation_id=None)
    await status_reported(csms, 2, "Charging", after=mark)
    assert statuses(csms, 2, after=mark) == ["Reserved", "Preparing", "Charging"]


async def test_a_connector_0_reservation_is_ended_by_its_tag_on_any_connector_a_connector_reservation_is_not(
        daemon, csms):
    """§5.13 (1): "a transaction is started for the reserved idTag ... on the reserved connector or any connector
    when the reserved connectorId is 0"."""
    assert await reserve(csms, 0, 37) == "Accepted"
    assert await reserve(csms, 2, 38, id_tag=OTHER) == "Accepted"
    await daemon.wait_state(2, status="Reserved", reservation_id=38)
    await daemon.wait_state(1, status="Reserved", reservation_id=37)  # the last one free for reservation 37
    await daemon.card_start(1, OWNER)
    start = csms.of("StartTransaction")[0]
    assert (start.payload["connectorId"], start.payload["reservationId"]) == (1, 37)
    assert await reserve(csms, 0, 39, id_tag=MEMBER) == "Occupied", "no connector is Available"
    assert await cancel(csms, 37) == "Rejected", "ended by the start"

    await daemon.card_stop(1, OWNER)
    await daemon.cmd(cmd="unplug", connector=1)
    await daemon.wait_state(1, status="Available")
    await daemon.card_start(1, OTHER)  # reservation 38's idTag, on another connector: 38 stays
    start = csms.of("StartTransaction")[1]
    assert start.payload["connectorId"] == 1 and "reservationId" not in start.payload
    await daemon.wait_state(2, status="Reserved", reservation_id=38)
    assert await cancel(csms, 38) == "Accepted"


# --- in-process -------------------------------------------------------------------------------------------------


def cells(start: Status, goal: Status) -> list[str]:
    """The §4.9 cells a connector's status machine passes from `start` to `goal`."""
    seen: list[str] = []
    machine = StatusMachine(1, start, lambda old, new, cell: seen.append(cell))
    assert machine.move_to(goal), (start, goal)
    return seen


def test_status_machine_enters_reserved_only_from_available_or_faulted():
    """§4.9: Reserved is reached by A7 and I7 only (B7, F7 and H7 are empty): a connector still held when its EV
    leaves, or made Operative again, reports Available on the way; the way out is G1, G2, G8, G9."""
    assert cells(Status.AVAILABLE, Status.RESERVED) == ["A7"]
    assert cells(Status.PREPARING, Status.RESERVED) == ["B1", "A7"]
    assert cells(Status.FINISHING, Status.RESERVED) == ["F1", "A7"]
    assert cells(Status.UNAVAILABLE, Status.RESERVED) == ["H1", "A7"]
    assert cells(Status.FAULTED, Status.RESERVED) == ["I7"]
    assert cells(Status.RESERVED, Status.AVAILABLE) == ["G1"]
    assert cells(Status.RESERVED, Status.PREPARING) == ["G2"]
    assert cells(Status.RESERVED, Status.CHARGING) == ["G2", "B3"]
    assert cells(Status.RESERVED, Status.UNAVAILABLE) == ["G8"]
    assert cells(Status.RESERVED, Status.FAULTED) == ["G9"]
    assert cells(Status.PREPARING, Status.UNAVAILABLE) == ["B6", "F8"], "elsewhere Available is still no step"


class NoCsms:
    online = False

    async def authorize(self, id_tag: str) -> None:
        return None


def build(tmp_path: Path, connectors: int = 2, zero_supported: bool = True) -> tuple[Services, ChargePoint, Store]:
    """The real core and 1.6 handlers on simulated devices, without a link."""
    store = Store(tmp_path / "evsed.db")
    settings = Settings(store, {}, {"connectors": connectors, "reserve_connector_zero_supported": zero_supported})
    station = SimStation(connectors, 11000.0, tmp_path)
    reporter = StatusReporter(settings, RTC_CLOCK, sink=lambda report: None)
    availability = Availability(store)
    reservations = Reservations(store, RTC_CLOCK)
    txs = TransactionStore(store, Outbox(store, RTC_CLOCK))
    gate = EnergyGate({n: sim.contactor for n, sim in station.connectors.items()})
    parts = [Connector(n, ConnectorDevices(sim.contactor, sim.meter, sim.ev, sim.lock, sim.led), gate, txs, settings,
                       reporter, RTC_CLOCK, availability, reservations) for n, sim in station.connectors.items()]
    authorizer = Authorizer(LocalList(store, max_entries=100, max_update=100), AuthCache(store), settings,
                            NoCsms())  # type: ignore[arg-type]
    charge_point = ChargePoint(parts, None, authorizer, settings, reporter, availability, reservations)
    return Services(settings, authorizer, charge_point, None, None, None, None, None, None), charge_point, store  # type: ignore[arg-type]


async def test_handlers_map_every_answer_and_connector_0_is_rejected_where_not_supported(tmp_path):
    services, charge_point, store = build(tmp_path, zero_supported=False)

    def reserve_status(connector_id: int, reservation_id: int, expiry: str = in_seconds(600)) -> str:
        return reserve_now.handle(services, connector_id=connector_id, expiry_date=expiry, id_tag=OWNER,
                                  reservation_id=reservation_id).status

    assert reserve_status(0, 1) == "Rejected", "§5.13: connector 0 only where ReserveConnectorZeroSupported"
    assert reserve_status(1, 2, expiry="not a date") == "Rejected"
    assert reserve_status(1, 3) == "Accepted"
    assert charge_point.connectors[1].state is Status.RESERVED
    assert store.db.execute("SELECT id, connector, id_tag FROM reservations").fetchall() == [(3, 1, OWNER)]
    assert reserve_status(1, 4) == "Occupied"
    charge_point.change_availability(2, operative=False)
    assert reserve_status(2, 5) == "Unavailable"
    await charge_point.connectors[2].enter_fault(Fault(ErrorCode.POWER_SWITCH_FAILURE))
    assert reserve_status(2, 6) == "Faulted"
    assert cancel_reservation.handle(services, reservation_id=3).status == "Accepted"
    assert cancel_reservation.handle(services, reservation_id=3).status == "Rejected"
    assert charge_point.connectors[1].state is Status.AVAILABLE
    assert store.db.execute("SELECT count(*) FROM reservations").fetchone() == (0,)


def test_a_start_transaction_body_queued_without_a_reservation_id_is_sent_as_before():
    """Bodies queued before reservations existed (and starts that used none) have no reservation_id key."""
    old = OutboxMessage(1, MessageKind.TRANSACTION_START, 1, {"connector": 1, "id_tag": "AA", "meter_start": 5,
                                                              "timestamp": "2026-01-01T00:00:00.000Z"}, "T", 0)
    request = StartTransaction(None).request(old)  # type: ignore[arg-type]
    assert request.reservation_id is None and request.connector_id == 1
    new = OutboxMessage(2, MessageKind.TRANSACTION_START, 2, {**old.body, "reservation_id": 42}, "T", 0)
    assert StartTransaction(None).request(new).reservation_id == 42  # type: ignore[arg-type]
