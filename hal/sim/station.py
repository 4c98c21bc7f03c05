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
from hal.sim.pilot import SimPilot


@dataclass
class SimConnector:
    contactor: SimContactor
    meter: SimMeter
    ev: SimEV
    lock: SimLock
    led: SimLed
    reader: SimCardReader
    pilot: SimPilot


class SimStation:
    def __init__(self, connectors: int, ev_power_w: float, state_dir: Path, phases: int = 3) -> None:
        self.reader = SimCardReader()
        self.connectors: dict[int, SimConnector] = {}
        for n in range(1, connectors + 1):
            self.connectors[n] = self._build(n, ev_power_w, state_dir, phases)

    @staticmethod
    def _build(n: int, ev_power_w: float, state_dir: Path, phases: int) -> SimConnector:
        # The meter integrates up to each instant the contactor, the EV or the pilot changes the power, and notes
        # the new one.
        contactor = SimContactor(on_change=lambda: meter.settle())
        pilot = SimPilot(on_change=lambda: meter.settle())
        ev = SimEV(ev_power_w, state_dir / f"sim-ev-{n}.json", on_change=lambda: meter.settle(), pilot=pilot,
                   phases=phases)
        meter = SimMeter(lambda: ev.draw_w(contactor.conducting), state_dir / f"sim-meter-{n}.json", phases)
        return SimConnector(contactor, meter, ev, SimLock(), SimLed(), SimCardReader(), pilot)
