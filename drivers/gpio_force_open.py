"""Force contactor (and other energy) outputs to their inactive level from outside the daemon.

The firmware CLI runs this from the systemd unit's ExecStartPre and ExecStopPost: ExecStopPost runs
after every stop, including a SIGKILL, a crash or a watchdog kill, which is exactly when the daemon
itself could not open its contactors.

What happens to a GPIO line when the process that drives it ends
-----------------------------------------------------------------
- Clean exit (return, sys.exit, a handled SIGTERM; evsed handles SIGTERM): gpiozero's atexit hook
  (`gpiozero.devices._shutdown`) closes every device and the pin factory. A closed pin becomes an
  INPUT WITH NO PULL: lgpio's pin re-claims the line as input with `SET_PULL_NONE` before the chip is
  closed; RPi.GPIO's `cleanup()` sets it to input with `PUD_OFF`. The line floats; even the SoC's
  power-on default pull has been switched off. A Python process killed by an unhandled SIGTERM runs no
  atexit hooks: that case is the next one.
- SIGKILL, segfault, OOM kill, os._exit: nothing in the process runs.
  RPi.GPIO writes the SoC's registers through /dev/gpiomem, so the kernel does not know the pin is in
  use; its own exit hook only unmaps that memory. The pin stays an OUTPUT AT ITS LAST LEVEL.
  lgpio uses the kernel's GPIO character device; the kernel releases the line when the dead process's
  file descriptor closes, and what the pin does then is up to the pin controller driver. Raspberry Pi
  OS kernels keep a released output at its level (Raspberry Pi documentation: "the state of a GPIO IS
  retained when a program that has changed the value exits"; module parameter
  `pinctrl_bcm2835.persist_gpio_outputs`, and a parameter of the same name in the Pi 5's RP1 driver;
  mainline kernels default to returning the pin to an input). Only with `dtparam=strict_gpiod` in
  config.txt (or `pinctrl_bcm2835.persist_gpio_outputs=n`) does a released pin return to an input.
  So after a kill the contactor output most likely STAYS DRIVEN, possibly closed, until something
  else drives it: this function.
- Power-up, and the time before evsed starts: the pin is an input with the SoC's power-on default
  pull (on the Pi 2-4, up for GPIO0-8 and down for GPIO9-27 per the SoC datasheets; the Pi 5's RP1
  has its own table). While the Pi is unpowered its pins are not driven at all, and can sink current
  through their protection diodes into the unpowered 3.3 V rail.

`force_open` drives each pin to its inactive level, then releases it: the pin ends as an input with
no pull, like after a clean exit. So the relay driver MUST BE WIRED FAIL-OPEN: a floating, unpulled
or unpowered pin has to mean OPEN by hardware alone. Use an active-high output into the coil driver
(transistor, optocoupler or SSR input) with its own pull-down (e.g. 10 kOhm to GND) on the driver
side, preferably on a GPIO whose power-on pull is also down (GPIO9-27 on the Pi 2-4). Avoid
active-low relay boards: their input is pulled up to the board's supply and switches ON when the pin
sinks current, which an unpowered Pi's pin can do; and with lgpio an active-low output starts with a
microseconds-long active blip, because gpiozero claims the line as an output at level 0 before it
writes the inactive 1 (`output_with_state` is not specialised for lgpio in gpiozero 2.0.1).
"""

import logging
from dataclasses import dataclass

from gpiozero import Factory

from drivers.gpio_pins import output_device, release

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Forced:
    pin: int
    ok: bool
    """The pin was driven to its inactive level."""
    text: str
    """What was done, or why the pin could not be forced, in plain words."""


def force_open(outputs: list[tuple[int, bool]], pin_factory: Factory | None = None) -> list[Forced]:
    """Drive each `(pin, active_high)` to its inactive level, then release it; never raises.

    Returns one result per pin (the other pins are forced all the same when one fails). They are
    logged too; the caller prints them.
    """
    lines = []
    for pin, active_high in outputs:
        inactive = "low" if active_high else "high"
        try:
            device = output_device(pin, "forced-open output", active_high=active_high, pin_factory=pin_factory)
        except Exception as exc:
            notes = "".join(f"; {note}" for note in getattr(exc, "__notes__", ()))
            lines.append(Forced(pin, False, f"GPIO{pin}: NOT forced open: {exc}{notes}"))
            log.error("force open failed pin=%s active_high=%s error=%r", pin, active_high, exc)
            continue
        release((device,))
        lines.append(Forced(pin, True, f"GPIO{pin}: driven {inactive} (inactive, active_high={active_high}), "
                                       "then released as an input"))
        log.info("forced open pin=%d active_high=%s level=%s", pin, active_high, inactive)
    return lines
