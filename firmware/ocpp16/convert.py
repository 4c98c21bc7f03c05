"""OCPP 1.6 payloads → the core's records (idTagInfo, Local List updates, charging profiles)."""

from typing import Any

from firmware.auth.idtag import AuthorizationStatus, IdTagInfo
from firmware.auth.local_list import ListEntry, ListUpdate, UpdateType
from firmware.smart_charging.profiles import Kind, Period, Profile, Purpose, RateUnit, Recurrency, Schedule, moment


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
    schedule = Schedule(RateUnit(s["charging_rate_unit"]), periods, s.get("duration"), moment(s.get("start_schedule")),
                        s.get("min_charging_rate"))
    recurrency, transaction = payload.get("recurrency_kind"), payload.get("transaction_id")
    return Profile(payload["charging_profile_id"], connector_id, payload["stack_level"],
                   Purpose(payload["charging_profile_purpose"]), Kind(payload["charging_profile_kind"]), schedule,
                   Recurrency(recurrency) if recurrency else None, moment(payload.get("valid_from")),
                   moment(payload.get("valid_to")), None if transaction is None else str(transaction))
