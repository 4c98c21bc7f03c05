"""Smart Charging limits, computed: what each connector is offered, when that may change next, and the composite
schedule (OCPP 1.6 edition 2 §3.13 Smart Charging, §5.7 GetCompositeSchedule, §5.16.4's notes, §7.8 ChargingProfile,
§7.9 ChargingProfileKindType, §7.10 ChargingProfilePurposeType, §7.12 ChargingRateUnitType, §7.13 ChargingSchedule,
§7.14 ChargingSchedulePeriod, §7.37 RecurrencyKindType).

Pure functions: no I/O, no clock; each is given the instant it computes for. Datetimes are aware, in UTC or another
fixed offset, as evsed's clock and the 1.6 adapter give them (§3.14 recommends UTC; Python computes between two
datetimes of one DST zone in wall-clock time, which these rules do not assume).

**A profile's limit at an instant.** A profile is valid from validFrom (included) to validTo (excluded) (§7.8). Its
schedule's time 0 (§7.9, §7.13) is:

- Absolute: startSchedule, or when the charge point installed the profile if it gives none;
- Recurring: the latest occurrence of startSchedule, every 24 h (Daily) or 7 days (Weekly), not after the instant.
  startSchedule anchors the time of day or week: the occurrences before it count too (validFrom is what delays a
  profile). Without startSchedule or recurrencyKind a Recurring profile has no time 0 and no effect;
- Relative: the start of the connector's transaction (without one: the start the caller gives). A
  ChargePointMaxProfile belongs to no transaction: a Relative one (1.6 is silent; OCPP 2.0.1 K01.FR.38 forbids it)
  starts when it was installed.

The schedule lasts `duration` seconds from time 0, for ever without one; a Recurring schedule at most until its next
recurrence (§5.16.4: periods beyond the duration or the recurrence "SHALL not be executed", the last period before
the end lasts until it). At an instant the period in force is the last one whose startPeriod is not after the time
elapsed since time 0; before time 0, and from the end on, the profile gives no limit.

**Stacking (§3.13.2).** Of the profiles of one purpose, the one with the highest stackLevel that gives a limit at the
instant prevails: one not valid, not started or past its duration lets the next lower level apply (§5.16.4: "fall
back to default behaviour ... a ChargingProfile with a lower stackLevel"; without any, no limit).

**Purposes (§3.13.1, §3.13.3).** A connector's own limit is its TxProfile's during a transaction (it overrules
TxDefaultProfile), else the prevailing TxDefaultProfile among the connector's own and connector 0's; at one
stackLevel the connector's own wins (§3.13.1: connector 0's is "replaced only for that specific connector"). A
ChargePointMaxProfile (connector 0 only) limits all connectors together, and an offer is the minimum of the two.

**Units (§7.12).** Limits are compared and shared in amperes per phase: W become W / (230 V * numberPhases), 3
phases unless given. An offer's phases are the fewest of the limits it is made of.

**Sharing the ChargePointMaxProfile** (§3.13.3: "The combined energy flow of all connectors SHALL NOT be greater than
the limit set by ChargePointMaxProfile"; how to split it is the charge point's, §3.13.4 Load Balancing). Its amperes
per phase are shared max-min fairly ("water filling") among the connectors with a running transaction: each gets an
equal share, except that a connector whose own limit is below its equal share gets its own limit, and what it leaves
is shared equally among the others (smallest own limits first, repeatedly). One charging connector may take all of
it; 32 A among connectors limited to 6 A, 20 A and nothing gives 6 A, 13 A and 13 A. The offered amperes never add up
to more than the ChargePointMaxProfile's. Connectors without a transaction get no share, and the phases are not told
apart: a 1-phase connector's amperes count against the same per-phase limit as a 3-phase one's, which is safe
whichever phase it is wired to.
"""

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from math import inf
from operator import attrgetter

from firmware.smart_charging.profiles import Kind, Limit, Profile, Purpose, RateUnit, Recurrency, limit_of

