"""Smart Charging limits under random profiles (`firmware/smart_charging/schedule.py`): Hypothesis draws sets of up to
eight profiles of every purpose, kind, unit, recurrence, duration and validity on connectors 0 to 3, transactions
running on some connectors, and instants, and checks:

- the offered amperes add up to no more than the prevailing ChargePointMaxProfile's (§3.13.3), and no connector is
  offered more than its own limit;
- `next_change` is strictly after the instant it is asked from, and the offers are the same at any instant before it;
- a composite schedule's periods (§5.7) are what `offers` gives at their starts and at any whole second inside them;
  connector 0's never exceed the ChargePointMaxProfile.

CI runs a bounded, derandomized session (a few seconds):

    .venv/bin/python -m pytest tests/test_schedule_property.py

The long version draws fresh examples each run:

    EVSED_PROPERTY_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_schedule_property.py
"""

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.smart_charging.profiles import Kind, Limit, Period, Profile, Purpose, RateUnit, Recurrency, Schedule
from firmware.smart_charging.schedule import charge_point_limit, composite, connector_limit, next_change, offers

CI_EXAMPLES = 100
EXAMPLES = int(os.environ.get("EVSED_PROPERTY_EXAMPLES") or CI_EXAMPLES)
LONG_RUN = "EVSED_PROPERTY_EXAMPLES" in os.environ
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not LONG_RUN,
                    suppress_health_check=[HealthCheck.too_slow], print_blob=LONG_RUN)

BASE = datetime(2024, 3, 1, tzinfo=UTC)
DAY_S = 24 * 3600
SLACK = 1e-9
"""Amperes: what floating point may add when a limit is shared."""
CONNECTORS = (1, 2, 3)
RATING = Limit(32.0)

instants = st.integers(-DAY_S, DAY_S).map(lambda s: BASE + timedelta(seconds=s))
odd_instants = st.integers(-DAY_S * 1000, DAY_S * 1000).map(lambda ms: BASE + timedelta(milliseconds=ms))
"""Also between whole seconds."""
maybe_instants = st.none() | instants
LIMITS = {RateUnit.AMPERES: st.integers(0, 800).map(lambda tenths: tenths / 10),
          RateUnit.WATTS: st.integers(0, 44_000).map(float)}
PHASES = st.sampled_from([None, 1, 2, 3])
PERIOD_STARTS = st.lists(st.integers(1, 2 * DAY_S), max_size=5, unique=True).map(sorted)
DURATIONS = st.none() | st.integers(1, 3 * DAY_S)
CONNECTOR_OF = {Purpose.CHARGE_POINT_MAX: st.just(0), Purpose.TX_DEFAULT: st.sampled_from((0, *CONNECTORS)),
                Purpose.TX: st.sampled_from(CONNECTORS)}
"""§3.13.1: a ChargePointMaxProfile on connector 0 only, a TxProfile on a connector > 0 only."""


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    unit = draw(st.sampled_from(RateUnit))
    periods = tuple(Period(start, draw(LIMITS[unit]), draw(PHASES)) for start in [0, *draw(PERIOD_STARTS)])
    return Schedule(unit, periods, draw(DURATIONS), draw(maybe_instants))


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    purpose = draw(st.sampled_from(Purpose))
    kind = draw(st.sampled_from(Kind))
    recurrency = draw(st.sampled_from(Recurrency)) if kind is Kind.RECURRING and draw(st.integers(0, 9)) \
        else None
    valid_from, valid_to = (draw(instants) if draw(st.integers(0, 2)) == 0 else None for _ in range(2))
    return Profile(0, draw(CONNECTOR_OF[purpose]), draw(st.integers(0, 3)), purpose, kind, draw(schedules()),
                   recurrency, valid_from, valid_to, installed_at=draw(maybe_instants))


STANDING_CAP = Profile(0, 0, 0, Purpose.CHARGE_POINT_MAX, Kind.ABSOLUTE,
                      Schedule(RateUnit.AMPERES, (Period(0, 40.0),), start=BASE - timedelta(days=2)))
"""Half the sets stack their profiles over this one, so that most examples share a ChargePointMaxProfile."""
profile_sets = st.tuples(st.booleans(), st.lists(profiles(), min_size=1, max_size=8)).map(
    lambda drawn: tuple(replace(profile, id=pid)
                        for pid, profile in enumerate([STANDING_CAP] * drawn[0] + drawn[1], 1)))
sessions = st.dictionaries(st.sampled_from(CONNECTORS), odd_instants, max_size=3)


@SETTINGS
@given(profile_sets, sessions, odd_instants, instants, st.floats(0, 1, exclude_max=True))
def test_offers_and_their_next_change(profile_set, running, at, origin, fraction):
    offered = offers(profile_set, at, running)
    assert offered.keys() == running.keys()
    cap = charge_point_limit(profile_set, at)
    if cap is not None:
        assert sum(limit.amps for limit in offered.values()) <= cap.amps + SLACK
    for connector, started in running.items():
        own = connector_limit(profile_set, connector, at, started, True)
        assert (offered[connector] is None) == (own is None and cap is None)
        assert own is None or offered[connector].amps <= own.amps + SLACK

    change = next_change(profile_set, at, running, origin)
    until = at + timedelta(days=30) if change is None else change
    assert until > at
    for moment in (at + fraction * (until - at), until - timedelta(microseconds=1)):
        if at < moment < until:
            assert offers(profile_set, moment, running) == offered, moment


@SETTINGS
@given(profile_sets, sessions, st.sampled_from(CONNECTORS), odd_instants, st.integers(1, 2 * DAY_S),
       st.sampled_from(RateUnit), st.floats(0, 1, exclude_max=True))
def test_composites(profile_set, running, connector, start, duration_s, unit, fraction):
    periods = composite(profile_set, connector, start, duration_s, unit, running, CONNECTORS, RATING)
    assert periods and periods[0].start_s == 0
    assert all(a.start_s < b.start_s < duration_s and (a.limit, a.number_phases) != (b.limit, b.number_phases)
               for a, b in pairwise(periods))
    here = {connector: start, **running}

    def offered(second: int) -> tuple[float, int]:
        offer = offers(profile_set, start + timedelta(seconds=second), here)[connector] or RATING
        return offer.in_unit(unit), offer.phases

    for period in periods:
        assert (period.limit, period.number_phases) == offered(period.start_s)
    second = int(fraction * duration_s)
    inside = [period for period in periods if period.start_s <= second][-1]
    assert (inside.limit, inside.number_phases) == offered(second)

    for period in composite(profile_set, 0, start, duration_s, unit, running, CONNECTORS, RATING):
        cap = charge_point_limit(profile_set, start + timedelta(seconds=period.start_s))
        assert cap is None or period.limit <= cap.in_unit(unit) + SLACK
