"""Dating what was recorded before the wall clock was trusted.

Events recorded while the clock was untrusted carry boot-relative tokens (see `firmware.clock`).
The moment the clock becomes trusted, every stored token — in queued and dead-lettered messages and
in transaction records — is rewritten to its date in one database transaction, so the queue is
then sent, and resent, verbatim.
"""

import logging

from firmware.clock import Clock
from firmware.persistence.db import Store

log = logging.getLogger(__name__)

COLUMNS = (("outbox", "id", "body"), ("dead_letters", "id", "body"),
           ("transactions", "ref", "started_at"), ("transactions", "ref", "stopped_at"),
           ("transactions", "ref", "begin_values"))
"""Where tokens can be stored: (table, key, column)."""


def resolve_stored(store: Store, clock: Clock) -> int:
    """Rewrite every stored token to its date; returns how many values changed."""
    rows = [(table, key, column, row_key, text)
            for table, key, column in COLUMNS
            for row_key, text in store.db.execute(
                f"SELECT {key}, {column} FROM {table} WHERE {column} LIKE 'boot:%' OR {column} LIKE '%\"boot:%'")]
    if not rows:
        return 0
    dated = clock.resolve_tokens([text for *_, text in rows])
    with store.atomic() as db:
        for (table, key, column, row_key, _), text in zip(rows, dated, strict=True):
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", [text, row_key])
    log.info("dated what was recorded before the clock was trusted values=%d", len(rows))
    return len(rows)
