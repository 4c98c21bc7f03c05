"""Simulated energy meter: integrates power over time; its register survives restarts."""

import time
from collections.abc import Callable
from pathlib import Path

from hal.meter import EnergyMeter, MeterError, MeterReading
from hal.sim import persist

NOMINAL_VOLTAGE_V = 230.0


class SimMeter(EnergyMeter):
    """Three-phase meter. `settle()` must run just before the power changes; `read()` settles too.

    The import register is kept in `register_path` (written atomically), as a real meter keeps its
    register through a power cut of the charger.
    """

    def __init__(self, power_source: Callable[[], float], register_path: Path, phases: int = 3) -> None:
        self._power_source = power_source
        self._path = register_path
        self._phases = phases
        self._energy_wh = self._load()
        self._since = time.monotonic()
        self.failing = False
        """Fault injection: the meter stops answering (its register keeps counting)."""

    def _load(self) -> float:
        saved = persist.load(self._path)
        return 0.0 if saved is None else float(saved["energy_wh"])

    def settle(self) -> None:
        """Integrate the energy drawn since the last settle.

        The power was constant over that interval because every change settles first.
        """
        now = time.monotonic()
        power_w = self._power_source()
        if power_w:
            self._energy_wh += power_w * (now - self._since) / 3600.0
            persist.save(self._path, {"energy_wh": self._energy_wh})
        self._since = now

    async def read(self) -> MeterReading:
        self.settle()
        if self.failing:
            raise MeterError("simulated meter does not answer (fault injected)")
        power_w = self._power_source()
        current = power_w / (NOMINAL_VOLTAGE_V * self._phases)
        return MeterReading(
            energy_wh=self._energy_wh,
            power_w=power_w,
            voltage_v=(NOMINAL_VOLTAGE_V,) * self._phases,
            current_a=(current,) * self._phases,
        )
