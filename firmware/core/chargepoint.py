"""The charge point: routes card taps, EV events and CSMS commands to its connectors.

Protocol-independent: protocol handlers call `remote_start` / `remote_stop`, `change_availability`,
`unlock_connector`, `reserve_now` and `cancel_reservation` (through `Services`) and read `Connector`s.

Reservations (OCPP 1.6 §5.13): each connector is told which reservation holds it (`Connector.held_by`, shown as
Reserved): the one made for it, and for a reservation on connector 0 every connector still free when no more of
them are free than such reservations need (`_hold`). A card, a remote start or an EV following a card starts only
where the holding reservation admits the idTag.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any

from firmware.auth.authorizer import Authorizer
from firmware.auth.idtag import IdTagInfo, same_id_tag
from firmware.clock import parse_time
from firmware.core.availability import CHARGE_POINT, Availability, AvailabilityChange
from firmware.core.connector import Connector
from firmware.core.connector_state import ConnectorState, ErrorCode
from firmware.core.ports import ConnectorReport, StatusPort
from firmware.core.reservations import ANY_CONNECTOR, Reservation, ReservationOutcome, Reservations
from firmware.core.supervision import Supervisor, waking, woken
from firmware.logs import masked
from firmware.settings import Settings
from firmware.smart_charging.profiles import Profile
from firmware.transactions.store import Origin, StopReason
from hal import CardReader, LedPattern, PlugState

log = logging.getLogger(__name__)

READER_CHECK_S = 1.0
"""How often the health of a reader that cannot report its problems (`hal.CardReader.watch_problem`) is read."""
SETTLE_ROUNDS = 8
"""How often `_settle` re-derives reservations and holds in one call before it gives up (and logs): each round
can only release holds or end reservations, so two or three rounds always suffice."""


class UnlockResult(StrEnum):
    """What became of an unlock command (OCPP 1.6 §5.18 UnlockConnector; the 1.6 adapter answers NotSupported
    for both NO_LOCK and UNKNOWN_CONNECTOR, 2.0.1 has a status of its own for an unknown connector)."""

    UNLOCKED = "Unlocked"
    UNLOCK_FAILED = "UnlockFailed"
    NO_LOCK = "NoLock"
    """No cable lock is fitted on that connector (a tethered cable)."""
    UNKNOWN_CONNECTOR = "UnknownConnector"


REMOTE = Origin(remote=True)
"""A remote start with nothing more to keep (1.6 RemoteStartTransaction)."""


class ChargePoint:
    def __init__(self, connectors: list[Connector], shared_reader: CardReader | None, authorizer: Authorizer,
                 settings: Settings, port: StatusPort, availability: Availability | None = None,
                 reservations: Reservations | None = None) -> None:
        """`availability`: the stored availability the connectors were built with (None: always Operative, and
        a change of availability is Rejected); `reservations`: the stored reservations the connectors were built
        with (None: every ReserveNow is Rejected)."""
        self.connectors = {c.id: c for c in connectors}
        self._shared_reader = shared_reader
        self._authorizer = authorizer
        self._settings = settings
        self._port = port
        self._tasks: set[asyncio.Task[Any]] = set()
        self.supervisors = {c.id: Supervisor(c) for c in connectors}
        self._list_conflict = False
        self._reader_problem: str | None = None
        self._availability = availability
        self._main_report: ConnectorReport | None = None
        self._reservations = reservations
        self._settling = False
        self._unsettled = False
        authorizer.on_conflict = self._local_list_conflict
        for c in connectors:
            c.on_state_changed = self._settle
        if reservations is not None:
            reservations.on_changed = self._settle
        self._settle()

    def _main_state(self) -> ConnectorState:
        """Connector 0: Unavailable once the charge point is Inoperative and no transaction runs any more
        (OCPP 1.6 §5.2: with transactions running the change is Scheduled until they have finished), else
        Available."""
        inoperative = self._availability is not None and (self._availability.inoperative(CHARGE_POINT)
                                                          or self._availability.installing)
        if inoperative and all(c.tx is None for c in self.connectors.values()):
            return ConnectorState.UNAVAILABLE
        return ConnectorState.AVAILABLE

    def _report_main(self) -> None:
        """Connector 0 (the charge point; its state from `_main_state`): ReaderFailure while the shared reader
        has a problem, else LocalListConflict while the CSMS contradicts the Local List, else NoError. Reported
        when it changed."""
        state = self._main_state()
        if self._reader_problem is not None:
            report = ConnectorReport(0, state, ErrorCode.READER_FAILURE, info=self._reader_problem[:50])
        else:
            report = ConnectorReport(0, state, ErrorCode.LOCAL_LIST_CONFLICT
                                     if self._list_conflict else ErrorCode.NO_ERROR)
        if report != self._main_report:
            self._main_report = report
            self._port.connector_changed(report)

    # --- reservations (OCPP 1.6 §5.13, §5.1) ------------------------------------------------------

    def _settle(self) -> None:
        """After any change of a connector's state, of availability or of the reservations: end the reservations
        whose connector (or charge point) is Faulted or Unavailable, re-derive what each connector is held for,
        and report connector 0. Re-entrant calls (a connector refreshed here tells us again) are folded into
        another round."""
        if self._settling:
            self._unsettled = True
            return
        self._settling = True
        try:
            for _ in range(SETTLE_ROUNDS):
                self._unsettled = False
                self._end_unusable_reservations()
                self._hold()
                if not self._unsettled:
                    break
            else:
                log.error("reservation holds did not settle rounds=%d", SETTLE_ROUNDS)
            self._report_main()
        finally:
            self._settling = False

    def _end_unusable_reservations(self) -> None:
        """§5.13 (3): "when the Charge Point or connector are set to Faulted or Unavailable". A reservation on
        connector 0 ends when the charge point is made Inoperative (a Scheduled change included: nothing new may
        start anywhere); one on a connector when that connector is Faulted or unavailable, or is not (any more)
        configured here."""
        if self._reservations is None:
            return
        for r in self._reservations.all():
            if r.connector == ANY_CONNECTOR:
                if self._availability is not None and self._availability.inoperative(CHARGE_POINT):
                    self._reservations.end(r.id, "charge point unavailable")
                continue
            c = self.connectors.get(r.connector)
            if c is None:
                self._reservations.end(r.id, "unknown connector")
            elif c.fault is not None:
                self._reservations.end(r.id, "connector faulted")
            elif c.unavailable:
                self._reservations.end(r.id, "connector unavailable")

    def _open_for_any(self, c: Connector) -> bool:
        """`c` counts as a connector kept for a reservation on connector 0: free (no transaction, nobody waiting,
        not faulted, not unavailable), not reserved for itself, and either without an EV or already held for
        connector 0 (an EV plugged into a connector shown Reserved does not release it)."""
        if not c.is_free or (c.held_by is not None and c.held_by.connector != ANY_CONNECTOR):
            return False
        return not c.devices.plug.state.plugged or c.held_by is not None

    def _hold(self) -> None:
        """Tell each connector which reservation holds it, refreshing those that changed.

        A reservation on a connector holds it. A reservation on connector 0 (§5.13: "SHALL NOT reserve a specific
        connector, but SHALL make sure that at any time during the validity of the reservation, one connector
        remains available for the reserved idTag") holds no connector while more than one is open for it
        (`_open_for_any`); once only one is left, that one is held: it shows Reserved and starts only for the
        reservation's idTag or group, so an idTag of another group can never take the last one.
        """
        reservations = self._reservations.all() if self._reservations is not None else []
        holds: dict[int, Reservation | None] = {n: None for n in self.connectors}
        for r in reservations:
            if r.connector in holds:
                holds[r.connector] = r
        anywhere = next((r for r in reservations if r.connector == ANY_CONNECTOR), None)
        if anywhere is not None:
            open_ = [c for c in self.connectors.values() if holds[c.id] is None and self._open_for_any(c)]
            if len(open_) <= 1:
                for c in open_:
                    holds[c.id] = anywhere
        for c in self.connectors.values():
            if holds[c.id] != c.held_by:
                held = holds[c.id]
                log.info("connector held for a reservation connector=%d reservation_id=%s reserved_connector=%s",
                         c.id, held and held.id, held and held.connector)
                c.held_by = held
                self._unsettled = True
                c.refresh()

    def reserve_now(self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int,
                    parent_id_tag: str | None = None) -> ReservationOutcome:
        """ReserveNow (OCPP 1.6 §5.13): reserve `connector_id` (0: any connector) for `id_tag` until `expiry_date`;
        stored before the answer, so it survives a restart.

        "If the reservationId in the request matches a reservation in the Charge Point, then the Charge Point SHALL
        replace that reservation with the new reservation in the request": the request is judged with that
        reservation set aside, and replaces it when Accepted (a refused replacement leaves it as it was). Otherwise:
        Rejected for an unknown connector, for connector 0 unless reservations there are supported ("If the
        configuration key ReserveConnectorZeroSupported is not set or set to false, the Charge Point SHALL return
        'Rejected'") and for an expiryDate unreadable or already past; then Faulted, Unavailable and Occupied as
        `_refusal` says; else Accepted.
        """
        known = connector_id in self.connectors or (
            connector_id == ANY_CONNECTOR and self._settings.flag("reserve_connector_zero_supported"))
        if self._reservations is None or not known:
            log.info("reservation rejected, no such connector here reservation_id=%d connector=%d", reservation_id,
                     connector_id)
            outcome = ReservationOutcome.REJECTED
        elif (expiry := parse_time(expiry_date)) is None or self._reservations.past(expiry):
            log.info("reservation rejected, expiry unreadable or past reservation_id=%d expiry=%r", reservation_id,
                     expiry_date[:40])
            outcome = ReservationOutcome.REJECTED
        else:
            outcome = self._refusal(connector_id, reservation_id) or ReservationOutcome.ACCEPTED
            if outcome is ReservationOutcome.ACCEPTED:
                self._reservations.put(Reservation(reservation_id, connector_id, id_tag, expiry, parent_id_tag))
        log.info("reserve now answered reservation_id=%d connector=%d idTag=%s status=%s", reservation_id,
                 connector_id, masked(id_tag), outcome)
        return outcome

    def _refusal(self, connector_id: int, reservation_id: int) -> ReservationOutcome | None:
        """Why `connector_id` cannot be reserved now under `reservation_id` (None: it can). §5.13: "The Charge
        Point SHALL return 'Occupied' if the Charge Point or the specified connector are occupied. The Charge Point
        SHALL also return 'Occupied' when the Charge Point or connector has been reserved for the same or another
        idTag. The Charge Point SHALL return 'Faulted' if the Charge Point or the connector are in the Faulted state.
        The Charge Point SHALL return 'Unavailable' if the Charge Point or connector are in the Unavailable state."

        Occupied is the old status §4.9 split into Preparing, Charging, SuspendedEV, SuspendedEVSE and Finishing:
        a connector with an EV plugged in but no transaction (Preparing) is occupied, so only an Available
        connector is reserved (a reservation always begins with §4.9's A7, Available → Reserved). A connector is
        "reserved" also when a reservation on connector 0 holds it as the last one free.

        Connector 0 (the charge point): Faulted when every connector is; Unavailable when the charge point is
        Inoperative or every connector is Faulted or unavailable; Occupied when the charge point is reserved
        already (another reservation on connector 0) or no connector is Available to keep.
        """
        def other(c: Connector) -> bool:
            return c.held_by is not None and c.held_by.id != reservation_id

        def available(c: Connector) -> bool:
            return c.is_free and not c.devices.plug.state.plugged and not other(c)

        if connector_id != ANY_CONNECTOR:
            c = self.connectors[connector_id]
            if c.fault is not None:
                return ReservationOutcome.FAULTED
            if c.unavailable:
                return ReservationOutcome.UNAVAILABLE
            return None if available(c) else ReservationOutcome.OCCUPIED
        connectors = list(self.connectors.values())
        if all(c.fault is not None for c in connectors):
            return ReservationOutcome.FAULTED
        if self.unavailable(CHARGE_POINT) or all(c.fault is not None or c.unavailable for c in connectors):
            return ReservationOutcome.UNAVAILABLE
        assert self._reservations is not None
        if any(r.connector == ANY_CONNECTOR and r.id != reservation_id for r in self._reservations.all()):
            return ReservationOutcome.OCCUPIED
        return None if any(available(c) for c in connectors) else ReservationOutcome.OCCUPIED

    def cancel_reservation(self, reservation_id: int) -> bool:
        """CancelReservation (OCPP 1.6 §5.1): "If the Charge Point has a reservation matching the reservationId in
        the request PDU, it SHALL return status 'Accepted'. Otherwise it SHALL return 'Rejected'." The reservation
        ends at once (its connector shows Available again, §4.9 G1)."""
        if self._reservations is None or self._reservations.end(reservation_id, "cancelled") is None:
            log.info("cancel reservation rejected, unknown reservation reservation_id=%d", reservation_id)
            return False
        return True

    def _local_list_conflict(self, active: bool) -> None:
        """OCPP 1.6 §3.5: the CSMS contradicted the Local List; connector 0 reports LocalListConflict
        until a list update arrives."""
        self._list_conflict = active
        self._report_main()

    def _shared_reader_problem(self, problem: str | None) -> None:
        self._reader_problem = problem
        self._report_main()

    @staticmethod
    async def _watch_reader_health(reader: CardReader, connector_id: int,
                                   changed: Callable[[str | None], None]) -> None:
        """A reader's problem (unplugged, pcscd gone) and its recovery, as they happen: ReaderFailure on
        connector 0 for the shared reader, on its connector for a connector's own reader (OCPP 1.6 §7.6
        ChargePointErrorCode); the status stays what it is, since remote starts still work. A reader that
        reports its problems is looked at when it does, one that cannot every READER_CHECK_S."""
        wake = asyncio.Event()
        within_s = None if reader.watch_problem(waking(wake)) else READER_CHECK_S
        problem: str | None = None
        while True:
            wake.clear()
            if reader.problem != problem:
                problem = reader.problem
                log.log(logging.ERROR if problem else logging.WARNING, "card reader %s connector=%d problem=%s",
                        "failing" if problem else "works again", connector_id, problem)
                changed(problem)
            await woken(wake, within_s)

    async def run(self) -> None:
        """Watch every reader and plug sensor until cancelled."""
        async with asyncio.TaskGroup() as group:
            if self._shared_reader is not None:
                group.create_task(self._watch_reader(self._shared_reader, None))
                group.create_task(self._watch_reader_health(self._shared_reader, 0, self._shared_reader_problem))
            for connector in self.connectors.values():
                group.create_task(self._watch_plug(connector))
                group.create_task(self.supervisors[connector.id].run())
                if connector.devices.reader is not None:
                    group.create_task(self._watch_reader(connector.devices.reader, connector.id))
                    group.create_task(self._watch_reader_health(connector.devices.reader, connector.id,
                                                                connector.reader_problem_changed))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work in its own task so event watchers and `@on` handlers never wait on it.

        Session work is guarded inside `Connector` (an error there faults the connector with its
        contactor open); what escapes here is a bug in routing and is logged.
        """
        task = asyncio.create_task(work)
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("charge point task failed", exc_info=t.exception())

        task.add_done_callback(done)

    async def _watch_reader(self, reader: CardReader, connector_id: int | None) -> None:
        async for uid in reader.taps():
            self.spawn(self.card_presented(uid, connector_id))

    async def _watch_plug(self, connector: Connector) -> None:
        async for state in connector.devices.plug.changes():
            log.info("EV %s connector=%d requesting=%s", "plugged" if state.plugged else "unplugged",
                     connector.id, state.requesting)
            self.spawn(self._plug_changed(connector, state))

    async def _plug_changed(self, connector: Connector, state: PlugState) -> None:
        if state.plugged and connector.is_free:
            movable = next((c for c in self.connectors.values() if c.pending and c.pending.movable
                            and c.pending.authorized and not c.devices.plug.state.plugged
                            and connector.admits(c.pending.id_tag, c.pending.parent_id_tag)), None)
            if movable is not None and movable.pending is not None:
                pending = movable.pending
                movable.clear_pending()
                log.info("authorized idTag follows the EV connector=%d idTag=%s", connector.id,
                         masked(pending.id_tag))
                await connector.start(pending.id_tag, pending.parent_id_tag, pending.tx_profile)
        await connector.on_plug(state)

    def _movable(self, connector_id: int | None, target: Connector) -> bool:
        """A start for no particular connector, with no EV at the chosen one yet, follows the first EV."""
        return connector_id is None and len(self.connectors) > 1 and not target.devices.plug.state.plugged

    def _choose(self, candidates: list[Connector], id_tag: str | None = None,
                parent_id_tag: str | None = None) -> Connector | None:
        """A free connector (for `id_tag`: one whose reservation, if any, admits it, §5.13), preferring one whose EV
        is already plugged in, then one reserved for this idTag, in the candidates' order otherwise."""
        free = [c for c in candidates if c.is_free and (id_tag is None or c.admits(id_tag, parent_id_tag))]
        free.sort(key=lambda c: (not c.devices.plug.state.plugged, c.held_by is None))
        return free[0] if free else None

    async def card_presented(self, id_tag: str, connector_id: int | None) -> None:
        """A card tap: stop the session it owns or its group's, cancel its pending start, or start one.

        OCPP 1.6 §3.5 / StopTransaction: the idTag that started a transaction stops it without an
        Authorize; another idTag stops it when both have the same parentIdTag, which the card's
        authorization (Local List, cache or Authorize.req) tells. The same authorization gives the parentIdTag a
        reservation compares (§5.13: "the Charge Point MAY look it up in its Local Authorization List or
        Authorization Cache. If it is not found ..., then the Charge Point SHALL send an Authorize.req"): a card
        starts only where no reservation for another idTag holds the connector.
        """
        candidates = [self.connectors[connector_id]] if connector_id else list(self.connectors.values())
        for c in candidates:  # a card still stops its session where a change of availability is Scheduled
            if c.tx is not None and same_id_tag(c.tx.id_tag, id_tag):
                log.info("card stops its transaction connector=%d idTag=%s", c.id, masked(id_tag))
                await c.stop(StopReason.LOCAL, id_tag)
                return
        for c in candidates:
            if c.pending is not None and same_id_tag(c.pending.id_tag, id_tag):
                log.info("card cancels its waiting start connector=%d idTag=%s", c.id, masked(id_tag))
                c.clear_pending()
                return
        grouped = [c for c in candidates if c.tx is not None and c.tx.parent_id_tag is not None]
        if not grouped and all(c.unavailable for c in candidates):
            log.info("card refused, connector unavailable connector=%s idTag=%s", connector_id, masked(id_tag))
            return
        if not grouped and self._choose(candidates) is None:
            log.info("card ignored, no free connector and not the owner of a session idTag=%s", masked(id_tag))
            return
        decision = await self._authorizer.authorize(id_tag)
        parent_id_tag = decision.info.parent_id_tag
        for c in grouped:
            if c.tx is not None and same_id_tag(c.tx.parent_id_tag, parent_id_tag):
                log.info("card of the same group stops the transaction connector=%d idTag=%s parentIdTag=%s",
                         c.id, masked(id_tag), masked(parent_id_tag))
                await c.stop(StopReason.LOCAL, id_tag)
                return
        target = self._choose(candidates, id_tag, parent_id_tag)  # again: an EV may have plugged in meanwhile
        if target is None:
            reserved = [c for c in candidates if c.is_free]
            if reserved:  # §5.13: free, but held by a reservation for another idTag
                log.info("card refused, connector reserved for another idTag connector=%s idTag=%s "
                         "reservation_id=%s", connector_id, masked(id_tag),
                         ",".join(str(c.held_by.id) for c in reserved if c.held_by is not None))
                reserved[0].devices.led.show(LedPattern.DENIED)
            else:
                log.info("no free connector for idTag=%s", masked(id_tag))
            return
        if not decision.granted:
            log.info("card refused connector=%d idTag=%s status=%s", target.id, masked(id_tag), decision.info.status)
            target.devices.led.show(LedPattern.DENIED)
            return
        await target.begin(id_tag, parent_id_tag, movable=self._movable(connector_id, target))

    def remote_start(self, connector_id: int | None, id_tag: str, tx_profile: Profile | None = None,
                     origin: Origin = REMOTE) -> bool:
        """RemoteStartTransaction: True (Accepted) when a free connector takes the start; `tx_profile` (checked by
        the caller) becomes the transaction's TxProfile when it starts (§5.11); `origin`: what the start record
        keeps of the request (2.0.1: the idToken's type and the remoteStartId).

        OCPP 1.6 §5.11: an unknown connector, or one with a transaction running, is Rejected; so is an
        unavailable one (§5.2: it does not allow any charging), and one held by a reservation (§5.13) that does not
        admit the idTag: the answer is given now, so the idTag's group is what the Local List or the cache know
        (`Authorizer.stored`). With AuthorizeRemoteTxRequests the idTag is authorized first, like a card.
        """
        authorize_first = self._settings.flag("authorize_remote_starts")
        stored = self._authorizer.stored(id_tag)
        parent_id_tag = stored[0].parent_id_tag if stored is not None else None
        if connector_id is None:
            target = self._choose(list(self.connectors.values()), id_tag, parent_id_tag)
        else:
            target = self.connectors.get(connector_id)
        if target is None or not target.is_free:
            log.info("remote start rejected connector=%s idTag=%s", connector_id, masked(id_tag))
            return False
        if not target.admits(id_tag, parent_id_tag):
            log.info("remote start rejected, connector reserved for another idTag connector=%d idTag=%s "
                     "reservation_id=%s", target.id, masked(id_tag), target.held_by and target.held_by.id)
            return False
        target.hold(id_tag, parent_id_tag, authorized=not authorize_first,
                    movable=self._movable(connector_id, target), tx_profile=tx_profile, origin=origin)
        self.spawn(self._remote_start(target, id_tag, authorize_first))
        log.info("remote start accepted connector=%d idTag=%s", target.id, masked(id_tag))
        return True

    async def _remote_start(self, target: Connector, id_tag: str, authorize_first: bool) -> None:
        if authorize_first:
            decision = await self._authorizer.authorize(id_tag)
            pending = target.pending
            if pending is None or not same_id_tag(pending.id_tag, id_tag):
                return  # cancelled or timed out meanwhile
            if not decision.granted:
                log.info("remote start refused by authorization connector=%d idTag=%s", target.id, masked(id_tag))
                target.clear_pending()
                return
            pending.authorized = True
            pending.parent_id_tag = decision.info.parent_id_tag or pending.parent_id_tag
        if target.devices.plug.state.plugged and target.pending is not None:
            await target.start(id_tag, target.pending.parent_id_tag)

    def remote_stop(self, remote_id: str, ref: int | None = None) -> bool:
        """RemoteStopTransaction: True (Accepted) when a transaction with the CSMS's id `remote_id` runs here, or
        (2.0.1, where the charge point makes the id) the one whose local reference is `ref`, confirmed or not."""
        for c in self.connectors.values():
            if c.tx is not None and (c.tx.remote_id == remote_id or (ref is not None and c.tx.ref == ref)):
                self.spawn(c.stop(StopReason.REMOTE))
                return True
        log.info("remote stop rejected, unknown transaction remote_id=%s", remote_id)
        return False

    def unavailable(self, connector_id: int) -> bool:
        """OCPP 1.6 §5.2: nothing new may start on `connector_id` (0: the whole charge point) because it, or the
        charge point, is Inoperative, a Scheduled change included. The query a ReserveNow handler answers
        `Unavailable` from (unknown connectors are the caller's to refuse first)."""
        if connector_id == CHARGE_POINT:
            return self._availability is not None and self._availability.inoperative(CHARGE_POINT)
        return self.connectors[connector_id].unavailable

    def change_availability(self, connector_id: int, operative: bool) -> AvailabilityChange:
        """ChangeAvailability (OCPP 1.6 §5.2): `connector_id` (0: the charge point and all its connectors) made
        Operative or Inoperative; stored before anything else, so it survives a restart or a power cut.

        Inoperative: pending starts on the affected connectors are cancelled and no session starts there any
        more (cards, remote starts, an EV following a shared-reader card); a running transaction goes on, the
        answer is then Scheduled and the connector shows Unavailable when it ends (`derive_state`). Accepted
        otherwise, also when it already was so. Operative: Accepted, a Scheduled Inoperative withdrawn; Rejected
        for a connector while the whole charge point is Inoperative (it could not become available), and for an
        unknown connector.
        """
        whole = connector_id == CHARGE_POINT
        if self._availability is None or (not whole and connector_id not in self.connectors):
            log.info("availability change rejected, unknown connector connector=%d", connector_id)
            return AvailabilityChange.REJECTED
        if operative and not whole and self._availability.inoperative(CHARGE_POINT):
            log.info("availability change rejected, the charge point is inoperative connector=%d", connector_id)
            return AvailabilityChange.REJECTED
        affected = list(self.connectors.values()) if whole else [self.connectors[connector_id]]
        if not operative:
            for c in affected:  # before the change, so a start waiting without an EV shows Available in between
                if c.tx is None and c.pending is not None:
                    log.info("waiting start cancelled, connector made inoperative connector=%d idTag=%s",
                             c.id, masked(c.pending.id_tag))
                    c.clear_pending()
        self._availability.set(connector_id, operative)
        for c in affected:
            c.refresh()
        self._settle()  # §5.13 (3): reservations on what became Unavailable end
        busy = [c.id for c in affected if c.tx is not None]
        answer = AvailabilityChange.SCHEDULED if busy and not operative else AvailabilityChange.ACCEPTED
        log.warning("availability changed connector=%d to=%s answer=%s transactions_running=%s", connector_id,
                    "Operative" if operative else "Inoperative", answer, ",".join(map(str, busy)) or "none")
        return answer

    @property
    def charging_anywhere(self) -> bool:
        """A transaction runs (or is about to start) on some connector."""
        return any(c.tx is not None or c.pending is not None for c in self.connectors.values())

    def hold_for_install(self, installing: bool) -> None:
        """OCPP 1.6 §4.5: while a firmware update installs, every connector is Unavailable and no session starts
        (the installer is only started when no transaction runs, `charging_anywhere`); afterwards they are as
        before."""
        if self._availability is None or self._availability.installing is installing:
            return
        self._availability.installing = installing
        log.warning("connectors %s for a firmware install", "unavailable" if installing else "available again")
        for c in self.connectors.values():
            c.refresh()
        self._settle()

    def unlock_connector(self, connector_id: int) -> UnlockResult:
        """UnlockConnector (OCPP 1.6 §5.18): a transaction running on the connector ends first (reason
        UnlockCommand: its energy stops now, its end is recorded by a task), then the cable lock is released.

        UNKNOWN_CONNECTOR for an id not here, NO_LOCK where no lock is fitted (nothing is stopped then),
        UNLOCK_FAILED when the lock stays engaged or the contact reports closed (`Connector.release_lock`).
        """
        connector = self.connectors.get(connector_id)
        if connector is None:
            log.info("unlock refused, unknown connector connector=%d", connector_id)
            return UnlockResult.UNKNOWN_CONNECTOR
        if not connector.has_lock:
            log.info("unlock refused, no cable lock fitted connector=%d", connector_id)
            return UnlockResult.NO_LOCK
        if connector.tx is not None:
            log.info("unlock command stops the transaction connector=%d tx_ref=%d", connector_id, connector.tx.ref)
            connector.cut_energy_for_stop(StopReason.UNLOCK_COMMAND)
            self.spawn(connector.stop(StopReason.UNLOCK_COMMAND))
        released = connector.release_lock()
        return UnlockResult.UNLOCKED if released else UnlockResult.UNLOCK_FAILED

    def transaction_confirmed(self, tx_ref: int, remote_id: str, info: IdTagInfo | None) -> None:
        """The CSMS confirmed a running transaction's start: its id, and its verdict on the idTag (OCPP 1.6 §4.8; 2.0.1
        may give none)."""
        for c in self.connectors.values():
            tx = c.tx
            if tx is None or tx.ref != tx_ref:
                continue
            tx.remote_id = remote_id
            if info is None:
                return
            if info.parent_id_tag is not None:
                tx.parent_id_tag = info.parent_id_tag
            if not info.accepted:
                log.warning("CSMS refused the idTag of a running transaction connector=%d remote_id=%s status=%s",
                            c.id, remote_id, info.status)
                self.spawn(c.invalidated(tx))

    async def shutdown(self, reason: StopReason, keep_transactions: bool) -> None:
        """Stop every running transaction (contactors open first), or with `keep_transactions` only
        stop their energy for a resume at the next start; cancel session work."""
        for c in self.connectors.values():
            if c.tx is not None and keep_transactions:
                c.suspend_for_restart()
            elif c.tx is not None:
                await c.stop(reason)
            c.clear_pending()
        for task in list(self._tasks):
            task.cancel()
