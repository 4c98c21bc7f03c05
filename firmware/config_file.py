"""The daemon's one TOML configuration file, checked completely before anything starts.

Unknown keys, wrong types, missing required values and values out of range raise one ConfigError that
lists every problem of the file, one per line, each naming its key (`[csms] url: ...`). A file this
module accepts is one `evsed run` can start with: numbers are finite and in range, text is printable,
the CSMS url parses, the charge point id can go into it unencoded.
"""

import contextlib
import math
import string
import tomllib
import types
import typing
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from firmware.logs import masked_url
from firmware.ocpp16 import keys
from firmware.settings import CONNECTORS_MAX, Value, type_name


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the file and the key of each problem,
    one problem per line."""


ID_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@")
"""What a charge point id may contain: it is appended to the CSMS url as one path segment (OCPP-J 1.6
§3.1.1) and sent unencoded, so only RFC 3986 `pchar`s, without '%' (that would read as an escape)."""
ID_MAX_LENGTH = 48


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
    max_current_a: float = 32.0
    """The current per phase each connector is rated for (cable, contactor, supply): what it offers when no
    charging profile limits it (the control pilot's duty cycle; GetCompositeSchedule reports it)."""

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if not 6 <= self.max_current_a <= 80:
            out.append(("max_current_a", "must be between 6 and 80 (what a control pilot can offer, IEC 61851-1)"))
        if not 1 <= len(self.id) <= ID_MAX_LENGTH or not set(self.id) <= ID_CHARACTERS or self.id in (".", ".."):
            out.append(("id", f"must be 1-{ID_MAX_LENGTH} characters of A-Z, a-z, 0-9 and - . _ ~ ! $ & ' ( ) * + , "
                              "; = : @ (it goes unencoded into the CSMS url's path), and not '.' or '..'"))
        if not 1 <= self.connectors <= CONNECTORS_MAX:
            out.append(("connectors", f"must be between 1 and {CONNECTORS_MAX}"))
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
    protocol: Literal["ocpp1.6", "ocpp2.0.1"] = "ocpp1.6"
    """The OCPP version spoken to the CSMS, as the websocket subprotocol names it (`ocpp16`, `ocpp201`). The `[ocpp]`
    presets use 1.6 key names either way; a 2.0.1 CSMS sees the same settings as its components' variables."""
    reconnect_max_s: float = 30.0
    """Reconnect backoff cap; the first retry comes after 2-4 s, then the wait doubles, with jitter
    (`protocol.connection.reconnect_delay`)."""
    call_timeout_s: float = 30.0
    """How long to wait for the CSMS's answer to a call."""
    ca_file: str = ""
    """wss://: a PEM bundle of the CSMS's root CA(s), trusted besides any CentralSystemRootCertificate installed
    through InstallCertificate (OCPP 1.6 Security Whitepaper). Empty: the system's CAs."""
    client_cert: str = ""
    """Security profile 3: the charge point's certificate (PEM, its chain after it), until one installed through
    SignCertificate/CertificateSigned replaces it."""
    client_key: str = ""
    """The private key of `client_cert` (PEM, readable by the service user only)."""
    basic_auth_password: Literal["hex", "decoded"] = "hex"
    """Security profiles 1 and 2: the HTTP Basic password is the AuthorizationKey as its hex text ("hex"), or the
    bytes that text encodes ("decoded", as the OCA's test tool OCTT TC_085_CS expects)."""

    @property
    def secure(self) -> bool:
        return self.url.startswith("wss://")

    def endpoint(self, charge_point_id: str) -> str:
        """The websocket URL: `url` + "/" + charge point id (OCPP-J 1.6 §3.1.1, 2.0.1 §3.1.1)."""
        return f"{self.url.rstrip('/')}/{charge_point_id}"

    def shown_endpoint(self, charge_point_id: str) -> str:
        """The endpoint as logs and status output may show it: a password in the URL is replaced by ***."""
        return masked_url(self.endpoint(charge_point_id))

    def problems(self) -> list[tuple[str, str]]:
        out = []
        problem = url_problem(self.url)
        if problem is not None:
            out.append(("url", problem))
        if not 5 <= self.reconnect_max_s <= 3600:
            out.append(("reconnect_max_s", "must be between 5 and 3600 (an hour)"))
        if not 0 < self.call_timeout_s <= 600:
            out.append(("call_timeout_s", "must be more than 0 and at most 600 (ten minutes)"))
        for name in ("ca_file", "client_cert", "client_key"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                out.append((name, "no such file"))
            elif path and not self.secure:
                out.append((name, "only for a wss:// url"))
        if bool(self.client_cert) != bool(self.client_key):
            out.append(("client_cert", "give client_cert and client_key together"))
        return out


def url_problem(url: str) -> str | None:
    """Why `url` cannot be the CSMS's websocket url, or None. Never quotes the url: it may hold a password."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        if str(e).startswith("Port"):
            return "the port must be a number between 1 and 65535"
        if "IPv6" in str(e):
            return "not a valid URL: an IPv6 address goes in brackets, e.g. ws://[2001:db8::1]:9000/ocpp"
        return "not a valid URL"
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        return "must be a ws:// or wss:// URL"
    if not parts.hostname:
        return "must name the CSMS's host, e.g. ws://csms.example.com:9000/ocpp"
    if port == 0:
        return "the port must be a number between 1 and 65535"
    if any(ch.isspace() for ch in url):
        return "must not contain spaces (percent-encode them as %20)"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must not have a query or fragment: the charge point id is appended to its path (OCPP-J 1.6 §3.1.1)"
    if parts.username is not None and parts.password is None:
        return "give both user and password (ws://user:password@host/...) or neither"
    return None


@dataclass(frozen=True)
class SimSection:
    power_w: float = 11000.0
    """Power a simulated EV draws while charging; at most what the pilot offers (current times 230 V times phases)."""
    phases: int = 3
    """How many phases the simulated EV charges on (1 or 3)."""

    def problems(self) -> list[tuple[str, str]]:
        out = [] if 0 < self.power_w <= 400_000 else [("power_w", "must be in (0, 400000]")]
        return out + ([] if self.phases in (1, 3) else [("phases", "must be 1 or 3")])


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
class PilotSection:
    pin: int
    """The PWM output feeding the control pilot's ±12 V driver stage (1 kHz; the hardware PWM pins 12, 13, 18 and
    19 keep the duty cycle steadiest)."""
    active_high: bool = True
    """GPIO high = +12 V on the pilot."""

    def problems(self) -> list[tuple[str, str]]:
        return _pin_problems({"pin": self.pin})


@dataclass(frozen=True)
class ConnectorHardware:
    contactor: ContactorSection
    meter: MeterSection
    plug: PlugSection
    led: LedSection | None = None
    reader: ReaderSection | None = None
    """A reader for this connector only, besides the charge point's shared one."""
    pilot: PilotSection | None = None
    """The control pilot output that tells the EV its current (smart charging). None: the pilot is generated by
    a separate EVSE board; charging limits are then reported but not enforced."""

    def pins(self) -> list[int]:
        return [*self.contactor.pins(), *self.plug.pins(), *(self.led.pins if self.led else []),
                *([self.pilot.pin] if self.pilot else [])]


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


SOCKET_PATH_MAX = 107
"""The longest path a unix socket can be bound to on Linux (`sun_path` is 108 bytes with its NUL)."""


@dataclass(frozen=True)
class StorageSection:
    path: Path
    """The SQLite database; its folder also holds the control socket `evsed.sock`."""

    def problems(self) -> list[tuple[str, str]]:
        if self.path.name in ("", ".", ".."):
            return [("path", "must be the database file's path, e.g. /var/lib/evsed/evsed.db")]
        if len(bytes(self.path.parent / "evsed.sock")) > SOCKET_PATH_MAX:
            return [("path", f"its folder's path is too long for the control socket evsed.sock there (at most "
                             f"{SOCKET_PATH_MAX - len('/evsed.sock')} bytes)")]
        return []


@dataclass(frozen=True)
class ClockSection:
    trust: Literal["ntp", "rtc", "csms"] = "ntp"
    """When the system clock is good enough to date events: "ntp" once the kernel reports NTP
    synchronisation (or the CSMS's BootNotification currentTime came first), "rtc" at once (a
    battery-backed real-time clock), "csms" only from the CSMS's currentTime."""


@dataclass(frozen=True)
class FirmwareSection:
    install_command: list[str] = field(default_factory=list)
    """The program (and its arguments) that installs a downloaded firmware file (OCPP 1.6 §4.5 UpdateFirmware): the
    file's path is appended as its last argument. Exit status 0: Installed; 10: Installed, and evsed restarts
    (BootNotification again); anything else: InstallationFailed. Empty: on the simulated backend a built-in
    installer accepts any non-empty file; on "pi" every install fails (the log says why)."""
    install_timeout_s: float = 1800.0
    """How long an install may run before it counts as failed (and is killed)."""

    def problems(self) -> list[tuple[str, str]]:
        out = [] if 1 <= self.install_timeout_s <= 86_400 else [("install_timeout_s", "must be 1 to 86400 seconds")]
        if self.install_command and not self.install_command[0].strip():
            out.append(("install_command", "the first element names the program; it is empty"))
        return out


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
    firmware: FirmwareSection = field(default_factory=FirmwareSection)
    ocpp: dict[str, Value] = field(default_factory=dict)
    """Initial values of OCPP configuration keys, under their OCPP 1.6 names (`ocpp16.keys`)."""

    def problems(self) -> list[tuple[str, str]]:
        return self._security_problems() + self._hardware_problems()

    def _security_problems(self) -> list[tuple[str, str]]:
        """The Security Whitepaper's prerequisites a preset SecurityProfile needs that the file alone tells."""
        profile = self.ocpp.get("SecurityProfile", 0)
        if not isinstance(profile, int) or isinstance(profile, bool):
            return []  # the key's own check reports it
        if profile >= 2 and not self.csms.secure:
            return [("ocpp", f"SecurityProfile {profile} needs a wss:// [csms] url (TLS)")]
        if profile == 3 and not self.csms.client_cert:
            return [("ocpp", "SecurityProfile 3 needs [csms] client_cert and client_key (TLS client certificate)")]
        if profile in (1, 2) and not self.ocpp.get("AuthorizationKey"):
            return [("ocpp", f"SecurityProfile {profile} needs an AuthorizationKey (the HTTP Basic password)")]
        return []

    def _hardware_problems(self) -> list[tuple[str, str]]:
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


class _Invalid(Exception):
    """A value whose problems are recorded already: the table holding it cannot be built."""


class _Reader:
    """Builds the dataclasses from the TOML tables, recording every problem (`[table] key: why`) instead
    of stopping at the first. A table is built only when all of its values are good."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def table(self, cls: type, table: dict[str, object], where: str) -> Any:
        """Build dataclass `cls` from the TOML table named `where` ("" for the file itself)."""
        known = {f.name: f for f in fields(cls)}
        unknown = [key for key in table if key not in known]
        for key in unknown:
            self.problems.append(f"{_label(where, _shown(key))}: unknown {'key' if where else 'table'}")
        hints = typing.get_type_hints(cls)
        values: dict[str, object] = {}
        failed: set[str] = set()
        for name, f in known.items():
            if name in table:
                try:
                    values[name] = self.one(_label(where, name), f"{where}.{name}" if where else name, hints[name],
                                            table[name])
                except _Invalid:
                    failed.add(name)
            elif _required(f):
                self.problems.append(f"{_label(where, name)}: required value missing")
                failed.add(name)
        obj = self.build(cls, where, values, failed)
        if unknown:
            raise _Invalid
        return obj

    def build(self, cls: type, where: str, values: dict[str, object], failed: set[str]) -> Any:
        """`cls` from the good `values`, and its own problems recorded. A failed field takes its default,
        or a neutral stand-in when it is a required text or number, so that the table's other problems
        are found too; problems with a failed field are not repeated."""
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            if f.name in failed and _required(f):
                if hints[f.name] not in _STAND_INS:
                    raise _Invalid
                values[f.name] = _STAND_INS[hints[f.name]]
        obj = cls(**values)
        found = [f"{_label(where, key)}: {problem}" for key, problem in getattr(obj, "problems", list)()
                 if key.split("[")[0].split(".")[0] not in failed]
        self.problems += found
        if found or failed:
            raise _Invalid
        return obj

    def one(self, name: str, table_path: str, kind: Any, value: object) -> object:
        """`value` converted, or _Invalid once its problems are recorded."""
        try:
            return self.value(name, table_path, kind, value)
        except ConfigError as e:
            self.problems.append(str(e))
            raise _Invalid from None

    def each(self, items: list[tuple[str, str, Any, object]]) -> list[object]:
        """Convert every (label, table path, type, value), recording each one's problems; _Invalid if any."""
        out, failed = [], False
        for item in items:
            try:
                out.append(self.one(*item))
            except _Invalid:
                failed = True
        if failed:
            raise _Invalid
        return out

    def value(self, name: str, table_path: str, kind: Any, value: object) -> object:
        """Check one value against its field type; ConfigError (one problem) names `name`.

        `table_path` is the dotted TOML table name the value would open if it is a table.
        """
        origin = typing.get_origin(kind)
        if origin is types.UnionType:  # `X | None`: TOML has no null, so a given value is an X
            (kind,) = (arg for arg in typing.get_args(kind) if arg is not type(None))
            return self.value(name, table_path, kind, value)
        if origin is list:
            if not isinstance(value, list):
                raise ConfigError(f"{name}: expected an array, got {type_name(type(value))}")
            (item,) = typing.get_args(kind)
            return self.each([(f"{name}[{i}]", table_path, item, v) for i, v in enumerate(value)])
        if origin is Literal:
            if value not in typing.get_args(kind):
                choices = ", ".join(repr(c) for c in typing.get_args(kind))
                raise ConfigError(f"{name}: must be one of {choices}, got {_shown_value(value)}")
            return value
        if is_dataclass(kind):
            if not isinstance(value, dict):
                raise ConfigError(f"{name}: expected a table, got {type_name(type(value))}")
            return self.table(kind, value, table_path)
        if origin is dict:
            return self.mapping(name, table_path, kind, value)
        return _scalar(name, kind, value)

    def mapping(self, name: str, table_path: str, kind: Any, value: object) -> object:
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a table, got {type_name(type(value))}")
        item = typing.get_args(kind)[1]
        if not is_dataclass(item):
            return value
        converted = self.each([(_label(table_path, _shown(key)), f"{table_path}.{key}", item, v)
                               for key, v in value.items()])
        return dict(zip(value, converted, strict=True))


_STAND_INS: dict[object, object] = {str: "", int: 0, float: 0.0, Path: Path("")}
"""Values a required field takes while its table's other problems are looked for (`_Reader.build`); only
types that no check of another field depends on."""


def _required(f: Field[Any]) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _scalar(name: str, kind: Any, value: object) -> object:
    """A string, path, number or boolean: of its type, printable if text, finite if a number."""
    expected = {Path: str, float: (int, float)}.get(kind, kind)
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, expected):
        raise ConfigError(f"{name}: expected {type_name(kind)}, got {type_name(type(value))}")
    if isinstance(value, str) and not value.isprintable():
        raise ConfigError(f"{name}: must be printable text (no newline, tab, NUL or other control character)")
    if kind is float:
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:  # a 400-digit integer
            number = math.inf
        if not math.isfinite(number):
            raise ConfigError(f"{name}: must be a finite number, got {_shown_value(value)}")
        return number
    return kind(value)


