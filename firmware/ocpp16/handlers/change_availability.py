"""ChangeAvailability (OCPP 1.6 §5.2): connectorId 0 is the charge point and all its connectors, n one connector;
Inoperative or Operative. Accepted when done (or already so), Scheduled while a transaction runs on an affected
connector (applied when it ends), Rejected for an unknown connector or for Operative on a connector while the whole
charge point is Inoperative. The setting is stored and survives restarts (§4.9); the new status follows as a
StatusNotification. See `ChargePoint.change_availability`.
"""

from ocpp.v16 import call_result
from ocpp.v16.enums import AvailabilityStatus, AvailabilityType

from firmware.core.services import Services


def handle(services: Services, connector_id: int, type: str) -> call_result.ChangeAvailability:
    answer = services.charge_point.change_availability(connector_id, type == AvailabilityType.operative)
    return call_result.ChangeAvailability(status=AvailabilityStatus(answer.value))
