"""Transaction records: what a charging session wrote down, and the messages it queued.

Each call is one database transaction holding the record change and its outbox message, written
before the hardware acts on it (the start is stored before the contactor closes).
"""

import json
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from firmware.auth.idtag import VALID_STATUSES, AuthorizationStatus
from firmware.logs import masked
from firmware.persistence.db import Store
from firmware.transactions.outbox import MessageKind, Outbox

log = logging.getLogger(__name__)

KEEP_FINISHED = 1_000
"""Finished, fully confirmed transaction records kept for an installer to look at; older ones go."""


class StopReason(StrEnum):
    """OCPP 1.6 StopTransaction.req reason."""

    EMERGENCY_STOP = "EmergencyStop"
    EV_DISCONNECTED = "EVDisconnected"
    HARD_RESET = "HardReset"
    LOCAL = "Local"
    OTHER = "Other"
    POWER_LOSS = "PowerLoss"
    REBOOT = "Reboot"
    REMOTE = "Remote"
    SOFT_RESET = "SoftReset"
    UNLOCK_COMMAND = "UnlockCommand"
    DE_AUTHORIZED = "DeAuthorized"


@dataclass(frozen=True)
class Origin:
    """Who started a transaction, as the start record keeps it (OCPP 2.0.1 TransactionEvent Started sends it)."""

    remote: bool = False
    """Started by the CSMS (1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction), not by a card here."""
    token_type: str | None = None
    """The idToken's type as the CSMS named it (2.0.1 IdTokenEnumType, e.g. Central); None: a card's UID."""
    remote_start_id: int | None = None
    """2.0.1 RequestStartTransaction's remoteStartId, returned in the Started event (F01.FR.25)."""

    def fields(self) -> dict[str, Any]:
        """The start body's keys for this origin: none for a card, so bodies read as they always did."""
        out: dict[str, Any] = {"remote": True} if self.remote else {}
        if self.token_type is not None:
            out["token_type"] = self.token_type
        if self.remote_start_id is not None:
            out["remote_start_id"] = self.remote_start_id
        return out


@dataclass
class Transaction:
    ref: int
    """Local reference, known at once, also offline."""
    connector: int
    id_tag: str
    meter_start: int
    started_at: str
    remote_id: str | None = None
    """The CSMS's id for the transaction, once it confirmed the start; the protocol adapter owns its form
    (OCPP 1.6 sends an integer transactionId, 2.0.1 a string)."""
    parent_id_tag: str | None = None
    """The starting idTag's group: another idTag of the same group may stop the transaction."""
    refused: bool = False
    """StartTransaction.conf refused the idTag (OCPP 1.6 §9.1 StopTransactionOnInvalidId, MaxEnergyOnInvalidId)."""
    begin_values: list[dict[str, Any]] = field(default_factory=list)
    """StopTxnSampledData at Transaction.Begin, for StopTransaction.transactionData."""


