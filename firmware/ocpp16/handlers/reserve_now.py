"""ReserveNow (OCPP 1.6 §5.13): reserve connectorId (0: any connector, as ReserveConnectorZeroSupported says) for
idTag (and its parentIdTag's group) until expiryDate. Accepted when reserved (stored: it survives a restart; the
connector shows Reserved), Occupied when the connector is in use or reserved already (connector 0: the charge point
is reserved already or no connector is Available), Faulted, Unavailable, Rejected for an unknown connector or an
expiryDate that is unreadable or past. A reservationId already in force is replaced. See
`ChargePoint.reserve_now`.
"""

from ocpp.v16 import call_result
from ocpp.v16.enums import ReservationStatus

from firmware.core.services import Services


def handle(services: Services, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int,
           parent_id_tag: str | None = None) -> call_result.ReserveNow:
    outcome = services.charge_point.reserve_now(connector_id, expiry_date, id_tag, reservation_id, parent_id_tag)
    return call_result.ReserveNow(status=ReservationStatus(outcome.value))
