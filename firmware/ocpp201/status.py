"""OCPP 2.0.1 StatusNotification (G01): each EVSE's one connector as ConnectorStatusEnumType.

The core's finer states fold onto 2.0.1's five: Preparing, Charging, SuspendedEV, SuspendedEVSE and Finishing are all
Occupied (what the EV does is the transaction's chargingState, TransactionEvent's business); a StatusNotification
goes only when the 2.0.1 status changes. 2.0.1 has no connector 0: a charging station made Unavailable reports each
connector Unavailable (G03), which the core already does, so connector 0's report is kept for the device model's
ChargingStation.AvailabilityState only.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from firmware.clock import Clock
from firmware.core.connector_state import ConnectorState
from firmware.core.ports import ConnectorReport

log = logging.getLogger(__name__)

S = ConnectorState
CONNECTOR_STATUS: dict[ConnectorState, str] = {
    S.AVAILABLE: "Available", S.PREPARING: "Occupied", S.CHARGING: "Occupied", S.SUSPENDED_EV: "Occupied",
    S.SUSPENDED_EVSE: "Occupied", S.FINISHING: "Occupied", S.RESERVED: "Reserved", S.UNAVAILABLE: "Unavailable",
    S.FAULTED: "Faulted",
}
"""The core's state → ConnectorStatusEnumType."""


@dataclass(frozen=True)
class StatusReport:
    """One StatusNotificationRequest's content: EVSE n's connector 1."""

    evse_id: int
    status: str
    timestamp: str
    """A `Clock.stamp()`, dated when sent."""
    queued_after: int
    """The newest outbox message queued when the status began: it is sent after those, and before any later."""


class StatusReporter:
    def __init__(self, clock: Clock, sink: Callable[[StatusReport], None], position: Callable[[], int]) -> None:
        """`sink`: sends a changed status; `position()`: the newest outbox message id now."""
        self._clock = clock
        self._sink = sink
        self._position = position
        self._current: dict[int, StatusReport] = {}
        self._station = S.AVAILABLE

    def connector_changed(self, report: ConnectorReport) -> None:
        if report.connector_id == 0:
            self._station = report.state
            return
        status = CONNECTOR_STATUS[report.state]
        before = self._current.get(report.connector_id)
        if before is not None and before.status == status:
            return
        current = StatusReport(report.connector_id, status, self._clock.stamp(), self._position())
        self._current[report.connector_id] = current
        if before is None:  # the state at start: sent once connected (`current`)
            return
        log.info("connector status evse=%d from=%s to=%s", report.connector_id, before.status, status)
        self._sink(current)

    def current(self) -> list[StatusReport]:
        """Every EVSE's status now, in order (resent after a reconnect)."""
        return [self._current[n] for n in sorted(self._current)]

    def availability(self, evse_id: int) -> str:
        """AvailabilityState of EVSE `evse_id` (0: the charging station: Available, Unavailable or Faulted)."""
        if evse_id == 0:
            return CONNECTOR_STATUS[self._station]
        current = self._current.get(evse_id)
        return "Unavailable" if current is None else current.status
