"""OCPP 1.6 StatusNotification: the §4.9 transition table, one status machine per connector, and which
changes are sent when.

The table is OCPP 1.6 §4.9 (StatusNotification, "state transition overview"); its cell names (A2,
B1, ...) are kept so the code can be read next to the spec. The `transitions` machine refuses any
move the table does not allow. Reserved is entered only from Available (A7) or Faulted (I7): a connector a
reservation still holds when its EV leaves (Preparing or Finishing) or that is made Operative again
(Unavailable) reports Available first, then Reserved (B1/F1/H1, A7). The core's `ConnectorState` is
spelled as 1.6's ChargePointStatus, so the table is keyed by it.

OCPP 1.6 §9.1 MinimumStatusDuration: a status is reported only after it was stable that long; a
status that returns to the last reported one within the window is never sent.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from transitions import Machine, MachineError

from firmware.clock import Clock
from firmware.core.connector_state import ConnectorState, ErrorCode
from firmware.core.ports import ConnectorReport
from firmware.settings import Settings

log = logging.getLogger(__name__)

S = ConnectorState
CONNECTOR_TRANSITIONS: dict[ConnectorState, dict[ConnectorState, str]] = {
    S.AVAILABLE: {S.PREPARING: "A2", S.CHARGING: "A3", S.SUSPENDED_EV: "A4", S.SUSPENDED_EVSE: "A5",
                  S.RESERVED: "A7", S.UNAVAILABLE: "A8", S.FAULTED: "A9"},
    S.PREPARING: {S.AVAILABLE: "B1", S.CHARGING: "B3", S.SUSPENDED_EV: "B4", S.SUSPENDED_EVSE: "B5",
                  S.FINISHING: "B6", S.FAULTED: "B9"},
    S.CHARGING: {S.AVAILABLE: "C1", S.SUSPENDED_EV: "C4", S.SUSPENDED_EVSE: "C5", S.FINISHING: "C6",
                 S.UNAVAILABLE: "C8", S.FAULTED: "C9"},
    S.SUSPENDED_EV: {S.AVAILABLE: "D1", S.CHARGING: "D3", S.SUSPENDED_EVSE: "D5", S.FINISHING: "D6",
                     S.UNAVAILABLE: "D8", S.FAULTED: "D9"},
    S.SUSPENDED_EVSE: {S.AVAILABLE: "E1", S.CHARGING: "E3", S.SUSPENDED_EV: "E4", S.FINISHING: "E6",
                       S.UNAVAILABLE: "E8", S.FAULTED: "E9"},
    S.FINISHING: {S.AVAILABLE: "F1", S.PREPARING: "F2", S.UNAVAILABLE: "F8", S.FAULTED: "F9"},
    S.RESERVED: {S.AVAILABLE: "G1", S.PREPARING: "G2", S.UNAVAILABLE: "G8", S.FAULTED: "G9"},
    S.UNAVAILABLE: {S.AVAILABLE: "H1", S.PREPARING: "H2", S.CHARGING: "H3", S.SUSPENDED_EV: "H4",
                    S.SUSPENDED_EVSE: "H5", S.FAULTED: "H9"},
    S.FAULTED: {S.AVAILABLE: "I1", S.PREPARING: "I2", S.CHARGING: "I3", S.SUSPENDED_EV: "I4",
                S.SUSPENDED_EVSE: "I5", S.FINISHING: "I6", S.RESERVED: "I7", S.UNAVAILABLE: "I8"},
}
"""OCPP 1.6 §4.9: from-status → {to-status: cell}. Cells the spec leaves empty are absent."""

CHARGE_POINT_TRANSITIONS: dict[ConnectorState, dict[ConnectorState, str]] = {
    S.AVAILABLE: {S.UNAVAILABLE: "A8", S.FAULTED: "A9"},
    S.UNAVAILABLE: {S.AVAILABLE: "H1", S.FAULTED: "H9"},
    S.FAULTED: {S.AVAILABLE: "I1", S.UNAVAILABLE: "I8"},
}
"""Connector 0 (the whole charge point) is only Available, Unavailable or Faulted (OCPP 1.6 §7.7)."""


_NOT_PASSED_THROUGH = frozenset({ConnectorState.AVAILABLE, ConnectorState.RESERVED, ConnectorState.UNAVAILABLE,
                                 ConnectorState.FAULTED, ConnectorState.CHARGING, ConnectorState.SUSPENDED_EV,
                                 ConnectorState.SUSPENDED_EVSE})
"""Statuses that say something to the driver or the CSMS, never just a step on the way elsewhere: the three
inside a transaction are among them, as no transaction runs on the way. One exception: Available on the way to
Reserved, since §4.9 lets a connector become Reserved only from Available (A7, "A Reserve Now message is received
that reserves the connector") or Faulted (I7); B7, F7 and H7 are empty. §4.9 has no Preparing → Unavailable cell
(B8 is empty): an EV plugged in without a transaction when the connector is made Inoperative (§5.2) goes B6
Finishing, then F8 Unavailable, never through a Charging that did not happen."""


class StatusMachine:
    """One connector's status as a `transitions` state machine over the OCPP table.

    It decides nothing by itself and does no I/O: `move_to` applies a derived status if the table
    allows the move, and `on_change(old, new, cell)` is told of every change.
    """

    state: str  # set by transitions
    trigger: Callable[[str], bool]  # set by transitions

    def __init__(self, connector_id: int, initial: ConnectorState,
                 on_change: Callable[[ConnectorState, ConnectorState, str], None]) -> None:
        self.connector_id = connector_id
        table = CHARGE_POINT_TRANSITIONS if connector_id == 0 else CONNECTOR_TRANSITIONS
        self._table = table
        self._on_change = on_change
        self._machine = Machine(
            model=self,
            states=[s.value for s in table],
            initial=initial.value,
            auto_transitions=False,
            send_event=True,
            after_state_change=self._changed,
        )
        for source, targets in table.items():
            for dest in targets:
                self._machine.add_transition(f"to_{dest.value}", source.value, dest.value)

    @property
    def status(self) -> ConnectorState:
        return ConnectorState(self.state)

    def move_to(self, status: ConnectorState) -> bool:
        """Move to `status` along the shortest path the OCPP table allows, one reported step at a time
        (e.g. a new session on a Finishing connector goes F2 Preparing, then B3 Charging).

        False (and logged) when no path exists.
        """
        path = self._path(self.status, status)
        if path is None:
            log.error("status transition not allowed by OCPP 1.6 table connector=%d from=%s to=%s",
                      self.connector_id, self.status, status)
            return False
        for step in path:
            try:
                self.trigger(f"to_{step.value}")
            except (MachineError, AttributeError):  # unreachable: _path follows the table
                log.exception("status machine refused a table step connector=%d to=%s", self.connector_id, step)
                return False
        return True

    def _path(self, start: ConnectorState, goal: ConnectorState) -> list[ConnectorState] | None:
        """Breadth-first search over the table: the statuses to pass through, goal included."""
        previous: dict[ConnectorState, ConnectorState] = {}
        queue = deque([start])
        while queue and goal not in previous and goal is not start:
            here = queue.popleft()
            for step in self._table.get(here, {}):
                passable = (step is goal or step not in _NOT_PASSED_THROUGH
                            or (step is ConnectorState.AVAILABLE and goal is ConnectorState.RESERVED))
                if passable and step not in previous and step is not start:
                    previous[step] = here
                    queue.append(step)
        if goal is not start and goal not in previous:
            return None
        path = []
        while goal is not start:
            path.append(goal)
            goal = previous[goal]
        return path[::-1]

    def _changed(self, event: object) -> None:
        transition = event.transition  # type: ignore[attr-defined]
        cell = self._table[ConnectorState(transition.source)][ConnectorState(transition.dest)]
        self._on_change(ConnectorState(transition.source), ConnectorState(transition.dest), cell)


@dataclass(frozen=True)
class StatusReport:
    """One StatusNotification.req's content."""

    connector_id: int
    status: ConnectorState
    error_code: ErrorCode
    info: str | None = None
    vendor_error_code: str | None = None
    timestamp: str = ""
    """When the status began: a `Clock.stamp()` (a boot-relative token until the clock is trusted; it is
    dated when sent)."""
    queued_after: int = 0
    """The newest outbox message queued when the status began: it is sent after those, and before any later."""

    def same_as(self, other: "StatusReport | None") -> bool:
        return other is not None and (self.status, self.error_code, self.info, self.vendor_error_code) == (
            other.status, other.error_code, other.info, other.vendor_error_code)


class StatusReporter:
    """The core's connector reports → 1.6 StatusNotifications: each step the table passes through, debounced."""

    def __init__(self, settings: Settings, clock: Clock, sink: Callable[[StatusReport], None],
                 position: Callable[[], int] = lambda: 0) -> None:
        """`position()`: the newest outbox message id now (`Outbox.last_id`)."""
        self._settings = settings
        self._clock = clock
        self._sink = sink
        self._position = position
        self._machines: dict[int, StatusMachine] = {}
        self._arriving: ConnectorReport | None = None
        self._current: dict[int, StatusReport] = {}
        self._reported: dict[int, StatusReport] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}

    def connector_changed(self, report: ConnectorReport) -> None:
        """Move the connector's machine to the reported state, one reported step at a time."""
        cid = report.connector_id
        machine = self._machines.get(cid)
        if machine is None:  # the state at start: sent once connected (`current`), never debounced
            self._machines[cid] = StatusMachine(cid, report.state, self._stepped)
            self._current[cid] = self._reported[cid] = self._began(self._report(report))
            return
        if machine.status is report.state:
            self.changed(self._report(report))  # the error changed, not the status
            return
        self._arriving = report
        try:
            machine.move_to(report.state)
        finally:
            self._arriving = None

    def _stepped(self, old: ConnectorState, new: ConnectorState, cell: str) -> None:
        arriving = self._arriving
        assert arriving is not None
        log.info("connector status connector=%d from=%s to=%s transition=%s", arriving.connector_id, old, new, cell)
        if new is arriving.state:
            self.changed(self._report(arriving))
        else:
            self.changed(StatusReport(arriving.connector_id, new, ErrorCode.NO_ERROR))

    @staticmethod
    def _report(report: ConnectorReport) -> StatusReport:
        return StatusReport(report.connector_id, report.state, report.error_code, report.info,
                            report.vendor_error_code)

    def _began(self, report: StatusReport) -> StatusReport:
        return replace(report, timestamp=self._clock.stamp(), queued_after=self._position())

    def changed(self, report: StatusReport) -> None:
        cid = report.connector_id
        self._current[cid] = self._began(report)
        timer = self._timers.pop(cid, None)
        if timer is not None:
            timer.cancel()
        delay = self._settings.integer("minimum_status_duration_s")
        if delay <= 0:
            self._send(cid)
        else:
            self._timers[cid] = asyncio.get_running_loop().call_later(delay, self._send, cid)

    def _send(self, cid: int) -> None:
        self._timers.pop(cid, None)
        report = self._current[cid]
        if report.same_as(self._reported.get(cid)):
            return
        self._reported[cid] = report
        self._sink(report)

    def current(self) -> list[StatusReport]:
        """The status of every connector now, connector 0 first (resent after a reconnect)."""
        return [self._current[cid] for cid in sorted(self._current)]
