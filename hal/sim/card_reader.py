"""Simulated card reader: cards are presented by calling `present()`."""

import asyncio
from collections.abc import AsyncIterator, Callable

from hal.card_reader import CardReader
from hal.uid import normalise_uid
from hal.watchers import Watchers


class SimCardReader(CardReader):
    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._failing = False
        self._watchers = Watchers()

    @property
    def failing(self) -> bool:
        """Fault injection: the reader is gone (unplugged, broken)."""
        return self._failing

    @failing.setter
    def failing(self, failing: bool) -> None:
        changed, self._failing = failing != self._failing, failing
        if changed:
            self._watchers()

    @property
    def problem(self) -> str | None:
        return "simulated reader does not answer (fault injected)" if self.failing else None

    def watch_problem(self, changed: Callable[[], None]) -> bool:
        return self._watchers.add(changed)

    def present(self, uid: str) -> str:
        """Present a card; returns the normalised UID. Raises ValueError for a malformed UID or a failing reader."""
        if self.failing:
            raise ValueError("the reader is failing (fault injected): no card can be read")
        normalised = normalise_uid(uid)
        self._queue.put_nowait(normalised)
        return normalised

    async def taps(self) -> AsyncIterator[str]:
        while True:
            yield await self._queue.get()
