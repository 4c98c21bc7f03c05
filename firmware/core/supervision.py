"""Watching each connector's devices while evsed runs: contactor feedback and meter health.

OCPP 1.6 ChargePointErrorCode: PowerSwitchFailure when the contactor's auxiliary contact disagrees
with the command for longer than the configured time (vendorErrorCode `WeldedClosed` or
`FailedToClose`), PowerMeterFailure when the meter cannot be read. A faulted connector starts no
session. A meter fault clears once the meter answers again, a welded contact once its feedback
says open; a contactor that failed to close stays Faulted until evsed restarts (it cannot be
checked without closing it).

Nothing here polls faster than the hardware needs (issue 22: an idle charger sleeps). A contactor that reports
its commands and feedback edges (`hal.Contactor.watch`) is looked at when it changes, when a disagreement's time
runs out and every BACKSTOP_S; one that cannot tell is polled every CONTACTOR_CHECK_S; one without a feedback
input never. The meter is read every IDLE_METER_CHECK_S between sessions.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from firmware.core.connector import BackwardsReading, Connector
from firmware.core.connector_state import ErrorCode, Fault
from hal import MeterError

log = logging.getLogger(__name__)

CONTACTOR_CHECK_S = 0.1
"""How often the feedback of a contactor that cannot report its changes is read."""
BACKSTOP_S = 30.0
"""How often a contactor that reports its changes is looked at anyway: a feedback edge lost on the way (a glitch
shorter than the input's sampling) is found within this time."""
IDLE_METER_CHECK_S = 30.0
"""Between sessions the meter is read this often, so a dead meter shows before a driver arrives (a session's
start reads it in any case)."""
FAILED_METER_CHECK_S = 5.0
"""How often a meter that could not be read is tried again, so the connector is usable soon after it answers."""


def waking(event: asyncio.Event) -> Callable[[], None]:
    """A device's change callback (`hal.watchers.Watchers`) that sets `event` on the running loop, from any
    thread; after the loop has closed it does nothing."""
    loop = asyncio.get_running_loop()

    def changed() -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
            loop.call_soon_threadsafe(event.set)

    return changed


async def woken(event: asyncio.Event, within_s: float | None) -> None:
    """Wait until `event` is set, at most `within_s` (None: without a limit)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within_s):
            await event.wait()


class Supervisor:
    def __init__(self, connector: Connector) -> None:
        self._connector = connector
        self._disagreeing_since: float | None = None
        self._last_command: bool | None = None
        self._meter_read_at: float | None = None
        self._wake = asyncio.Event()
        self.busy_since: float | None = None
        """When the round of checks in progress began (None: none is): the service watchdog is not fed while a
        hardware call hangs."""

    async def run(self) -> None:
        contactor = self._connector.devices.contactor
        reports = contactor.watch(waking(self._wake))
        polled = not reports and contactor.feedback_closed is not None
        while True:
            self._wake.clear()  # a change from now on brings another round
            self.busy_since = time.monotonic()
            try:
                await self.check_contactor()
                if self._connector.tx is None and self._meter_due() <= time.monotonic():
                    self._meter_read_at = time.monotonic()
                    await self.check_meter()
            finally:
                self.busy_since = None
            await woken(self._wake, self._next_round_s(polled))

    def _next_round_s(self, polled: bool) -> float:
        """How long the checks may wait unless the contactor reports a change first."""
        now = time.monotonic()
        waits = [CONTACTOR_CHECK_S if polled else BACKSTOP_S]
        if self._disagreeing_since is not None:  # the contact's time to follow runs out then
            waits.append(self._disagreeing_since + self._connector.devices.feedback_timeout_s - now)
        if self._connector.tx is None:
            waits.append(self._meter_due() - now)
        return max(0.0, min(waits))

    def _meter_due(self) -> float:
        """When the meter is to be read next between sessions."""
        if self._meter_read_at is None:
            return 0.0
        fault = self._connector.fault
        failed = fault is not None and fault.error_code is ErrorCode.POWER_METER_FAILURE
        return self._meter_read_at + (FAILED_METER_CHECK_S if failed else IDLE_METER_CHECK_S)

    async def check_contactor(self) -> None:
        c = self._connector
        contactor = c.devices.contactor
        commanded, feedback = contactor.commanded_closed, contactor.feedback_closed
        if feedback is None:
            return
        if commanded != self._last_command:  # a new command: the contact gets its time to follow
            self._last_command, self._disagreeing_since = commanded, None
        if feedback == commanded:
            self._disagreeing_since = None
            if c.fault is not None and c.fault.vendor_error_code == "WeldedClosed":
                c.clear_fault(ErrorCode.POWER_SWITCH_FAILURE)
            return
        now = time.monotonic()
        if self._disagreeing_since is None:
            self._disagreeing_since = now
        if now - self._disagreeing_since < c.devices.feedback_timeout_s:
            return
        welded = feedback and not commanded
        await c.enter_fault(Fault(
            ErrorCode.POWER_SWITCH_FAILURE,
            info="contact welded closed" if welded else "contactor did not close",
            vendor_error_code="WeldedClosed" if welded else "FailedToClose"), welded=welded)

    async def check_meter(self) -> None:
        try:
            await self._connector.read_meter()
        except BackwardsReading:
            return
        except MeterError as e:
            if self._connector.fault is None:
                await self._connector.meter_failed(e)
            return
        self._connector.clear_fault(ErrorCode.POWER_METER_FAILURE)
