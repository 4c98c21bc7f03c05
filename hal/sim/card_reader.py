"""Simulated card reader: cards are presented by calling `present()`."""

import asyncio
from collections.abc import AsyncIterator

from hal.card_reader import CardReader
from hal.uid import normalise_uid


class SimCardReader(CardReader):
    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    def present(self, uid: str) -> str:
        """Present a card; returns the normalised UID. Raises ValueError for a malformed UID."""
        normalised = normalise_uid(uid)
        self._queue.put_nowait(normalised)
        return normalised

    async def taps(self) -> AsyncIterator[str]:
        while True:
            yield await self._queue.get()
