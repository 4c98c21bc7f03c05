"""Simulated EV behind the plug: plugs, unplugs, asks for energy and draws power."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from hal.plug import PlugSensor, PlugState
from hal.sim import persist


class SimEV(PlugSensor):
    """Plug sensor of a simulated connector; the EV draws `max_power_w` while requesting.

    The EV stays plugged through a restart of the charger: its state is kept in `state_path`.
    """

    def __init__(self, max_power_w: float, state_path: Path, on_change: Callable[[], None] | None = None) -> None:
        self.max_power_w = max_power_w
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
        return self.max_power_w if contactor_closed and self._state.requesting else 0.0

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
