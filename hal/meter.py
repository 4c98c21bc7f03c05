"""Energy meter interface."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class MeterError(Exception):
    """The meter could not be read (timeout, CRC error, no answer)."""


@dataclass(frozen=True)
class MeterReading:
    """One reading. `energy_wh` is the import register, never an import+export total."""

    energy_wh: float
    power_w: float | None = None
    voltage_v: tuple[float, ...] = field(default=())
    """Per phase L1, L2, L3 (as many as the meter has)."""
    current_a: tuple[float, ...] = field(default=())
    """Per phase L1, L2, L3 (as many as the meter has)."""


class EnergyMeter(ABC):
    """A meter answers reads; it keeps counting whether or not anybody asks."""

    @abstractmethod
    async def read(self) -> MeterReading:
        """Read the meter now. Raises MeterError when it cannot be read."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release the bus."""
