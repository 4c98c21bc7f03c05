"""The one place where the config's hardware backend picks device implementations.

Nothing else in `firmware/` names a driver; real-hardware drivers are imported lazily here so the
simulated backend never loads a hardware library. Every device is opened at start: a wrong pin, a
missing serial port, an unknown meter profile or a missing library is a `HardwareError` naming the
connector and the device, before anything runs.
"""

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from firmware.config_file import Config, ConnectorHardware, HardwareSection, MeterSection, ReaderSection
from firmware.core.connector import ConnectorDevices
from hal import CardReader, EnergyMeter, NoLed, StatusLed, TetheredCable
from hal.pilot import ChargingPilot, UnwiredPilot
from hal.sim import SimStation

log = logging.getLogger(__name__)


class HardwareError(Exception):
    """A configured device cannot be used; the message says which and why, in plain words."""


@dataclass
class Hardware:
    connectors: dict[int, ConnectorDevices]
    shared_reader: CardReader | None
    sim: SimStation | None = None
    """The simulated station, for `evsed sim` commands (None on real hardware)."""
    _releases: list[object] = field(default_factory=list)
    """GPIO devices whose pins `aclose()` releases."""

    def readers(self) -> list[CardReader]:
        own = [d.reader for d in self.connectors.values() if d.reader is not None]
        return [*([self.shared_reader] if self.shared_reader else []), *own]

    async def aclose(self) -> None:
        """Release readers, meters and pins; never raises (it runs on the way out)."""
        for closer in [*(r.aclose for r in self.readers()), *(d.meter.aclose for d in self.connectors.values())]:
            try:
                await closer()
            except Exception:
                log.exception("could not release a device")
        self.release_pins()

    def release_pins(self) -> None:
        for device in self._releases:
            with contextlib.suppress(Exception):
                device.release()  # type: ignore[attr-defined]


def build_hardware(config: Config) -> Hardware:
    if config.hardware.backend == "sim":
        station = SimStation(config.charge_point.connectors, config.hardware.sim.power_w,
                             config.storage.path.parent, config.hardware.sim.phases)
        devices = {
            n: ConnectorDevices(contactor=c.contactor, meter=c.meter, plug=c.ev, lock=c.lock, led=c.led,
                                reader=c.reader, pilot=c.pilot)
            for n, c in station.connectors.items()
        }
        return Hardware(devices, station.reader, station)
    return _build_pi(config.hardware, config.charge_point.max_current_a)


def _build_pi(section: HardwareSection, rating_a: float) -> Hardware:
    hardware = Hardware({}, None)
    where = "[hardware.reader]"
    try:
        for key, wanted in sorted(section.connector.items(), key=lambda item: int(item[0])):
            where = f"[hardware.connector.{key}]"
            hardware.connectors[int(key)] = _build_connector(wanted, hardware, rating_a)
            if wanted.pilot is None:
                log.warning("no control pilot output configured: charging limits are reported, not enforced "
                            "connector=%s", key)
        where = "[hardware.reader]"
        hardware.shared_reader = build_reader(section.reader) if section.reader else None
    except (ValueError, ImportError, OSError) as e:
        hardware.release_pins()
        raise HardwareError(f"{where}: {e}") from None
    return hardware


def _build_connector(wanted: ConnectorHardware, hardware: Hardware, rating_a: float) -> ConnectorDevices:
    from drivers.gpio_contactor import GpioContactor
    from drivers.gpio_inputs import GpioPlugSensor
    from drivers.gpio_led import GpioStatusLed

    c, p = wanted.contactor, wanted.plug
    contactor = GpioContactor(c.pin, active_high=c.active_high, feedback_pin=c.feedback_pin,
                              feedback_active_high=c.feedback_active_high, trip_pin=c.trip_pin,
                              trip_active_high=c.trip_active_high)
    hardware._releases.append(contactor)
    plug = GpioPlugSensor(p.pin, plugged_active_high=p.active_high, requesting_pin=p.request_pin,
                          requesting_active_high=p.request_active_high, fault_pin=p.pilot_fault_pin,
                          fault_active_high=p.pilot_fault_active_high, debounce_s=p.debounce_s)
    hardware._releases.append(plug)
    led: StatusLed = NoLed()
    if wanted.led is not None:
        pins = wanted.led.pins
        led = GpioStatusLed(rgb=(pins[0], pins[1], pins[2]) if len(pins) == 3 else None,
                            pin=pins[0] if len(pins) == 1 else None, active_high=wanted.led.active_high)
        hardware._releases.append(led)
    pilot: ChargingPilot = UnwiredPilot()
    if wanted.pilot is not None:
        from drivers.gpio_pilot import GpioPilot

        pilot = GpioPilot(wanted.pilot.pin, rating_a=rating_a, active_high=wanted.pilot.active_high)
        hardware._releases.append(pilot)
    return ConnectorDevices(contactor=contactor, meter=build_meter(wanted.meter), plug=plug, lock=TetheredCable(),
                            led=led, reader=build_reader(wanted.reader) if wanted.reader else None,
                            feedback_timeout_s=c.feedback_timeout_s, pilot=pilot)


def build_meter(wanted: MeterSection) -> EnergyMeter:
    """A Modbus meter from its profile and line settings; the port must exist now."""
    from drivers.meter_profile import load_profile
    from drivers.modbus_meter import ModbusMeter, RtuLink, TcpLink

    profile = load_profile(wanted.profile)
    if wanted.port:
        if not Path(wanted.port).exists():
            raise ValueError(f"meter serial port {wanted.port} does not exist (is the RS-485 adapter plugged in? "
                             "is the UART enabled?)")
        link: RtuLink | TcpLink = RtuLink(wanted.port, wanted.baudrate, wanted.parity,
                                          2 if wanted.stopbits == 2 else 1)
    else:
        link = TcpLink(wanted.host, wanted.tcp_port)
    if not profile.verified:
        log.warning("meter profile unverified on hardware profile=%s model=%s; compare its readings with the "
                    "meter's display", profile.name, profile.model)
    return ModbusMeter(profile, link, unit=wanted.unit_id)


def build_reader(wanted: ReaderSection) -> CardReader:
    if wanted.driver == "nfc":
        from drivers.nfc_reader import NfcCardReader

        return NfcCardReader(wanted.device)
    from drivers.pcsc_reader import PcscCardReader

    return PcscCardReader(wanted.device)


def check_meter_profiles(section: HardwareSection) -> str | None:
    """What `evsed config check` can tell of the devices without opening them: each meter profile loads."""
    from drivers.meter_profile import load_profile

    for n, devices in sorted(section.connector.items()):
        try:
            load_profile(devices.meter.profile)
        except ValueError as e:
            return f"[hardware.connector.{n}.meter] profile: {e}"
    return None


def force_open_contactors(section: HardwareSection) -> list[tuple[str, bool]]:
    """Drive every configured contactor output open, as `evsed force-open` (the service unit) does:
    (what happened, in plain words; whether it worked) per output."""
    from drivers.gpio_force_open import force_open

    results = force_open([(c.contactor.pin, c.contactor.active_high) for c in section.connector.values()])
    return [(r.text, r.ok) for r in results]
