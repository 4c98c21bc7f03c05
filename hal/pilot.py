"""The control pilot: how much current the EVSE tells the EV it may draw (IEC 61851-1 Annex A).

The EVSE signals the available current by the duty cycle of the 1 kHz ±12 V pilot (IEC 61851-1:2017 Table A.7):
6 A to 51 A is duty = amps / 0.6 %, 51 A to 80 A is duty = amps / 2.5 + 64 %. Less than 6 A cannot be signalled:
the oscillator stays off (constant +12 V, state x1) and the EV does not charge. The charger's software only
offers a limit; the wiring and the EV state read back are the driver's and the plug sensor's.
"""

import math
from abc import ABC, abstractmethod

MIN_CURRENT_A = 6.0
"""The lowest current a duty cycle can signal; below it nothing is offered (charging paused)."""
MAX_CURRENT_A = 80.0
"""The highest current a duty cycle can signal (96 %)."""
OSCILLATOR_OFF = 1.0
"""Duty cycle of a pilot that offers nothing: constant +12 V."""


def duty_cycle(amps: float) -> float:
    """The pilot's duty cycle (0 to 1) that offers at most `amps` per phase (IEC 61851-1:2017 Table A.7).

    Below MIN_CURRENT_A the oscillator is off; above MAX_CURRENT_A the offer is MAX_CURRENT_A. Rounded down to
    0.01 % so no rounding offers more than asked."""
    if not amps >= MIN_CURRENT_A:  # also NaN
        return OSCILLATOR_OFF
    amps = min(amps, MAX_CURRENT_A)
    # Just above 51 A the upper formula gives less than 51 A's 85 %: holding 85 % up to 52.5 A (where the formulas
    # meet) keeps the duty rising with the offer; the EV reads 51 A there, never more than offered.
    percent = min(amps / 0.6, 85.0) if amps <= 52.5 else amps / 2.5 + 64.0
    return math.floor(percent * 100) / 10_000


class ChargingPilot(ABC):
    """One connector's current offer to the EV."""

    @abstractmethod
    def offer(self, amps: float | None) -> None:
        """Offer the EV at most `amps` per phase from now on. None: no limit but the EVSE's own rating;
        0 (or anything below MIN_CURRENT_A): nothing, the EV must not charge."""

    @property
    @abstractmethod
    def offered_a(self) -> float | None:
        """What `offer` was last given (None before the first offer)."""


class UnwiredPilot(ChargingPilot):
    """A charger whose pilot is generated elsewhere (a separate EVSE board with a fixed current setting): the
    offer is remembered and shown, but the EV is not told. Smart charging limits are then not enforced."""

    def __init__(self) -> None:
        self._offered: float | None = None

    def offer(self, amps: float | None) -> None:
        self._offered = amps

    @property
    def offered_a(self) -> float | None:
        return self._offered
