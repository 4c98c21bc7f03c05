"""ChangeAvailability (OCPP 2.0.1 G03, G04): the charging station (no evse), or EVSE n (its one connector), made
Operative or Inoperative; Scheduled while a transaction runs there (applied when it ends), Rejected for an unknown
EVSE or connector. Stored: it survives restarts. See `ChargePoint.change_availability`."""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, operational_status: str,
           evse: dict[str, Any] | None = None) -> call_result.ChangeAvailability:
    number = 0 if evse is None else evse["id"]
    if evse is not None and (number not in services.charge_point.connectors or evse.get("connector_id", 1) != 1):
        return call_result.ChangeAvailability(status="Rejected")
    answer = services.charge_point.change_availability(number, operational_status == "Operative")
    return call_result.ChangeAvailability(status=answer.value)
