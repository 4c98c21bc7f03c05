"""The daemon's one TOML configuration file, checked completely before anything starts.

Unknown keys, wrong types and missing required values raise ConfigError naming the key.
"""

import tomllib
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from firmware.configuration import Value, check_initial_values, type_name


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
    """Reconnect backoff cap; the first retry comes within 5 s."""
    call_timeout_s: float = 30.0
    """How long to wait for the CSMS's answer to a call."""

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


@dataclass(frozen=True)
class HardwareSection:
    backend: Literal["sim"]
    sim: SimSection = field(default_factory=SimSection)


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
    """Initial values of OCPP configuration keys, under their OCPP names."""

    @property
    def control_socket(self) -> Path:
        return self.storage.path.parent / "evsed.sock"


def _convert(name: str, table_path: str, kind: Any, value: object) -> object:
    """Check one value against its field type; raise ConfigError naming `name`.

    `table_path` is the dotted TOML table name the value would open if it is a table.
    """
    origin = typing.get_origin(kind)
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
    problem = check_initial_values(config.ocpp)
    if problem:
        raise ConfigError(f"{source}: {problem}")
    return config


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    return parse_config(text, str(path))

