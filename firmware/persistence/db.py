"""The one SQLite database of evsed: WAL, synchronous=FULL, numbered schema migrations.

Every state change happens in one `atomic()` block and is written before the hardware acts on it. The running
daemon writes through the standard library's sqlite3 with fixed statements; sqlite-utils runs the schema
migrations and is imported only when the schema moves (an install or an upgrade), since loading it costs 5 MB of
memory and 0.07 s at every start (bench/import_rss.py, bench/targets.py) for builders the daemon's statements do
not need.
At start the database is checked; one that is damaged (it fails quick_check or is not an SQLite file) is
moved aside and a fresh one started, so damaged data never makes the daemon crash-loop. A database another
process holds locked is waited for (`BUSY_TIMEOUT_S`), then refused (`StorageBusy`); one that cannot be
opened at all (a directory, no permission, an I/O error, a full disk) is refused (`StorageError`). Neither
is ever moved aside: the transactions and queued messages in it are kept.
"""

import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from firmware.persistence.migrations import MIGRATIONS

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0
"""How long any statement waits for a lock another process holds (a backup tool, an sqlite3 shell) before
it fails: at start the daemon then exits with `StorageBusy`. The event loop is blocked while it waits."""

_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_UNUSABLE = {sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
             sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOLFS, sqlite3.SQLITE_AUTH}
"""Primary result codes of a file that is fine as far as anyone knows but cannot be used here and now."""


class StorageError(Exception):
    """The database cannot be used and must not be replaced: the daemon does not start."""

    kind = "storage error"

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class StorageBusy(StorageError):
    """Another process held the database locked for longer than `BUSY_TIMEOUT_S`."""

    kind = "storage busy"


class _QuickCheckFailed(sqlite3.DatabaseError):
    """SQLite's quick_check found damage."""


def _primary_code(e: sqlite3.Error) -> int | None:
    """The primary result code (SQLITE_BUSY for SQLITE_BUSY_RECOVERY, ...), None when SQLite gave none."""
    code = getattr(e, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _is_damaged(e: sqlite3.DatabaseError) -> bool:
    """A file SQLite cannot read as a database, or one that fails quick_check: the only kind moved aside."""
    return isinstance(e, _QuickCheckFailed) or _primary_code(e) in _DAMAGED


@contextmanager
def _refusing_unusable(path: Path) -> Iterator[None]:
    """Turn a lock held too long and a file that cannot be opened into `StorageBusy` / `StorageError`."""
    try:
        yield
    except sqlite3.Error as e:
        code = _primary_code(e)
        if code in _BUSY:
            raise StorageBusy(path, f"another process held it locked for over {BUSY_TIMEOUT_S:g} s "
                                    f"(sqlite: {e})") from e
        if code in _UNUSABLE:
            raise StorageError(path, f"cannot be opened (sqlite: {e}, {e.sqlite_errorname})") from e
        raise
    except OSError as e:
        raise StorageError(path, f"cannot be opened or moved aside ({e})") from e


class Database:
    """One sqlite3 connection in autocommit mode, whose transactions take the write lock at BEGIN (IMMEDIATE),
    where the busy timeout applies: a deferred BEGIN that has read first gets "database is locked" at once,
    without waiting, when another process holds the write lock. Every write goes through `atomic()`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._savepoints = 0

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self.conn.executemany(sql, rows)

    @contextmanager
    def atomic(self) -> Iterator["Database"]:
        """One transaction; a nested block is a savepoint, undone alone when it raises."""
        if self.conn.in_transaction:
            self._savepoints += 1
            name = f"nested_{self._savepoints}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:  # an error may have ended the whole transaction already
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


class Store:
    """Owns the database connection. Single writer: the daemon's event loop."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the database at `path`; `StorageBusy`/`StorageError` when it cannot be used."""
        self.path = path
        with _refusing_unusable(path):
            if path.is_dir():
                raise StorageError(path, "is a directory, not a database file")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = self._open_or_replace()
            self._owner_only()
            self._migrate()  # a failing migration is a bug: it stops the daemon, it never discards data

    def _open_or_replace(self) -> Database:
        """The database, checked; a damaged one is moved aside and a fresh one started."""
        try:
            return self._open()
        except sqlite3.DatabaseError as e:
            if not _is_damaged(e):
                raise
            aside = self._move_aside()
            log.error("database unreadable, moved aside and started fresh path=%s moved_to=%s error=%s "
                      "(transactions not yet sent and the Local List are lost; the CSMS will see "
                      "GetLocalListVersion 0)", self.path, aside, e)
        return self._open()

    def _open(self) -> Database:
        """Connect, check the file (SQLite's quick_check) and take the write lock once; sqlite3.Error when not."""
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        try:
            # Autocommit outside atomic() blocks: no statement is ever left in an implicit transaction.
            db = Database(connection)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise _QuickCheckFailed(f"integrity check: {'; '.join(problems[:3])}")
            # Another process's write lock (a backup, a shell) is waited for here, not found in recovery.
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
        except BaseException:
            connection.close()
            raise
        return db

    def _owner_only(self) -> None:
        """The database holds secrets (the AuthorizationKey): readable by the service user only, whatever the umask
        it was created under."""
        for suffix in ("", "-wal", "-shm"):
            file = self.path.with_name(self.path.name + suffix)
            try:
                file.chmod(0o600)
            except FileNotFoundError:
                pass
            except OSError as e:  # another user's file: it works, but say what is open to whom
                log.warning("database permissions not narrowed path=%s error=%s", file, e)

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
        if self.schema_version >= len(MIGRATIONS):
            return
        from sqlite_utils import Database as Migrator

        # No sqlite-utils plugins: evsed uses none, and finding them scans every installed package
        # (26 ms and 1.4 MB here) and would let any installed one run code on this connection.
        migrator = Migrator(self.db.conn, execute_plugins=False)
        for version in range(self.schema_version + 1, len(MIGRATIONS) + 1):
            with self.atomic():
                MIGRATIONS[version - 1](migrator)
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
        self.db.execute("INSERT INTO meta (name, value) VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET value = excluded.value", [name, value])

    def close(self) -> None:
        self.db.close()
