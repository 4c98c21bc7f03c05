"""Simulated EV behind the plug: plugs, unplugs, asks for energy and draws power."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from hal.pilot import MIN_CURRENT_A, ChargingPilot
from hal.plug import PlugSensor, PlugState
from hal.sim import persist

NOMINAL_VOLTAGE_V = 230.0


class SimEV(PlugSensor):
    """Plug sensor of a simulated connector; while requesting, the EV draws `max_power_w`, or less when the
    pilot offers less (IEC 61851: the offered current on each of its `phases`; below 6 A, nothing).

    The EV stays plugged through a restart of the charger: its state is kept in `state_path`.
    """

    def __init__(self, max_power_w: float, state_path: Path, on_change: Callable[[], None] | None = None,
                 pilot: ChargingPilot | None = None, phases: int = 3) -> None:
        self.max_power_w = max_power_w
        self._pilot = pilot
        self._phases = phases
        self._path = state_path
        saved = persist.load(state_path)
        self._state = PlugState() if saved is None else PlugState(**saved)
        self._queue: asyncio.Queue[PlugState] = asyncio.Queue()
        self._on_change = on_change

    @property
    def state(self) -> PlugState:
        return self._state

    def plug(self, requesting: bool = True) -> None:
        """Connect an EV (by default one that wants energy at once)."""
        self._set(PlugState(plugged=True, requesting=requesting))

    def unplug(self) -> None:
        self._set(PlugState())

    def request(self, requesting: bool) -> None:
        """The plugged EV starts or stops asking for energy (pilot state C / B)."""
        if self._state.plugged:
            self._set(PlugState(plugged=True, requesting=requesting))

    def draw_w(self, contactor_closed: bool) -> float:
        if not (contactor_closed and self._state.requesting):
            return 0.0
        offered = None if self._pilot is None else self._pilot.offered_a
        if offered is None:
            return self.max_power_w
        if offered < MIN_CURRENT_A:
            return 0.0
        return min(self.max_power_w, offered * NOMINAL_VOLTAGE_V * self._phases)

    def _set(self, state: PlugState) -> None:
        if state == self._state:
            return
        self._state = state
        if self._on_change is not None:
            self._on_change()  # the meter takes note of the new power
        persist.save(self._path, {"plugged": state.plugged, "requesting": state.requesting})
        self._queue.put_nowait(state)

    async def changes(self) -> AsyncIterator[PlugState]:
        while True:
            yield await self._queue.get()
