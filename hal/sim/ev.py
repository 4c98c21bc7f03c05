"""Simulated EV behind the plug: plugs, unplugs, asks for energy and draws power."""

import asyncio
from collections.abc import AsyncIterator, Callable

from hal.plug import PlugSensor, PlugState


class SimEV(PlugSensor):
    """Plug sensor of a simulated connector; the EV draws `max_power_w` while requesting."""

    def __init__(self, max_power_w: float, on_change: Callable[[], None] | None = None) -> None:
        self.max_power_w = max_power_w
        self._state = PlugState()
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
        if self._on_change is not None:
            self._on_change()
        self._state = state
        self._queue.put_nowait(state)

    async def changes(self) -> AsyncIterator[PlugState]:
        while True:
            yield await self._queue.get()
