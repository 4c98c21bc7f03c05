"""Meter samples: which measurands evsed can report and how a reading becomes a sample.

Measurand, phase, unit and context names are OCPP's (the same in 1.6 and 2.0.1).
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from hal import MeterReading


class ReadingContext(StrEnum):
    TRANSACTION_BEGIN = "Transaction.Begin"
    SAMPLE_PERIODIC = "Sample.Periodic"
    TRANSACTION_END = "Transaction.End"
    TRIGGER = "Trigger"
    """A sample the CSMS asked for (OCPP 1.6 §5.17 TriggerMessage)."""


@dataclass(frozen=True)
class Measurand:
    unit: str
    values: Callable[[MeterReading], list[tuple[float, str | None]]]
    """(value, phase) pairs read off a reading; empty when the meter lacks the quantity."""


MEASURANDS: dict[str, Measurand] = {
    "Energy.Active.Import.Register": Measurand("Wh", lambda r: [(r.energy_wh, None)]),
    "Power.Active.Import": Measurand("W", lambda r: [] if r.power_w is None else [(r.power_w, None)]),
    "Voltage": Measurand("V", lambda r: [(v, f"L{i}-N") for i, v in enumerate(r.voltage_v, 1)]),
    "Current.Import": Measurand("A", lambda r: [(a, f"L{i}") for i, a in enumerate(r.current_a, 1)]),
}


def format_value(value: float) -> str:
    """Decimal text with at most three decimals and no trailing zeros (OCPP SampledValue.value)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def sample(reading: MeterReading, measurands: list[str], context: ReadingContext, timestamp: str) -> dict:
    """One MeterValue: a timestamp and the sampled values of the requested measurands."""
    values = []
    for name in measurands:
        measurand = MEASURANDS[name]
        for value, phase in measurand.values(reading):
            entry = {"value": format_value(value), "context": context.value, "measurand": name,
                     "location": "Outlet", "unit": measurand.unit}
            if phase is not None:
                entry["phase"] = phase
            values.append(entry)
    return {"timestamp": timestamp, "sampledValue": values}
