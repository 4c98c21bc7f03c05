"""Stopping and restarting the charge point: SIGTERM, and the CSMS's Reset."""

import asyncio
import logging

from firmware.core.recovery import RestartCause, note_reset, note_restart
from firmware.persistence.db import Store
from firmware.transactions.store import StopReason

log = logging.getLogger(__name__)


class Lifecycle:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._stopping = asyncio.Event()
        self.stop_reason = StopReason.REBOOT
        """The reason running transactions end with when the daemon stops."""
        self.restart_requested = False
        """A Reset was carried out: the caller starts the daemon again."""

    def stop(self) -> None:
        """Ask the daemon to stop."""
        self._stopping.set()

    def terminate(self) -> None:
        """SIGTERM: stop, and do not restart even when a Reset was being carried out (the service manager
        asked the daemon to end; it always wins)."""
        if self.restart_requested:
            log.warning("SIGTERM during a reset: stopping without the restart")
        self.restart_requested = False
        self.stop()

    def can_reset(self) -> bool:
        """A Reset can be carried out now: the daemon is not stopping already."""
        return not self._stopping.is_set()

    async def wait_stopping(self) -> None:
        await self._stopping.wait()

    def restart_after_update(self) -> None:
        """A firmware installer asked for a restart (OCPP 1.6 §4.5): start again, and boot again."""
        if self.can_reset():
            self.restart_requested = True
            note_restart(self._store, RestartCause.FIRMWARE_UPDATE)
            log.warning("restarting after a firmware update")
            self.stop()

    def reset(self, hard: bool, scheduled: bool = False) -> bool:
        """OCPP 1.6 §5.14 Reset: end every transaction (reason SoftReset or HardReset), let the
        StopTransactions reach the CSMS, then start again. Both kinds restart the daemon; evsed does
        not reboot the board (a Hard reset of the computer is the service manager's business). `scheduled`: the
        CSMS asked for it once the sessions ended (2.0.1 OnIdle), which the next BootNotification says.
        False when the daemon is stopping already."""
        if not self.can_reset():
            return False
        self.stop_reason = StopReason.HARD_RESET if hard else StopReason.SOFT_RESET
        note_reset(self._store, self.stop_reason)
        note_restart(self._store, RestartCause.SCHEDULED_RESET if scheduled else RestartCause.REMOTE_RESET)
        self.restart_requested = True
        log.warning("reset requested by CSMS kind=%s; restarting", "Hard" if hard else "Soft")
        self.stop()
        return True
