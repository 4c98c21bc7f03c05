"""Simulated energy meter: integrates power over time; its register survives restarts and kills."""

import time
from collections.abc import Callable
from pathlib import Path

from hal.meter import EnergyMeter, MeterError, MeterReading
from hal.sim import persist

NOMINAL_VOLTAGE_V = 230.0


class SimMeter(EnergyMeter):
    """Three-phase meter. `settle()` must run just after the power changes; `read()` settles too.

    A real meter sits outside the charger's software and keeps counting whatever happens to it. This one
    keeps, in `register_path` (written atomically), its register, the power flowing and since when (wall
    clock): a meter built after a kill counts what flowed meanwhile, as a real one would have. A contactor
    closed when the daemon was killed stays closed until the next start opens it (a GPIO output keeps its
    level), so the power counts up to the moment the new meter is built.
    """

    def __init__(self, power_source: Callable[[], float], register_path: Path, phases: int = 3) -> None:
        self._power_source = power_source
        self._path = register_path
        self._phases = phases
        saved = persist.load(register_path) or {}
        unattended_s = max(0.0, time.time() - float(saved.get("since", time.time())))
        self._energy_wh = float(saved.get("energy_wh", 0.0)) + float(saved.get("power_w", 0.0)) * unattended_s / 3600
        self._power_w = power_source()
        self._since = time.monotonic()
        self.failing = False
        """Fault injection: the meter stops answering (its register keeps counting)."""
        self._save()  # what flowed meanwhile is counted now, never twice

    def settle(self) -> None:
        """Integrate the power that flowed since the last settle, and take note of the power now.

        The power was constant over that interval because every change settles right after it.
        """
        now = time.monotonic()
        self._energy_wh += self._power_w * (now - self._since) / 3600.0
        self._since = now
        power_w = self._power_source()
        if power_w or self._power_w:
            self._power_w = power_w
            self._save()

    def _save(self) -> None:
        persist.save(self._path, {"energy_wh": self._energy_wh, "power_w": self._power_w, "since": time.time()})

    async def read(self) -> MeterReading:
        self.settle()
        if self.failing:
            raise MeterError("simulated meter does not answer (fault injected)")
        current = self._power_w / (NOMINAL_VOLTAGE_V * self._phases)
        return MeterReading(
            energy_wh=self._energy_wh,
            power_w=self._power_w,
            voltage_v=(NOMINAL_VOLTAGE_V,) * self._phases,
            current_a=(current,) * self._phases,
        )
