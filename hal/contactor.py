"""Contactor interface: the switch that lets energy flow to the EV."""

from abc import ABC, abstractmethod
from collections.abc import Callable


class Contactor(ABC):
    """Closing and opening are synchronous and fast (a GPIO write), so exit paths can always open."""

    @abstractmethod
    def close(self) -> None:
        """Command the contactor closed (energy may flow)."""

    @abstractmethod
    def open(self) -> None:
        """Command the contactor open (no energy). Safe to call at any time, any number of times."""

    @property
    @abstractmethod
    def commanded_closed(self) -> bool:
        """What the output is driving."""

    @property
    def feedback_closed(self) -> bool | None:
        """What the auxiliary contact reports; None when no feedback input is wired."""
        return None

    def watch(self, changed: Callable[[], None]) -> bool:
        """Have `changed()` called, from any thread, after each command and each change of `feedback_closed`
        (an edge on the auxiliary contact's input). False, the default: this contactor cannot tell, and the
        firmware polls `feedback_closed` instead."""
        return False

    def trip(self) -> None:  # noqa: B027 - optional hook, not every charger has a shunt trip
        """Drive the upstream shunt-trip output, where one is wired (the contact is welded closed).

        Like `open()`, synchronous and never blocking. The output stays driven until the process ends.
        """
