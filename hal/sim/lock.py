"""Simulated connector lock."""

from hal.lock import ConnectorLock


class SimLock(ConnectorLock):
    def __init__(self) -> None:
        self._locked = False

    def lock(self) -> None:
        self._locked = True

    def unlock(self) -> None:
        self._locked = False

    @property
    def locked(self) -> bool:
        return self._locked
