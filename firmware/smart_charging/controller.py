"""Smart charging at run time (OCPP 1.6 §3.13): the CSMS's profiles in, each running transaction's limit out.

Profiles are checked and stored before the CSMS gets its answer (`ProfileStore`). Each connector with a running
transaction is told its limit (`firmware.smart_charging.schedule.offers`: its TxProfile or TxDefaultProfile and
its share of the ChargePointMaxProfile) at once when a profile or a session changes, and again at the next
schedule boundary (`next_change`): `run` sleeps until then, never polling. A TxProfile comes with
RemoteStartTransaction (§5.11) or SetChargingProfile (§5.16) and ends with its transaction (§3.13.1).
Protocol-neutral: the adapter converts its payloads to `Profile` records and its answers from the outcomes here.
"""

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise

from firmware.clock import Clock, parse_time
from firmware.persistence.db import Store
from firmware.settings import Settings
from firmware.smart_charging.profiles import Kind, Limit, Profile, Purpose, RateUnit
from firmware.smart_charging.schedule import CompositePeriod, composite, next_change, offers
from firmware.smart_charging.store import ProfileStore
from firmware.transactions.store import Transaction

log = logging.getLogger(__name__)

CHARGE_POINT = 0

RECHECK_S = 300.0
"""The longest `run` sleeps while a schedule boundary lies ahead: a wall clock corrected meanwhile (NTP, the CSMS's
currentTime) moves a boundary by at most this much. With none ahead it sleeps until a profile or session changes."""

_UNIT_NAMES = {RateUnit.AMPERES: "Current", RateUnit.WATTS: "Power"}
"""ChargingScheduleAllowedChargingRateUnit's members (§9.4) by unit."""


