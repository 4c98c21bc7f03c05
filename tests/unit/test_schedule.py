"""Smart Charging limits (`firmware/smart_charging/schedule.py`) on the examples of OCPP 1.6 edition 2 and their
edges: §3.13.7's daily default profile, §3.13.2's weekly calendar with a holiday exception stacked on top, §5.16.4's
notes on duration and recurrence, §3.13.1's purposes and §3.13.3's combination, the sharing of the
ChargePointMaxProfile, §5.7's composite schedule (connector n and connector 0), and `next_change`'s boundaries."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from firmware.smart_charging.profiles import Kind, Limit, Period, Profile, Purpose, RateUnit, Recurrency, Schedule
from firmware.smart_charging.schedule import (
    COMPOSITE_MAX_PERIODS,
    CompositePeriod,
    charge_point_limit,
    composite,
    connector_limit,
    next_change,
    offers,
)

MONDAY = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = 3600
DAY = 24 * HOUR
A, W = RateUnit.AMPERES, RateUnit.WATTS
CP_MAX, TX_DEFAULT, TX = Purpose.CHARGE_POINT_MAX, Purpose.TX_DEFAULT, Purpose.TX
ABSOLUTE, RECURRING, RELATIVE = Kind.ABSOLUTE, Kind.RECURRING, Kind.RELATIVE
RATING = Limit(32.0)


def t(day: int = 0, hour: float = 0, second: float = 0) -> datetime:
    """`day` days, `hour` hours and `second` seconds after Monday 2024-01-01 00:00 UTC."""
    return MONDAY + timedelta(days=day, hours=hour, seconds=second)


def profile(purpose: Purpose, periods: list[tuple], *, connector: int = 0, level: int = 0, kind: Kind = ABSOLUTE,
            unit: RateUnit = A, duration: int | None = None, start: datetime | None = MONDAY,
            recurrency: Recurrency | None = None, valid_from: datetime | None = None,
            valid_to: datetime | None = None, installed_at: datetime | None = None, pid: int = 1) -> Profile:
    """`periods`: (start_s, limit) or (start_s, limit, number_phases)."""
    schedule = Schedule(unit, tuple(Period(*p) for p in periods), duration, None if kind is RELATIVE else start)
    return Profile(pid, connector, level, purpose, kind, schedule, recurrency, valid_from, valid_to,
                   installed_at=installed_at)


def amps(limit: Limit | None) -> float | None:
    return None if limit is None else round(limit.amps, 6)


# §3.13.7: "a daily default profile that limits the power to 6 kW between 08:00h and 20:00h"
EXAMPLE_3_13_7 = profile(TX_DEFAULT, [(0, 11000, 3), (8 * HOUR, 6000, 3), (20 * HOUR, 11000, 3)], pid=100,
                         kind=RECURRING, recurrency=Recurrency.DAILY, unit=W, duration=DAY,
                         start=datetime(2013, 1, 1, tzinfo=UTC))
FULL, REDUCED = round(11000 / 690, 6), round(6000 / 690, 6)

# §3.13.2: "a charging profile of purpose TxDefaultProfile with a duration and recurrence of one week that allows full
# power or current charging on weekdays from 23:00h to 06:00h and from 00:00h to 24:00h in weekends and reduced power
# or current charging at other times. On top of that, one can define other TxDefaultProfiles that define exception to
# this rule, for example for holidays."
WEEK = profile(TX_DEFAULT, [(0, 32)] + [p for day in range(5) for p in ((day * DAY + 6 * HOUR, 10),
                                                                       (day * DAY + 23 * HOUR, 32))],
               kind=RECURRING, recurrency=Recurrency.WEEKLY, duration=7 * DAY, start=MONDAY, pid=1)
HOLIDAY = profile(TX_DEFAULT, [(0, 32)], level=1, valid_from=t(9), valid_to=t(10), start=t(9), pid=2)
"""Wednesday 2024-01-10 is a holiday: full current all day."""

LIMIT_CASES = [
    # (name, profiles, at, expected amperes of connector 1 in a transaction started at MONDAY)
    ("3.13.7 before 08:00", [EXAMPLE_3_13_7], t(2, 7, 3599), FULL),
    ("3.13.7 at 08:00", [EXAMPLE_3_13_7], t(2, 8), REDUCED),
    ("3.13.7 before 20:00", [EXAMPLE_3_13_7], t(2, 20, -1), REDUCED),
    ("3.13.7 at 20:00", [EXAMPLE_3_13_7], t(2, 20), FULL),
    ("3.13.7 recurs years after its start", [EXAMPLE_3_13_7], t(400, 12), REDUCED),
    ("3.13.2 weekday daytime", [WEEK, HOLIDAY], t(2, 12), 10),
    ("3.13.2 weekday night", [WEEK, HOLIDAY], t(3, 23, 1), 32),
    ("3.13.2 weekday early morning", [WEEK, HOLIDAY], t(4, 5, 3599), 32),
    ("3.13.2 weekday at 06:00", [WEEK, HOLIDAY], t(4, 6), 10),
    ("3.13.2 Saturday", [WEEK, HOLIDAY], t(5, 12), 32),
    ("3.13.2 Sunday late", [WEEK, HOLIDAY], t(6, 23, 3599), 32),
    ("3.13.2 Monday again at 06:00", [WEEK, HOLIDAY], t(7, 6), 10),
    ("3.13.2 the holiday (level 1 prevails)", [WEEK, HOLIDAY], t(9, 12), 32),
    ("3.13.2 after the holiday's validTo", [WEEK, HOLIDAY], t(10, 12), 10),
    ("3.13.2 before the holiday's validFrom", [WEEK, HOLIDAY], t(8, 12), 10),
    ("validFrom in the future: the lower level until then", [
        profile(TX_DEFAULT, [(0, 16)]), profile(TX_DEFAULT, [(0, 8)], level=1, valid_from=t(1))], t(0, 23), 16),
    ("validFrom is included", [
        profile(TX_DEFAULT, [(0, 16)]), profile(TX_DEFAULT, [(0, 8)], level=1, valid_from=t(1))], t(1), 8),
    ("validTo is excluded", [
        profile(TX_DEFAULT, [(0, 16)]), profile(TX_DEFAULT, [(0, 8)], level=1, valid_to=t(1))], t(1), 16),
    ("5.16.4 periods beyond the duration are not executed: the lower level", [
        profile(TX_DEFAULT, [(0, 6)]),
        profile(TX_DEFAULT, [(0, 10), (1800, 20), (3600, 30)], level=1, duration=3600)], t(0, 1), 6),
    ("5.16.4 the last period lasts until the duration ends", [
        profile(TX_DEFAULT, [(0, 10), (600, 20)], duration=7200)], t(0, 2, -1), 20),
    ("5.16.4 the duration ended, nothing lower: no limit", [
        profile(TX_DEFAULT, [(0, 10), (600, 20)], duration=7200)], t(0, 2), None),
    ("3.13.2 stacking without a duration never falls back", [
        profile(TX_DEFAULT, [(0, 6)]), profile(TX_DEFAULT, [(0, 10)], level=1)], t(300), 10),
    ("stack level fallback: the higher profile has not started", [
        profile(TX_DEFAULT, [(0, 6)]), profile(TX_DEFAULT, [(0, 10)], level=1, start=t(1))], t(0, 12), 6),
    ("5.16.4 a daily schedule shorter than a day, across midnight", [
        profile(TX_DEFAULT, [(0, 32)]), profile(TX_DEFAULT, [(0, 16), (4 * HOUR, 8)], level=1, kind=RECURRING,
                                                recurrency=Recurrency.DAILY, duration=8 * HOUR, start=t(0, 22))],
     t(5, 2, 1), 8),
    ("5.16.4 ... before midnight", [
        profile(TX_DEFAULT, [(0, 32)]), profile(TX_DEFAULT, [(0, 16), (4 * HOUR, 8)], level=1, kind=RECURRING,
                                                recurrency=Recurrency.DAILY, duration=8 * HOUR, start=t(0, 22))],
     t(5, 23), 16),
    ("5.16.4 ... then the lower level until 22:00", [
        profile(TX_DEFAULT, [(0, 32)]), profile(TX_DEFAULT, [(0, 16), (4 * HOUR, 8)], level=1, kind=RECURRING,
                                                recurrency=Recurrency.DAILY, duration=8 * HOUR, start=t(0, 22))],
     t(5, 6), 32),
    ("5.16.4 a daily schedule longer than a day is cut at the next recurrence", [
        profile(TX_DEFAULT, [(0, 10), (DAY + HOUR, 20)], kind=RECURRING, recurrency=Recurrency.DAILY,
                duration=30 * HOUR)], t(3, 1, 1), 10),
    ("a weekly schedule across midnight Sunday to Monday", [
        profile(TX_DEFAULT, [(0, 32), (2 * DAY, 10)], kind=RECURRING, recurrency=Recurrency.WEEKLY, start=t(5))],
     t(13, 23, 3599), 32),
    ("... Monday 00:00", [
        profile(TX_DEFAULT, [(0, 32), (2 * DAY, 10)], kind=RECURRING, recurrency=Recurrency.WEEKLY, start=t(5))],
     t(14), 10),
    ("a Recurring schedule's startSchedule anchors: occurrences before it count", [
        profile(TX_DEFAULT, [(0, 10), (HOUR, 20)], kind=RECURRING, recurrency=Recurrency.DAILY,
                start=datetime(2030, 1, 1, 8, tzinfo=UTC))], t(0, 9, 1), 20),
    ("a Recurring profile without startSchedule has no effect", [
        profile(TX_DEFAULT, [(0, 10)], kind=RECURRING, recurrency=Recurrency.DAILY, start=None)], t(1), None),
    ("a Recurring profile without recurrencyKind has no effect", [
        profile(TX_DEFAULT, [(0, 10)], kind=RECURRING, start=MONDAY)], t(1), None),
    ("an Absolute profile without startSchedule starts when installed", [
        profile(TX_DEFAULT, [(0, 10), (HOUR, 20)], start=None, installed_at=t(1))], t(1, 0.5), 10),
    ("... and before that has no limit", [
        profile(TX_DEFAULT, [(0, 10), (HOUR, 20)], start=None, installed_at=t(1))], t(0, 23), None),
    ("Relative: from the transaction's start", [
        profile(TX_DEFAULT, [(0, 10), (HOUR, 16)], kind=RELATIVE)], t(0, 1.4), 10),
    ("Relative: ... an hour after it", [profile(TX_DEFAULT, [(0, 10), (HOUR, 16)], kind=RELATIVE)], t(0, 1.5), 16),
    ("Relative: before the transaction", [profile(TX_DEFAULT, [(0, 10)], kind=RELATIVE)], t(0, 0.4), None),
    ("W with 3 phases: amperes per phase at 230 V", [profile(TX_DEFAULT, [(0, 11040)], unit=W)], t(1), 16),
    ("W with 1 phase", [profile(TX_DEFAULT, [(0, 7360, 1)], unit=W)], t(1), 32),
    ("the connector's own TxDefault over connector 0's at one level", [
        profile(TX_DEFAULT, [(0, 20)], pid=1), profile(TX_DEFAULT, [(0, 12)], connector=1, pid=2)], t(1), 12),
    ("... whatever the order", [
        profile(TX_DEFAULT, [(0, 12)], connector=1, pid=2), profile(TX_DEFAULT, [(0, 20)], pid=1)], t(1), 12),
    ("connector 0's TxDefault at a higher level prevails", [
        profile(TX_DEFAULT, [(0, 20)], level=1), profile(TX_DEFAULT, [(0, 12)], connector=1)], t(1), 20),
    ("another connector's TxDefault does not apply", [profile(TX_DEFAULT, [(0, 12)], connector=2)], t(1), None),
    ("3.13.1 TxProfile overrules TxDefaultProfile (higher limit, lower level)", [
        profile(TX_DEFAULT, [(0, 8)], connector=1, level=5), profile(TX, [(0, 24)], connector=1)], t(1), 24),
    ("TxProfile past its duration: the TxDefaultProfile again", [
        profile(TX_DEFAULT, [(0, 8)], connector=1), profile(TX, [(0, 24)], connector=1, duration=HOUR)], t(0, 2), 8),
    ("stacked TxProfiles: the highest level", [
        profile(TX, [(0, 24)], connector=1), profile(TX, [(0, 18)], connector=1, level=1)], t(1), 18),
    ("the ChargePointMaxProfile is not the connector's own limit", [profile(CP_MAX, [(0, 6)])], t(1), None),
]


@pytest.mark.parametrize(("profiles", "when", "expected"), [case[1:] for case in LIMIT_CASES],
                         ids=[case[0] for case in LIMIT_CASES])
def test_connector_limit(profiles, when, expected):
    assert amps(connector_limit(profiles, 1, when, t(0, 0.5), in_transaction=True)) == expected


def test_a_tx_profile_applies_only_in_a_transaction():
    profiles = [profile(TX_DEFAULT, [(0, 8)], connector=1), profile(TX, [(0, 24)], connector=1)]
    assert amps(connector_limit(profiles, 1, t(1), MONDAY, in_transaction=False)) == 8
    assert connector_limit([profile(TX, [(0, 24)], connector=1)], 1, t(1), MONDAY, in_transaction=False) is None


def test_number_of_phases_is_kept():
    assert connector_limit([profile(TX_DEFAULT, [(0, 7360, 1)], unit=W)], 1, t(1), MONDAY, True) == Limit(32.0, 1)
    assert connector_limit([profile(TX_DEFAULT, [(0, 16)])], 1, t(1), MONDAY, True) == Limit(16.0, 3)


CHARGE_POINT_CASES = [
    ("connector 0's highest level", [profile(CP_MAX, [(0, 40)]), profile(CP_MAX, [(0, 60)], level=2)], t(1), 60),
    ("falls back when the higher one ended", [
        profile(CP_MAX, [(0, 40)]), profile(CP_MAX, [(0, 60)], level=2, duration=HOUR)], t(1), 40),
    ("a ChargePointMaxProfile on a connector > 0 is ignored", [profile(CP_MAX, [(0, 40)], connector=1)], t(1), None),
    ("TxDefault is not a charge point limit", [profile(TX_DEFAULT, [(0, 40)])], t(1), None),
    ("a Relative one starts when installed", [
        profile(CP_MAX, [(0, 40), (HOUR, 20)], kind=RELATIVE, installed_at=t(1))], t(1, 0.5), 40),
    ("... an hour later", [
        profile(CP_MAX, [(0, 40), (HOUR, 20)], kind=RELATIVE, installed_at=t(1))], t(1, 1), 20),
]


@pytest.mark.parametrize(("profiles", "when", "expected"), [case[1:] for case in CHARGE_POINT_CASES],
                         ids=[case[0] for case in CHARGE_POINT_CASES])
def test_charge_point_limit(profiles, when, expected):
    assert amps(charge_point_limit(profiles, when)) == expected


def own(connector: int, limit: float, phases: int | None = None) -> Profile:
    return profile(TX_DEFAULT, [(0, limit, phases)], connector=connector, pid=connector)


SHARING_CASES = [
    # (name, ChargePointMaxProfile amperes or None, profiles of the connectors, sessions, offered amperes)
    ("one session takes all", 32, [], [1], {1: 32}),
    ("two share equally", 32, [], [1, 2], {1: 16, 2: 16}),
    ("three share equally", 30, [], [1, 2, 3], {1: 10, 2: 10, 3: 10}),
    ("one below its share keeps its limit, the rest is shared", 32, [own(1, 6), own(2, 20)], [1, 2, 3],
     {1: 6, 2: 13, 3: 13}),
    ("two below their shares", 32, [own(1, 6), own(2, 8)], [1, 2, 3], {1: 6, 2: 8, 3: 18}),
    ("all below their shares", 32, [own(1, 5), own(2, 5)], [1, 2], {1: 5, 2: 5}),
    ("an own limit above the share is capped", 20, [own(1, 32)], [1], {1: 20}),
    ("connectors without a session get no share", 32, [own(2, 6)], [1], {1: 32}),
    ("no ChargePointMaxProfile: the own limits", None, [own(1, 6)], [1, 2], {1: 6, 2: None}),
    ("a zero ChargePointMaxProfile", 0, [own(1, 6)], [1, 2], {1: 0, 2: 0}),
]


@pytest.mark.parametrize(("cap", "profiles", "charging", "expected"), [case[1:] for case in SHARING_CASES],
                         ids=[case[0] for case in SHARING_CASES])
def test_offers_share_the_charge_point_max_profile(cap, profiles, charging, expected):
    profiles = profiles + ([] if cap is None else [profile(CP_MAX, [(0, cap)], pid=99)])
    offered = offers(profiles, t(1), {connector: MONDAY for connector in charging})
    assert {connector: amps(limit) for connector, limit in offered.items()} == expected
    if cap is not None:
        assert sum(limit.amps for limit in offered.values()) <= cap + 1e-9


def test_offers_in_watts_and_phases():
    profiles = [profile(CP_MAX, [(0, 22080)], unit=W), own(1, 7360 / 230, 1)]  # 32 A on 3 phases; 32 A on 1
    offered = offers(profiles, t(1), {1: MONDAY, 2: MONDAY})
    assert offered == {1: Limit(16.0, 1), 2: Limit(16.0, 3)}, "the fewest phases of the limits an offer is made of"


def test_offers_follow_the_schedules_over_time():
    """§3.13.3: the minimum for each time interval, which need not be of the same length for each purpose."""
    profiles = [profile(CP_MAX, [(0, 40), (2 * HOUR, 20)]), profile(TX, [(0, 32), (HOUR, 8)], connector=1,
                                                                    kind=RELATIVE)]
    sessions = {1: t(0, 0.5), 2: t(0, 0.5)}
    assert {c: amps(limit) for c, limit in offers(profiles, t(0, 1), sessions).items()} == {1: 20, 2: 20}
    assert {c: amps(limit) for c, limit in offers(profiles, t(0, 1.5), sessions).items()} == {1: 8, 2: 32}
    assert {c: amps(limit) for c, limit in offers(profiles, t(0, 2), sessions).items()} == {1: 8, 2: 12}
    assert offers(profiles, t(0, 2), {}) == {}


def periods(*rows: tuple) -> list[CompositePeriod]:
    return [CompositePeriod(start_s, limit, phases) for start_s, limit, phases in rows]


COMPOSITE_CASES = [
    # (name, profiles, connector, start, duration, unit, sessions, expected periods)
    ("3.13.7 in W", [EXAMPLE_3_13_7], 1, t(3), DAY, W, {},
     periods((0, 11000, 3), (8 * HOUR, 6000, 3), (20 * HOUR, 11000, 3))),
    ("3.13.7 in A, from 12:00", [EXAMPLE_3_13_7], 1, t(3, 12), DAY, A, {},
     periods((0, 6000 / 690, 3), (8 * HOUR, 11000 / 690, 3), (20 * HOUR, 6000 / 690, 3))),
    ("nothing limits: the rating", [], 1, t(3), DAY, A, {}, periods((0, 32, 3))),
    ("the rating in W", [], 2, t(3), DAY, W, {}, periods((0, 32 * 690, 3))),
    ("equal consecutive periods merged", [profile(TX_DEFAULT, [(0, 16), (HOUR, 16), (2 * HOUR, 10)])], 1, t(0),
     DAY, A, {}, periods((0, 16, 3), (2 * HOUR, 10, 3))),
    ("a profile ending onto an equal lower level: merged", [
        profile(TX_DEFAULT, [(0, 16)]), profile(TX_DEFAULT, [(0, 8), (HOUR, 16)], level=1, duration=2 * HOUR)],
     1, t(0), DAY, A, {}, periods((0, 8, 3), (HOUR, 16, 3))),
    ("shared with a running session", [profile(CP_MAX, [(0, 32), (HOUR, 20)])], 1, t(0), 2 * HOUR, A,
     {2: t(0, 0.5)}, periods((0, 16, 3), (HOUR, 10, 3))),
    ("Relative from the connector's session start", [profile(TX, [(0, 10), (HOUR, 16)], connector=1, kind=RELATIVE)],
     1, t(0, 1), 2 * HOUR, A, {1: t(0, 0.5)}, periods((0, 10, 3), (HOUR // 2, 16, 3))),
    ("Relative from the start without a session", [profile(TX_DEFAULT, [(0, 10), (HOUR, 16)], kind=RELATIVE)],
     1, t(0, 1), 2 * HOUR, A, {}, periods((0, 10, 3), (HOUR, 16, 3))),
    ("the duration cuts the schedule", [profile(TX_DEFAULT, [(0, 10), (HOUR, 16)])], 1, t(0), HOUR, A, {},
     periods((0, 10, 3))),
    ("a change inside a second shows from the next whole second", [profile(TX_DEFAULT, [(0, 10), (HOUR, 16)])], 1,
     t(0, 0, 0.25), 2 * HOUR, A, {}, periods((0, 10, 3), (HOUR, 16, 3))),
    ("connector 0: the sum of the connectors' limits or ratings", [profile(TX_DEFAULT, [(0, 16)], connector=1)],
     0, t(0), DAY, A, {}, periods((0, 48, 3))),
    ("connector 0: the ChargePointMaxProfile where lower", [
        profile(CP_MAX, [(0, 20), (HOUR, 100)]), profile(TX_DEFAULT, [(0, 16)], connector=1)],
     0, t(0), DAY, A, {}, periods((0, 20, 3), (HOUR, 48, 3))),
    ("connector 0 in W: each connector's power", [
        profile(TX_DEFAULT, [(0, 3680, 1)], connector=1, unit=W), profile(TX_DEFAULT, [(0, 10)], connector=2)],
     0, t(0), DAY, W, {}, periods((0, 3680 + 6900, 3))),
    ("connector 0: a TxProfile counts during a transaction", [
        profile(TX_DEFAULT, [(0, 16)]), profile(TX, [(0, 6)], connector=1)], 0, t(0), DAY, A, {1: t(0)},
     periods((0, 22, 3))),
    ("an empty duration", [], 1, t(0), 0, A, {}, []),
]


@pytest.mark.parametrize(("profiles", "connector", "start", "duration", "unit", "sessions", "expected"),
                         [case[1:] for case in COMPOSITE_CASES], ids=[case[0] for case in COMPOSITE_CASES])
def test_composite(profiles, connector, start, duration, unit, sessions, expected):
    found = composite(profiles, connector, start, duration, unit, sessions, [1, 2], RATING)
    assert [(p.start_s, round(p.limit, 6), p.number_phases) for p in found] == \
        [(p.start_s, round(p.limit, 6), p.number_phases) for p in expected]


def test_composite_is_bounded():
    flapping = profile(TX_DEFAULT, [(s, 6 + s // 2 % 2) for s in range(0, DAY, 2)], kind=RECURRING,
                       recurrency=Recurrency.DAILY)
    found = composite([flapping], 1, t(0), 7 * DAY, A, {}, [1, 2], RATING)
    assert len(found) == COMPOSITE_MAX_PERIODS
    assert [p.start_s for p in found[:3]] == [0, 2, 4]


def test_composite_agrees_with_offers():
    profiles = [EXAMPLE_3_13_7, WEEK, HOLIDAY, profile(CP_MAX, [(0, 20), (5 * HOUR, 12)], kind=RECURRING,
                                                       recurrency=Recurrency.DAILY, duration=10 * HOUR, pid=7)]
    sessions = {2: t(8, 3)}
    for found in composite(profiles, 1, t(8), 3 * DAY, A, sessions, [1, 2], RATING):
        offered = offers(profiles, t(8, 0, found.start_s), {1: t(8), **sessions})[1] or RATING
        assert (found.limit, found.number_phases) == (offered.amps, offered.phases)


NEXT_CASES = [
    # (name, profiles, after, sessions, origin, expected)
    ("a period's start", [EXAMPLE_3_13_7], t(2, 7), {}, MONDAY, t(2, 8)),
    ("not `after` itself, on a boundary", [EXAMPLE_3_13_7], t(2, 8), {}, MONDAY, t(2, 20)),
    ("just before a boundary", [EXAMPLE_3_13_7], t(2, 8, -0.000001), {}, MONDAY, t(2, 8)),
    ("the next recurrence", [EXAMPLE_3_13_7], t(2, 21), {}, MONDAY, t(3)),
    ("a schedule's end", [profile(TX_DEFAULT, [(0, 6)], duration=HOUR)], t(0, 0.5), {}, MONDAY, t(0, 1)),
    ("nothing after the end", [profile(TX_DEFAULT, [(0, 6)], duration=HOUR)], t(0, 1), {}, MONDAY, None),
    ("a schedule's start", [profile(TX_DEFAULT, [(0, 6)], start=t(2))], t(1), {}, MONDAY, t(2)),
    ("nothing changes: None", [profile(TX_DEFAULT, [(0, 6)])], t(1), {}, MONDAY, None),
    ("no profiles: None", [], t(1), {}, MONDAY, None),
    ("validFrom", [profile(TX_DEFAULT, [(0, 6), (HOUR, 8)], valid_from=t(1, 0.5))], t(0, 2), {}, MONDAY,
     t(1, 0.5)),
    ("validTo", [profile(TX_DEFAULT, [(0, 6)], valid_to=t(1, 0.5))], t(0, 2), {}, MONDAY, t(1, 0.5)),
    ("past validTo: nothing", [profile(TX_DEFAULT, [(0, 6), (DAY, 8)], valid_to=t(0, 5))], t(0, 5), {}, MONDAY,
     None),
    ("periods beyond the duration are no boundary", [profile(TX_DEFAULT, [(0, 6), (2 * HOUR, 8)], duration=HOUR)],
     t(0, 0.5), {}, MONDAY, t(0, 1)),
    ("a recurring schedule shorter than its recurrence: its end, then the next recurrence", [
        profile(TX_DEFAULT, [(0, 6)], kind=RECURRING, recurrency=Recurrency.DAILY, duration=HOUR, start=t(0, 22))],
     t(3, 22, 1), {}, MONDAY, t(3, 23)),
    ("... the next recurrence", [
        profile(TX_DEFAULT, [(0, 6)], kind=RECURRING, recurrency=Recurrency.DAILY, duration=HOUR, start=t(0, 22))],
     t(3, 23), {}, MONDAY, t(4, 22)),
    ("weekly across midnight", [
        profile(TX_DEFAULT, [(0, 32), (2 * DAY, 10)], kind=RECURRING, recurrency=Recurrency.WEEKLY, start=t(5))],
     t(6, 12), {}, MONDAY, t(7)),
    ("Relative from the session's start", [profile(TX, [(0, 6), (HOUR, 8)], connector=1, kind=RELATIVE)],
     t(0, 1), {1: t(0, 0.5)}, MONDAY, t(0, 1.5)),
    ("Relative from the origin without a session", [
        profile(TX_DEFAULT, [(0, 6), (HOUR, 8)], connector=1, kind=RELATIVE)], t(0, 1), {2: t(0, 0.5)}, t(0, 0.25),
     t(0, 1.25)),
    ("connector 0's Relative TxDefault: every session's start", [
        profile(TX_DEFAULT, [(0, 6), (HOUR, 8)], kind=RELATIVE)], t(0, 1.5), {1: t(0, 0.25), 2: t(0, 0.75)},
     t(0, 0.6), t(0, 1.6)),
    ("a session's start after `after` is a boundary", [profile(TX_DEFAULT, [(0, 6)], connector=1, kind=RELATIVE)],
     t(0), {1: t(0, 1)}, MONDAY, t(0, 1)),
    ("the first of all profiles", [EXAMPLE_3_13_7, profile(CP_MAX, [(0, 6), (7 * HOUR, 8)])], t(0, 2), {}, MONDAY,
     t(0, 7)),
]


@pytest.mark.parametrize(("profiles", "after", "sessions", "origin", "expected"), [case[1:] for case in NEXT_CASES],
                         ids=[case[0] for case in NEXT_CASES])
def test_next_change(profiles, after, sessions, origin, expected):
    assert next_change(profiles, after, sessions, origin) == expected


def test_next_change_walks_every_change_of_the_offers():
    """Walking `next_change` from an instant visits every instant where `offers` changes (sampled every minute
    over three days of stacked, recurring, relative and valid-limited profiles on whole minutes), never `after`."""
    sessions = {1: t(0, 1.5), 2: t(1, 7.25)}
    profiles = [
        EXAMPLE_3_13_7, WEEK, HOLIDAY,
        profile(CP_MAX, [(0, 40), (5 * HOUR, 20), (9 * HOUR, 60)], kind=RECURRING, recurrency=Recurrency.DAILY,
                duration=14 * HOUR, start=t(0, 3), pid=3),
        profile(CP_MAX, [(0, 25)], level=1, valid_from=t(1, 10), valid_to=t(1, 13), pid=4),
        profile(TX, [(0, 6), (2 * HOUR, 16), (5 * HOUR, 10)], connector=1, kind=RELATIVE, duration=20 * HOUR, pid=5),
        profile(TX_DEFAULT, [(0, 12), (HOUR, 14)], connector=2, kind=RELATIVE, level=3, pid=6),
    ]
    start, end = t(0), t(3)
    walked, when = set(), start
    while (when := next_change(profiles, when, sessions, start)) is not None and when < end:
        assert when not in walked
        walked.add(when)
    minutes = [start + timedelta(minutes=m) for m in range(3 * 24 * 60)]
    changed = {now for before, now in pairwise(minutes)
               if offers(profiles, before, sessions) != offers(profiles, now, sessions)}
    assert changed, "the profiles do change the offers"
    assert changed <= walked, sorted(changed - walked)
