"""Hardware interfaces of a charge point, and their simulated devices (`hal.sim`).

`firmware/` reaches hardware only through these interfaces; `drivers/` implements them for real
devices. Neither `hal` nor `drivers` imports `firmware`.
"""

from hal.card_reader import CardReader
from hal.contactor import Contactor
from hal.led import LedPattern, NoLed, StatusLed
from hal.lock import ConnectorLock, TetheredCable
from hal.meter import EnergyMeter, MeterError, MeterReading
from hal.plug import PlugSensor, PlugState
from hal.uid import mask_uid, normalise_uid

__all__ = [
    "CardReader",
    "ConnectorLock",
    "Contactor",
    "EnergyMeter",
    "LedPattern",
    "MeterError",
    "MeterReading",
    "NoLed",
    "PlugSensor",
    "PlugState",
    "StatusLed",
    "TetheredCable",
    "mask_uid",
    "normalise_uid",
]