SECOND = timedelta(seconds=1)
RECURRENCE_S = {Recurrency.DAILY: 24 * 3600, Recurrency.WEEKLY: 7 * 24 * 3600}
"""§7.37 RecurrencyKindType: how often a Recurring schedule starts again."""
COMPOSITE_MAX_PERIODS = 1000
"""A composite schedule ends after this many changes of the profiles, whatever its requested duration: its last
period then lasts until the duration ends (24 h of 10 profiles of 48 periods each stays far below it)."""

_START_S = attrgetter("start_s")
_STACK_LEVEL = attrgetter("stack_level")


@dataclass(frozen=True)
class CompositePeriod:
    """One period of a composite schedule (§7.14 ChargingSchedulePeriod, as in §6.22 GetCompositeSchedule.conf)."""

    start_s: int
    """Seconds after the composite's start."""
    limit: float
    """In the requested unit."""
    number_phases: int


def connector_limit(profiles: Sequence[Profile], connector_id: int, at: datetime, relative_start: datetime,
                    in_transaction: bool) -> Limit | None:
    """The connector's own limit at `at`, ignoring the ChargePointMaxProfile (§3.13.1): its TxProfile's when one
    gives a limit and `in_transaction` (TxProfile overrules TxDefaultProfile), else the prevailing TxDefaultProfile
    among the connector's own and connector 0's (at equal stackLevel the connector's own wins); None when none
    applies. Relative schedules start at `relative_start`. The connector's TxProfiles are taken to be its current
    transaction's: one "SHALL cease to be valid when the transaction terminates" (§7.10), the caller drops it."""
    if in_transaction:
        own = sorted(_of(profiles, Purpose.TX, connector_id), key=_STACK_LEVEL, reverse=True)
        limit = _prevailing(own, at, relative_start)
        if limit is not None:
            return limit
    defaults = [*_of(profiles, Purpose.TX_DEFAULT, connector_id), *_of(profiles, Purpose.TX_DEFAULT, 0)]
    defaults.sort(key=lambda profile: (profile.stack_level, profile.connector_id == connector_id), reverse=True)
    return _prevailing(defaults, at, relative_start)


def charge_point_limit(profiles: Sequence[Profile], at: datetime) -> Limit | None:
    """The prevailing ChargePointMaxProfile's limit at `at` (§3.13.1: connector 0's profiles of that purpose)."""
    ordered = sorted(_of(profiles, Purpose.CHARGE_POINT_MAX, 0), key=_STACK_LEVEL, reverse=True)
    return _prevailing(ordered, at, None)


def offers(profiles: Sequence[Profile], at: datetime, sessions: Mapping[int, datetime]) -> dict[int, Limit | None]:
    """What each connector with a running transaction (`sessions`: connector id → its transaction's start, where its
    Relative schedules start) is offered at `at`: the minimum of its own limit and its share of the
    ChargePointMaxProfile (§3.13.3), shared as the module's docstring says. None for a connector nothing limits."""
    own = {connector: connector_limit(profiles, connector, at, started, True)
           for connector, started in sessions.items()}
    cap = charge_point_limit(profiles, at)
    if cap is None:
        return own
    shares = _water_fill(cap.amps, {connector: None if limit is None else limit.amps
                                    for connector, limit in own.items()})
    return {connector: Limit(shares[connector], cap.phases if limit is None else min(cap.phases, limit.phases))
            for connector, limit in own.items()}


def next_change(profiles: Sequence[Profile], after: datetime, sessions: Mapping[int, datetime],
                origin: datetime) -> datetime | None:
    """The first instant strictly after `after` at which any profile's limit may change: a period's start, a
    schedule's end (time 0 + duration), validFrom, validTo, a Recurring schedule's next recurrence. Relative schedules
    of connectors in `sessions` start at their session's start, the others at `origin` (connector 0's TxDefaultProfile
    at each of them). None: never. Between `after` and the instant returned, `offers` and the composite's inputs stay
    the same; the instant may be one where nothing changes after all."""
    changes: list[datetime] = []
    for profile in profiles:
        if profile.valid_to is not None and profile.valid_to <= after:
            continue
        if profile.valid_from is not None and profile.valid_from > after:
            changes.append(profile.valid_from)
            continue
        if profile.valid_to is not None:
            changes.append(profile.valid_to)
        changes.extend(change for start in _relative_starts(profile, sessions, origin)
                       if (change := _next_boundary(profile, after, start)) is not None)
    return min(changes, default=None)


