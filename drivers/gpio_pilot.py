"""The IEC 61851 control pilot generated on one GPIO: a 1 kHz PWM whose duty cycle offers the EV a current.

The rule (IEC 61851-1:2017 Table A.7: 6 A to 51 A is amps / 0.6 %, 51 A to 80 A is amps / 2.5 + 64 %,
below 6 A the oscillator is off at constant +12 V) is `hal.pilot.duty_cycle`; this driver only puts its
result on the pin. The offer is capped at the EVSE's rating (and at `hal.pilot.MAX_CURRENT_A`).

Wiring: the GPIO feeds a ±12 V pilot driver stage (an op-amp fed from ±12 V, as in the common open
EVSE reference circuits, behind the standard's 1 kOhm source resistor) that turns 3.3 V / 0 V into
+12 V / -12 V. `active_high=True`: GPIO high is +12 V; `active_high=False` for an inverting stage.
Reading the pilot back (states A to F) is the plug sensor's job (`drivers.gpio_inputs`), not this one's.

The pin is claimed as a plain output at the +12 V level (gpiozero `output_with_state`: with RPi.GPIO
that is the very first level; gpiozero's lgpio pin claims every output low and writes the level a
syscall later, as for every output of this project) and PWM runs on it only while a current is
offered. gpiozero's PWMOutputDevice is not used: it claims the pin, starts PWM at 0 % and only then
sets its initial value, so the pilot would start at -12 V (state F) for a moment.

Accuracy is the limit of this driver. gpiozero 2.0 makes PWM on any pin by timing it in software:
lgpio (the default) and RPi.GPIO toggle the pin from a thread, so the frequency and pulse width jitter
with the CPU's load, and gpiozero's lgpio pin also truncates the duty cycle to a whole percent (1 % is
0.6 A up to 51 A, 2.5 A above; truncated towards a lower offer with `active_high=True`, towards a
higher one with `active_high=False`). pigpio (PiGPIOFactory, its daemon, not on a Pi 5) times PWM by
DMA and is steadier. The SoC's hardware PWM (GPIO12/13/18/19, the kernel's pwm overlay) is not
reachable through gpiozero at all; a pilot that must meet the standard's tolerances under load needs
a driver on it, or a pilot microcontroller.
"""

import logging

from gpiozero import Factory, OutputDevice

from drivers.gpio_pins import claiming, release
from hal.pilot import MAX_CURRENT_A, MIN_CURRENT_A, OSCILLATOR_OFF, ChargingPilot, duty_cycle

log = logging.getLogger(__name__)

ROLE = "control pilot output"


class GpioPilot(ChargingPilot):
    """`pin` is a BCM GPIO number; `rating_a` the most this EVSE may offer per phase (capped at 80 A).

    Starts with the oscillator off (constant +12 V). A pin that cannot be claimed raises
    `drivers.gpio_pins.GpioPinError`. `release()` stops the oscillator and gives the pin back.
    """

    def __init__(self, pin: int, *, rating_a: float, active_high: bool = True, frequency_hz: int = 1000,
                 pin_factory: Factory | None = None) -> None:
        if not rating_a >= MIN_CURRENT_A:  # also NaN
            raise ValueError(f"{ROLE}: rating_a must be at least {MIN_CURRENT_A:g} A, not {rating_a}")
        self._rating_a = min(rating_a, MAX_CURRENT_A)
        self._pin = pin
        self._active_high = active_high
        self._frequency_hz = frequency_hz
        self._offered: float | None = None
        self._shown: tuple[float, float] = (0.0, OSCILLATOR_OFF)  # (amps, duty) last logged
        with claiming(ROLE, pin):
            self._device = OutputDevice(pin, active_high=active_high, initial_value=True, pin_factory=pin_factory)
        log.info("gpio pilot ready pin=%d rating_a=%g active_high=%s frequency_hz=%d",
                 pin, self._rating_a, active_high, frequency_hz)

    def offer(self, amps: float | None) -> None:
        """Signal min(`amps`, rating) (None: the rating); below 6 A, or NaN, the oscillator is off.

        Raises if the pin cannot be written. After `release()` the offer is remembered, nothing is driven.
        """
        self._offered = amps
        # min(amps, rating) and not min(rating, amps): min(nan, x) is nan, which duty_cycle turns off.
        limit = self._rating_a if amps is None else min(amps, self._rating_a)
        duty = duty_cycle(limit)
        if self._device.closed:
            return
        self._drive(duty)
        if (limit, duty) != self._shown:
            self._shown = (limit, duty)
            log.info("pilot offer pin=%d amps=%g duty=%.4f", self._pin, limit, duty)

    @property
    def offered_a(self) -> float | None:
        return self._offered

    def release(self) -> None:
        """Stop the oscillator at constant +12 V, then release the pin (an input with no pull: the driver
        stage decides the level from then on). Never raises; idempotent."""
        if not self._device.closed:
            try:
                self._drive(OSCILLATOR_OFF)
            except Exception:
                log.exception("could not stop the pilot oscillator pin=%d", self._pin)
        release((self._device,))

    def _drive(self, duty: float) -> None:
        """Put `duty` (the fraction of each period at +12 V) on the pin: constant when the oscillator is off."""
        pin = self._device.pin
        if duty == OSCILLATOR_OFF:
            if pin.frequency is not None:
                pin.frequency = None
            pin.state = self._active_high
            return
        if pin.frequency is None:
            pin.frequency = self._frequency_hz
        pin.state = duty if self._active_high else 1.0 - duty
