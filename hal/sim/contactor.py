"""Simulated contactor whose auxiliary-contact feedback follows the command, unless welded."""

import time
from collections.abc import Callable

from hal.contactor import Contactor
from hal.watchers import Watchers


class SimContactor(Contactor):
    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        """`on_change`: told first of every change (the simulated meter integrates up to this instant and takes
        note of the new power), before whoever `watch`es the contactor."""
        self._closed = False
        self.welded = False
        """Fault injection: the contact is welded closed (feedback and power stay on whatever the command)."""
        self.tripped = False
        """Whether the upstream shunt trip was driven."""
        self.changed_at = time.monotonic()
        """When the contact last moved (CLOCK_MONOTONIC, comparable across processes on Linux)."""
        self._watchers = Watchers()
        if on_change is not None:
            self._watchers.add(on_change)

    def close(self) -> None:
        self._set(True)

    def open(self) -> None:
        self._set(False)

    def _set(self, closed: bool) -> None:
        if closed == self._closed:
            return
        self._closed = closed
        self.changed_at = time.monotonic()
        self._watchers()

    def watch(self, changed: Callable[[], None]) -> bool:
        return self._watchers.add(changed)

    @property
    def commanded_closed(self) -> bool:
        return self._closed

    def weld(self, welded: bool) -> None:
        self.welded = welded
        if not welded:
            self.tripped = False
        self._watchers()

    def trip(self) -> None:
        self.tripped = True
        self._watchers()

    @property
    def feedback_closed(self) -> bool:
        """The auxiliary contact: closed when commanded or welded."""
        return self._closed or self.welded

    @property
    def conducting(self) -> bool:
        """Energy can flow: the contact is closed and the shunt trip has not cut the supply."""
        return self.feedback_closed and not self.tripped
