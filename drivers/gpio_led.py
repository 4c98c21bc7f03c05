"""The status LED on GPIO: one RGB LED (three pins) or one single-colour LED (one pin).

Both are driven with PWM (software PWM with RPi.GPIO and lgpio) so that CHARGING can pulse. An RGB LED
shows the colours the `hal.LedPattern` comments give; a single LED tells the patterns apart by rhythm
alone, as the table `MONO` says. DENIED is a short flash (three red blinks) after which the LED goes
back to the pattern it showed before, unless another pattern was asked for meanwhile.
"""

import logging
import threading
from dataclasses import dataclass
from typing import Any

from gpiozero import PWMLED, RGBLED, Factory

from drivers.gpio_pins import GpioPinError, claiming, release
from hal.led import LedPattern, StatusLed

log = logging.getLogger(__name__)

Colour = tuple[float, float, float]
DARK: Colour = (0.0, 0.0, 0.0)
GREEN: Colour = (0.0, 1.0, 0.0)
BLUE: Colour = (0.0, 0.0, 1.0)
RED: Colour = (1.0, 0.0, 0.0)
AMBER: Colour = (1.0, 0.4, 0.0)
LIT: Colour = (1.0, 1.0, 1.0)
"""A single-colour LED on: it has no colours, only lit and dark."""


@dataclass(frozen=True)
class Look:
    """How a pattern appears: `colour` steady, or blinking (`on_s`/`off_s`, `count` times or forever),
    or pulsing (fading in over `on_s` and out over `off_s`)."""

    colour: Colour
    on_s: float | None = None
    off_s: float = 0.0
    pulse: bool = False
    count: int | None = None

    @property
    def duration_s(self) -> float | None:
        """How long a blink with a count lasts; None for anything that lasts until told otherwise."""
        return None if self.count is None or self.on_s is None else self.count * (self.on_s + self.off_s)


RGB: dict[LedPattern, Look] = {
    LedPattern.OFF: Look(DARK),
    LedPattern.READY: Look(GREEN),
    LedPattern.BUSY: Look(BLUE),
    LedPattern.CHARGING: Look(BLUE, on_s=1.0, off_s=1.0, pulse=True),
    LedPattern.SUSPENDED: Look(BLUE, on_s=0.5, off_s=0.5),
    LedPattern.DENIED: Look(RED, on_s=0.15, off_s=0.15, count=3),
    LedPattern.FAULT: Look(RED),
    LedPattern.UNAVAILABLE: Look(AMBER),
}

MONO: dict[LedPattern, Look] = {
    LedPattern.OFF: Look(DARK),
    LedPattern.READY: Look(LIT),
    LedPattern.BUSY: Look(LIT, on_s=1.8, off_s=0.2),  # mostly on, short gaps
    LedPattern.CHARGING: Look(LIT, on_s=1.0, off_s=1.0, pulse=True),
    LedPattern.SUSPENDED: Look(LIT, on_s=0.5, off_s=0.5),
    LedPattern.DENIED: Look(LIT, on_s=0.15, off_s=0.15, count=3),
    LedPattern.FAULT: Look(LIT, on_s=0.1, off_s=0.1),  # fast flicker
    LedPattern.UNAVAILABLE: Look(LIT, on_s=0.1, off_s=1.9),  # a blip every two seconds
}


class GpioStatusLed(StatusLed):
    """Give either `rgb=(red_pin, green_pin, blue_pin)` or `pin=` (BCM GPIO numbers).

    `active_high=False` is a common-anode RGB LED, or a single LED wired from 3.3 V to the pin.
    A pin that cannot be claimed raises `drivers.gpio_pins.GpioPinError`. `release()` gives the pins back.
    """

    def __init__(self, *, rgb: tuple[int, int, int] | None = None, pin: int | None = None, active_high: bool = True,
                 pin_factory: Factory | None = None) -> None:
        if (rgb is None) == (pin is None):
            raise GpioPinError("status LED: give either rgb=(red, green, blue) pins or one pin")
        self._lock = threading.Lock()
        self._shown = LedPattern.OFF
        self._restore: threading.Timer | None = None
        self._device: RGBLED | PWMLED
        if rgb is not None:
            with claiming("status LED red/green/blue", *rgb):
                self._device = RGBLED(*rgb, active_high=active_high, pin_factory=pin_factory)
            self._looks = RGB
        else:
            with claiming("status LED", pin):
                self._device = PWMLED(pin, active_high=active_high, pin_factory=pin_factory)
            self._looks = MONO
        log.info("gpio status led ready rgb=%s pin=%s active_high=%s", rgb, pin, active_high)

    def show(self, pattern: LedPattern) -> None:
        """Display `pattern` until told otherwise (DENIED: for its flash, then the previous pattern).

        Ignored after `release()`, so that a status change during shutdown does not fail.
        """
        with self._lock:
            if self._device.closed:
                return
            self._cancel_restore()
            look = self._looks[pattern]
            self._apply(look)
            if look.duration_s is None:
                self._shown = pattern
            else:
                self._restore = threading.Timer(look.duration_s, self._restore_shown)
                self._restore.daemon = True
                self._restore.start()

    def release(self) -> None:
        """Release the pins (they become inputs with no pull, so the LED goes dark). Never raises."""
        with self._lock:
            self._cancel_restore()
        release((self._device,))

    def _apply(self, look: Look) -> None:
        rgb = isinstance(self._device, RGBLED)
        on_colour: dict[str, Any] = {"on_color": look.colour} if rgb else {}  # a single LED has no colour
        if look.pulse:
            self._device.pulse(fade_in_time=look.on_s, fade_out_time=look.off_s, **on_colour)
        elif look.on_s is not None:
            self._device.blink(on_time=look.on_s, off_time=look.off_s, n=look.count, **on_colour)
        else:
            self._device.value = look.colour if rgb else max(look.colour)

    def _cancel_restore(self) -> None:
        if self._restore is not None:
            self._restore.cancel()
            self._restore = None

    def _restore_shown(self) -> None:
        with self._lock:
            if self._restore is not threading.current_thread() or self._device.closed:
                return  # another pattern was asked for meanwhile, or the LED was released
            self._restore = None
            self._apply(self._looks[self._shown])
