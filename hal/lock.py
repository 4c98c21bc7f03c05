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
