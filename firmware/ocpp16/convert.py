"""OCPP 1.6 payloads → the core's records (idTagInfo, Local List updates, charging profiles)."""

from datetime import datetime
from typing import Any

from firmware.auth.idtag import AuthorizationStatus, IdTagInfo
from firmware.auth.local_list import ListEntry, ListUpdate, UpdateType
from firmware.clock import parse_time
from firmware.smart_charging.profiles import Kind, Period, Profile, Purpose, RateUnit, Recurrency, Schedule


def id_tag_info(payload: dict[str, Any]) -> IdTagInfo:
    """IdTagInfo from a confirmation (keys already snake_case by the library)."""
    return IdTagInfo(AuthorizationStatus(payload["status"]), payload.get("expiry_date"),
                     payload.get("parent_id_tag"))


def list_update(payload: dict[str, Any]) -> ListUpdate:
    """A SendLocalList.req payload as the CSMS sent it (camelCase, already schema-checked)."""
    return ListUpdate(payload["listVersion"], UpdateType(payload["updateType"]),
                      [_list_entry(item) for item in payload.get("localAuthorizationList", ())])


def _list_entry(item: dict[str, Any]) -> ListEntry:
    info = item.get("idTagInfo")
    if info is None:
        return ListEntry(item["idTag"], None)
    return ListEntry(item["idTag"], IdTagInfo(AuthorizationStatus(info["status"]), info.get("expiryDate"),
                                              info.get("parentIdTag")))


def charging_profile(connector_id: int, payload: dict[str, Any]) -> Profile:
    """A ChargingProfile (§7.7, keys already snake_case by the library) for `connector_id`. Raises ValueError for a
    date that is not an OCPP dateTime (the schema's "date-time" format is not checked by the library)."""
    s = payload["charging_schedule"]
    periods = tuple(Period(q["start_period"], float(q["limit"]), q.get("number_phases"))
                    for q in s["charging_schedule_period"])
    schedule = Schedule(RateUnit(s["charging_rate_unit"]), periods, s.get("duration"), _when(s.get("start_schedule")),
                        s.get("min_charging_rate"))
    recurrency, transaction = payload.get("recurrency_kind"), payload.get("transaction_id")
    return Profile(payload["charging_profile_id"], connector_id, payload["stack_level"],
                   Purpose(payload["charging_profile_purpose"]), Kind(payload["charging_profile_kind"]), schedule,
                   Recurrency(recurrency) if recurrency else None, _when(payload.get("valid_from")),
                   _when(payload.get("valid_to")), None if transaction is None else str(transaction))


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = parse_time(text)
    if moment is None:
        raise ValueError(f"{text[:40]!r} is not a dateTime")
    return moment
