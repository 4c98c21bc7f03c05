"""Outbox bodies and records ↔ OCPP 1.6 payloads. Deterministic, so a resend is verbatim."""

from typing import Any

from ocpp.v16 import call

from firmware.local_list import ListEntry, ListUpdate, UpdateType
from firmware.outbox import MessageKind, OutboxMessage
from firmware.records import AuthorizationStatus, IdTagInfo


def outbox_call(message: OutboxMessage, transaction_id: int | None) -> Any:
    """The CALL for a queued transaction message; `transaction_id` is the CSMS's id, once known."""
    body = message.body
    if message.kind is MessageKind.TRANSACTION_START:
        return call.StartTransaction(connector_id=body["connector"], id_tag=body["id_tag"],
                                     meter_start=body["meter_start"], timestamp=body["timestamp"])
    if message.kind is MessageKind.METER_VALUES:
        return call.MeterValues(connector_id=body["connector"], meter_value=body["values"],
                                transaction_id=transaction_id)
    assert transaction_id is not None, "StopTransaction needs the CSMS's transactionId"
    return call.StopTransaction(meter_stop=body["meter_stop"], timestamp=body["timestamp"],
                                transaction_id=transaction_id, reason=body["reason"], id_tag=body["id_tag"],
                                transaction_data=body["transaction_data"] or None)


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
