"""Card reader interface: yields normalised card UIDs, one per tap."""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator


class CardReader(ABC):
    """A reader delivers each presented card once (a card left on the reader is one tap)."""

    @abstractmethod
    def taps(self) -> AsyncIterator[str]:
        """Yield upper-case hex UIDs (see `hal.uid.normalise_uid`) as cards are presented."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most readers hold nothing
        """Release the reader."""
