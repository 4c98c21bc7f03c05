"""The control pilot: `hal.pilot.duty_cycle` itself, and `drivers.gpio_pilot.GpioPilot` against MockFactory.

As in `test_gpio_drivers`, no GPIO exists here, so MockFactory(pin_class=MockPWMPin) replaces only the
last boundary, the pin library (lgpio or RPi.GPIO); the driver and gpiozero run unchanged, and the
PWM frequency and duty cycle are read back from the mock pin. What this cannot show (the real
waveform's frequency and pulse-width accuracy under load) needs an oscilloscope on a Pi.
"""

import itertools
import logging
import math
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from drivers.gpio_pilot import GpioPilot
from drivers.gpio_pins import GpioPinError
from hal.pilot import MAX_CURRENT_A, MIN_CURRENT_A, OSCILLATOR_OFF, duty_cycle

PIN = 18

IEC_TABLE = [(6, 10.0), (10, 16.67), (16, 26.67), (32, 53.33), (51, 85.0), (63, 89.2), (80, 96.0)]
"""(amps, duty %) from IEC 61851-1 Table A.7, to the hundredth of a percent."""

GRID = [a / 10 for a in range(0, 1001)]  # 0 A to 100 A in 0.1 A steps


def ev_reading(duty: float) -> float:
    """The current an EV reads from a duty cycle (IEC 61851-1 Annex A, the vehicle's side); 0: none."""
    percent = duty * 100
    if 10 <= percent <= 85:
        return percent * 0.6
    if 85 < percent <= 96:
        return (percent - 64) * 2.5
    return 0.0


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.close()


def plus_12v(active_high: bool) -> float:
    """The GPIO level that puts +12 V on the pilot."""
    return 1.0 if active_high else 0.0


def on_pin(f: MockFactory, active_high: bool = True) -> tuple[float, float | None]:
    """(duty cycle at +12 V, PWM frequency) as the mock pin has them; frequency None: a constant level."""
    pin = f.pin(PIN)
    level = float(pin.state)
    return (level if active_high else 1.0 - level), pin.frequency


# --- hal.pilot.duty_cycle ------------------------------------------------------------------------------


@pytest.mark.parametrize(("amps", "percent"), IEC_TABLE)
def test_duty_cycle_follows_the_iec_table(amps: float, percent: float) -> None:
    assert duty_cycle(amps) * 100 == pytest.approx(percent, abs=0.011)


@pytest.mark.parametrize("amps", [-1.0, 0.0, 5.99, math.nan, -math.inf])
def test_below_six_amps_or_nan_the_oscillator_is_off(amps: float) -> None:
    assert duty_cycle(amps) == OSCILLATOR_OFF == 1.0


@pytest.mark.parametrize("amps", [80.01, 100.0, math.inf])
def test_above_eighty_amps_the_offer_is_eighty(amps: float) -> None:
    assert duty_cycle(amps) == pytest.approx(0.96)


def test_the_ev_never_reads_more_than_was_offered() -> None:
    for amps in GRID:
        read = ev_reading(duty_cycle(amps))
        assert read <= min(amps, MAX_CURRENT_A) + 1e-9, amps
        assert (read > 0) is (amps >= MIN_CURRENT_A), amps


def test_the_duty_cycle_never_decreases_as_the_offer_rises() -> None:
    duties = [duty_cycle(a) for a in GRID if a >= MIN_CURRENT_A]
    assert all(b >= a for a, b in itertools.pairwise(duties))


# --- GpioPilot -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("active_high", [True, False])
def test_it_starts_with_the_oscillator_off(factory: MockFactory, active_high: bool) -> None:
    pilot = GpioPilot(PIN, rating_a=32, active_high=active_high, pin_factory=factory)
    pin = factory.pin(PIN)
    assert pin.function == "output"
    assert on_pin(factory, active_high) == (OSCILLATOR_OFF, None)
    assert {float(s.state) for s in pin.states[1:]} <= {plus_12v(active_high)}  # never anything else since claimed
    assert pilot.offered_a is None
    pilot.release()


@pytest.mark.parametrize(("amps", "percent"), IEC_TABLE)
def test_offers_put_the_iec_duty_cycle_on_the_pin_at_1khz(factory: MockFactory, amps: float, percent: float) -> None:
    pilot = GpioPilot(PIN, rating_a=80, pin_factory=factory)
    pilot.offer(amps)
    duty, frequency = on_pin(factory)
    assert duty * 100 == pytest.approx(percent, abs=0.011)
    assert frequency == 1000
    assert pilot.offered_a == amps
    pilot.release()


@pytest.mark.parametrize("amps", [5.9, 0, -3, math.nan])
def test_below_six_amps_or_nan_the_pilot_is_constant_plus_12v(factory: MockFactory, amps: float) -> None:
    pilot = GpioPilot(PIN, rating_a=32, pin_factory=factory)
    pilot.offer(16)
    pilot.offer(amps)
    assert on_pin(factory) == (OSCILLATOR_OFF, None)
    pilot.offer(10)  # and it oscillates again
    duty, frequency = on_pin(factory)
    assert (duty, frequency) == (pytest.approx(10 / 60, abs=1e-4), 1000)
    pilot.release()


