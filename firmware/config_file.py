"""The daemon's one TOML configuration file, checked completely before anything starts.

Unknown keys, wrong types and missing required values raise ConfigError naming the key.
"""

import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from firmware.ocpp16 import keys
from firmware.settings import Value, type_name


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class ChargePointSection:
    id: str
    """Charge point identity; appended to the CSMS url (OCPP-J 1.6 §3.1.1)."""
    connectors: int
    vendor: str = "evsed"
    model: str = "evsed"
    serial_number: str = ""
    resume_transactions: bool = False
    """A transaction cut off by a restart of evsed or a power cut goes on (same transactionId, no
    StopTransaction) when evsed starts again with the EV still plugged in; SIGTERM then keeps
    transactions open. Off: they end with reason Reboot, PowerLoss, SoftReset or HardReset."""

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if not self.id or any(ch in self.id for ch in "/?#% ") or len(self.id) > 48:
            out.append(("id", "must be 1-48 characters without '/', '?', '#', '%' or spaces"))
        if not 1 <= self.connectors <= 16:
            out.append(("connectors", "must be between 1 and 16"))
        if not 1 <= len(self.vendor) <= 20:
            out.append(("vendor", "must be 1-20 characters (BootNotification chargePointVendor)"))
        if not 1 <= len(self.model) <= 20:
            out.append(("model", "must be 1-20 characters (BootNotification chargePointModel)"))
        if len(self.serial_number) > 25:
            out.append(("serial_number", "must be at most 25 characters"))
        return out


@dataclass(frozen=True)
class CsmsSection:
    url: str
    reconnect_max_s: float = 30.0
    """Reconnect backoff cap; the first retry comes after 2-4 s, then the wait doubles, with jitter
    (`protocol.connection.reconnect_delay`)."""
    call_timeout_s: float = 30.0
    """How long to wait for the CSMS's answer to a call."""

    def endpoint(self, charge_point_id: str) -> str:
        """The websocket URL: `url` + "/" + charge point id (OCPP-J 1.6 §3.1.1)."""
        return f"{self.url.rstrip('/')}/{charge_point_id}"

    def shown_endpoint(self, charge_point_id: str) -> str:
        """The endpoint as logs and status output may show it: a password in the URL is replaced by ***."""
        parts = urlsplit(self.endpoint(charge_point_id))
        if parts.password is None:
            return parts.geturl()
        host = parts.netloc.rsplit("@", 1)[1]
        return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()

    def problems(self) -> list[tuple[str, str]]:
        out = []
        parts = urlsplit(self.url)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            out.append(("url", "must be a ws:// or wss:// URL"))
        if self.reconnect_max_s < 5:
            out.append(("reconnect_max_s", "must be at least 5"))
        if self.call_timeout_s <= 0:
            out.append(("call_timeout_s", "must be positive"))
        return out


@dataclass(frozen=True)
class SimSection:
    power_w: float = 11000.0
    """Power a simulated EV draws while charging."""

    def problems(self) -> list[tuple[str, str]]:
        return [] if 0 < self.power_w <= 400_000 else [("power_w", "must be in (0, 400000]")]


GPIO_PINS = range(28)
"""BCM GPIO numbers on the 40-pin header of every Pi from the Pi 2 to the Pi 5."""
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


def _pin_problems(names: dict[str, int | None]) -> list[tuple[str, str]]:
    return [(name, f"must be a BCM GPIO number 0-27, got {pin}")
            for name, pin in names.items() if pin is not None and pin not in GPIO_PINS]


@dataclass(frozen=True)
class ReaderSection:
    driver: Literal["nfc", "pcsc"]
    device: str = ""
    """nfc: the nfcpy device path (`tty:S0:pn532`, `tty:AMA0:pn532`, `usb`); pcsc: part of the
    reader's name as pcscd lists it ("" = the first reader)."""

    def problems(self) -> list[tuple[str, str]]:
        if self.driver == "nfc" and not self.device:
            return [("device", "an nfc reader needs its nfcpy path, e.g. 'tty:S0:pn532' or 'usb'")]
        return []


