"""CancelReservation (OCPP 1.6 §5.1): "If the Charge Point has a reservation matching the reservationId in the
request PDU, it SHALL return status 'Accepted'. Otherwise it SHALL return 'Rejected'." The reservation ends at once
and its connector shows Available again (§4.9 G1). See `ChargePoint.cancel_reservation`.
"""

from ocpp.v16 import call_result
from ocpp.v16.enums import CancelReservationStatus

from firmware.core.services import Services


def handle(services: Services, reservation_id: int) -> call_result.CancelReservation:
    cancelled = services.charge_point.cancel_reservation(reservation_id)
    return call_result.CancelReservation(
        status=CancelReservationStatus.accepted if cancelled else CancelReservationStatus.rejected)
