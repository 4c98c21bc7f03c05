"""Durability: a damaged database, a dead link or a killed daemon loses and doubles nothing."""

import os

import pytest

from tests.test_authorization import entry, list_status, list_version


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
async def test_corrupt_database_is_moved_aside_and_the_daemon_starts(make_daemon, csms, tmp_path, damage):
    d = await make_daemon()
    assert await list_status(csms, 3, "Full", [entry(f"{i:08X}") for i in range(5000)]) == "Accepted"
    assert await d.stop() == 0
    db = tmp_path / "state" / "evsed.db"
    if damage == "garbage":
        db.write_bytes(os.urandom(64 * 1024))
    else:
        with open(db, "r+b") as f:
            f.truncate(db.stat().st_size // 2)
    d = await make_daemon(workdir=tmp_path)
    assert "database unreadable, moved aside and started fresh" in d.log()
    assert [p.name for p in db.parent.glob("evsed.db.corrupt-*")], "the damaged file is kept for inspection"
    assert await list_version(csms) == 0, "the CSMS sees an empty list and sends it again"
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="tap", uid="04A1B2C3", connector=1)
    await d.wait_state(1, status="Charging", contactor_closed=True)
