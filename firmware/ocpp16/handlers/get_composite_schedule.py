"""GetCompositeSchedule (OCPP 1.6 §5.7): the limits connectorId will have from now for `duration` seconds, as the
charge point computes and applies them (every profile, the ChargePointMaxProfile's share, the connector's rating
where nothing limits); connector 0: the charge point's total. Rejected for an unknown connector or a unit not in
ChargingScheduleAllowedChargingRateUnit. Limits are rounded down to the schema's 0.1.
"""

from ocpp.v16 import call_result
from ocpp.v16.enums import GetCompositeScheduleStatus

from firmware.clock import iso
from firmware.core.services import Services
from firmware.smart_charging.controller import reported_periods
from firmware.smart_charging.profiles import RateUnit


def handle(services: Services, connector_id: int, duration: int,
           charging_rate_unit: str | None = None) -> call_result.GetCompositeSchedule:
    result = services.smart_charging.composite(connector_id, duration,
                                               RateUnit(charging_rate_unit) if charging_rate_unit else None)
    if result is None:
        return call_result.GetCompositeSchedule(status=GetCompositeScheduleStatus.rejected)
    start, unit, periods = result
    schedule = {"duration": duration, "start_schedule": iso(start), "charging_rate_unit": unit.value,
                "charging_schedule_period": reported_periods(periods)}
    return call_result.GetCompositeSchedule(status=GetCompositeScheduleStatus.accepted, connector_id=connector_id,
                                            schedule_start=iso(start), charging_schedule=schedule)
