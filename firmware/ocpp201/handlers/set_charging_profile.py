"""SetChargingProfile (OCPP 2.0.1 K01): install chargingProfile on evseId (0: the charging station) through the same
checks and store as 1.6's SetChargingProfile (`SmartCharging.set_profile`): Accepted once stored (it survives a
restart and the limit applies at once); else Rejected with statusInfo, the reason in additionalInfo.

Refused as in 1.6: an unknown EVSE, a stackLevel, number of periods or chargingRateUnit beyond the device model's
limits, periods not starting at 0 (K01.FR.31) or not increasing, a ChargingStationMaxProfile on an EVSE other than 0,
an unreadable date, a purpose the CSMS may not set (ChargingStationExternalConstraints is the charging station's
own). 2.0.1's rules on top:

- a TxProfile names its transaction (K01.FR.03), on an EVSE > 0 (K01.FR.16) where a transaction is active
  (K01.FR.09), and it is that transaction (K01.FR.33). The charging station made the transactionId (E01), so it is
  read back to the transaction's local reference (`Transactions.transaction_ref`): the profile applies before the
  CSMS has confirmed the Started event too;
- a ChargingStationMaxProfile is never Relative (K01.FR.38).

Only the first chargingSchedule is used (the others are ISO 15118 offers, which evsed does not make). A profile with
the same id replaces the installed one; so does one with the same stackLevel and purpose on the same EVSE (1.6's
rule, kept: 2.0.1 would refuse it, K01.FR.06).
"""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201 import convert
from firmware.ocpp201.peer import Ocpp201Services
from firmware.smart_charging.profiles import Kind, Purpose

ADDITIONAL_INFO_MAX = 512
"""StatusInfoType.additionalInfo's maxLength."""


def rejected(reason_code: str, why: str) -> call_result.SetChargingProfile:
    return call_result.SetChargingProfile(
        status="Rejected", status_info={"reason_code": reason_code, "additional_info": why[:ADDITIONAL_INFO_MAX]})


def handle(services: Ocpp201Services, evse_id: int,
           charging_profile: dict[str, Any]) -> call_result.SetChargingProfile:
    try:
        profile = convert.charging_profile(evse_id, charging_profile)
    except ValueError as e:
        return rejected("InvalidProfile", str(e))
    if profile.purpose is Purpose.TX and profile.transaction is None:
        return rejected("MissingParam", "a TxProfile needs the transactionId it is for (K01.FR.03)")
    if profile.purpose is Purpose.CHARGE_POINT_MAX and profile.kind is Kind.RELATIVE:
        return rejected("InvalidProfile", "a ChargingStationMaxProfile cannot be Relative (K01.FR.38)")
    ref = None
    if profile.transaction is not None and services.transactions is not None:
        ref = services.transactions.transaction_ref(profile.transaction)
    problem = services.smart_charging.set_profile(profile, ref)
    if problem is not None:
        return rejected("Unspecified", problem)
    return call_result.SetChargingProfile(status="Accepted")
