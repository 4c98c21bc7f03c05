"""Card reader interface: yields normalised card UIDs, one per tap."""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable


class CardReader(ABC):
    """A reader delivers each presented card once (a card left on the reader is one tap).

    A real reader can be unplugged or fail: `taps()` then keeps retrying by itself (it never raises
    for a reader problem) and `problem` says what is wrong, so the charger keeps working with its
    other inputs and an installer can see why no card is read.
    """

    @abstractmethod
    def taps(self) -> AsyncIterator[str]:
        """Yield upper-case hex UIDs (see `hal.uid.normalise_uid`) as cards are presented."""

    @property
    def problem(self) -> str | None:
        """What is wrong with the reader in plain words, or None while it works."""
        return None

    def watch_problem(self, changed: Callable[[], None]) -> bool:
        """Have `changed()` called, from any thread, whenever `problem` changes. False, the default: this reader
        cannot tell, and the firmware polls `problem` instead."""
        return False

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most readers hold nothing
        """Release the reader."""