def _shown(text: str, limit: int = 50) -> str:
    """A key as a message may show it: printable, at most `limit` characters."""
    if len(text) <= limit and text.isprintable():
        return text
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _shown_value(value: object) -> str:
    """A value as a message may show it: a short repr of a scalar, else only its type."""
    if isinstance(value, str | int | float | bool):
        shown = repr(value)
        return shown if len(shown) <= 40 else f"{shown[:40]}... ({len(shown)} characters)"
    name = type_name(type(value))
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _label(where: str, key: str) -> str:
    """How the file shows a key: `[csms] url`, or `[csms]` for a top-level table."""
    return f"[{where}] {key}" if where else f"[{key}]"


def parse_config(text: str, source: str = "<config>") -> Config:
    """The file's text as a Config; ConfigError lists every problem, one per line, `source: [table] key: why`."""
    data = _toml(text, source)
    reader = _Reader()
    config: Config | None = None
    with contextlib.suppress(_Invalid):
        config = reader.table(Config, data, "")
    ocpp = data.get("ocpp")
    if isinstance(ocpp, dict):
        reader.problems += keys.preset_problems(ocpp)
    if reader.problems or config is None:
        raise ConfigError("\n".join(f"{source}: {problem}" for problem in reader.problems))
    return config


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    except ValueError as e:  # an integer of more than 4300 digits (Python's limit for reading one)
        raise ConfigError(f"{source}: not valid TOML: {str(e).split(';')[0]}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML: arrays or tables nested too deeply") from None


def load_config(path: Path) -> Config:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                          "save the file as UTF-8") from None
    return parse_config(text, str(path))