@dataclass(frozen=True)
class ContactorSection:
    pin: int
    """Output driving the contactor's relay; the relay must be wired fail-open (see README)."""
    active_high: bool = True
    feedback_pin: int | None = None
    """Auxiliary contact input: what the contactor really did."""
    feedback_active_high: bool = True
    feedback_timeout_s: float = 0.5
    """How long the feedback may disagree with the command before the connector is Faulted."""
    trip_pin: int | None = None
    """Output to an upstream shunt-trip breaker, driven when the contact is welded closed."""
    trip_active_high: bool = True

    def problems(self) -> list[tuple[str, str]]:
        out = _pin_problems({"pin": self.pin, "feedback_pin": self.feedback_pin, "trip_pin": self.trip_pin})
        if not 0.05 <= self.feedback_timeout_s <= 10:
            out.append(("feedback_timeout_s", "must be between 0.05 and 10"))
        return out

    def pins(self) -> list[int]:
        return [p for p in (self.pin, self.feedback_pin, self.trip_pin) if p is not None]


@dataclass(frozen=True)
class PlugSection:
    pin: int
    """Input: an EV is plugged in (control-pilot state B or C, or a plug switch)."""
    active_high: bool = True
    request_pin: int | None = None
    """Input: the EV asks for energy (pilot state C). Without it a plugged EV counts as asking."""
    request_active_high: bool = True
    debounce_s: float = 0.05
    pilot_fault_pin: int | None = None
    """Output asking the control-pilot board for state F (EV must stop drawing)."""
    pilot_fault_active_high: bool = True

    def problems(self) -> list[tuple[str, str]]:
        out = _pin_problems({"pin": self.pin, "request_pin": self.request_pin,
                             "pilot_fault_pin": self.pilot_fault_pin})
        if not 0 <= self.debounce_s <= 1:
            out.append(("debounce_s", "must be between 0 and 1"))
        return out

    def pins(self) -> list[int]:
        return [p for p in (self.pin, self.request_pin, self.pilot_fault_pin) if p is not None]


@dataclass(frozen=True)
class LedSection:
    pins: list[int]
    """One pin (a single LED) or three (red, green, blue of an RGB LED)."""
    active_high: bool = True

    def problems(self) -> list[tuple[str, str]]:
        if len(self.pins) not in (1, 3):
            return [("pins", "give one pin (single LED) or three (red, green, blue)")]
        return _pin_problems({f"pins[{i}]": p for i, p in enumerate(self.pins)})


@dataclass(frozen=True)
class MeterSection:
    profile: str
    """A meter profile name from config/meters (e.g. "sdm630") or the path of a profile file."""
    port: str = ""
    """Modbus RTU: the serial port (e.g. /dev/ttyUSB0, /dev/serial0)."""
    host: str = ""
    """Modbus TCP: the meter's or gateway's address."""
    tcp_port: int = 502
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    unit_id: int = 1

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if bool(self.port) == bool(self.host):
            out.append(("port", "give either port (Modbus RTU) or host (Modbus TCP)"))
        if not 1 <= self.unit_id <= 247:
            out.append(("unit_id", "must be between 1 and 247"))
        if self.baudrate not in BAUD_RATES:
            out.append(("baudrate", f"must be one of {', '.join(map(str, BAUD_RATES))}"))
        if self.stopbits not in (1, 2):
            out.append(("stopbits", "must be 1 or 2"))
        if not 1 <= self.tcp_port <= 65535:
            out.append(("tcp_port", "must be a TCP port number"))
        return out


@dataclass(frozen=True)
class ConnectorHardware:
    contactor: ContactorSection
    meter: MeterSection
    plug: PlugSection
    led: LedSection | None = None
    reader: ReaderSection | None = None
    """A reader for this connector only, besides the charge point's shared one."""

    def pins(self) -> list[int]:
        return [*self.contactor.pins(), *self.plug.pins(), *(self.led.pins if self.led else [])]


@dataclass(frozen=True)
class HardwareSection:
    backend: Literal["sim", "pi"]
    """"sim": simulated devices driven by `evsed sim`; "pi": the devices configured below."""
    sim: SimSection = field(default_factory=SimSection)
    reader: ReaderSection | None = None
    """The charge point's shared card reader."""
    connector: dict[str, ConnectorHardware] = field(default_factory=dict)
    """Per connector number ("1", "2", …) its devices, for backend "pi"."""

    def problems(self) -> list[tuple[str, str]]:
        if self.backend == "sim" and (self.connector or self.reader):
            return [("backend", 'device tables are for backend "pi"; the simulated backend has its own devices')]
        seen: dict[int, str] = {}
        for n, devices in sorted(self.connector.items()):
            for pin in devices.pins():
                if pin in seen:
                    return [(f"connector.{n}", f"GPIO {pin} is already used by connector {seen[pin]}")]
                seen[pin] = n
        return []


