"""Watching each connector's devices while evsed runs: contactor feedback and meter health.

OCPP 1.6 ChargePointErrorCode: PowerSwitchFailure when the contactor's auxiliary contact disagrees
with the command for longer than the configured time (vendorErrorCode `WeldedClosed` or
`FailedToClose`), PowerMeterFailure when the meter cannot be read. A faulted connector starts no
session. A meter fault clears once the meter answers again, a welded contact once its feedback
says open; a contactor that failed to close stays Faulted until evsed restarts (it cannot be
checked without closing it).
"""

import asyncio
import logging
import time

from firmware.core.connector import BackwardsReading, Connector
from firmware.core.connector_state import ErrorCode, Fault
from hal import MeterError

log = logging.getLogger(__name__)

CONTACTOR_CHECK_S = 0.1
IDLE_METER_CHECK_S = 5.0
"""Between sessions the meter is read this often, so a dead meter shows before a driver arrives."""


class Supervisor:
    def __init__(self, connector: Connector) -> None:
        self._connector = connector
        self._disagreeing_since: float | None = None
        self._last_command: bool | None = None
        self._meter_due = 0.0
        self.last_round = time.monotonic()
        """When the checks last ran: the service watchdog is fed only while this stays recent."""

    async def run(self) -> None:
        while True:
            self.last_round = time.monotonic()
            await self.check_contactor()
            if time.monotonic() >= self._meter_due and self._connector.tx is None:
                self._meter_due = time.monotonic() + IDLE_METER_CHECK_S
                await self.check_meter()
            await asyncio.sleep(CONTACTOR_CHECK_S)

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
