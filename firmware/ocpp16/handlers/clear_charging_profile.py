"""ClearChargingProfile (OCPP 1.6 §5.5): remove the profile with `id`, or, without an id, every profile matching all
of connectorId, chargingProfilePurpose and stackLevel that are given (none given: every profile). Accepted when
something was removed, Unknown when nothing matched. The limits follow at once.
"""

from ocpp.v16 import call_result
from ocpp.v16.enums import ClearChargingProfileStatus

from firmware.core.services import Services
from firmware.smart_charging.profiles import Purpose


def handle(services: Services, id: int | None = None, connector_id: int | None = None,
           charging_profile_purpose: str | None = None, stack_level: int | None = None,
           ) -> call_result.ClearChargingProfile:
    purpose = Purpose(charging_profile_purpose) if charging_profile_purpose else None
    cleared = services.smart_charging.clear(id, connector_id, purpose, stack_level)
    return call_result.ClearChargingProfile(
        status=ClearChargingProfileStatus.accepted if cleared else ClearChargingProfileStatus.unknown)
