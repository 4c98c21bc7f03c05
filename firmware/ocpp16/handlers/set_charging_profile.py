"""SetChargingProfile (OCPP 1.6 §5.16): install csChargingProfiles on connectorId (0: the charge point).

Accepted once stored (it survives a restart, and the limit applies at once); Rejected when it cannot be applied as
sent: an unknown connector, a ChargePointMaxProfile not on connector 0, a TxProfile where no transaction runs or
for another transaction (§5.16.1), a stackLevel, number of periods or unit beyond §9.4's keys, an unreadable date.
A profile with the same chargingProfileId, or the same stackLevel and purpose on the connector, is replaced.
See `SmartCharging.set_profile`.
"""

from typing import Any

from ocpp.v16 import call_result
from ocpp.v16.enums import ChargingProfileStatus

from firmware.core.services import Services
from firmware.ocpp16.convert import charging_profile


def handle(services: Services, connector_id: int,
           cs_charging_profiles: dict[str, Any]) -> call_result.SetChargingProfile:
    try:
        profile = charging_profile(connector_id, cs_charging_profiles)
    except ValueError:
        return call_result.SetChargingProfile(status=ChargingProfileStatus.rejected)
    refused = services.smart_charging.set_profile(profile)
    return call_result.SetChargingProfile(
        status=ChargingProfileStatus.rejected if refused else ChargingProfileStatus.accepted)
