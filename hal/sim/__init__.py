"""Simulated devices that behave like the real ones, for `backend = "sim"`, the demo and the tests."""

from hal.sim.card_reader import SimCardReader
from hal.sim.contactor import SimContactor
from hal.sim.ev import SimEV
from hal.sim.led import SimLed
from hal.sim.lock import SimLock
from hal.sim.meter import SimMeter
from hal.sim.station import SimConnector, SimStation

__all__ = ["SimCardReader", "SimConnector", "SimContactor", "SimEV", "SimLed", "SimLock", "SimMeter", "SimStation"]
