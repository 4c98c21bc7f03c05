"""Simulated connector lock."""

from hal.lock import ConnectorLock


class SimLock(ConnectorLock):
    def __init__(self) -> None:
        self._locked = False
        self.jammed = False
        """Fault injection: the lock's actuator does not move (it stays as it is, locked or not)."""

    def lock(self) -> None:
        if not self.jammed:
            self._locked = True

    def unlock(self) -> None:
        if not self.jammed:
            self._locked = False

    @property
    def locked(self) -> bool:
        return self._locked
