"""OCPP 2.0.1 payloads ↔ the core's records: IdTokenInfo → IdTagInfo, SendLocalList → a Local List update, charging
profiles, the stored 1.6-shaped samples → MeterValueType, stop reasons → ReasonEnumType and TriggerReasonEnumType."""

from typing import Any

from firmware.auth.idtag import AuthorizationStatus, IdTagInfo
from firmware.auth.local_list import ListEntry, ListUpdate, UpdateType
from firmware.smart_charging.profiles import Kind, Period, Profile, Purpose, RateUnit, Recurrency, Schedule, moment
from firmware.transactions.metering import ReadingContext
from firmware.transactions.store import StopReason

CARD = "ISO14443"
"""IdTokenEnumType of a card's UID read here (seed 001: ISO14443 for card UIDs)."""
CERTIFICATE_USES = {"CSMSRootCertificate": "CentralSystemRootCertificate",
                    "ManufacturerRootCertificate": "ManufacturerRootCertificate"}
"""2.0.1's certificate uses evsed keeps → the certificate store's (the 1.6 Security Whitepaper's names, one store)."""


def id_token_info(payload: dict[str, Any]) -> IdTagInfo:
    """IdTokenInfoType (keys snake_case by the library) as the core's IdTagInfo: cacheExpiryDateTime bounds the
    cache like 1.6's expiryDate, groupIdToken's idToken is the group (1.6 parentIdTag)."""
    group = payload.get("group_id_token") or {}
    return IdTagInfo(AuthorizationStatus(payload["status"]), payload.get("cache_expiry_date_time"),
                     group.get("id_token"))


def id_token(value: str, token_type: str | None) -> dict[str, str]:
    """IdTokenType for a token: a card's UID is ISO14443 (`CARD`)."""
    return {"id_token": value, "type": token_type or CARD}


def list_update(version_number: int, update_type: str,
                local_authorization_list: list[dict[str, Any]] | None) -> ListUpdate:
    """SendLocalList (D01) as a Local List update; each entry keeps its idToken's type."""
    return ListUpdate(version_number, UpdateType(update_type),
                      [ListEntry(item["id_token"]["id_token"],
                                 id_token_info(item["id_token_info"]) if item.get("id_token_info") else None,
                                 item["id_token"]["type"])
                       for item in local_authorization_list or ()])


def meter_value(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored sample (1.6 MeterValue form, `transactions.metering.sample`) as 2.0.1 MeterValueType: the value a
    number, the unit in unitOfMeasure; context, measurand, phase and location spelled the same."""
    values = []
    for sampled in stored["sampledValue"]:
        value: dict[str, Any] = {"value": float(sampled["value"])}
        for key in ("context", "measurand", "phase", "location"):
            if key in sampled:
                value[key] = sampled[key]
        if "unit" in sampled:
            value["unitOfMeasure"] = {"unit": sampled["unit"]}
        values.append(value)
    return {"timestamp": stored["timestamp"], "sampledValue": values}


def energy_value(timestamp: str, energy_wh: int, context: ReadingContext) -> dict[str, Any]:
    """The energy register alone as a MeterValueType (what the Started and Ended events carry at least)."""
    return {"timestamp": timestamp, "sampledValue": [{"value": float(energy_wh), "context": context.value,
                                                      "measurand": "Energy.Active.Import.Register",
                                                      "unitOfMeasure": {"unit": "Wh"}}]}


STOPPED_REASON: dict[str, str] = {
    StopReason.EMERGENCY_STOP: "EmergencyStop",
    StopReason.EV_DISCONNECTED: "EVDisconnected",
    StopReason.HARD_RESET: "ImmediateReset",
    StopReason.LOCAL: "Local",
    StopReason.OTHER: "Other",
    StopReason.POWER_LOSS: "PowerLoss",
    StopReason.REBOOT: "Reboot",
    StopReason.REMOTE: "Remote",
    StopReason.SOFT_RESET: "ImmediateReset",
    StopReason.UNLOCK_COMMAND: "Other",
    StopReason.DE_AUTHORIZED: "DeAuthorized",
}
"""1.6 StopReason → 2.0.1 ReasonEnumType (E06): a Reset that ends a transaction is ImmediateReset (an OnIdle one
waits for it to end); 2.0.1 has no UnlockCommand reason (its UnlockConnector refuses a running transaction)."""

TRIGGER_REASON: dict[str, str] = {
    StopReason.EMERGENCY_STOP: "AbnormalCondition",
    StopReason.EV_DISCONNECTED: "EVCommunicationLost",
    StopReason.HARD_RESET: "ResetCommand",
    StopReason.LOCAL: "StopAuthorized",
    StopReason.OTHER: "AbnormalCondition",
    StopReason.POWER_LOSS: "AbnormalCondition",
    StopReason.REBOOT: "ResetCommand",
    StopReason.REMOTE: "RemoteStop",
    StopReason.SOFT_RESET: "ResetCommand",
    StopReason.UNLOCK_COMMAND: "UnlockCommand",
    StopReason.DE_AUTHORIZED: "Deauthorized",
}
"""What made a transaction end, as the Ended event's triggerReason (E06, TxStopPoint EVConnected,Authorized: the
cable unplugged is EVCommunicationLost, the token presented again StopAuthorized)."""


PURPOSES = {"ChargingStationMaxProfile": Purpose.CHARGE_POINT_MAX, "TxDefaultProfile": Purpose.TX_DEFAULT,
            "TxProfile": Purpose.TX}
"""ChargingProfilePurposeEnumType → the core's purposes; ChargingStationExternalConstraints is the charging station's
own to report (K12), never set by the CSMS here."""


def charging_profile(evse_id: int, payload: dict[str, Any]) -> Profile:
    """A 2.0.1 ChargingProfileType (keys snake_case by the library) for EVSE `evse_id` (0: the charging station), its
    first chargingSchedule (evsed makes no ISO 15118 offers, which is what the other two are for). Raises ValueError
    for a purpose the CSMS may not set or a date that is not an OCPP dateTime."""
    purpose = PURPOSES.get(payload["charging_profile_purpose"])
    if purpose is None:
        raise ValueError(f"purpose {payload['charging_profile_purpose']} cannot be set")
    s = payload["charging_schedule"][0]
    periods = tuple(Period(q["start_period"], float(q["limit"]), q.get("number_phases"))
                    for q in s["charging_schedule_period"])
    schedule = Schedule(RateUnit(s["charging_rate_unit"]), periods, s.get("duration"), moment(s.get("start_schedule")),
                        s.get("min_charging_rate"))
    recurrency = payload.get("recurrency_kind")
    return Profile(payload["id"], evse_id, payload["stack_level"], purpose, Kind(payload["charging_profile_kind"]),
                   schedule, Recurrency(recurrency) if recurrency else None, moment(payload.get("valid_from")),
                   moment(payload.get("valid_to")), payload.get("transaction_id"))