class SmartCharging:
    def __init__(self, store: Store, settings: Settings, clock: Clock, connectors: Sequence[int],
                 rating_a: float) -> None:
        """`rating_a`: the current per phase each connector may give when nothing limits it (GetCompositeSchedule
        reports it where no profile applies)."""
        self._profiles = ProfileStore(store)
        self._settings = settings
        self._clock = clock
        self._connectors = list(connectors)
        self._rating = Limit(rating_a)
        self._sessions: dict[int, tuple[Transaction, datetime]] = {}
        self._outputs: dict[int, Callable[[float | None], None]] = {}
        self._offered: dict[int, float | None] = {}
        self._changed = asyncio.Event()

    def attach(self, connector_id: int, output: Callable[[float | None], None]) -> None:
        """`output(amps)` is told the limit of the connector's transaction (None: none applies)."""
        self._outputs[connector_id] = output

    def count(self) -> int:
        """How many charging profiles are installed (2.0.1 SmartChargingCtrlr.Entries)."""
        return len(self._profiles.all())

    # --- the CSMS's commands ------------------------------------------------------------------

    def _problem(self, profile: Profile) -> str | None:
        """Why `profile` cannot be installed, whatever its purpose (§5.16, §9.4's limits); None: it can."""
        schedule, periods = profile.schedule, profile.schedule.periods
        if not 0 <= profile.connector_id <= len(self._connectors):
            return f"unknown connector {profile.connector_id}"
        if profile.stack_level > self._settings.integer("max_profile_stack_level"):
            return f"stack level above the highest, {self._settings.integer('max_profile_stack_level')}"
        if _UNIT_NAMES[schedule.unit] not in self._settings.csl("charging_rate_units"):
            return f"chargingRateUnit {schedule.unit} not allowed"
        if not periods or len(periods) > self._settings.integer("max_schedule_periods"):
            return f"{len(periods)} periods (1 to {self._settings.integer('max_schedule_periods')} allowed)"
        if periods[0].start_s != 0 or any(b.start_s <= a.start_s for a, b in pairwise(periods)):
            return "periods must start at 0 and follow each other"
        if any(p.limit < 0 or (p.number_phases is not None and not 1 <= p.number_phases <= 3) for p in periods):
            return "a period has a negative limit or numberPhases outside 1 to 3"
        if profile.kind is Kind.RECURRING and (profile.recurrency is None or schedule.start is None):
            return "a Recurring profile needs recurrencyKind and startSchedule"
        if profile.valid_from and profile.valid_to and profile.valid_to <= profile.valid_from:
            return "validTo is not after validFrom"
        installed = len(self._profiles.all()) - len(self._profiles.replaced_by(profile))
        if installed >= self._settings.integer("max_charging_profiles"):
            return f"{self._settings.integer('max_charging_profiles')} profiles installed already (the most)"
        return None

    def tx_profile_problem(self, profile: Profile) -> str | None:
        """RemoteStartTransaction's chargingProfile (§5.11): a TxProfile for the transaction about to start, so
        without a transactionId; None when it can be installed with the start."""
        if profile.purpose is not Purpose.TX:
            return f"purpose {profile.purpose}, not TxProfile"
        if profile.transaction is not None:
            return "a transactionId before the transaction exists"
        return self._problem(profile)

    def set_profile(self, profile: Profile, tx_ref: int | None = None) -> str | None:
        """SetChargingProfile (§5.16): install `profile` (stored before this returns); why it was refused, or None.

        ChargePointMaxProfile only on connector 0; a TxProfile only on a connector with a transaction running, and
        for that transaction when it names one (§5.16.1): its `remote_id`, or its local reference `tx_ref` when the
        adapter read one from the id (OCPP 2.0.1's charging station makes transactionIds, so the CSMS may name a
        transaction before its start is confirmed)."""
        problem = self._problem(profile)
        session = self._sessions.get(profile.connector_id)
        if problem is None and profile.purpose is Purpose.CHARGE_POINT_MAX and profile.connector_id != CHARGE_POINT:
            problem = "ChargePointMaxProfile is for connector 0 only"
        elif problem is None and profile.purpose is Purpose.TX:
            if session is None:
                problem = f"no transaction on connector {profile.connector_id}"
            elif profile.transaction is not None and profile.transaction != session[0].remote_id and \
                    tx_ref != session[0].ref:
                problem = f"transactionId {profile.transaction} is not the one running"
        if problem is not None:
            log.info("charging profile rejected id=%d connector=%d purpose=%s reason=%r", profile.id,
                     profile.connector_id, profile.purpose, problem)
            return problem
        self._profiles.install(self._dated(profile), session[0].ref if session and profile.purpose is Purpose.TX
                               else None)
        log.info("charging profile installed id=%d connector=%d purpose=%s stack_level=%d", profile.id,
                 profile.connector_id, profile.purpose, profile.stack_level)
        self.apply()
        return None

    def _dated(self, profile: Profile) -> Profile:
        """The profile with the moment it is installed: time 0 of an Absolute schedule without startSchedule, and of
        a Relative ChargePointMaxProfile (which belongs to no transaction)."""
        return profile if profile.installed_at else replace(profile, installed_at=self._clock.now())

    def clear(self, profile_id: int | None = None, connector_id: int | None = None, purpose: Purpose | None = None,
              stack_level: int | None = None) -> bool:
        """ClearChargingProfile (§5.5): the profile with `profile_id`, else every profile matching all the criteria
        given (none given: all). False when nothing matched (Unknown)."""
        if profile_id is not None:
            matched = [p.id for p in self._profiles.profiles() if p.id == profile_id]
        else:
            matched = [p.id for p in self._profiles.profiles()
                       if (connector_id is None or p.connector_id == connector_id)
                       and (purpose is None or p.purpose is purpose)
                       and (stack_level is None or p.stack_level == stack_level)]
        self._profiles.remove(matched)
        if matched:
            log.info("charging profiles cleared ids=%s", ",".join(map(str, matched)))
            self.apply()
        return bool(matched)

    def composite(self, connector_id: int, duration_s: int,
                  unit: RateUnit | None) -> tuple[datetime, RateUnit, list[CompositePeriod]] | None:
        """GetCompositeSchedule (§5.7): the limits from now for `duration_s` (connector 0: the charge point's total),
        as the charge point will apply them; None for an unknown connector or a unit not allowed."""
        unit = unit or RateUnit.AMPERES
        if not 0 <= connector_id <= len(self._connectors) or (
                _UNIT_NAMES[unit] not in self._settings.csl("charging_rate_units")):
            return None
        start = self._clock.now()
        return start, unit, composite(self._profiles.profiles(), connector_id, start, duration_s, unit,
                                      self._session_starts(), self._connectors, self._rating)

    # --- sessions -----------------------------------------------------------------------------

    def session_started(self, connector_id: int, tx: Transaction, tx_profile: Profile | None = None) -> None:
        """A transaction runs on the connector (a new one, or one resumed after a restart); `tx_profile`: the
        TxProfile that came with its RemoteStartTransaction, stored now (the caller's database transaction, the
        one recording the start, holds it) and bound to this transaction. The limit applies at once."""
        started = parse_time(tx.started_at) or self._clock.now()
        self._sessions[connector_id] = (tx, started)
        if tx_profile is not None:
            self._profiles.install(self._dated(replace(tx_profile, connector_id=connector_id)), tx.ref)
        self.apply()

    def session_ended(self, connector_id: int) -> None:
        """§3.13.1: the transaction's TxProfiles end with it; the other connectors' shares grow."""
        ended = self._sessions.pop(connector_id, None)
        if ended is not None:
            self._profiles.remove([i.profile.id for i in self._profiles.all() if i.tx_ref == ended[0].ref])
        self.apply()

    def _session_starts(self) -> dict[int, datetime]:
        return {n: started for n, (_, started) in self._sessions.items()}

    def apply(self) -> None:
        """Tell every connector its limit now, and `run` to look for the next boundary again."""
        limits = offers(self._profiles.profiles(), self._clock.now(), self._session_starts())
        for n, output in self._outputs.items():
            limit = limits.get(n) if n in self._sessions else None
            amps = None if limit is None else math.floor(limit.amps * 10 + 1e-9) / 10  # down: the shares' sum holds
            if amps != self._offered.get(n):
                log.info("charging limit connector=%d amps=%s", n, "none" if amps is None else amps)
            self._offered[n] = amps
            output(amps)
        self._changed.set()

    async def run(self) -> None:
        """Apply the limits at every schedule boundary and after every change; no wake-up in between."""
        running = {tx.ref for tx, _ in self._sessions.values()}
        self._profiles.remove([i.profile.id for i in self._profiles.all()
                               if i.profile.purpose is Purpose.TX and i.tx_ref not in running])
        while True:
            self._changed.clear()
            self.apply()
            self._changed.clear()
            now = self._clock.now()
            boundary = next_change(self._profiles.profiles(), now, self._session_starts(), now)
            wait = None if boundary is None else min(RECHECK_S, (boundary - now + timedelta(milliseconds=5))
                                                      .total_seconds())
            try:
                async with asyncio.timeout(wait):
                    await self._changed.wait()
            except TimeoutError:
                pass


def reported_periods(periods: Sequence[CompositePeriod]) -> list[dict[str, int | float]]:
    """`SmartCharging.composite`'s periods as GetCompositeSchedule reports them, the same in OCPP 1.6 (§7.14
    ChargingSchedulePeriod) and 2.0.1 (ChargingSchedulePeriodType), keyed as the `ocpp` library takes them:
    startPeriod, numberPhases and the limit rounded down to 0.1 (both schemas allow one decimal; down, so no limit
    reported is above the one applied)."""
    return [{"start_period": p.start_s, "limit": math.floor(p.limit * 10 + 1e-6) / 10,
             "number_phases": p.number_phases} for p in periods]
