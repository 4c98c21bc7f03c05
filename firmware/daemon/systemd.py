"""Talking to systemd (Type=notify): READY, STOPPING, the watchdog and a STATUS line an installer can read."""

import asyncio
import logging
import os
import time
from collections.abc import Callable

import sdnotify

from firmware.core.chargepoint import ChargePoint

log = logging.getLogger(__name__)

HARDWARE_STALE_S = 5.0
"""A connector's hardware checks that have not come back in this long mean the daemon is stuck: the service
watchdog is not fed."""
STATUS_REFRESH_S = 5.0
"""Under systemd without a watchdog, how often the STATUS line is brought up to date."""


class Systemd:
    def __init__(self) -> None:
        self._notifier = sdnotify.SystemdNotifier()  # silent without NOTIFY_SOCKET

    def ready(self, status: str) -> None:
        self._notifier.notify(f"READY=1\nSTATUS={status}")

    def stopping(self) -> None:
        self._notifier.notify("STOPPING=1")

    async def watchdog(self, charge_point: ChargePoint, status_line: Callable[[], str]) -> None:
        """systemd's watchdog (WatchdogSec): WATCHDOG=1 at half the period, only while the main loop runs
        (this task) and no connector's hardware checks have hung for HARDWARE_STALE_S; and a STATUS line a
        person can read in `systemctl status evsed`. Not under systemd (no NOTIFY_SOCKET), nobody listens:
        this task ends at once rather than wake for nothing."""
        if not os.environ.get("NOTIFY_SOCKET"):
            return
        period_s = int(os.environ.get("WATCHDOG_USEC", "0")) / 1e6
        shown = ""
        while True:
            now = time.monotonic()
            stalled = [n for n, s in charge_point.supervisors.items()
                       if s.busy_since is not None and now - s.busy_since > HARDWARE_STALE_S]
            if stalled:
                log.error("hardware polling stalled connectors=%s; the watchdog is not fed", stalled)
            elif period_s:
                self._notifier.notify("WATCHDOG=1")
            status = status_line()
            if status != shown:
                self._notifier.notify(f"STATUS={status}")
                shown = status
            await asyncio.sleep(period_s / 2 if period_s else STATUS_REFRESH_S)
