"""OCPP 1.6 payloads → the core's records (idTagInfo, Local List updates)."""

from typing import Any

from firmware.auth.idtag import AuthorizationStatus, IdTagInfo
from firmware.auth.local_list import ListEntry, ListUpdate, UpdateType


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
