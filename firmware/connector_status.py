"""Connector status: OCPP 1.6 ChargePointStatus, the StatusNotification transition table, and the
rule that derives a connector's status from what is true about it.

The table is OCPP 1.6 §4.9 (StatusNotification, "state transition overview"); its cell names (A2,
B1, ...) are kept so the code can be read next to the spec. The `transitions` machine refuses any
move the table does not allow.
"""

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from transitions import Machine, MachineError

log = logging.getLogger(__name__)


class Status(StrEnum):
    """OCPP 1.6 ChargePointStatus."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class ErrorCode(StrEnum):
    """OCPP 1.6 ChargePointErrorCode."""

    CONNECTOR_LOCK_FAILURE = "ConnectorLockFailure"
    EV_COMMUNICATION_ERROR = "EVCommunicationError"
    GROUND_FAILURE = "GroundFailure"
    HIGH_TEMPERATURE = "HighTemperature"
    INTERNAL_ERROR = "InternalError"
    LOCAL_LIST_CONFLICT = "LocalListConflict"
    NO_ERROR = "NoError"
    OTHER_ERROR = "OtherError"
    OVER_CURRENT_FAILURE = "OverCurrentFailure"
    OVER_VOLTAGE = "OverVoltage"
    POWER_METER_FAILURE = "PowerMeterFailure"
    POWER_SWITCH_FAILURE = "PowerSwitchFailure"
    READER_FAILURE = "ReaderFailure"
    RESET_FAILURE = "ResetFailure"
    UNDER_VOLTAGE = "UnderVoltage"
    WEAK_SIGNAL = "WeakSignal"


S = Status
CONNECTOR_TRANSITIONS: dict[Status, dict[Status, str]] = {
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

CHARGE_POINT_TRANSITIONS: dict[Status, dict[Status, str]] = {
    S.AVAILABLE: {S.UNAVAILABLE: "A8", S.FAULTED: "A9"},
    S.UNAVAILABLE: {S.AVAILABLE: "H1", S.FAULTED: "H9"},
    S.FAULTED: {S.AVAILABLE: "I1", S.UNAVAILABLE: "I8"},
}
"""Connector 0 (the whole charge point) is only Available, Unavailable or Faulted (OCPP 1.6 §7.7)."""


_NOT_PASSED_THROUGH = frozenset({Status.AVAILABLE, Status.RESERVED, Status.UNAVAILABLE, Status.FAULTED})
"""Statuses that say something to the driver or the CSMS, never just a step on the way elsewhere."""


@dataclass(frozen=True)
class Fault:
    error_code: ErrorCode
    info: str | None = None
    vendor_error_code: str | None = None


@dataclass(frozen=True)
class ConnectorFacts:
    """What is true about a connector now; `derive_status` turns it into a ChargePointStatus."""

    plugged: bool = False
    ev_requesting: bool = False
    transaction: bool = False
    evse_offers_energy: bool = True
    """False when the charger withholds energy inside a transaction (e.g. limit 0, invalid id)."""
    awaiting_start: bool = False
    """An authorized start waits for the EV to plug in (or a start is being authorized)."""
    finishing: bool = False
    """A transaction ended and the EV is still plugged in."""
    reserved: bool = False
    unavailable: bool = False
    fault: Fault | None = None


def derive_status(f: ConnectorFacts) -> Status:
    """The connector status OCPP 1.6 §7.7 (ChargePointStatus) describes for these facts.

    Inside a transaction SuspendedEVSE takes precedence over SuspendedEV: when the charger
    withholds energy the EV's own wish does not matter. A scheduled Unavailable waits for the
    transaction to end.
    """
    if f.fault is not None:
        return Status.FAULTED
    if f.transaction:
        if not f.evse_offers_energy:
            return Status.SUSPENDED_EVSE
        if not (f.plugged and f.ev_requesting):
            return Status.SUSPENDED_EV
        return Status.CHARGING
    if f.unavailable:
        return Status.UNAVAILABLE
    if f.awaiting_start:
        return Status.PREPARING
    if f.finishing and f.plugged:
        return Status.FINISHING
    if f.plugged:
        return Status.PREPARING
    if f.reserved:
        return Status.RESERVED
    return Status.AVAILABLE


class StatusMachine:
    """One connector's status as a `transitions` state machine over the OCPP table.

    It decides nothing by itself and does no I/O: `move_to` applies a derived status if the table
    allows the move, and `on_change(old, new, cell)` is told of every change.
    """

    state: str  # set by transitions
    trigger: Callable[[str], bool]  # set by transitions

    def __init__(self, connector_id: int, initial: Status, on_change: Callable[[Status, Status, str], None]) -> None:
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
    def status(self) -> Status:
        return Status(self.state)

    def move_to(self, status: Status) -> bool:
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

    def _path(self, start: Status, goal: Status) -> list[Status] | None:
        """Breadth-first search over the table: the statuses to pass through, goal included."""
        previous: dict[Status, Status] = {}
        queue = deque([start])
        while queue and goal not in previous and goal is not start:
            here = queue.popleft()
            for step in self._table.get(here, {}):
                passable = step is goal or step not in _NOT_PASSED_THROUGH
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
        cell = self._table[Status(transition.source)][Status(transition.dest)]
        self._on_change(Status(transition.source), Status(transition.dest), cell)
