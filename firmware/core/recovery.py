"""Closing transactions that were running when the daemon last stopped without ending them.

OCPP 1.6 StopTransaction reason: SoftReset or HardReset when a Reset.req was being carried out,
PowerLoss when the whole system lost power (the kernel's boot id changed), Reboot when only the
daemon restarted (crash, watchdog, kill). meterStop is the meter's own register read now (a real
meter kept counting), else the last stored reading.

With `[charge_point] resume_transactions`, a transaction whose EV is still plugged in goes on instead,
unless the CSMS refused its idTag in StartTransaction.conf: energy never flows again for that one.
"""

import logging
from enum import StrEnum

from firmware.clock import Clock
from firmware.core.connector import Connector
from firmware.persistence.db import Store
from firmware.transactions.store import StopReason, TransactionStore
from hal import MeterError

log = logging.getLogger(__name__)

RESET_META = "reset_in_progress"
RESUMABLE = (StopReason.REBOOT, StopReason.POWER_LOSS)
"""A Reset.req ends transactions (OCPP 1.6 §5.14) even where resuming is configured."""


RESTART_META = "restart_cause"


class RestartCause(StrEnum):
    """Why the daemon restarted itself, spelled as OCPP 2.0.1's BootReasonEnumType (its BootNotification says it;
    1.6's has no reason)."""

    REMOTE_RESET = "RemoteReset"
    SCHEDULED_RESET = "ScheduledReset"
    """A Reset the CSMS asked to wait for the sessions to end (2.0.1 Reset OnIdle)."""
    FIRMWARE_UPDATE = "FirmwareUpdate"


def note_restart(store: Store, cause: RestartCause) -> None:
    """The daemon is about to restart itself: remember why, for the next start's BootNotification."""
    with store.atomic():
        store.set_meta(RESTART_META, cause.value)


def restart_cause(store: Store) -> RestartCause | None:
    """Why the last run restarted itself (None: it did not, e.g. a power cut or a crash); clears the mark."""
    cause = store.meta(RESTART_META)
    if cause is not None:
        with store.atomic() as db:
            db.execute("DELETE FROM meta WHERE name = ?", [RESTART_META])
    return RestartCause(cause) if cause in RestartCause._value2member_map_ else None


def note_reset(store: Store, reason: StopReason) -> None:
    """A Reset.req was accepted: remember it, so a restart that interrupts it still names it."""
    with store.atomic():
        store.set_meta(RESET_META, reason.value)


def stop_reason_after_restart(store: Store, boot_id: str) -> StopReason:
    """Why the last run ended: a Reset in progress, else the boot id the last run saved compared with
    this one's. Saves this run's boot id and clears the reset mark."""
    previous = store.meta("boot_id")
    reset = store.meta(RESET_META)
    with store.atomic() as db:
        store.set_meta("boot_id", boot_id)
        db.execute("DELETE FROM meta WHERE name = ?", [RESET_META])
    if reset is not None:
        return StopReason(reset)
    return StopReason.REBOOT if previous == boot_id else StopReason.POWER_LOSS


async def close_interrupted(txs: TransactionStore, connectors: dict[int, Connector], reason: StopReason,
                            clock: Clock, resume: bool) -> int:
    """Resume or record the end of every unfinished transaction; returns how many were closed."""
    unfinished = txs.unfinished()
    closed = 0
    for tx, last_energy_wh in unfinished:
        connector = connectors.get(tx.connector)
        if (resume and connector is not None and connector.devices.plug.state.plugged and reason in RESUMABLE
                and not tx.refused):
            await connector.resume(tx, last_energy_wh)
            continue
        energy_wh = last_energy_wh
        if connector is not None:
            try:
                energy_wh = max(energy_wh, (await connector.devices.meter.read()).energy_wh)
            except MeterError as e:
                log.warning("meter unreadable, using last stored reading connector=%d error=%s", tx.connector, e)
        txs.end(tx, max(round(energy_wh), tx.meter_start), clock.stamp(), reason, None, None, None)
        log.warning("interrupted transaction closed connector=%d tx_ref=%d reason=%s", tx.connector, tx.ref, reason)
        closed += 1
    return closed
