"""Durability: a damaged database, a dead link or a killed daemon loses and doubles nothing."""

import asyncio
import os

import pytest

from tests import crash_injection
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


async def test_whole_session_while_the_csms_is_unreachable_is_replayed_once_in_order(make_daemon, csms):
    d = await make_daemon(ocpp={"MeterValueSampleInterval": 1, "AllowOfflineTxForUnknownId": True})
    async with asyncio.timeout(10):  # the boot's own queued message (StartupOfTheDevice) is delivered first
        while (await d.state())["outbox"]["depth"]:
            await asyncio.sleep(0.05)
    await d.set_link(False)
    await d.card_start(1)
    await asyncio.sleep(2.5)
    await d.card_stop(1)
    queued = (await d.state())["outbox"]["depth"]
    assert queued >= 5, "start, Transaction.Begin, periodic values, Transaction.End, stop"
    assert not any(m.action in ("StartTransaction", "MeterValues", "StopTransaction") for m in csms.received)
    await d.set_link(True)
    stop = await csms.wait_for("StopTransaction")
    tx_id = csms.transaction_ids[0]
    sent = [m for m in csms.received if m.action in ("StartTransaction", "MeterValues", "StopTransaction")]
    assert len(sent) == queued, "each queued message arrives exactly once"
    assert sent[0].action == "StartTransaction" and sent[-1] is stop
    assert all(m.payload["transactionId"] == tx_id for m in sent[1:]), "the CSMS's id is patched in"
    stamps = [m.payload["meterValue"][0]["timestamp"] for m in sent[1:-1]]
    assert stamps == sorted(stamps) and sent[0].payload["timestamp"] <= stamps[0] <= stop.payload["timestamp"]
    async with asyncio.timeout(5):
        while (await d.state())["outbox"]["depth"]:
            await asyncio.sleep(0.05)  # removed once the StopTransaction.conf is in


async def test_crash_injection_fast(tmp_path):
    """50 SIGKILLs at seeded moments (see tests/crash_injection.py): nothing lost, nothing doubled."""
    report = await crash_injection.run(tmp_path, kills=50, seed=11)
    print(report.summary())
    assert report.problems == [] and report.lost == 0 and report.doubled_stops == 0
    assert sum(report.kills.values()) == 50 and report.sessions >= 25
    assert report.resent_starts_identical and set(report.kills) >= {"StartTransaction", "StopTransaction",
                                                                   "MeterValues", "SendLocalList", "Authorize"}
