"""The Local Authorization List, kept in SQLite (OCPP 1.6 §3.5, §5.10 GetLocalListVersion, §5.15 SendLocalList).

The CSMS owns this list: it replaces it (Full) or edits it (Differential), and every update is
applied in one database transaction, so a power cut leaves the old list or the new one, never a mix.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum

from firmware.auth.idtag import AuthorizationStatus, IdTagInfo
from firmware.persistence.db import Store

log = logging.getLogger(__name__)

VERSION_KEY = "local_list_version"


class UpdateType(StrEnum):
    """OCPP 1.6 UpdateType."""

    FULL = "Full"
    DIFFERENTIAL = "Differential"


class UpdateStatus(StrEnum):
    """OCPP 1.6 UpdateStatus (SendLocalList.conf)."""

    ACCEPTED = "Accepted"
    FAILED = "Failed"
    NOT_SUPPORTED = "NotSupported"
    VERSION_MISMATCH = "VersionMismatch"


@dataclass(frozen=True)
class ListEntry:
    id_tag: str
    info: IdTagInfo | None
    """None in a Differential update: remove the idTag from the list."""
    token_type: str | None = None
    """OCPP 2.0.1 IdTokenType.type (ISO14443, Central, eMAID, ...), kept with the entry; None: a 1.6 idTag."""


@dataclass(frozen=True)
class ListUpdate:
    version: int
    update_type: UpdateType
    entries: list[ListEntry]


class _TooLong(Exception):
    """Raised inside the update's transaction to roll it back."""


class LocalList:
    def __init__(self, store: Store, max_entries: int, max_update: int) -> None:
        """`max_entries`: LocalAuthListMaxLength; `max_update`: SendLocalListMaxLength."""
        self._store = store
        self.max_entries = max_entries
        self.max_update = max_update

    def version(self) -> int:
        """GetLocalListVersion: 0 whenever the list is empty (OCPP 1.6 GetLocalListVersion.conf), else
        the version of the last update."""
        if self.count() == 0:
            return 0
        return int(self._store.meta(VERSION_KEY) or 0)

    def count(self) -> int:
        return self._store.db.execute("SELECT count(*) FROM local_list").fetchone()[0]

    def token_type(self, id_tag: str) -> str | None:
        """The type the list keeps for `id_tag` (None: not listed, or listed by 1.6)."""
        row = self._store.db.execute("SELECT token_type FROM local_list WHERE id_tag = ?", [id_tag]).fetchone()
        return None if row is None else row[0]

    def lookup(self, id_tag: str) -> IdTagInfo | None:
        row = self._store.db.execute(
            "SELECT status, expiry_date, parent_id_tag FROM local_list WHERE id_tag = ?", [id_tag]).fetchone()
        return None if row is None else IdTagInfo(AuthorizationStatus(row[0]), row[1], row[2])

    def apply(self, update: ListUpdate) -> UpdateStatus:
        """SendLocalList: apply a Full or Differential update atomically.

        OCPP 1.6 §5.15: a Differential update needs a listVersion higher than the current one
        (VersionMismatch otherwise); a Full update replaces the list whatever its version, except that a list
        with entries cannot take a version below 1 (§5.10: 0 means the list is empty, -1 that there is no
        list; a list versioned so would answer GetLocalListVersion with a lie, and a Differential update
        "above" it would be taken with any version). The version held survives restarts. An update
        longer than SendLocalListMaxLength, or one that would leave more than LocalAuthListMaxLength
        entries, Fails and changes nothing. An entry without idTagInfo removes the idTag (AuthorizationData);
        a Full update needs it on every entry (Failed otherwise). Identifiers in the list leave the Authorization Cache
        (§3.5: they are never cached).
        """
        kind = update.update_type
        if len(update.entries) > self.max_update:
            log.warning("local list update failed: %d entries, at most %d per update",
                        len(update.entries), self.max_update)
            return UpdateStatus.FAILED
        removals = [(e.id_tag,) for e in update.entries if e.info is None]
        if kind is UpdateType.FULL and removals:
            log.warning("local list update failed: %d entries of a Full update have no idTagInfo", len(removals))
            return UpdateStatus.FAILED
        if kind is UpdateType.FULL and update.entries and update.version < 1:
            log.warning("local list update failed: a Full update with entries needs listVersion 1 or more, got %.20s",
                        update.version)
            return UpdateStatus.FAILED
        current = self.version()
        if kind is UpdateType.DIFFERENTIAL and update.version <= current:
            log.warning("local list update refused: Differential version %d is not above %d",
                        update.version, current)
            return UpdateStatus.VERSION_MISMATCH
        rows = [(e.id_tag, e.info.status.value, e.info.expiry_date, e.info.parent_id_tag, e.token_type)
                for e in update.entries if e.info is not None]
        rows.sort(key=lambda row: row[0].lower())  # in the index's order (NOCASE): a quarter faster than as sent
        try:
            with self._store.atomic() as db:
                if kind is UpdateType.FULL:
                    db.execute("DELETE FROM local_list")
                else:
                    db.conn.executemany("DELETE FROM local_list WHERE id_tag = ?", removals)
                db.conn.executemany(
                    "INSERT OR REPLACE INTO local_list (id_tag, status, expiry_date, parent_id_tag, token_type)"
                    " VALUES (?, ?, ?, ?, ?)", rows)
                size = self.count()
                if size > self.max_entries:
                    raise _TooLong(size)
                self._store.set_meta(VERSION_KEY, str(update.version))
                # Cache entry by cache entry (the cache is the small one; IN would walk the whole list)
                db.execute("DELETE FROM auth_cache WHERE EXISTS"
                           " (SELECT 1 FROM local_list WHERE local_list.id_tag = auth_cache.id_tag)")
        except _TooLong:
            log.warning("local list update failed: it would hold %d entries, at most %d allowed",
                        size, self.max_entries)
            return UpdateStatus.FAILED
        log.info("local list updated type=%s version=%d entries=%d size=%d", kind, update.version,
                 len(update.entries), size)
        return UpdateStatus.ACCEPTED
