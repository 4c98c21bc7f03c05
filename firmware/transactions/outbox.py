"""Persistent outgoing queue: transaction messages (StartTransaction, MeterValues, StopTransaction) and any
other message that must reach the CSMS (a kind of its own, with or without a transaction).

A message is written in the same database transaction as the state change that caused it, sent
strictly in order, and removed only after the CSMS confirmed it. Bodies are protocol-independent;
the protocol adapter translates them at send time, the same way every time, so a resend is verbatim.
A message the CSMS keeps answering with a CALLERROR moves to `dead_letters` after
TransactionMessageAttempts tries (OCPP 1.6 §4.10 "Error responses to transaction-related messages").

Growth is bounded: past MAX_MESSAGES unsent messages (a long outage), every other periodic
MeterValues of the oldest transactions is dropped, and the log says so. StartTransaction,
StopTransaction and each transaction's Transaction.Begin and Transaction.End values are never
dropped. Dead letters keep the newest MAX_DEAD_LETTERS.
"""

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from firmware.clock import Clock, now_iso
from firmware.persistence.db import Store
from firmware.transactions.metering import ReadingContext

log = logging.getLogger(__name__)

MAX_MESSAGES = 50_000
"""A week offline with 4 connectors charging nonstop, sampled every 60 s, fits without thinning
(4 * 7 * 24 * 60 = 40,320 MeterValues). Measured: 40,000 queued MeterValues with the default
measurand take 11.5 MB of SQLite; with every measurand (8 sampled values each) 5,000 take 6.9 MB,
so the bound is about 70 MB."""
MAX_DEAD_LETTERS = 1_000


class MessageKind(StrEnum):
    """The transaction messages. The outbox's kinds are open: another block queues its own under its own name."""

    TRANSACTION_START = "TransactionStart"
    METER_VALUES = "MeterValues"
    TRANSACTION_STOP = "TransactionStop"


_PERIODIC = (f"kind = '{MessageKind.METER_VALUES.value}' AND json_extract(body, '$.values[0].sampledValue[0].context')"
             f" = '{ReadingContext.SAMPLE_PERIODIC.value}'")
"""The messages that may be thinned: periodic MeterValues (never a transaction's first or last)."""


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    kind: str
    """A `MessageKind` for transaction messages, another block's own name otherwise."""
    tx_ref: int | None
    """The transaction the message belongs to, if any."""
    body: dict[str, Any]
    created_at: str
    attempts: int
    remote_id: str | None = None
    """The CSMS's id of that transaction, once it confirmed the start."""
    offline: bool = False
    """Queued while the link to the CSMS was down (OCPP 2.0.1 TransactionEvent `offline`)."""
    sequence: int = 0
    """How many messages of its transaction the CSMS confirmed before this one (OCPP 2.0.1 `seqNo`: gap-free, as a
    message set aside as a dead letter takes no number)."""


def _kind(name: str) -> str:
    return MessageKind._value2member_map_.get(name, name)  # type: ignore[return-value]


