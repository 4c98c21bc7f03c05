"""Closing transactions that were running when the daemon last stopped without ending them.

OCPP 1.6 StopTransaction reason: PowerLoss when the whole system lost power (the kernel's boot id
changed), Reboot when only the daemon restarted (crash, watchdog, kill). meterStop is the meter's
own register read now (a real meter kept counting), else the last stored reading.
"""

import logging
from pathlib import Path

from firmware.clock import now_iso
from firmware.connector import Connector
from firmware.records import StopReason
from firmware.store import Store
from firmware.transactions import TransactionStore
from hal import MeterError

log = logging.getLogger(__name__)

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")


def current_boot_id() -> str:
    try:
        return BOOT_ID_PATH.read_text().strip()
    except OSError:
        return "unknown"


def stop_reason_after_restart(store: Store, boot_id: str) -> StopReason:
    """Compare with the boot id the last run saved, then save this one."""
    previous = store.meta("boot_id")
    with store.atomic():
        store.set_meta("boot_id", boot_id)
    return StopReason.REBOOT if previous == boot_id else StopReason.POWER_LOSS


async def close_interrupted(txs: TransactionStore, connectors: dict[int, Connector], reason: StopReason) -> int:
    """Record the end of every unfinished transaction; returns how many were closed."""
    unfinished = txs.unfinished()
    for tx, last_energy_wh in unfinished:
        connector = connectors.get(tx.connector)
        energy_wh = last_energy_wh
        if connector is not None:
            try:
                energy_wh = max(energy_wh, (await connector.devices.meter.read()).energy_wh)
            except MeterError as e:
                log.warning("meter unreadable, using last stored reading connector=%d error=%s", tx.connector, e)
        txs.end(tx, max(round(energy_wh), tx.meter_start), now_iso(), reason, None, None, None)
        log.warning("interrupted transaction closed connector=%d tx_ref=%d reason=%s", tx.connector, tx.ref, reason)
    return len(unfinished)
