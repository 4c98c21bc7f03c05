"""CancelReservation (OCPP 2.0.1 H02): Accepted when a reservation with reservationId was in force (it ends at once),
Rejected otherwise."""

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, reservation_id: int) -> call_result.CancelReservation:
    cancelled = services.charge_point.cancel_reservation(reservation_id)
    return call_result.CancelReservation(status="Accepted" if cancelled else "Rejected")
