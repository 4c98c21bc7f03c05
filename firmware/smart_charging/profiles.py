"""Charging profiles as records: what a CSMS installs to limit the current or power a connector offers.

OCPP 1.6 §3.13 (Smart Charging), §7.8 to §7.14 and §7.37 (ChargingProfile, ChargingSchedule, ChargingSchedulePeriod
and their enumerations). The records are protocol-neutral: the 1.6 adapter converts its payloads to them (2.0.1's
ChargingStationMaxProfile is `Purpose.CHARGE_POINT_MAX`); storage, the effective limit and the composite schedule
work on these only.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from firmware.clock import parse_time

NOMINAL_VOLTAGE_V = 230.0
"""A limit in W becomes amperes per phase at this voltage (OCPP 1.6 §7.14 gives no voltage; 230 V is the nominal
phase voltage of IEC 60038 grids, which the simulated meter uses too)."""

DEFAULT_PHASES = 3
"""§7.14 ChargingSchedulePeriod.numberPhases: "The number of phases that can be used for charging. If a number of
phases is needed, numberPhases=3 will be assumed unless another number is given." """


class Purpose(StrEnum):
    """§7.10 ChargingProfilePurposeType."""

    CHARGE_POINT_MAX = "ChargePointMaxProfile"
    """Limits the whole charge point (connector 0 only): what all connectors together are offered (§3.13.1)."""
    TX_DEFAULT = "TxDefaultProfile"
    """The default for transactions on one connector, or on every connector when installed on connector 0."""
    TX = "TxProfile"
    """One transaction's profile; it overrules TxDefaultProfile and ends with its transaction (§3.13.1)."""


class Kind(StrEnum):
    """§7.9 ChargingProfileKindType: where the schedule's time 0 lies."""

    ABSOLUTE = "Absolute"
    """At `Schedule.start` (startSchedule)."""
    RECURRING = "Recurring"
    """At `Schedule.start`, repeated every day or week (`Profile.recurrency`)."""
    RELATIVE = "Relative"
    """At the start of the transaction (before one starts: at the moment the schedule is evaluated from)."""


class Recurrency(StrEnum):
    """§7.37 RecurrencyKindType."""

    DAILY = "Daily"
    WEEKLY = "Weekly"


class RateUnit(StrEnum):
    """§7.12 ChargingRateUnitType."""

    AMPERES = "A"
    """Amperes per phase."""
    WATTS = "W"
    """Watts, all phases together."""


@dataclass(frozen=True)
class Period:
    """§7.14 ChargingSchedulePeriod: from `start_s` seconds after the schedule's start until the next period's."""

    start_s: int
    limit: float
    """In the schedule's unit."""
    number_phases: int | None = None
    """None: DEFAULT_PHASES."""


@dataclass(frozen=True)
class Schedule:
    """§7.13 ChargingSchedule."""

    unit: RateUnit
    periods: tuple[Period, ...]
    """Ordered by `start_s`, the first starting at 0."""
    duration_s: int | None = None
    """How long the schedule lasts from its start; None: the last period lasts for ever (Recurring: until the
    next recurrence)."""
    start: datetime | None = None
    """startSchedule (timezone-aware). Absolute profiles without one start when they were installed
    (`Profile.installed_at`); Recurring profiles need one."""
    min_rate: float | None = None
    """minChargingRate: the lowest rate the EV charges efficiently at (informative; evsed does not use it)."""


@dataclass(frozen=True)
class Profile:
    """§7.8 ChargingProfile, as installed on one connector (0: the charge point)."""

    id: int
    """chargingProfileId: a new profile with the same id replaces this one (§5.16.1)."""
    connector_id: int
    stack_level: int
    """Of the valid profiles of one purpose, the highest level prevails (§3.13.2)."""
    purpose: Purpose
    kind: Kind
    schedule: Schedule
    recurrency: Recurrency | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction: str | None = None
    """TxProfile only: the CSMS's transactionId it was sent for (None when it came with RemoteStartTransaction,
    before the CSMS knew the transaction)."""
    installed_at: datetime | None = None
    """When the charge point accepted it: time 0 of an Absolute schedule that gives no startSchedule."""


@dataclass(frozen=True)
class Limit:
    """What a connector may be offered: amperes per phase over a number of phases."""

    amps: float
    phases: int = DEFAULT_PHASES

    @property
    def watts(self) -> float:
        return self.amps * NOMINAL_VOLTAGE_V * self.phases

    def in_unit(self, unit: RateUnit) -> float:
        return self.amps if unit is RateUnit.AMPERES else self.watts


def limit_of(period: Period, unit: RateUnit) -> Limit:
    """A period's limit as amperes per phase (§7.14: W are shared over numberPhases phases of 230 V)."""
    phases = period.number_phases or DEFAULT_PHASES
    amps = period.limit if unit is RateUnit.AMPERES else period.limit / (NOMINAL_VOLTAGE_V * phases)
    return Limit(amps, phases)


def moment(text: str | None) -> datetime | None:
    """A profile's dateTime (validFrom, validTo, startSchedule) read; None stays None. Raises ValueError for one that is
    not an OCPP dateTime (the schemas' "date-time" format is not checked by the library)."""
    if text is None:
        return None
    parsed = parse_time(text)
    if parsed is None:
        raise ValueError(f"{text[:40]!r} is not a dateTime")
    return parsed
