"""The Authorization Cache, kept in SQLite (OCPP 1.6 §3.5, §5.4 ClearCache).

It remembers the latest idTagInfo the CSMS gave for each identifier, valid and not-valid alike,
so a card keeps working (or keeps being refused) while the CSMS is unreachable. Its size is
bounded: when full, not-valid and expired entries go first, then the least recently updated.
"""

import logging

from firmware.auth.idtag import VALID_STATUSES, AuthorizationStatus, IdTagInfo
from firmware.persistence.db import Store

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000

_VALID = ", ".join(f"'{s.value}'" for s in sorted(VALID_STATUSES))
_EVICTION_ORDER = (
    f"status IN ({_VALID}) AND (expiry_date IS NULL OR julianday(expiry_date) > julianday('now')), seq"
)
"""Not-valid first (an unreadable expiryDate sorts as not valid), then oldest update first."""


class AuthCache:
    def __init__(self, store: Store, max_entries: int = MAX_ENTRIES) -> None:
        self._store = store
        self.max_entries = max_entries

    def lookup(self, id_tag: str) -> IdTagInfo | None:
        row = self._store.db.execute(
            "SELECT status, expiry_date, parent_id_tag FROM auth_cache WHERE id_tag = ?", [id_tag]).fetchone()
        return None if row is None else IdTagInfo(AuthorizationStatus(row[0]), row[1], row[2])

    def put(self, id_tag: str, info: IdTagInfo) -> None:
        """Store the CSMS's latest answer for `id_tag`, evicting the least useful entry when full."""
        with self._store.atomic() as db:
            db.execute(
                "INSERT OR REPLACE INTO auth_cache (id_tag, status, expiry_date, parent_id_tag, seq)"
                " VALUES (?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM auth_cache))",
                [id_tag, info.status.value, info.expiry_date, info.parent_id_tag])
            excess = self.count() - self.max_entries
            if excess > 0:
                db.execute(f"DELETE FROM auth_cache WHERE id_tag IN "
                           f"(SELECT id_tag FROM auth_cache ORDER BY {_EVICTION_ORDER} LIMIT ?)", [excess])
                log.info("authorization cache full, evicted=%d max_entries=%d", excess, self.max_entries)

    def clear(self) -> None:
        with self._store.atomic() as db:
            db.execute("DELETE FROM auth_cache")
        log.info("authorization cache cleared")

    def count(self) -> int:
        return self._store.db.execute("SELECT count(*) FROM auth_cache").fetchone()[0]