@pytest.mark.parametrize(("rating", "amps", "percent"), [
    (16, 32, 26.67),  # above the rating: the rating
    (16, None, 26.67),  # no limit: the rating
    (32, 20, 33.33),  # below the rating: as asked
    (100, None, 96.0),  # a rating above 80 A is capped at 80 A
    (100, 90, 96.0),
    (16, math.inf, 26.67),
])
def test_the_offer_is_capped_at_the_rating(factory: MockFactory, rating: float, amps: float | None,
                                           percent: float) -> None:
    pilot = GpioPilot(PIN, rating_a=rating, pin_factory=factory)
    pilot.offer(amps)
    assert on_pin(factory)[0] * 100 == pytest.approx(percent, abs=0.011)
    assert pilot.offered_a == amps
    pilot.release()


def test_active_low_inverts_the_gpio_level(factory: MockFactory) -> None:
    pilot = GpioPilot(PIN, rating_a=32, active_high=False, pin_factory=factory)
    assert float(factory.pin(PIN).state) == 0.0  # GPIO low: +12 V
    pilot.offer(16)
    assert float(factory.pin(PIN).state) == pytest.approx(1 - 0.2667, abs=1e-4)  # GPIO high is -12 V
    assert factory.pin(PIN).frequency == 1000
    pilot.offer(0)
    assert (float(factory.pin(PIN).state), factory.pin(PIN).frequency) == (0.0, None)
    pilot.release()


def test_a_rating_above_80_amps_is_logged_and_offered_as_80(factory: MockFactory,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="drivers.gpio_pilot"):
        pilot = GpioPilot(PIN, rating_a=100, pin_factory=factory)
        pilot.offer(None)
    assert f"gpio pilot ready pin={PIN} rating_a=80 " in caplog.text
    assert f"pilot offer pin={PIN} amps=80 duty=0.9600" in caplog.text
    pilot.release()


def test_another_frequency_can_be_asked_for(factory: MockFactory) -> None:
    pilot = GpioPilot(PIN, rating_a=32, frequency_hz=500, pin_factory=factory)
    pilot.offer(6)
    assert on_pin(factory) == (pytest.approx(0.1), 500)
    pilot.release()


@pytest.mark.parametrize("active_high", [True, False])
def test_release_stops_the_oscillator_at_plus_12v_then_gives_the_pin_back(
        factory: MockFactory, monkeypatch: pytest.MonkeyPatch, active_high: bool) -> None:
    pilot = GpioPilot(PIN, rating_a=32, active_high=active_high, pin_factory=factory)
    pilot.offer(32)
    pin = factory.pin(PIN)
    at_close: list[tuple[float, float | None]] = []
    close = pin.close

    def spy() -> None:
        at_close.append((float(pin.state), pin.frequency))
        close()

    monkeypatch.setattr(pin, "close", spy)
    pilot.release()
    pilot.release()
    assert at_close == [(plus_12v(active_high), None)]  # the level the pin had when gpiozero let it go
    assert pin.function == "input"
    pilot.offer(16)  # after release: remembered, nothing driven, no exception
    assert pilot.offered_a == 16
    assert pin.function == "input"
    GpioPilot(PIN, rating_a=32, pin_factory=factory).release()  # the pin is free again


def test_a_pin_in_use_is_a_clear_error(factory: MockFactory) -> None:
    pilot = GpioPilot(PIN, rating_a=32, pin_factory=factory)
    with pytest.raises(GpioPinError, match=f"control pilot output pin {PIN} is already used"):
        GpioPilot(PIN, rating_a=32, pin_factory=factory)
    pilot.release()


def test_a_pin_that_does_not_exist_is_a_clear_error(factory: MockFactory) -> None:
    with pytest.raises(GpioPinError, match="control pilot output pin 99 does not exist on this board"):
        GpioPilot(99, rating_a=32, pin_factory=factory)


@pytest.mark.parametrize("rating", [5.9, 0, math.nan])
def test_a_rating_that_can_never_be_signalled_is_refused(factory: MockFactory, rating: float) -> None:
    with pytest.raises(ValueError, match="rating_a must be at least 6 A"):
        GpioPilot(PIN, rating_a=rating, pin_factory=factory)
    GpioPilot(PIN, rating_a=6, pin_factory=factory).release()  # nothing was claimed


def test_a_changed_offer_is_logged_once(factory: MockFactory, caplog: pytest.LogCaptureFixture) -> None:
    pilot = GpioPilot(PIN, rating_a=32, pin_factory=factory)
    with caplog.at_level(logging.INFO, logger="drivers.gpio_pilot"):
        pilot.offer(16)
        pilot.offer(16)
        pilot.offer(None)
        pilot.offer(0)
    offers = [r.getMessage() for r in caplog.records if r.getMessage().startswith("pilot offer")]
    assert offers == [f"pilot offer pin={PIN} amps=16 duty=0.2666", f"pilot offer pin={PIN} amps=32 duty=0.5333",
                      f"pilot offer pin={PIN} amps=0 duty=1.0000"]
    pilot.release()
