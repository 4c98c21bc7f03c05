"""The installed charging profiles, stored: they survive restarts and power loss (OCPP 1.6 §3.13).

One row per profile, keyed by its chargingProfileId (migration v8). Every change is one database transaction
written before the CSMS gets its answer; the profiles are also kept in memory, where the limit is computed from.
§5.16.1: "If a ChargingProfile with the same chargingProfileId, or the same combination of stackLevel /
ChargingProfilePurpose, exists on the Charge Point, the new ChargingProfile SHALL replace the existing
ChargingProfile"; a TxProfile (§3.13.1) belongs to its transaction (`tx_ref`) and is removed with it.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from firmware.clock import iso, parse_time
from firmware.persistence.db import Store
from firmware.smart_charging.profiles import Kind, Period, Profile, Purpose, RateUnit, Recurrency, Schedule


@dataclass(frozen=True)
class Installed:
    profile: Profile
    tx_ref: int | None = None
    """TxProfile: the local reference of the transaction it belongs to."""


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def to_json(p: Profile) -> str:
    s = p.schedule
    return json.dumps({
        "id": p.id, "connector_id": p.connector_id, "stack_level": p.stack_level, "purpose": p.purpose,
        "kind": p.kind, "recurrency": p.recurrency, "valid_from": _text(p.valid_from),
        "valid_to": _text(p.valid_to), "transaction": p.transaction, "installed_at": _text(p.installed_at),
        "schedule": {"unit": s.unit, "duration_s": s.duration_s, "start": _text(s.start), "min_rate": s.min_rate,
                     "periods": [[q.start_s, q.limit, q.number_phases] for q in s.periods]},
    })


def from_json(text: str) -> Profile:
    d: dict[str, Any] = json.loads(text)
    s = d["schedule"]
    schedule = Schedule(RateUnit(s["unit"]), tuple(Period(*q) for q in s["periods"]), s["duration_s"],
                        _time(s["start"]), s["min_rate"])
    return Profile(d["id"], d["connector_id"], d["stack_level"], Purpose(d["purpose"]), Kind(d["kind"]), schedule,
                   Recurrency(d["recurrency"]) if d["recurrency"] else None, _time(d["valid_from"]),
                   _time(d["valid_to"]), d["transaction"], _time(d["installed_at"]))


class ProfileStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._installed: dict[int, Installed] = {
            row[0]: Installed(from_json(row[2]), row[1])
            for row in store.db.execute("SELECT id, tx_ref, body FROM charging_profiles")}

    def all(self) -> list[Installed]:
        return list(self._installed.values())

    def profiles(self) -> list[Profile]:
        return [i.profile for i in self._installed.values()]

    def replaced_by(self, profile: Profile) -> list[int]:
        """The ids of the installed profiles `profile` would replace (§5.16.1)."""
        return [pid for pid, i in self._installed.items() if pid == profile.id or (
            i.profile.connector_id == profile.connector_id and i.profile.purpose is profile.purpose
            and i.profile.stack_level == profile.stack_level)]

    def install(self, profile: Profile, tx_ref: int | None = None) -> None:
        """Store `profile` in place of those it replaces, in one database transaction (the caller's, if one runs)."""
        replaced = self.replaced_by(profile)
        with self._store.atomic() as db:
            db.execute(f"DELETE FROM charging_profiles WHERE id IN ({','.join('?' * len(replaced))})", replaced)
            db.execute("INSERT INTO charging_profiles (id, connector, purpose, stack_level, tx_ref, body) "
                       "VALUES (?, ?, ?, ?, ?, ?)", [profile.id, profile.connector_id, profile.purpose,
                                                     profile.stack_level, tx_ref, to_json(profile)])
        for pid in replaced:
            del self._installed[pid]
        self._installed[profile.id] = Installed(profile, tx_ref)

    def remove(self, ids: list[int]) -> None:
        if not ids:
            return
        with self._store.atomic() as db:
            db.execute(f"DELETE FROM charging_profiles WHERE id IN ({','.join('?' * len(ids))})", ids)
        for pid in ids:
            self._installed.pop(pid, None)