class Outbox:
    def __init__(self, store: Store, clock: Clock, max_messages: int = MAX_MESSAGES) -> None:
        self._store = store
        self._clock = clock
        self.max_messages = max_messages
        self._wakeup = asyncio.Event()
        self._removed = asyncio.Event()
        self.link_up: Callable[[], bool] = lambda: True
        """Whether the CSMS link is up now (the adapter's `online`): a message queued while it is not is marked
        offline."""

    def put(self, kind: str, tx_ref: int | None, body: dict[str, Any]) -> None:
        """Queue a message; call inside the `Store.atomic()` block of the state change.

        Boot-relative tokens (an event of a session that began before the clock was trusted) are
        dated here when the clock is trusted now.
        """
        text = json.dumps(body)
        if self._clock.trusted and "boot:" in text:
            text = self._clock.resolve_tokens([text])[0]
        self._store.db.execute("INSERT INTO outbox (kind, tx_ref, body, created_at, offline) VALUES (?, ?, ?, ?, ?)",
                               [str(kind), tx_ref, text, now_iso(), not self.link_up()])
        if self.depth() > self.max_messages:
            self._thin()
        self._wakeup.set()

    def _thin(self) -> None:
        """Drop every other periodic MeterValues, oldest first, until a tenth of the room is free."""
        excess = self.depth() - self.max_messages * 9 // 10
        dropped = self._store.db.execute(
            f"DELETE FROM outbox WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n"
            f" FROM outbox WHERE {_PERIODIC}) WHERE n % 2 = 0 LIMIT ?)", [excess]).rowcount
        if dropped:
            log.warning("outbox full, thinned periodic MeterValues dropped=%d max_messages=%d (starts, stops and "
                        "each transaction's first and last values are kept)", dropped, self.max_messages)
        else:
            log.error("outbox full and nothing left to thin depth=%d max_messages=%d; nothing billable is dropped",
                      self.depth(), self.max_messages)

    def head(self) -> OutboxMessage | None:
        """The oldest unconfirmed message."""
        row = self._store.db.execute(
            "SELECT id, kind, tx_ref, body, created_at, attempts, remote_id, offline, confirmed_messages FROM outbox"
            " LEFT JOIN transactions ON ref = tx_ref ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return OutboxMessage(row[0], _kind(row[1]), row[2], json.loads(row[3]), row[4], row[5], row[6], bool(row[7]),
                             row[8] or 0)

    async def wait(self) -> None:
        """Wait until something is queued (returns at once if something was queued since last time)."""
        await self._wakeup.wait()
        self._wakeup.clear()

    def confirmed(self, message: OutboxMessage, apply: Callable[[], None]) -> None:
        """The CSMS confirmed the message: remove it and `apply` its effects, in one database transaction."""
        with self._store.atomic() as db:
            self._remove(message)
            if message.tx_ref is not None:
                db.execute("UPDATE transactions SET confirmed_messages = confirmed_messages + 1 WHERE ref = ?",
                           [message.tx_ref])
            apply()

    def _remove(self, message: OutboxMessage) -> None:
        self._store.db.execute("DELETE FROM outbox WHERE id = ?", [message.id])
        self._removed.set()

    async def wait_removed(self) -> None:
        """Wait until some message leaves the queue."""
        self._removed.clear()
        await self._removed.wait()

    def record_failure(self, message: OutboxMessage, error: str, max_attempts: int) -> bool:
        """Count a failed attempt; after the last one move the message to dead_letters. True if moved."""
        attempts = message.attempts + 1
        with self._store.atomic() as db:
            if attempts < max_attempts:
                db.execute("UPDATE outbox SET attempts = ? WHERE id = ?", [attempts, message.id])
                return False
            db.execute("INSERT INTO dead_letters (id, kind, tx_ref, body, created_at, failed_at, error)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", [message.id, str(message.kind), message.tx_ref,
                                                         json.dumps(message.body), message.created_at, now_iso(),
                                                         error])
            db.execute("DELETE FROM dead_letters WHERE id NOT IN (SELECT id FROM dead_letters ORDER BY id DESC"
                       " LIMIT ?)", [MAX_DEAD_LETTERS])
            self._remove(message)
        log.error("message dead-lettered kind=%s tx_ref=%s attempts=%d error=%s",
                  message.kind, message.tx_ref, attempts, error)
        return True

    def last_id(self) -> int:
        """The id of the newest message ever queued (0: none yet); ids only grow (AUTOINCREMENT)."""
        row = self._store.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        return 0 if row is None else row[0]

    async def wait_sent_through(self, last: int) -> None:
        """Wait until every message queued up to id `last` has left the queue (confirmed or dead-lettered)."""
        while (head := self.head()) is not None and head.id <= last:
            await self.wait_removed()

    def depth(self) -> int:
        return self._store.db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def oldest(self) -> str | None:
        """When the oldest unsent message was queued (None when the queue is empty)."""
        row = self._store.db.execute("SELECT created_at FROM outbox ORDER BY id LIMIT 1").fetchone()
        return None if row is None else row[0]

    def dead_letter_count(self) -> int:
        return self._store.db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
