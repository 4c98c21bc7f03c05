"""RemoteStartTransaction (OCPP 1.6 §5.11): a free connector takes the start (Accepted), else Rejected.

An empty idTag (the schema allows "": CiString20Type has no minimum length) names nobody a transaction
could be billed to or stopped by: Rejected.

The chargingProfile a CSMS may send along is not applied yet (Smart Charging is not implemented).
"""

from ocpp.v16 import call_result
from ocpp.v16.enums import RemoteStartStopStatus

from firmware.core.services import Services

REJECTED = call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)


def handle(services: Services, id_tag: str, connector_id: int | None = None,
           charging_profile: dict | None = None) -> call_result.RemoteStartTransaction:
    if id_tag.strip() and services.charge_point.remote_start(connector_id, id_tag):
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)
    return REJECTED
