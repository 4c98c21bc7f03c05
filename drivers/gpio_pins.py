"""Claiming, driving and releasing GPIO pins through gpiozero, shared by the `drivers.gpio_*` modules.

Pins are BCM GPIO numbers (GPIO17 is 17, not header pin 11). `pin_factory` is a gpiozero `Factory`:
None means gpiozero's own choice. gpiozero 2.0 tries lgpio first, then RPi.GPIO (then pigpio and its
native fallback), or the one named by `GPIOZERO_PIN_FACTORY`; the `pi` extra installs both lgpio and
RPi.GPIO, so lgpio drives the pins on every Pi unless the environment says otherwise. Tests pass a
`gpiozero.pins.mock.MockFactory`.

Every output starts at its inactive level, and every input is pulled towards its inactive level by the
SoC's internal pull (about 50 kOhm): a wire that falls off reads "not active". That internal pull is
gone once the pin is released and while the Pi is unpowered; see `drivers.gpio_force_open` for why
relay drivers need a pull of their own.
"""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from gpiozero import BadPinFactory, Device, DigitalInputDevice, Factory, GPIOPinInUse, OutputDevice, PinInvalidPin

log = logging.getLogger(__name__)


class GpioPinError(ValueError):
    """A pin in the configuration cannot be used: it does not exist, or something else holds it."""


def output_device(pin: int, role: str, *, active_high: bool, pin_factory: Factory | None) -> OutputDevice:
    """Claim `pin` as an output driven to its inactive level from the first instant (gpiozero initial_value).

    `role` names the pin in errors and logs ("contactor output"). Raises `GpioPinError` for a pin that
    does not exist or is in use; other failures (no GPIO library, no permission on /dev/gpiochip0)
    propagate with a note naming the pin and role.
    """
    with claiming(role, pin):
        device = OutputDevice(pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)
    log.debug("gpio output claimed role=%r pin=%d active_high=%s", role, pin, active_high)
    return device


def input_device(pin: int, role: str, *, active_high: bool, pin_factory: Factory | None) -> DigitalInputDevice:
    """Claim `pin` as an input pulled to its inactive level (pull-down if active high, pull-up if active low).

    No gpiozero bounce time: callers that need debouncing do their own (see `drivers.gpio_inputs`).
    Errors as in `output_device`.
    """
    with claiming(role, pin):
        device = DigitalInputDevice(pin, pull_up=not active_high, pin_factory=pin_factory)
    log.debug("gpio input claimed role=%r pin=%d active_high=%s", role, pin, active_high)
    return device


@contextmanager
def claiming(role: str, *pins: int) -> Iterator[None]:
    """Around the construction of a gpiozero device on `pins`: errors that name the pins and their role.

    A pin that does not exist or is in use raises `GpioPinError`; any other error (no GPIO library, no
    permission on /dev/gpiochip0) propagates with a note naming the pins and role.
    """
    for pin in pins:
        if isinstance(pin, bool) or not isinstance(pin, int):
            raise GpioPinError(f"{role} pin must be a BCM GPIO number, not {pin!r}")
    where = f"{role} pin {pins[0]}" if len(pins) == 1 else f"{role} pins {', '.join(map(str, pins))}"
    try:
        yield
    except PinInvalidPin as exc:
        if len(pins) == 1:
            message = f"{where} does not exist on this board"
        else:
            message = f"{where}: one does not exist on this board ({exc})"
        raise GpioPinError(f"{message}; pins are BCM GPIO numbers (17 for GPIO17)") from exc
    except GPIOPinInUse as exc:
        raise GpioPinError(f"{where} is already used by another device of this process") from exc
    except BadPinFactory as exc:
        exc.add_note(f"while claiming {where}: no GPIO library works here (lgpio or RPi.GPIO on a Raspberry Pi)")
        raise
    except Exception as exc:
        exc.add_note(f"while claiming {where}")
        raise


def drive(device: OutputDevice, active: bool, role: str) -> bool:
    """Set an output; never raises (it runs on safety and exit paths). False, and logged, when it failed."""
    try:
        device.value = active
    except Exception:
        log.exception("could not drive gpio output role=%r active=%s", role, active)
        return False
    return True


def release(devices: Iterable[Device | None]) -> None:
    """Close gpiozero devices (None entries skipped): each pin goes back to an input with no pull.

    Never raises; a device already closed is fine.
    """
    for device in devices:
        if device is None:
            continue
        try:
            device.close()
        except Exception:
            log.exception("could not release gpio device=%r", device)
