"""GetCompositeSchedule (OCPP 2.0.1 K08): the limits EVSE evseId will have from now for `duration` seconds, as the
charging station computes and applies them (`SmartCharging.composite`, the same as 1.6's: every profile, the
ChargingStationMaxProfile's share, the EVSE's rating where nothing limits); evseId 0: the charging station's total.
Answered Accepted with the CompositeScheduleType, in chargingRateUnit (absent: A), its limits rounded down to the one
decimal the schema allows. Rejected for an EVSE the charging station does not have (K08.FR.05, statusInfo
UnknownEvse) or a chargingRateUnit not in ChargingScheduleChargingRateUnit (K08.FR.07, UnsupportedRateUnit).
"""

from ocpp.v201 import call_result

from firmware.clock import iso
from firmware.ocpp201.peer import Ocpp201Services
from firmware.smart_charging.controller import reported_periods
from firmware.smart_charging.profiles import RateUnit


def handle(services: Ocpp201Services, duration: int, evse_id: int,
           charging_rate_unit: str | None = None) -> call_result.GetCompositeSchedule:
    result = services.smart_charging.composite(evse_id, duration,
                                               RateUnit(charging_rate_unit) if charging_rate_unit else None)
    if result is None:
        known = evse_id == 0 or evse_id in services.charge_point.connectors
        return call_result.GetCompositeSchedule(
            status="Rejected", status_info={"reason_code": "UnsupportedRateUnit" if known else "UnknownEvse"})
    start, unit, periods = result
    return call_result.GetCompositeSchedule(status="Accepted", schedule={
        "evse_id": evse_id, "duration": duration, "schedule_start": iso(start), "charging_rate_unit": unit.value,
        "charging_schedule_period": reported_periods(periods)})
