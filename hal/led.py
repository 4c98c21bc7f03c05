"""Status LED interface."""

from abc import ABC, abstractmethod
from enum import Enum


class LedPattern(Enum):
    OFF = "off"
    READY = "ready"          # steady green: free to use
    BUSY = "busy"            # steady blue: plugged, authorizing, finishing
    CHARGING = "charging"    # pulsing blue: energy flows
    SUSPENDED = "suspended"  # blinking blue: transaction on, no energy
    DENIED = "denied"        # short red flash: card rejected
    FAULT = "fault"          # steady red
    UNAVAILABLE = "unavailable"  # steady amber


class StatusLed(ABC):
    @abstractmethod
    def show(self, pattern: LedPattern) -> None:
        """Display a pattern until told otherwise."""


class NoLed(StatusLed):
    """A connector without a status LED of its own."""

    def show(self, pattern: LedPattern) -> None:
        pass