def composite(profiles: Sequence[Profile], connector_id: int, start: datetime, duration_s: int, unit: RateUnit,
              sessions: Mapping[int, datetime], connectors: Sequence[int], rating: Limit) -> list[CompositePeriod]:
    """§5.7 GetCompositeSchedule: the limit over [start, start + duration_s) as periods in `unit`, consecutive equal
    ones merged, each starting on a whole second (a change inside a second shows from the next one).

    Connector n > 0: what `offers` gives it at each instant, computed as if n had a transaction (from its session's
    start if it has one, else from `start`), and `rating` where nothing limits it. Connector 0: the charge point's
    total (§5.7: "the total expected power or current the Charge Point expects to consume from the grid"), the
    minimum of the ChargePointMaxProfile's limit and the sum over `connectors` of each one's own limit, or `rating`
    without one (summed in `unit`; its phases are the most of any). At most COMPOSITE_MAX_PERIODS periods."""
    if connector_id:
        sessions = {connector_id: start, **sessions}
    periods: list[CompositePeriod] = []
    for offset in islice(_change_offsets(profiles, start, duration_s, sessions), COMPOSITE_MAX_PERIODS):
        at = start + offset * SECOND
        if connector_id:
            limit, phases = _connector_offer(profiles, at, sessions, connector_id, rating, unit)
        else:
            limit, phases = _charge_point_total(profiles, at, sessions, connectors, rating, start, unit)
        if not periods or (periods[-1].limit, periods[-1].number_phases) != (limit, phases):
            periods.append(CompositePeriod(offset, limit, phases))
    return periods


def _of(profiles: Iterable[Profile], purpose: Purpose, connector_id: int) -> Iterator[Profile]:
    return (profile for profile in profiles if profile.purpose is purpose and profile.connector_id == connector_id)


def _prevailing(ordered: Iterable[Profile], at: datetime, relative_start: datetime | None) -> Limit | None:
    """§3.13.2: the limit of the first profile (highest stackLevel first) that gives one at `at`."""
    for profile in ordered:
        limit = _limit(profile, at, relative_start)
        if limit is not None:
            return limit
    return None


def _limit(profile: Profile, at: datetime, relative_start: datetime | None) -> Limit | None:
    """The profile's limit at `at`: None when it is not valid (§7.8), not started or past its end (§5.16.4)."""
    if (profile.valid_from is not None and at < profile.valid_from) or \
            (profile.valid_to is not None and at >= profile.valid_to):
        return None
    zero = _time_zero(profile, at, relative_start)
    if zero is None:
        return None
    elapsed_s = (at - zero) // SECOND  # whole seconds: periods start on whole seconds
    length_s = _length_s(profile)
    if elapsed_s < 0 or (length_s is not None and elapsed_s >= length_s):
        return None
    periods = profile.schedule.periods
    index = bisect_right(periods, elapsed_s, key=_START_S)
    return limit_of(periods[index - 1], profile.schedule.unit) if index else None


def _time_zero(profile: Profile, at: datetime, relative_start: datetime | None) -> datetime | None:
    """Where the schedule's time 0 lies for `at` (§7.9, §7.13), as the module's docstring says; None: nowhere."""
    schedule = profile.schedule
    if profile.kind is Kind.RECURRING:
        if schedule.start is None or profile.recurrency is None:
            return None
        every = RECURRENCE_S[profile.recurrency] * SECOND
        return schedule.start + (at - schedule.start) // every * every
    if profile.kind is Kind.RELATIVE and profile.purpose is not Purpose.CHARGE_POINT_MAX:
        return relative_start
    if profile.kind is Kind.ABSOLUTE and schedule.start is not None:
        return schedule.start
    return profile.installed_at


