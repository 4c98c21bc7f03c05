"""A whole simulated charge point: per connector a contactor, a meter, an EV, a lock and an LED,
plus the shared card reader and one reader per connector."""

from dataclasses import dataclass
from pathlib import Path

from hal.sim.card_reader import SimCardReader
from hal.sim.contactor import SimContactor
from hal.sim.ev import SimEV
from hal.sim.led import SimLed
from hal.sim.lock import SimLock
from hal.sim.meter import SimMeter


@dataclass
class SimConnector:
    contactor: SimContactor
    meter: SimMeter
    ev: SimEV
    lock: SimLock
    led: SimLed
    reader: SimCardReader


class SimStation:
    def __init__(self, connectors: int, ev_power_w: float, state_dir: Path) -> None:
        self.reader = SimCardReader()
        self.connectors: dict[int, SimConnector] = {}
        for n in range(1, connectors + 1):
            self.connectors[n] = self._build(n, ev_power_w, state_dir)

    @staticmethod
    def _build(n: int, ev_power_w: float, state_dir: Path) -> SimConnector:
        # The meter integrates up to each instant the contactor or the EV changes the power, and notes the new one.
        contactor = SimContactor(on_change=lambda: meter.settle())
        ev = SimEV(ev_power_w, state_dir / f"sim-ev-{n}.json", on_change=lambda: meter.settle())
        meter = SimMeter(lambda: ev.draw_w(contactor.conducting), state_dir / f"sim-meter-{n}.json")
        return SimConnector(contactor, meter, ev, SimLock(), SimLed(), SimCardReader())
