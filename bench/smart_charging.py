"""Benchmark of the Smart Charging computation (`firmware/smart_charging/schedule.py`), in this process.

Ten stacked profiles of 48 periods each (three ChargePointMaxProfiles, four TxDefaultProfiles on connector 0 and on
connectors 1 and 2, three TxProfiles; Absolute, Recurring Daily and Weekly, Relative; A and W; durations and
validity), two connectors charging. Prints the time per call of `offers` and of `next_change` (what the daemon
computes at each change of the limits; together they must stay well under 1 ms), their sum, and of a 24 h
GetCompositeSchedule for connector 1 and for connector 0, with the number of periods it gives.

    .venv/bin/python -m bench.smart_charging [--calls 20000]
"""

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.charger import p99
from firmware.smart_charging.profiles import Kind, Limit, Period, Profile, Purpose, RateUnit, Recurrency, Schedule
from firmware.smart_charging.schedule import composite, next_change, offers

NOW = datetime(2026, 3, 2, 6, tzinfo=UTC)
PERIODS = 48
CONNECTORS = (1, 2)
SESSIONS = {1: NOW - timedelta(hours=2, seconds=17), 2: NOW - timedelta(minutes=40)}
RATING = Limit(32.0)


def schedule(unit: RateUnit, step_s: int, low: float, high: float, start: datetime | None = None,
             duration_s: int | None = None) -> Schedule:
    """PERIODS periods of `step_s` seconds, the limit rising from `low` towards `high` and falling back."""
    limits = [low + (high - low) * abs(PERIODS / 2 - i) / (PERIODS / 2) for i in range(PERIODS)]
    return Schedule(unit, tuple(Period(i * step_s, round(limit, 1), 3 if i % 4 else 1) for i, limit in
                                enumerate(limits)), duration_s, start)


def stacked_profiles() -> list[Profile]:
    day = NOW.replace(hour=0)
    cp_max, tx_default, tx = Purpose.CHARGE_POINT_MAX, Purpose.TX_DEFAULT, Purpose.TX
    absolute, recurring, relative = Kind.ABSOLUTE, Kind.RECURRING, Kind.RELATIVE
    a, w, daily, weekly = RateUnit.AMPERES, RateUnit.WATTS, Recurrency.DAILY, Recurrency.WEEKLY
    return [
        Profile(1, 0, 0, cp_max, absolute, schedule(a, 1800, 40, 80, day)),
        Profile(2, 0, 1, cp_max, recurring, schedule(w, 1800, 20_000, 55_000, day), daily),
        Profile(3, 0, 2, cp_max, absolute, schedule(a, 900, 30, 63, NOW - timedelta(hours=1), 12 * 3600),
                valid_to=NOW + timedelta(hours=10)),
        Profile(4, 0, 0, tx_default, recurring, schedule(a, 12_600, 10, 32, day - timedelta(days=3)), weekly),
        Profile(5, 0, 1, tx_default, relative, schedule(w, 900, 4_000, 22_000)),
        Profile(6, 1, 0, tx_default, recurring, schedule(a, 1800, 6, 32, day, 20 * 3600), daily),
        Profile(7, 2, 1, tx_default, absolute, schedule(a, 600, 8, 24, NOW - timedelta(hours=3))),
        Profile(8, 1, 0, tx, relative, schedule(a, 600, 6, 32), transaction="1"),
        Profile(9, 1, 1, tx, absolute, schedule(w, 300, 1_500, 11_000, NOW - timedelta(minutes=30), 4 * 3600),
                transaction="1", valid_from=NOW - timedelta(minutes=30)),
        Profile(10, 2, 0, tx, relative, schedule(a, 450, 10, 20), transaction="2"),
    ]


def per_call_us(work: Callable[[datetime], Any], instants: list[datetime]) -> list[float]:
    times_us = []
    for at in instants:
        start = time.perf_counter()
        work(at)
        times_us.append(1e6 * (time.perf_counter() - start))
    return times_us


def report(what: str, times_us: list[float]) -> None:
    print(f"{what:60s} p50 {statistics.median(times_us):8.1f} µs, p99 {p99(times_us):8.1f} µs")


def main(calls: int) -> None:
    profiles = stacked_profiles()
    instants = [NOW + timedelta(seconds=i * 86_400 / calls + 0.25) for i in range(calls)]  # a day, off the second
    offer_us = per_call_us(lambda at: offers(profiles, at, SESSIONS), instants)
    change_us = per_call_us(lambda at: next_change(profiles, at, SESSIONS, at), instants)
    both_us = per_call_us(lambda at: (offers(profiles, at, SESSIONS), next_change(profiles, at, SESSIONS, at)),
                          instants)
    print(f"{len(profiles)} stacked profiles of {PERIODS} periods, {len(SESSIONS)} connectors charging, "
          f"{calls} instants over 24 h:")
    report("offers", offer_us)
    report("next_change", change_us)
    report("offers + next_change (what each change of the limits costs)", both_us)
    for connector in (1, 0):
        starts = instants[:: max(1, calls // 50)]
        found = composite(profiles, connector, NOW, 86_400, RateUnit.AMPERES, SESSIONS, CONNECTORS, RATING)
        composite_us = per_call_us(lambda at, c=connector: composite(profiles, c, at, 86_400, RateUnit.AMPERES,
                                                                     SESSIONS, CONNECTORS, RATING), starts)
        report(f"24 h composite, connector {connector} ({len(found)} periods)", composite_us)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    main(parser.parse_args().calls)
