"""ClearChargingProfile (OCPP 2.0.1 K10): remove the profile chargingProfileId names, or else every profile matching all
of chargingProfileCriteria's evseId (0: the charging station's own profiles), chargingProfilePurpose and stackLevel
that are given (the CSMS sends one or the other, K10.FR.02; a request with neither clears every profile, as 1.6
does). Accepted when something was removed, Unknown when nothing matched; the limits follow at once
(`SmartCharging.clear`). No ChargingStationExternalConstraints profile is ever installed here: criteria naming that
purpose match nothing.
"""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201 import convert
from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, charging_profile_id: int | None = None,
           charging_profile_criteria: dict[str, Any] | None = None) -> call_result.ClearChargingProfile:
    criteria = charging_profile_criteria or {}
    named = criteria.get("charging_profile_purpose")
    purpose = convert.PURPOSES.get(named) if named else None
    if charging_profile_id is None and named and purpose is None:
        return call_result.ClearChargingProfile(status="Unknown")
    cleared = services.smart_charging.clear(charging_profile_id, criteria.get("evse_id"), purpose,
                                            criteria.get("stack_level"))
    return call_result.ClearChargingProfile(status="Accepted" if cleared else "Unknown")
