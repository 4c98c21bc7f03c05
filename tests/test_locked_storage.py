"""A database another process holds locked is waited for, then refused with EXIT_STORAGE; never moved aside.
A path that is a directory is a storage error too. Only a damaged file is moved aside (tests/test_durability.py)."""

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest
from ocpp.v16 import call

from firmware.cli.main import EXIT_STORAGE
from firmware.persistence.db import BUSY_TIMEOUT_S, Store
from tests.conftest import CHARGE_POINT, STARTUP_S, Daemon

HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
if sys.argv[2] == "locking_mode":
    connection.execute("PRAGMA locking_mode=EXCLUSIVE")  # WAL without shared memory: not even readers get in
connection.execute("BEGIN EXCLUSIVE")
connection.execute("SELECT count(*) FROM meta").fetchone()
print("held", flush=True)
time.sleep(float(sys.argv[3]))
connection.execute("ROLLBACK")
"""
"""A second process that holds the database (`BEGIN EXCLUSIVE`, optionally in exclusive locking mode) for
argv[3] seconds, writing nothing."""

LOCK_MODES = ["begin_exclusive", "locking_mode"]


@asynccontextmanager
async def held(db: Path, mode: str, seconds: float) -> AsyncIterator[asyncio.subprocess.Process]:
    """The database held by another process from entry until `seconds` have passed (or exit, which kills it)."""
    holder = await asyncio.create_subprocess_exec(sys.executable, "-c", HOLDER, str(db), mode, str(seconds),
                                                  stdout=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(10):
            assert await holder.stdout.readline() == b"held\n"  # type: ignore[union-attr]
        yield holder
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.wait()


async def run_until_exit(d: Daemon, within: float) -> int | None:
    """`evsed run` on the daemon's config; its exit code, or None when still running after `within` s (killed)."""
    with open(d.log_path, "ab") as log:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "firmware", "run", "-c", str(d.config),
                                                    stdout=log, stderr=log)
    try:
        async with asyncio.timeout(within):
            return await proc.wait()
    except TimeoutError:
        return None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def rows(db: Path) -> dict[str, int]:
    """Row counts of the tables that must survive (read after every other process let go)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("transactions", "outbox")}
    finally:
        connection.close()


async def with_queued_sessions(make_daemon) -> Daemon:
    """A stopped daemon whose database holds two offline transactions and their queued messages."""
    d = await make_daemon(ocpp={"MeterValueSampleInterval": 1, "AllowOfflineTxForUnknownId": True})
    await d.set_link(False)
    await d.card_start(1)
    await d.card_start(2, uid="04A1B2C4")
    await asyncio.sleep(1.2)
    assert await d.stop() == 0
    return d


def settings_row(db: Path, name: str) -> str | None:
    """A stored setting's value (JSON text)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT value FROM settings WHERE name = ?", [name]).fetchone()
        return None if row is None else row[0]
    finally:
        connection.close()


def moved_aside(db: Path) -> list[str]:
    return [p.name for p in db.parent.glob(f"{db.name}.corrupt-*")]


@pytest.mark.parametrize("mode", LOCK_MODES)
async def test_a_database_locked_longer_than_the_busy_timeout_is_refused_and_never_moved(make_daemon, tmp_path, mode):
    d = await with_queued_sessions(make_daemon)
    db = tmp_path / "state" / "evsed.db"
    before = rows(db)
    assert before["transactions"] == 2 and before["outbox"] >= 6
    async with held(db, mode, seconds=120):
        code = await run_until_exit(d, within=BUSY_TIMEOUT_S + STARTUP_S)
    assert code == EXIT_STORAGE, f"exit {code}\n{d.log()[-3000:]}"
    log = d.log()
    assert f"storage busy, not started path={db}" in log
    assert "moved aside" not in log and "Traceback" not in log
    assert moved_aside(db) == [] and db.is_file()
    assert rows(db) == before, "every transaction and queued message is still there"