def _length_s(profile: Profile) -> int | None:
    """How long the schedule lasts from time 0; None: for ever. A Recurring one ends at its next recurrence at the
    latest (§5.16.4)."""
    duration_s = profile.schedule.duration_s
    if profile.kind is Kind.RECURRING and profile.recurrency is not None:
        every_s = RECURRENCE_S[profile.recurrency]
        return every_s if duration_s is None else min(duration_s, every_s)
    return duration_s


def _relative_starts(profile: Profile, sessions: Mapping[int, datetime],
                     origin: datetime) -> Iterable[datetime | None]:
    """Where a Relative schedule may start for `next_change`: connector 0's TxDefaultProfile applies to every
    connector; None for schedules that do not start at a transaction."""
    if profile.kind is not Kind.RELATIVE or profile.purpose is Purpose.CHARGE_POINT_MAX:
        return (None,)
    if profile.connector_id == 0:
        return (*sessions.values(), origin)
    return (sessions.get(profile.connector_id, origin),)


def _next_boundary(profile: Profile, after: datetime, relative_start: datetime | None) -> datetime | None:
    """The schedule's first period start, end or recurrence strictly after `after`; None: none."""
    zero = _time_zero(profile, after, relative_start)
    if zero is None:
        return None
    elapsed_s = (after - zero) // SECOND  # an offset after it in whole seconds is strictly after `after`
    length_s = _length_s(profile)
    periods = profile.schedule.periods
    index = bisect_right(periods, elapsed_s, key=_START_S)
    offsets = [length_s] if length_s is not None and length_s > elapsed_s else []
    if index < len(periods) and (length_s is None or periods[index].start_s < length_s):
        offsets.append(periods[index].start_s)
    if profile.kind is Kind.RECURRING and profile.recurrency is not None:
        offsets.append(RECURRENCE_S[profile.recurrency])
    return zero + min(offsets) * SECOND if offsets else None


def _water_fill(amps: float, wants: Mapping[int, float | None]) -> dict[int, float]:
    """Max-min fair shares of `amps` (the module's docstring); `wants`: each connector's own limit, None: none."""
    order = sorted(wants, key=lambda connector: inf if wants[connector] is None else wants[connector])
    shares: dict[int, float] = {}
    left = amps
    for index, connector in enumerate(order):
        want, share = wants[connector], left / (len(order) - index)
        shares[connector] = share if want is None else min(want, share)
        left -= shares[connector]
    return shares


def _change_offsets(profiles: Sequence[Profile], start: datetime, duration_s: int,
                    sessions: Mapping[int, datetime]) -> Iterator[int]:
    """0, then each whole second (from `start`) at or after a change, before `duration_s`."""
    offset = 0
    while offset < duration_s:
        yield offset
        change = next_change(profiles, start + offset * SECOND, sessions, start)
        if change is None:
            return
        offset = -((start - change) // SECOND)  # rounded up


def _connector_offer(profiles: Sequence[Profile], at: datetime, sessions: Mapping[int, datetime], connector_id: int,
                     rating: Limit, unit: RateUnit) -> tuple[float, int]:
    offer = offers(profiles, at, sessions)[connector_id] or rating
    return offer.in_unit(unit), offer.phases


def _charge_point_total(profiles: Sequence[Profile], at: datetime, sessions: Mapping[int, datetime],
                        connectors: Sequence[int], rating: Limit, start: datetime, unit: RateUnit) -> tuple[float, int]:
    limits = [connector_limit(profiles, connector, at, sessions.get(connector, start), connector in sessions) or rating
              for connector in connectors]
    total = sum(limit.in_unit(unit) for limit in limits)
    cap = charge_point_limit(profiles, at)
    if cap is not None and cap.in_unit(unit) < total:
        return cap.in_unit(unit), cap.phases
    return total, max((limit.phases for limit in limits), default=rating.phases)
