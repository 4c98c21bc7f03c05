"""RemoteStartTransaction (OCPP 1.6 §5.11): a free connector takes the start (Accepted), else Rejected.

An empty idTag (the schema allows "": CiString20Type has no minimum length) names nobody a transaction
could be billed to or stopped by: Rejected.

A chargingProfile sent along (the QR flow's budget and power cap) becomes the transaction's TxProfile when it
starts (§5.11: "The ChargingProfilePurpose MUST be TxProfile", with no transactionId yet): a profile that cannot be
installed (another purpose, a transactionId, beyond §9.4's limits, an unreadable date) Rejects the whole start, so
nothing is half-applied. See `protocol.remote_start`.
"""

from typing import Any

from ocpp.v16 import call_result
from ocpp.v16.enums import RemoteStartStopStatus

from firmware.core.services import Services
from firmware.ocpp16 import convert
from firmware.protocol.remote_start import remote_start

REJECTED = call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)


def handle(services: Services, id_tag: str, connector_id: int | None = None,
           charging_profile: dict[str, Any] | None = None) -> call_result.RemoteStartTransaction:
    profile = None if charging_profile is None else lambda: convert.charging_profile(connector_id or 0,
                                                                                       charging_profile)
    if remote_start(services, connector_id, id_tag, profile):  # a profile is bound where it starts
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)
    return REJECTED
