"""Plug sensing from GPIO inputs: a control-pilot board's digital outputs, or simple switches.

Inputs: "plugged" (pilot state B or C, or a plug-present switch) and, optionally, "requesting" (state C:
the EV asks for energy). Without a requesting input, a plugged EV counts as requesting. Optional output:
"pilot fault", asking the CP board to hold the pilot in state F (IEC 61851-1: EVSE not available).

Debouncing is done here rather than with gpiozero's `bounce_time`, whose meaning depends on the pin
library: RPi.GPIO's `bouncetime` is a lock-out after a reported edge (edges inside it are dropped, so
the last edge of a bounce, the one that tells the final level, can be lost), lgpio's is a filter in
the library, and MockFactory ignores it. Here the first edge arms a timer on the event loop; when it
fires, both inputs are read and a state different from the last one is published. Edges after that
arm another read, so the reported state always ends at the pins' final levels, at most `debounce_s`
after the first edge, and a glitch shorter than `debounce_s` reports nothing.
"""

import asyncio
import logging
from collections.abc import AsyncIterator

from gpiozero import DigitalInputDevice, Factory, OutputDevice

from drivers.gpio_pins import drive, input_device, output_device, release
from hal.plug import PlugSensor, PlugState

log = logging.getLogger(__name__)


class GpioPlugSensor(PlugSensor):
    """`*_pin` are BCM GPIO numbers; each `*_active_high` is the level that means plugged/requesting/fault.

    Inputs are pulled to their inactive level, so a loose wire reads "unplugged". gpiozero calls back
    on its own threads; those callbacks only hand over to the event loop that iterates `changes()`.
    A pin that cannot be claimed raises `drivers.gpio_pins.GpioPinError`. `release()` gives the pins back.
    """

    def __init__(self, plugged_pin: int, *, plugged_active_high: bool = True, requesting_pin: int | None = None,
                 requesting_active_high: bool = True, fault_pin: int | None = None, fault_active_high: bool = True,
                 debounce_s: float = 0.05, pin_factory: Factory | None = None) -> None:
        if debounce_s < 0:
            raise ValueError(f"debounce_s must be 0 or more, not {debounce_s}")
        self._debounce_s = debounce_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[PlugState] = asyncio.Queue()
        self._read_at: asyncio.TimerHandle | None = None
        self._requesting: DigitalInputDevice | None = None
        self._fault: OutputDevice | None = None
        self._plugged = input_device(plugged_pin, "plug sense input", active_high=plugged_active_high,
                                     pin_factory=pin_factory)
        try:
            if requesting_pin is not None:
                self._requesting = input_device(requesting_pin, "EV request input",
                                                active_high=requesting_active_high, pin_factory=pin_factory)
            if fault_pin is not None:
                self._fault = output_device(fault_pin, "pilot fault output", active_high=fault_active_high,
                                            pin_factory=pin_factory)
        except BaseException:
            self.release()
            raise
        self._state = self._read()
        for device in (self._plugged, self._requesting):
            if device is not None:
                device.when_activated = self._edge
                device.when_deactivated = self._edge
        log.info("gpio plug sensor ready plugged_pin=%d requesting_pin=%s fault_pin=%s debounce_s=%s state=%s",
                 plugged_pin, requesting_pin, fault_pin, debounce_s, self._state)

    @property
    def state(self) -> PlugState:
        """The debounced state once `changes()` runs; before that, the inputs as read now."""
        return self._state if self._loop is not None else self._read()

    async def changes(self) -> AsyncIterator[PlugState]:
        """Yield each new debounced state; the first is any change since construction."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                raise RuntimeError("this plug sensor already reports to another event loop")
            self._loop = loop
            self._arm_read()  # catch up with anything that changed before this loop was listening
        while True:
            yield await self._queue.get()

    def signal_fault(self, on: bool) -> None:
        """Drive the pilot-fault output (state F while on); never raises. Logs when none is wired."""
        if self._fault is None:
            log.warning("pilot state F %s requested but no pilot fault output is wired", "on" if on else "off")
            return
        if drive(self._fault, on, "pilot fault output"):
            log.info("pilot fault output on=%s", on)

    def release(self) -> None:
        """Stop reporting and release every pin (each becomes an input with no pull). Never raises."""
        if self._read_at is not None:
            self._read_at.cancel()
            self._read_at = None
        release((self._plugged, self._requesting, self._fault))

    def _read(self) -> PlugState:
        plugged = bool(self._plugged.is_active)
        requesting = plugged and (self._requesting is None or bool(self._requesting.is_active))
        return PlugState(plugged=plugged, requesting=requesting)

    def _edge(self) -> None:
        """gpiozero's callback, on one of its threads: hand over to the event loop, if one listens."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._arm_read)
        except RuntimeError:
            log.debug("plug input edge after the event loop closed")

    def _arm_read(self) -> None:
        if self._read_at is None and self._loop is not None:
            self._read_at = self._loop.call_later(self._debounce_s, self._settled)

    def _settled(self) -> None:
        self._read_at = None
        if self._plugged.closed:
            return
        state = self._read()
        if state != self._state:
            self._state = state
            log.debug("plug inputs settled plugged=%s requesting=%s", state.plugged, state.requesting)
            self._queue.put_nowait(state)
