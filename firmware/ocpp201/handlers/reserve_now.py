"""ReserveNow (OCPP 2.0.1 H01): reserve EVSE evseId (absent: any EVSE) for idToken (and its groupIdToken) until
expiryDateTime, as 1.6's ReserveNow with connector n and 0 (`ChargePoint.reserve_now`): Accepted, Occupied, Faulted,
Unavailable, Rejected. A connectorType is not asked for: every EVSE has the same connector."""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, id: int, expiry_date_time: str, id_token: dict[str, Any],
           connector_type: str | None = None, evse_id: int | None = None,
           group_id_token: dict[str, Any] | None = None) -> call_result.ReserveNow:
    group = group_id_token["id_token"] if group_id_token else None
    outcome = services.charge_point.reserve_now(evse_id or 0, expiry_date_time, id_token["id_token"], id, group)
    return call_result.ReserveNow(status=outcome.value)
