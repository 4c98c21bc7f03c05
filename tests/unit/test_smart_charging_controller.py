"""`SmartCharging` in process (a real SQLite store, the real clock): a session's limit changes exactly at its
schedule's boundary and the controller wakes for nothing in between (no polling); a RemoteStart's TxProfile is stored
with the start and removed with it; the limit is rounded down so shares never add up to more than the maximum."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firmware.clock import iso
from firmware.persistence.db import Store
from firmware.settings import Settings
from firmware.smart_charging.controller import SmartCharging
from firmware.smart_charging.profiles import Kind, Period, Profile, Purpose, RateUnit, Schedule
from firmware.smart_charging.store import ProfileStore
from firmware.transactions.store import Transaction
from tests.clocks import RTC_CLOCK


def relative(profile_id: int, purpose: Purpose, *periods: tuple[int, float], connector_id: int = 0,
             kind: Kind = Kind.RELATIVE) -> Profile:
    schedule = Schedule(RateUnit.AMPERES, tuple(Period(start, limit) for start, limit in periods))
    return Profile(profile_id, connector_id, 0, purpose, kind, schedule)


Told = dict[int, list[tuple[float, float | None]]]
"""Per connector: (time.monotonic(), amps) for each time the controller told it its limit."""


def controller(tmp_path: Path, connectors: int = 2) -> tuple[SmartCharging, Told]:
    store = Store(tmp_path / "evsed.db")
    smart = SmartCharging(store, Settings(store, {}, fixed={"connectors": connectors}), RTC_CLOCK,
                          list(range(1, connectors + 1)), 32.0)
    told: Told = {n: [] for n in range(1, connectors + 1)}
    for n in told:
        smart.attach(n, lambda amps, n=n: told[n].append((time.monotonic(), amps)))
    return smart, told


def session(ref: int, connector: int, started: datetime) -> Transaction:
    return Transaction(ref, connector, "04A1B2C3", 0, iso(started))


async def test_the_limit_changes_at_the_boundary_and_nothing_wakes_in_between(tmp_path):
    smart, told = controller(tmp_path)
    assert smart.set_profile(relative(1, Purpose.TX_DEFAULT, (0, 16), (2, 8))) is None
    assert told[1] == [(told[1][0][0], None)]  # no transaction: no limit
    begun = time.monotonic()
    smart.session_started(1, session(1, 1, datetime.now(UTC)))
    runner = asyncio.create_task(smart.run())
    try:
        await asyncio.sleep(3.0)
    finally:
        runner.cancel()
    during = told[1][1:]
    assert during[0][1] == 16.0 and during[-1][1] == 8.0
    change = next(at for at, amps in during if amps == 8.0)
    assert 1.9 <= change - begun <= 2.3, "the 8 A period begins 2 s after the session's start"
    # Told at: session_started, run's first pass, the boundary (and once more as run wakes from its own
    # apply). Polling would add one per tick.
    assert len(during) <= 4, during


async def test_a_remote_start_profile_is_stored_with_its_transaction_and_removed_with_it(tmp_path):
    smart, told = controller(tmp_path)
    tx_profile = relative(7, Purpose.TX, (0, 6))
    assert smart.tx_profile_problem(tx_profile) is None
    smart.session_started(2, session(5, 2, datetime.now(UTC)), tx_profile)
    assert told[2][-1][1] == 6.0
    stored = ProfileStore(smart._profiles._store).all()  # read back from SQLite, as after a restart
    assert [(i.profile.id, i.profile.connector_id, i.tx_ref) for i in stored] == [(7, 2, 5)]
    smart.session_ended(2)
    assert ProfileStore(smart._profiles._store).all() == [] and told[2][-1][1] is None


async def test_a_tx_profile_left_by_a_transaction_that_did_not_resume_is_removed_at_start(tmp_path):
    smart, _ = controller(tmp_path)
    smart.session_started(1, session(3, 1, datetime.now(UTC)), relative(9, Purpose.TX, (0, 10)))
    restarted, told = controller(tmp_path)  # the transaction was closed while the daemon was down
    runner = asyncio.create_task(restarted.run())
    await asyncio.sleep(0.1)
    runner.cancel()
    assert ProfileStore(restarted._profiles._store).all() == [] and told[1][-1][1] is None


def test_shares_are_rounded_down_so_they_never_exceed_the_maximum(tmp_path):
    smart, told = controller(tmp_path, connectors=3)
    cap = relative(2, Purpose.CHARGE_POINT_MAX, (0, 32), kind=Kind.ABSOLUTE)
    assert smart.set_profile(cap) is None
    for n in (1, 2, 3):
        smart.session_started(n, session(n, n, datetime.now(UTC) - timedelta(seconds=1)))
    offered = [told[n][-1][1] for n in (1, 2, 3)]
    assert offered == [10.6, 10.6, 10.6] and sum(offered) <= 32  # 32 / 3 = 10.67, never 10.7
