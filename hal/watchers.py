"""Telling the firmware that a device's state changed by itself, so that it need not poll for it."""

from collections.abc import Callable


class Watchers:
    """The callbacks a device calls after a change (from whichever thread saw it: a driver's worker, gpiozero's
    edge thread or the event loop); each callback is responsible for reaching its own thread."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def add(self, changed: Callable[[], None]) -> bool:
        """Call `changed()` after each change from now on; True (the device reports its changes)."""
        self._callbacks.append(changed)
        return True

    def __call__(self) -> None:
        for changed in list(self._callbacks):
            changed()