class TransactionStore:
    def __init__(self, store: Store, outbox: Outbox) -> None:
        self._store = store
        self._outbox = outbox

    def begin(self, connector: int, id_tag: str, meter_start: int, started_at: str,
              begin_sample: dict[str, Any] | None, stop_begin_sample: dict[str, Any] | None,
              parent_id_tag: str | None = None, reservation_id: int | None = None,
              origin: Origin | None = None) -> Transaction:
        """Record a started transaction and queue StartTransaction (+ its Transaction.Begin values).

        `reservation_id`: the reservation the start uses (OCPP 1.6 §5.13: sent in StartTransaction "to notify the
        Central System that the reservation is terminated"); the body carries it only when there is one, so bodies
        queued before reservations existed read the same. `origin`: a remote start's marks (`Origin`)."""
        begin_values = [stop_begin_sample] if stop_begin_sample else []
        start_body: dict[str, Any] = {"connector": connector, "id_tag": id_tag, "meter_start": meter_start,
                                      "timestamp": started_at}
        if reservation_id is not None:
            start_body["reservation_id"] = reservation_id
        if origin is not None:
            start_body.update(origin.fields())
        with self._store.atomic() as db:
            ref = db.execute(
                "INSERT INTO transactions (connector, id_tag, meter_start, started_at, last_energy_wh, parent_id_tag,"
                " begin_values) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [connector, id_tag, meter_start, started_at, meter_start, parent_id_tag, json.dumps(begin_values)]
            ).lastrowid
            assert isinstance(ref, int)
            self._outbox.put(MessageKind.TRANSACTION_START, ref, start_body)
            if begin_sample is not None:
                self._outbox.put(MessageKind.METER_VALUES, ref, {"connector": connector, "values": [begin_sample]})
        log.info("transaction started connector=%d tx_ref=%d idTag=%s meterStart=%d reservation_id=%s",
                 connector, ref, masked(id_tag), meter_start, reservation_id)
        return Transaction(ref, connector, id_tag, meter_start, started_at, parent_id_tag=parent_id_tag,
                           begin_values=begin_values)

    def sample(self, tx: Transaction, sample: dict[str, Any] | None, energy_wh: float) -> None:
        """Store the latest register value and queue a periodic MeterValues."""
        with self._store.atomic() as db:
            db.execute("UPDATE transactions SET last_energy_wh = ? WHERE ref = ?", [energy_wh, tx.ref])
            if sample is not None:
                self._outbox.put(MessageKind.METER_VALUES, tx.ref, {"connector": tx.connector, "values": [sample]})

    def end(self, tx: Transaction, meter_stop: int, stopped_at: str, reason: StopReason, id_tag: str | None,
            end_sample: dict[str, Any] | None, stop_end_sample: dict[str, Any] | None) -> None:
        """Record the end and queue Transaction.End MeterValues and StopTransaction."""
        with self._store.atomic() as db:
            db.execute(
                "UPDATE transactions SET meter_stop = ?, stopped_at = ?, stop_reason = ?, last_energy_wh = ?"
                " WHERE ref = ?", [meter_stop, stopped_at, reason.value, meter_stop, tx.ref])
            if end_sample is not None:
                self._outbox.put(MessageKind.METER_VALUES, tx.ref, {"connector": tx.connector, "values": [end_sample]})
            transaction_data = [*tx.begin_values, *([stop_end_sample] if stop_end_sample else [])]
            self._outbox.put(MessageKind.TRANSACTION_STOP, tx.ref,
                             {"id_tag": id_tag, "meter_stop": meter_stop, "timestamp": stopped_at,
                              "reason": reason.value, "transaction_data": transaction_data})
        log.info("transaction stopped connector=%d tx_ref=%d reason=%s meterStop=%d energy_wh=%d",
                 tx.connector, tx.ref, reason, meter_stop, meter_stop - tx.meter_start)

    def confirm_start(self, ref: int, remote_id: str, id_tag_status: AuthorizationStatus | None,
                      parent_id_tag: str | None = None) -> None:
        """The CSMS confirmed the start: its id for the transaction, its verdict on the idTag and the idTag's
        group if it names one; call inside the confirmation's atomic block."""
        self._store.db.execute("UPDATE transactions SET remote_id = ?, id_tag_status = ?,"
                               " parent_id_tag = coalesce(?, parent_id_tag) WHERE ref = ?",
                               [remote_id, id_tag_status and id_tag_status.value, parent_id_tag, ref])

    def prune(self) -> int:
        """Delete finished transactions with nothing left to send, beyond the newest KEEP_FINISHED."""
        with self._store.atomic() as db:
            removed = db.execute(
                "DELETE FROM transactions WHERE stopped_at IS NOT NULL"
                " AND ref NOT IN (SELECT tx_ref FROM outbox)"
                " AND ref NOT IN (SELECT ref FROM transactions ORDER BY ref DESC LIMIT ?)", [KEEP_FINISHED]).rowcount
        if removed:
            log.info("pruned confirmed transaction records removed=%d kept=%d", removed, KEEP_FINISHED)
        return removed

    def unfinished(self) -> list[tuple[Transaction, float]]:
        """Transactions without a recorded end, with their last stored register value."""
        rows = self._store.db.execute(
            "SELECT ref, connector, id_tag, meter_start, started_at, remote_id, parent_id_tag, id_tag_status,"
            " begin_values, last_energy_wh FROM transactions WHERE stopped_at IS NULL ORDER BY ref").fetchall()
        return [(Transaction(*row[:7], refused=_refused(row[7]), begin_values=json.loads(row[8] or "[]")), row[9])
                for row in rows]


def _refused(id_tag_status: str | None) -> bool:
    """Whether the StartTransaction.conf status stored for a transaction refused its idTag (None: no answer yet)."""
    return id_tag_status is not None and AuthorizationStatus(id_tag_status) not in VALID_STATUSES