@dataclass(frozen=True)
class StorageSection:
    path: Path
    """The SQLite database; its folder also holds the control socket `evsed.sock`."""


@dataclass(frozen=True)
class ClockSection:
    trust: Literal["ntp", "rtc", "csms"] = "ntp"
    """When the system clock is good enough to date events: "ntp" once the kernel reports NTP
    synchronisation (or the CSMS's BootNotification currentTime came first), "rtc" at once (a
    battery-backed real-time clock), "csms" only from the CSMS's currentTime."""


@dataclass(frozen=True)
class LoggingSection:
    level: Literal["debug", "info", "warning", "error"] = "info"


@dataclass(frozen=True)
class Config:
    charge_point: ChargePointSection
    csms: CsmsSection
    hardware: HardwareSection
    storage: StorageSection
    logging: LoggingSection = field(default_factory=LoggingSection)
    clock: ClockSection = field(default_factory=ClockSection)
    ocpp: dict[str, Value] = field(default_factory=dict)
    """Initial values of OCPP configuration keys, under their OCPP 1.6 names (`ocpp16.keys`)."""

    def problems(self) -> list[tuple[str, str]]:
        if self.hardware.backend != "pi":
            return []
        wanted = {str(n) for n in range(1, self.charge_point.connectors + 1)}
        if set(self.hardware.connector) != wanted:
            found = ", ".join(sorted(self.hardware.connector)) or "none"
            return [("hardware", f'backend "pi" needs a [hardware.connector.N] table for each connector '
                                 f'{", ".join(sorted(wanted))}; found {found}')]
        return []

    @property
    def control_socket(self) -> Path:
        return self.storage.path.parent / "evsed.sock"


def _convert(name: str, table_path: str, kind: Any, value: object) -> object:
    """Check one value against its field type; raise ConfigError naming `name`.

    `table_path` is the dotted TOML table name the value would open if it is a table.
    """
    origin = typing.get_origin(kind)
    if origin is types.UnionType:  # `X | None`: TOML has no null, so a given value is an X
        (kind,) = (arg for arg in typing.get_args(kind) if arg is not type(None))
        return _convert(name, table_path, kind, value)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{name}: expected an array, got {type_name(type(value))}")
        (item,) = typing.get_args(kind)
        return [_convert(f"{name}[{i}]", table_path, item, v) for i, v in enumerate(value)]
    if origin is Literal:
        if value not in typing.get_args(kind):
            choices = ", ".join(repr(c) for c in typing.get_args(kind))
            raise ConfigError(f"{name}: must be one of {choices}, got {value!r}")
        return value
    if is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a table, got {type_name(type(value))}")
        return _load(kind, value, table_path)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a table, got {type_name(type(value))}")
        item = typing.get_args(kind)[1]
        if is_dataclass(item):
            return {key: _convert(_label(table_path, key), f"{table_path}.{key}", item, v) for key, v in value.items()}
        return value
    expected = {Path: str, float: (int, float)}.get(kind, kind)
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, expected):
        raise ConfigError(f"{name}: expected {type_name(kind)}, got {type_name(type(value))}")
    return kind(value)


def _label(where: str, key: str) -> str:
    """How the file shows a key: `[csms] url`, or `[csms]` for a top-level table."""
    return f"[{where}] {key}" if where else f"[{key}]"


def _load(cls: type, table: dict[str, object], where: str) -> Any:
    """Build dataclass `cls` from the TOML table named `where` ("" for the file itself)."""
    known = {f.name: f for f in fields(cls)}
    for key in table:
        if key not in known:
            raise ConfigError(f"{_label(where, key)}: unknown {'key' if where else 'table'}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, f in known.items():
        label = _label(where, name)
        if name in table:
            values[name] = _convert(label, f"{where}.{name}" if where else name, hints[name], table[name])
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"{label}: required value missing")
    obj = cls(**values)
    for key, problem in getattr(obj, "problems", list)():
        raise ConfigError(f"{_label(where, key)}: {problem}")
    return obj


def parse_config(text: str, source: str = "<config>") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    try:
        config: Config = _load(Config, data, "")
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    try:
        keys.presets(config.ocpp)
    except ValueError as e:
        raise ConfigError(f"{source}: {e}") from None
    return config


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    return parse_config(text, str(path))

