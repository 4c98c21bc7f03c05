"""Simulated control pilot: remembers the current offered, and tells the meter when the EV's power changes."""

from collections.abc import Callable

from hal.pilot import ChargingPilot


class SimPilot(ChargingPilot):
    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._offered: float | None = None
        self._on_change = on_change

    def offer(self, amps: float | None) -> None:
        if amps == self._offered:
            return
        self._offered = amps
        if self._on_change is not None:
            self._on_change()  # the meter integrates up to now, then notes the EV's new power

    @property
    def offered_a(self) -> float | None:
        return self._offered
