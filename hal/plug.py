"""Plug / EV sensing interface (a control-pilot board or simple switches)."""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class PlugState:
    """`plugged`: an EV is connected (pilot state B/C). `requesting`: it asks for energy (state C)."""

    plugged: bool = False
    requesting: bool = False


class PlugSensor(ABC):
    @property
    @abstractmethod
    def state(self) -> PlugState:
        """The state now."""

    @abstractmethod
    def changes(self) -> AsyncIterator[PlugState]:
        """Yield each new state as it happens."""

    def signal_fault(self, on: bool) -> None:  # noqa: B027 - optional hook, needs a pilot output
        """Hold the control pilot in state F (the EV must stop drawing), where a pilot output is wired.

        IEC 61851-1 state F: EVSE not available. Released with `on=False` once the fault is cleared.
        """
