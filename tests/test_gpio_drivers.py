"""GPIO drivers (`drivers.gpio_*`) against gpiozero's MockFactory.

No GPIO exists on this machine (RPi.GPIO refuses to import off a Pi, and no kernel GPIO simulator is
available), so these tests are mock-level: the drivers and gpiozero run unchanged, and MockFactory
replaces only the last boundary, the pin library (lgpio or RPi.GPIO), which truly needs a Pi. What
they cannot show (real levels, pulls, edge-callback threads and timing of those libraries) is what
`test_real_pins_loopback` at the end checks, on a Raspberry Pi with a jumper between two free pins.
"""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin

from drivers.gpio_contactor import GpioContactor
from drivers.gpio_force_open import force_open
from drivers.gpio_inputs import GpioPlugSensor
from drivers.gpio_led import GpioStatusLed
from drivers.gpio_pins import GpioPinError
from hal import LedPattern, PlugState

OUT, FEEDBACK, TRIP = 17, 27, 22
PLUG, REQUEST, PILOT_FAULT = 5, 6, 13
RED, GREEN, BLUE = 16, 20, 21
DEBOUNCE_S = 0.1


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.close()


@pytest.fixture
def pwm_factory() -> Iterator[MockFactory]:
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.close()


def wait_until(condition: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    """Poll `condition` until true or `timeout_s` passed (LED threads run on their own)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def level(f: MockFactory, pin: int) -> float:
    return float(f.pin(pin).state)


# --- contactor -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("active_high", [True, False])
def test_contactor_starts_open_and_drives_its_active_level(factory: MockFactory, active_high: bool) -> None:
    contactor = GpioContactor(OUT, active_high=active_high, pin_factory=factory)
    pin = factory.pin(OUT)
    assert pin.function == "output"
    assert pin.state is (not active_high)
    assert contactor.commanded_closed is False

    contactor.close()
    assert pin.state is active_high
    assert contactor.commanded_closed is True
    contactor.open()
    contactor.open()
    assert pin.state is (not active_high)
    assert contactor.commanded_closed is False
    contactor.release()


@pytest.mark.parametrize("active_high", [True, False])
def test_feedback_follows_the_auxiliary_contact(factory: MockFactory, active_high: bool) -> None:
    contactor = GpioContactor(OUT, feedback_pin=FEEDBACK, feedback_active_high=active_high, pin_factory=factory)
    pin = factory.pin(FEEDBACK)
    assert pin.pull == ("down" if active_high else "up")
    assert contactor.feedback_closed is False  # pulled to its inactive level: a loose wire reads open
    (pin.drive_high if active_high else pin.drive_low)()
    assert contactor.feedback_closed is True
    (pin.drive_low if active_high else pin.drive_high)()
    assert contactor.feedback_closed is False
    contactor.release()


def test_commands_and_feedback_edges_are_reported_so_the_firmware_need_not_poll(factory: MockFactory) -> None:
    """gpiozero's MockFactory stands in for the Pi's GPIO: its pins call edge callbacks as lgpio's do."""
    contactor = GpioContactor(OUT, feedback_pin=FEEDBACK, pin_factory=factory)
    told: list[bool | None] = []
    assert contactor.watch(lambda: told.append(contactor.feedback_closed)) is True
    contactor.close()
    factory.pin(FEEDBACK).drive_high()  # the auxiliary contact follows
    contactor.open()
    contactor.open()  # already open: nothing changed, nothing told
    factory.pin(FEEDBACK).drive_low()
    factory.pin(FEEDBACK).drive_high()  # welded shut by itself: an edge with no command
    assert told == [False, True, True, False, True]
    contactor.release()


def test_feedback_is_none_when_not_wired(factory: MockFactory) -> None:
    contactor = GpioContactor(OUT, pin_factory=factory)
    assert contactor.feedback_closed is None
    contactor.release()


@pytest.mark.parametrize("active_high", [True, False])
def test_trip_drives_the_shunt_trip_output(factory: MockFactory, active_high: bool) -> None:
    contactor = GpioContactor(OUT, trip_pin=TRIP, trip_active_high=active_high, pin_factory=factory)
    assert factory.pin(TRIP).state is (not active_high)
    contactor.trip()
    assert factory.pin(TRIP).state is active_high
    contactor.release()


def test_trip_without_a_trip_output_is_logged_not_raised(factory: MockFactory,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    contactor = GpioContactor(OUT, pin_factory=factory)
    contactor.trip()
    assert "no trip output is wired" in caplog.text
    contactor.release()


def test_bad_output_pin_names_the_pin_and_its_role(factory: MockFactory) -> None:
    with pytest.raises(ValueError, match="contactor output pin 99 does not exist on this board"):
        GpioContactor(99, pin_factory=factory)


def test_bad_feedback_pin_fails_after_the_output_was_driven_open_and_released(factory: MockFactory) -> None:
    with pytest.raises(GpioPinError, match="contactor feedback pin 99 does not exist"):
        GpioContactor(OUT, active_high=False, feedback_pin=99, pin_factory=factory)
    pin = factory.pin(OUT)
    assert pin.states[-1].state is True  # active low: driven high (open) ...
    assert pin.function == "input"  # ... then released
    GpioContactor(OUT, pin_factory=factory).release()  # and free again


def test_a_pin_used_twice_is_a_clear_error(factory: MockFactory) -> None:
    contactor = GpioContactor(OUT, pin_factory=factory)
    with pytest.raises(GpioPinError, match="shunt trip output pin 17 is already used"):
        GpioContactor(TRIP, trip_pin=OUT, pin_factory=factory)
    contactor.release()


def test_open_never_raises(factory: MockFactory, monkeypatch: pytest.MonkeyPatch,
                           caplog: pytest.LogCaptureFixture) -> None:
    contactor = GpioContactor(OUT, pin_factory=factory)
    contactor.close()

    def broken(value: object) -> None:
        raise OSError("gpiochip gone")

    monkeypatch.setattr(factory.pin(OUT), "_set_state", broken)
    contactor.open()
    assert contactor.commanded_closed is True  # the output may still be closed: say so
    assert "could not drive gpio output" in caplog.text
    monkeypatch.undo()
    contactor.release()
    contactor.open()  # after release: nothing to drive, still no exception
    assert contactor.commanded_closed is False


def test_release_opens_and_gives_the_pins_back(factory: MockFactory) -> None:
    contactor = GpioContactor(OUT, feedback_pin=FEEDBACK, trip_pin=TRIP, pin_factory=factory)
    contactor.close()
    contactor.release()
    contactor.release()
    assert factory.pin(OUT).state is False
    assert {factory.pin(p).function for p in (OUT, FEEDBACK, TRIP)} == {"input"}
    GpioContactor(OUT, feedback_pin=FEEDBACK, trip_pin=TRIP, pin_factory=factory).release()


# --- plug sensor ---------------------------------------------------------------------------------------


class Changes:
    """Collects a sensor's `changes()` in a background task, as the firmware's plug watcher does."""

    def __init__(self, sensor: GpioPlugSensor) -> None:
        self._queue: asyncio.Queue[PlugState] = asyncio.Queue()
        self._task = asyncio.create_task(self._collect(sensor))

    async def _collect(self, sensor: GpioPlugSensor) -> None:
        async for state in sensor.changes():
            self._queue.put_nowait(state)

    async def next(self, timeout_s: float = 1.0) -> PlugState:
        return await asyncio.wait_for(self._queue.get(), timeout_s)

    async def none_within(self, timeout_s: float) -> bool:
        try:
            await self.next(timeout_s)
        except TimeoutError:
            return True
        return False

    def stop(self) -> None:
        self._task.cancel()


@asynccontextmanager
async def listening(sensor: GpioPlugSensor) -> AsyncIterator[Changes]:
    """Collect the sensor's changes; release the sensor afterwards."""
    changes = Changes(sensor)
    await asyncio.sleep(0)  # let the collector start: the sensor now reports to this loop
    try:
        yield changes
    finally:
        changes.stop()
        sensor.release()


def bounce(pin: MockPin, final_high: bool, edges: int = 5, gap_s: float = 0.0) -> None:
    """Contact bounce: alternate levels `gap_s` apart, ending at `final_high`.

    Run it in a thread (`asyncio.to_thread`) for gaps: edges then come from another thread, as
    gpiozero's callbacks do, while the event loop runs.
    """
    for i in range(edges):
        if i:
            time.sleep(gap_s)
        high = final_high if (edges - 1 - i) % 2 == 0 else not final_high
        (pin.drive_high if high else pin.drive_low)()


def test_plug_state_reads_both_inputs_at_their_active_levels(factory: MockFactory) -> None:
    sensor = GpioPlugSensor(PLUG, requesting_pin=REQUEST, requesting_active_high=False, pin_factory=factory)
    assert sensor.state == PlugState(plugged=False, requesting=False)
    factory.pin(PLUG).drive_high()
    assert sensor.state == PlugState(plugged=True, requesting=False)  # nobody listens yet: read now
    factory.pin(REQUEST).drive_low()
    assert sensor.state == PlugState(plugged=True, requesting=True)
    factory.pin(PLUG).drive_low()
    assert sensor.state == PlugState(plugged=False, requesting=False)  # no request without a plug
    sensor.release()


def test_without_a_request_input_a_plugged_ev_requests(factory: MockFactory) -> None:
    sensor = GpioPlugSensor(PLUG, plugged_active_high=False, pin_factory=factory)
    assert factory.pin(PLUG).pull == "up"
    assert sensor.state == PlugState()
    factory.pin(PLUG).drive_low()
    assert sensor.state == PlugState(plugged=True, requesting=True)
    sensor.release()


async def test_a_bouncing_plug_yields_one_change_after_the_debounce_window(factory: MockFactory) -> None:
    sensor = GpioPlugSensor(PLUG, debounce_s=DEBOUNCE_S, pin_factory=factory)
    async with listening(sensor) as changes:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.to_thread(bounce, factory.pin(PLUG), True, 5, DEBOUNCE_S / 50)
        assert await changes.next() == PlugState(plugged=True, requesting=True)
        assert loop.time() - started >= DEBOUNCE_S * 0.9
        assert sensor.state == PlugState(plugged=True, requesting=True)
        assert await changes.none_within(3 * DEBOUNCE_S)


async def test_a_glitch_shorter_than_the_window_yields_nothing(factory: MockFactory) -> None:
    sensor = GpioPlugSensor(PLUG, debounce_s=DEBOUNCE_S, pin_factory=factory)
    async with listening(sensor) as changes:
        await asyncio.to_thread(bounce, factory.pin(PLUG), False, 2, DEBOUNCE_S / 10)  # up, and down again
        assert await changes.none_within(3 * DEBOUNCE_S)
        assert sensor.state == PlugState()


async def test_plug_request_and_unplug_in_sequence(factory: MockFactory) -> None:
    sensor = GpioPlugSensor(PLUG, requesting_pin=REQUEST, debounce_s=DEBOUNCE_S, pin_factory=factory)
    async with listening(sensor) as changes:
        bounce(factory.pin(PLUG), final_high=True)
        assert await changes.next() == PlugState(plugged=True, requesting=False)
        bounce(factory.pin(REQUEST), final_high=True)
        assert await changes.next() == PlugState(plugged=True, requesting=True)
        factory.pin(REQUEST).drive_low()
        factory.pin(PLUG).drive_low()
        assert await changes.next() == PlugState()
        assert await changes.none_within(2 * DEBOUNCE_S)


async def test_a_change_before_anyone_listened_is_the_first_change(factory: MockFactory) -> None:
    sensor = GpioPlugSensor(PLUG, debounce_s=DEBOUNCE_S, pin_factory=factory)
    factory.pin(PLUG).drive_high()
    async with listening(sensor) as changes:
        assert await changes.next() == PlugState(plugged=True, requesting=True)


@pytest.mark.parametrize("active_high", [True, False])
def test_signal_fault_drives_the_pilot_fault_output(factory: MockFactory, active_high: bool) -> None:
    sensor = GpioPlugSensor(PLUG, fault_pin=PILOT_FAULT, fault_active_high=active_high, pin_factory=factory)
    assert factory.pin(PILOT_FAULT).state is (not active_high)
    sensor.signal_fault(True)
    assert factory.pin(PILOT_FAULT).state is active_high
    sensor.signal_fault(False)
    assert factory.pin(PILOT_FAULT).state is (not active_high)
    sensor.release()


def test_signal_fault_without_a_pilot_output_is_logged_not_raised(factory: MockFactory,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    sensor = GpioPlugSensor(PLUG, pin_factory=factory)
    sensor.signal_fault(True)
    assert "no pilot fault output is wired" in caplog.text
    sensor.release()


def test_plug_sensor_bad_pin_and_release(factory: MockFactory) -> None:
    with pytest.raises(GpioPinError, match="EV request input pin 99 does not exist"):
        GpioPlugSensor(PLUG, requesting_pin=99, pin_factory=factory)
    sensor = GpioPlugSensor(PLUG, requesting_pin=REQUEST, fault_pin=PILOT_FAULT, pin_factory=factory)
    sensor.signal_fault(True)
    sensor.release()
    assert {factory.pin(p).function for p in (PLUG, REQUEST, PILOT_FAULT)} == {"input"}
    GpioPlugSensor(PLUG, requesting_pin=REQUEST, fault_pin=PILOT_FAULT, pin_factory=factory).release()


# --- status LED ----------------------------------------------------------------------------------------


EXPECTED_RGB = {
    LedPattern.READY: "g", LedPattern.BUSY: "b", LedPattern.CHARGING: "b", LedPattern.SUSPENDED: "b",
    LedPattern.DENIED: "r", LedPattern.FAULT: "r", LedPattern.UNAVAILABLE: "rg",
}


def rose_and_fell(pin: MockPin) -> bool:
    """The pin was lit, then dimmer than its brightest: it blinks or pulses rather than stays."""
    values = [float(s.state) for s in pin.states]
    peak = values.index(max(values))
    return values[peak] > 0 and any(v < values[peak] for v in values[peak + 1:])


def rgb_levels(f: MockFactory) -> dict[str, float]:
    return {"r": level(f, RED), "g": level(f, GREEN), "b": level(f, BLUE)}


@pytest.mark.parametrize("pattern", list(EXPECTED_RGB))
def test_every_pattern_lights_the_rgb_led_in_its_colour(pwm_factory: MockFactory, pattern: LedPattern) -> None:
    led = GpioStatusLed(rgb=(RED, GREEN, BLUE), pin_factory=pwm_factory)
    led.show(pattern)
    lit = EXPECTED_RGB[pattern]
    assert wait_until(lambda: all(rgb_levels(pwm_factory)[c] > 0 for c in lit))
    assert all(v == 0 for c, v in rgb_levels(pwm_factory).items() if c not in lit)
    led.show(LedPattern.OFF)
    assert rgb_levels(pwm_factory) == {"r": 0, "g": 0, "b": 0}
    led.release()


def test_common_anode_rgb_inverts_the_levels(pwm_factory: MockFactory) -> None:
    led = GpioStatusLed(rgb=(RED, GREEN, BLUE), active_high=False, pin_factory=pwm_factory)
    led.show(LedPattern.READY)
    assert rgb_levels(pwm_factory) == {"r": 1, "g": 0, "b": 1}
    led.release()


@pytest.mark.parametrize("pattern", [LedPattern.SUSPENDED, LedPattern.CHARGING])
def test_blinking_and_pulsing_patterns_move(pwm_factory: MockFactory, pattern: LedPattern) -> None:
    led = GpioStatusLed(rgb=(RED, GREEN, BLUE), pin_factory=pwm_factory)
    led.show(pattern)
    assert wait_until(lambda: rose_and_fell(pwm_factory.pin(BLUE)), timeout_s=3.0)
    led.release()


def test_denied_flashes_red_then_shows_the_previous_pattern_again(pwm_factory: MockFactory) -> None:
    led = GpioStatusLed(rgb=(RED, GREEN, BLUE), pin_factory=pwm_factory)
    led.show(LedPattern.READY)
    led.show(LedPattern.DENIED)
    assert rgb_levels(pwm_factory)["r"] == 1
    assert wait_until(lambda: rgb_levels(pwm_factory) == {"r": 0, "g": 1, "b": 0})
    led.release()


def test_a_pattern_shown_during_denied_stays(pwm_factory: MockFactory) -> None:
    led = GpioStatusLed(rgb=(RED, GREEN, BLUE), pin_factory=pwm_factory)
    led.show(LedPattern.READY)
    led.show(LedPattern.DENIED)
    led.show(LedPattern.FAULT)
    time.sleep(1.0)  # longer than the DENIED flash
    assert rgb_levels(pwm_factory) == {"r": 1, "g": 0, "b": 0}
    led.release()


@pytest.mark.parametrize("pattern", [p for p in LedPattern if p is not LedPattern.OFF])
def test_every_pattern_is_visible_on_a_single_led(pwm_factory: MockFactory, pattern: LedPattern) -> None:
    led = GpioStatusLed(pin=GREEN, pin_factory=pwm_factory)
    led.show(pattern)
    assert wait_until(lambda: level(pwm_factory, GREEN) > 0)
    led.show(LedPattern.OFF)
    assert level(pwm_factory, GREEN) == 0
    led.release()


def test_led_pin_errors_and_release(pwm_factory: MockFactory) -> None:
    with pytest.raises(GpioPinError, match=r"status LED red/green/blue pins 16, 20, 99: one does not exist"):
        GpioStatusLed(rgb=(RED, GREEN, 99), pin_factory=pwm_factory)
    with pytest.raises(GpioPinError, match="either"):
        GpioStatusLed(rgb=(RED, GREEN, BLUE), pin=5, pin_factory=pwm_factory)
    led = GpioStatusLed(rgb=(RED, GREEN, BLUE), pin_factory=pwm_factory)  # the failed one released its pins
    led.show(LedPattern.CHARGING)
    led.release()
    assert {pwm_factory.pin(p).function for p in (RED, GREEN, BLUE)} == {"input"}
    led.show(LedPattern.FAULT)  # after release: ignored


# --- force open ----------------------------------------------------------------------------------------


def stuck(f: MockFactory, pin: int, high: bool) -> MockPin:
    """A pin left driven by a killed process: an output nobody in this process owns."""
    p = f.pin(pin)
    p.function = "output"
    p.state = high
    return p


@pytest.mark.parametrize("active_high", [True, False])
def test_force_open_drives_the_inactive_level_then_releases(factory: MockFactory, active_high: bool) -> None:
    pin = stuck(factory, OUT, high=active_high)
    lines = force_open([(OUT, active_high)], pin_factory=factory)
    assert pin.states[-1].state is (not active_high)
    assert pin.function == "input"
    level = "low" if active_high else "high"
    assert [(f.ok, f.text) for f in lines] == [
        (True, f"GPIO{OUT}: driven {level} (inactive, active_high={active_high}), then released as an input")]


def test_force_open_reports_a_bad_pin_and_forces_the_others(factory: MockFactory) -> None:
    first, last = stuck(factory, OUT, high=True), stuck(factory, TRIP, high=False)
    lines = force_open([(OUT, True), (99, True), (TRIP, False)], pin_factory=factory)
    assert first.states[-1].state is False
    assert last.states[-1].state is True
    assert [f.ok for f in lines] == [True, False, True]
    assert lines[1].text.startswith("GPIO99: NOT forced open: forced-open output pin 99 does not exist on this board")
    assert "driven" in lines[0].text and "driven" in lines[2].text


# --- on a Raspberry Pi ---------------------------------------------------------------------------------


def on_raspberry_pi() -> bool:
    try:
        return "Raspberry Pi" in Path("/proc/device-tree/model").read_text(errors="replace")
    except OSError:
        return False


LOOP_PINS = ("EVSED_GPIO_LOOP_OUT", "EVSED_GPIO_LOOP_IN")


@pytest.mark.skipif(not (on_raspberry_pi() and all(v in os.environ for v in LOOP_PINS)),
                    reason="needs a Raspberry Pi and EVSED_GPIO_LOOP_OUT / EVSED_GPIO_LOOP_IN: two free BCM pins "
                           "joined by a jumper wire")
async def test_real_pins_loopback() -> None:
    """The default pin factory (lgpio or RPi.GPIO) on real pins: output to input through a jumper."""
    out, inp = (int(os.environ[v]) for v in LOOP_PINS)
    contactor = GpioContactor(out, feedback_pin=inp)
    try:
        await asyncio.sleep(0.01)
        assert contactor.feedback_closed is False
        contactor.close()
        await asyncio.sleep(0.01)
        assert contactor.feedback_closed is True
        contactor.open()
        await asyncio.sleep(0.01)
        assert contactor.feedback_closed is False
    finally:
        contactor.release()

    contactor = GpioContactor(out)
    try:
        async with listening(GpioPlugSensor(inp, debounce_s=DEBOUNCE_S)) as changes:
            contactor.close()
            assert await changes.next() == PlugState(plugged=True, requesting=True)
            contactor.open()
            assert await changes.next() == PlugState()
    finally:
        contactor.release()
    assert force_open([(out, True)])[0].ok
