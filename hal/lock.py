"""Connector (socket cable) lock interface."""

from abc import ABC, abstractmethod


class ConnectorLock(ABC):
    @abstractmethod
    def lock(self) -> None:
        """Lock the cable in the socket."""

    @abstractmethod
    def unlock(self) -> None:
        """Release the cable."""

    @property
    @abstractmethod
    def locked(self) -> bool:
        """Whether the lock is engaged."""


class TetheredCable(ConnectorLock):
    """A charger whose cable is fixed to it: there is nothing to lock, and it is always held."""

    def lock(self) -> None:
        pass

    def unlock(self) -> None:
        pass

    @property
    def locked(self) -> bool:
        return True
