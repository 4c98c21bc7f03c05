"""SendLocalList (OCPP 2.0.1 D01): a Full or Differential update of the Local Authorization List, applied in one
database transaction; the same list 1.6 keeps, each entry with its idToken's type. Accepted, Failed (beyond the list's
bounds, or while LocalAuthListCtrlr.Enabled is false: 2.0.1 has no NotSupported answer), VersionMismatch."""

from typing import Any

from ocpp.v201 import call_result

from firmware.auth.local_list import UpdateStatus
from firmware.ocpp201 import convert
from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, version_number: int, update_type: str,
           local_authorization_list: list[dict[str, Any]] | None = None) -> call_result.SendLocalList:
    update = convert.list_update(version_number, update_type, local_authorization_list)
    status = services.authorizer.update_local_list(update)
    return call_result.SendLocalList(status="Failed" if status is UpdateStatus.NOT_SUPPORTED else status.value)
