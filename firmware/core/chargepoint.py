"""The charge point: routes card taps, EV events and CSMS commands to its connectors.

Protocol-independent: protocol handlers call `remote_start` / `remote_stop`, `change_availability` and
`unlock_connector` (through `Services`) and read `Connector`s.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any

from firmware.auth.authorizer import Authorizer
from firmware.auth.idtag import IdTagInfo, same_id_tag
from firmware.core.availability import CHARGE_POINT, Availability, AvailabilityChange
from firmware.core.connector import Connector
from firmware.core.connector_state import ConnectorState, ErrorCode
from firmware.core.ports import ConnectorReport, StatusPort
from firmware.core.supervision import Supervisor
from firmware.logs import masked
from firmware.settings import Settings
from firmware.transactions.store import StopReason
from hal import CardReader, LedPattern, PlugState

log = logging.getLogger(__name__)

READER_CHECK_S = 1.0


class UnlockResult(StrEnum):
    """What became of an unlock command (OCPP 1.6 §5.18 UnlockConnector; the 1.6 adapter answers NotSupported
    for both NO_LOCK and UNKNOWN_CONNECTOR, 2.0.1 has a status of its own for an unknown connector)."""

    UNLOCKED = "Unlocked"
    UNLOCK_FAILED = "UnlockFailed"
    NO_LOCK = "NoLock"
    """No cable lock is fitted on that connector (a tethered cable)."""
    UNKNOWN_CONNECTOR = "UnknownConnector"


class ChargePoint:
    def __init__(self, connectors: list[Connector], shared_reader: CardReader | None, authorizer: Authorizer,
                 settings: Settings, port: StatusPort, availability: Availability | None = None) -> None:
        """`availability`: the stored availability the connectors were built with (None: always Operative, and
        a change of availability is Rejected)."""
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
        self._report_main()
        authorizer.on_conflict = self._local_list_conflict
        for c in connectors:
            c.on_state_changed = self._report_main

    def _main_state(self) -> ConnectorState:
        """Connector 0: Unavailable once the charge point is Inoperative and no transaction runs any more
        (OCPP 1.6 §5.2: with transactions running the change is Scheduled until they have finished), else
        Available."""
        inoperative = self._availability is not None and self._availability.inoperative(CHARGE_POINT)
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
        ChargePointErrorCode); the status stays what it is, since remote starts still work."""
        problem: str | None = None
        while True:
            if reader.problem != problem:
                problem = reader.problem
                log.log(logging.ERROR if problem else logging.WARNING, "card reader %s connector=%d problem=%s",
                        "failing" if problem else "works again", connector_id, problem)
                changed(problem)
            await asyncio.sleep(READER_CHECK_S)

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
                            and c.pending.authorized and not c.devices.plug.state.plugged), None)
            if movable is not None and movable.pending is not None:
                id_tag, parent_id_tag = movable.pending.id_tag, movable.pending.parent_id_tag
                movable.clear_pending()
                log.info("authorized idTag follows the EV connector=%d idTag=%s", connector.id, masked(id_tag))
                await connector.start(id_tag, parent_id_tag)
        await connector.on_plug(state)

    def _movable(self, connector_id: int | None, target: Connector) -> bool:
        """A start for no particular connector, with no EV at the chosen one yet, follows the first EV."""
        return connector_id is None and len(self.connectors) > 1 and not target.devices.plug.state.plugged

    def _choose(self, candidates: list[Connector]) -> Connector | None:
        """A free connector, preferring one whose EV is already plugged in."""
        free = [c for c in candidates if c.is_free]
        plugged = [c for c in free if c.devices.plug.state.plugged]
        return (plugged or free or [None])[0]

    async def card_presented(self, id_tag: str, connector_id: int | None) -> None:
        """A card tap: stop the session it owns or its group's, cancel its pending start, or start one.

        OCPP 1.6 §3.5 / StopTransaction: the idTag that started a transaction stops it without an
        Authorize; another idTag stops it when both have the same parentIdTag, which the card's
        authorization (Local List, cache or Authorize.req) tells.
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
        target = self._choose(candidates)  # again: an EV may have plugged in meanwhile
        if target is None:
            log.info("no free connector for idTag=%s", masked(id_tag))
            return
        if not decision.granted:
            log.info("card refused connector=%d idTag=%s status=%s", target.id, masked(id_tag), decision.info.status)
            target.devices.led.show(LedPattern.DENIED)
            return
        await target.begin(id_tag, parent_id_tag, movable=self._movable(connector_id, target))

    def remote_start(self, connector_id: int | None, id_tag: str) -> bool:
        """RemoteStartTransaction: True (Accepted) when a free connector takes the start.

        OCPP 1.6 §5.11: an unknown connector, or one with a transaction running, is Rejected; so is an
        unavailable one (§5.2: it does not allow any charging). With AuthorizeRemoteTxRequests the idTag is
        authorized first, like a card.
        """
        authorize_first = self._settings.flag("authorize_remote_starts")
        if connector_id is None:
            target = self._choose(list(self.connectors.values()))
        else:
            target = self.connectors.get(connector_id)
        if target is None or not target.is_free:
            log.info("remote start rejected connector=%s idTag=%s", connector_id, masked(id_tag))
            return False
        target.hold(id_tag, authorized=not authorize_first, movable=self._movable(connector_id, target))
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
            pending.parent_id_tag = decision.info.parent_id_tag
        if target.devices.plug.state.plugged and target.pending is not None:
            await target.start(id_tag, target.pending.parent_id_tag)

    def remote_stop(self, remote_id: str) -> bool:
        """RemoteStopTransaction: True (Accepted) when a transaction with the CSMS's id `remote_id` runs here."""
        for c in self.connectors.values():
            if c.tx is not None and c.tx.remote_id == remote_id:
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
        self._report_main()
        busy = [c.id for c in affected if c.tx is not None]
        answer = AvailabilityChange.SCHEDULED if busy and not operative else AvailabilityChange.ACCEPTED
        log.warning("availability changed connector=%d to=%s answer=%s transactions_running=%s", connector_id,
                    "Operative" if operative else "Inoperative", answer, ",".join(map(str, busy)) or "none")
        return answer

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

    def transaction_confirmed(self, tx_ref: int, remote_id: str, info: IdTagInfo) -> None:
        """The CSMS confirmed a running transaction's start: its id, and its verdict on the idTag (OCPP 1.6 §4.8)."""
        for c in self.connectors.values():
            tx = c.tx
            if tx is None or tx.ref != tx_ref:
                continue
            tx.remote_id = remote_id
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
