"""SendLocalList (OCPP 1.6 §5.15): a Full or Differential update, applied in one database transaction.

Registered with `fast_schema`: a list of up to 10,000 entries is checked by the compiled schema and read
as sent (camelCase), not through the library's validator and renaming (see `ocpp16.compiled_schemas`).
"""

from typing import Any

from ocpp.v16 import call_result
from ocpp.v16.enums import UpdateStatus

from firmware.core.services import Services
from firmware.ocpp16.convert import list_update


def handle(services: Services, payload: dict[str, Any]) -> call_result.SendLocalList:
    status = services.authorizer.update_local_list(list_update(payload))
    return call_result.SendLocalList(status=UpdateStatus(status.value))
