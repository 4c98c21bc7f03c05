"""The one SQLite database of evsed: WAL, synchronous=FULL, numbered schema migrations.

Every state change happens in one `atomic()` block and is written before the hardware acts on it.
At start the database is checked; one that is corrupt or unreadable is moved aside and a fresh one
started, so a damaged SD card sector never makes the daemon crash-loop.
"""

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from firmware.persistence.migrations import MIGRATIONS

log = logging.getLogger(__name__)


class Store:
    """Owns the database connection. Single writer: the daemon's event loop."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as e:
            aside = self._move_aside()
            log.error("database unreadable, moved aside and started fresh path=%s moved_to=%s error=%s "
                      "(transactions not yet sent and the Local List are lost; the CSMS will see "
                      "GetLocalListVersion 0)", path, aside, e)
            self.db = self._open()
        self._migrate()  # a failing migration is a bug: it stops the daemon, it never discards data

    def _open(self) -> Database:
        """Connect and check the file (SQLite's quick_check); DatabaseError when it is damaged."""
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            # Autocommit outside atomic() blocks: no statement is ever left in an implicit transaction.
            # No sqlite-utils plugins: evsed uses none, and finding them scans every installed package at start
            # (26 ms and 1.4 MB here) and would let any installed one run code on this connection.
            db = Database(connection, execute_plugins=False)
            db.enable_wal()
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(f"integrity check: {'; '.join(problems[:3])}")
        except BaseException:
            connection.close()
            raise
        return db

    def _move_aside(self) -> Path:
        """Rename the database and its WAL/SHM files to `<name>.corrupt-<unix time>`."""
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            source = self.path.with_name(self.path.name + suffix)
            if source.exists():
                source.rename(aside.with_name(aside.name + suffix))
        return aside

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        for version in range(self.schema_version + 1, len(MIGRATIONS) + 1):
            with self.atomic():
                MIGRATIONS[version - 1](self.db)
                self.db.execute(f"PRAGMA user_version = {version}")
            log.info("storage schema migrated version=%d path=%s", version, self.path)

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """One transaction (nested blocks become savepoints)."""
        with self.db.atomic() as db:
            yield db

    def meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", [name]).fetchone()
        return None if row is None else row[0]

    def set_meta(self, name: str, value: str) -> None:
        self.db["meta"].upsert({"name": name, "value": value}, pk="name")

    def close(self) -> None:
        self.db.close()