@pytest.mark.parametrize("mode", LOCK_MODES)
async def test_a_database_locked_briefly_is_waited_for_and_the_daemon_starts(make_daemon, csms, tmp_path, mode):
    d = await with_queued_sessions(make_daemon)
    db = tmp_path / "state" / "evsed.db"
    async with held(db, mode, seconds=BUSY_TIMEOUT_S / 2) as holder:
        d = await make_daemon(workdir=tmp_path, boot=False)  # starts while the lock is held
        with suppress(TimeoutError):
            async with asyncio.timeout(BUSY_TIMEOUT_S):
                await holder.wait()
    assert holder.returncode == 0, "the lock was held its whole time, then let go"
    assert d.proc is not None and d.proc.returncode is None, d.log()[-3000:]
    assert "moved aside" not in d.log() and moved_aside(db) == []
    started = await csms.wait_for("StartTransaction", within=STARTUP_S)
    assert started.payload["idTag"] in ("04A1B2C3", "04A1B2C4"), "the queued sessions reach the CSMS"
    await csms.wait_for("StopTransaction", within=STARTUP_S)


async def test_a_directory_at_the_database_path_is_a_storage_error(csms, tmp_path):
    d = Daemon(tmp_path, csms.url)
    db = tmp_path / "state" / "evsed.db"
    db.mkdir(parents=True)
    (db / "keep").write_text("not evsed's")
    code = await run_until_exit(d, within=STARTUP_S)
    assert code == EXIT_STORAGE, f"exit {code}\n{d.log()[-3000:]}"
    log = d.log()
    assert f"storage error, not started path={db}" in log and "is a directory" in log
    assert "Traceback" not in log
    assert db.is_dir() and (db / "keep").read_text() == "not evsed's"
    assert moved_aside(db) == []




async def test_a_brief_lock_while_running_is_waited_for(daemon, csms, tmp_path):
    """Every statement waits out another process's lock, a transaction whose first statement reads included
    (a deferred BEGIN would fail at once): a setting changed and a session ended meanwhile are written once
    the lock is let go."""
    await daemon.card_start(1)
    async with held(tmp_path / "state" / "evsed.db", "begin_exclusive", BUSY_TIMEOUT_S / 2) as holder:
        changed = await csms.call(CHARGE_POINT, call.ChangeConfiguration(key="HeartbeatInterval", value="123"))
        await daemon.cmd(cmd="tap", uid="04A1B2C3", connector=1)  # the session ends while the lock is held
        async with asyncio.timeout(BUSY_TIMEOUT_S * 2):
            await holder.wait()
    assert holder.returncode == 0, "the lock was held its whole time, then let go"
    assert changed.status == "Accepted"
    await csms.wait_for("StopTransaction")
    c = await daemon.wait_state(1, status="Finishing", transaction_id=None)
    assert (c["contactor_closed"], c["error_code"]) == (False, "NoError")
    assert "database is locked" not in daemon.log()
    assert await daemon.stop() == 0
    assert settings_row(tmp_path / "state" / "evsed.db", "heartbeat_interval_s") == "123", "the change was stored"


def test_a_failing_inner_block_is_undone_alone_and_a_failing_outer_one_entirely(tmp_path):
    """`Store.atomic()`: one transaction; a nested block is a savepoint (a confirmation's cache learning inside the
    pump's removal of the message): its error undoes it alone when the outer block catches it, and an error
    reaching the outer block undoes everything."""
    store = Store(tmp_path / "evsed.db")

    def names() -> list[str]:
        return [name for name, in store.db.execute("SELECT name FROM meta WHERE name LIKE 't%' ORDER BY name")]

    with store.atomic():
        store.set_meta("t1", "kept")
        with pytest.raises(ValueError), store.atomic():
            store.set_meta("t2", "undone")
            raise ValueError("inner")
        store.set_meta("t3", "kept")
    assert names() == ["t1", "t3"]
    with pytest.raises(ValueError), store.atomic():
        store.set_meta("t4", "undone")
        with store.atomic():
            store.set_meta("t5", "undone")
        raise ValueError("outer")
    assert names() == ["t1", "t3"] and not store.db.conn.in_transaction
    store.close()
