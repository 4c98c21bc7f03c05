"""Simulated contactor whose auxiliary-contact feedback follows the command."""

import time
from collections.abc import Callable

from hal.contactor import Contactor


class SimContactor(Contactor):
    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._closed = False
        self._on_change = on_change
        self.changed_at = time.monotonic()
        """When the contact last moved (CLOCK_MONOTONIC, comparable across processes on Linux)."""

    def close(self) -> None:
        self._set(True)

    def open(self) -> None:
        self._set(False)

    def _set(self, closed: bool) -> None:
        if closed == self._closed:
            return
        if self._on_change is not None:
            self._on_change()  # let the meter integrate up to this instant first
        self._closed = closed
        self.changed_at = time.monotonic()

    @property
    def commanded_closed(self) -> bool:
        return self._closed

    @property
    def feedback_closed(self) -> bool:
        return self._closed
