"""Which status changes become StatusNotifications, and when.

OCPP 1.6 §9.1 MinimumStatusDuration: a status is reported only after it was stable that long; a
status that returns to the last reported one within the window is never sent.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

from firmware.clock import Clock
from firmware.configuration import Configuration
from firmware.connector_status import ErrorCode, Status


@dataclass(frozen=True)
class StatusReport:
    connector_id: int
    status: Status
    error_code: ErrorCode
    info: str | None = None
    vendor_error_code: str | None = None
    timestamp: str | None = None
    """When the status began; None while the wall clock is not trusted (the field is optional)."""

    def same_as(self, other: "StatusReport | None") -> bool:
        return other is not None and (self.status, self.error_code, self.info, self.vendor_error_code) == (
            other.status, other.error_code, other.info, other.vendor_error_code)


class StatusReporter:
    def __init__(self, config: Configuration, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self.sink: Callable[[StatusReport], None] = lambda report: None
        self._current: dict[int, StatusReport] = {}
        self._reported: dict[int, StatusReport] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}

    def changed(self, report: StatusReport) -> None:
        cid = report.connector_id
        self._current[cid] = replace(report, timestamp=self._clock.stamp_or_none())
        timer = self._timers.pop(cid, None)
        if timer is not None:
            timer.cancel()
        delay = self._config.integer("MinimumStatusDuration")
        if delay <= 0:
            self._report(cid)
        else:
            self._timers[cid] = asyncio.get_running_loop().call_later(delay, self._report, cid)

    def _report(self, cid: int) -> None:
        self._timers.pop(cid, None)
        report = self._current[cid]
        if report.same_as(self._reported.get(cid)):
            return
        self._reported[cid] = report
        self.sink(report)

    def current(self) -> list[StatusReport]:
        """The status of every connector now, connector 0 first (resent after a reconnect)."""
        return [self._current[cid] for cid in sorted(self._current)]
