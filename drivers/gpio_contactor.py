"""A contactor driven by one GPIO output, with optional auxiliary-contact feedback and shunt-trip outputs.

The output drives the contactor's coil driver (transistor, relay or SSR input). The auxiliary contact,
when wired, is read on an input; `feedback_closed` only reports it. Comparing feedback with the
command (a contact that does not follow within a time: Faulted, PowerSwitchFailure) is the firmware's
job. The shunt-trip output, when wired, trips an upstream breaker for a contact welded closed.

Wiring: the coil driver must hold the contactor OPEN when the pin floats or the Pi is unpowered
(pull-down on an active-high input); see `drivers.gpio_force_open` for why.
"""

import logging
from collections.abc import Callable

from gpiozero import DigitalInputDevice, Factory, OutputDevice

from drivers.gpio_pins import drive, input_device, output_device, release
from hal.contactor import Contactor
from hal.watchers import Watchers

log = logging.getLogger(__name__)


class GpioContactor(Contactor):
    """`output_pin` etc. are BCM GPIO numbers; each `*_active_high` is the level that means closed/tripped.

    The output is claimed first and driven open from the first instant; the other pins after it. A
    pin that cannot be claimed raises `drivers.gpio_pins.GpioPinError` (pins claimed so far are
    released). `release()` opens the contactor and gives the pins back (`close()` is the interface's
    command to close the contactor).
    """

    def __init__(self, output_pin: int, *, active_high: bool = True, feedback_pin: int | None = None,
                 feedback_active_high: bool = True, trip_pin: int | None = None, trip_active_high: bool = True,
                 pin_factory: Factory | None = None) -> None:
        self._output = output_device(output_pin, "contactor output", active_high=active_high,
                                     pin_factory=pin_factory)
        self._closed = False
        self._watchers = Watchers()
        self._feedback: DigitalInputDevice | None = None
        self._trip: OutputDevice | None = None
        try:
            if feedback_pin is not None:
                self._feedback = input_device(feedback_pin, "contactor feedback", active_high=feedback_active_high,
                                              pin_factory=pin_factory)
                # Each edge of the auxiliary contact, from gpiozero's thread (an interrupt on the pin).
                self._feedback.when_activated = self._feedback.when_deactivated = self._edge
            if trip_pin is not None:
                self._trip = output_device(trip_pin, "shunt trip output", active_high=trip_active_high,
                                           pin_factory=pin_factory)
        except BaseException:
            self.release()
            raise
        log.info("gpio contactor ready output_pin=%d active_high=%s feedback_pin=%s trip_pin=%s",
                 output_pin, active_high, feedback_pin, trip_pin)

    def close(self) -> None:
        """Drive the output active. Raises if the pin cannot be written (nothing was closed then)."""
        self._output.on()
        self._closed = True
        self._watchers()

    def open(self) -> None:
        """Drive the output inactive; never raises. After `release()` there is nothing left to drive."""
        if self._output.closed:
            self._closed = False
            return
        if drive(self._output, False, "contactor output"):
            was_closed, self._closed = self._closed, False
            if was_closed:
                self._watchers()

    @property
    def commanded_closed(self) -> bool:
        """True from a successful `close()` until a successful `open()` (a failed open leaves it True)."""
        return self._closed

    @property
    def feedback_closed(self) -> bool | None:
        """The auxiliary contact's reading; None when no feedback input is wired."""
        return None if self._feedback is None else bool(self._feedback.is_active)

    def watch(self, changed: Callable[[], None]) -> bool:
        return self._watchers.add(changed)

    def _edge(self) -> None:
        self._watchers()

    def trip(self) -> None:
        """Drive the shunt-trip output active and leave it so; never raises. Logs when none is wired."""
        if self._trip is None:
            log.error("shunt trip requested but no trip output is wired")
            return
        if drive(self._trip, True, "shunt trip output"):
            log.warning("shunt trip output driven pin=%s", self._trip.pin)

    def release(self) -> None:
        """Open, then release every pin (each becomes an input with no pull). Never raises; idempotent.

        A driven shunt-trip output is released too: the breaker has latched by then.
        """
        self.open()
        release((self._output, self._feedback, self._trip))
