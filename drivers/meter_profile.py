"""Meter profiles: where one model of Modbus energy meter keeps the values evsed reads, as data files.

A profile is a TOML file, `config/meters/<name>.toml`, installed to `<prefix>/share/evsed/meters`. It gives the
import energy register that billing uses (never an import+export total), total active power, and voltage and
current per phase, each as a `Register`; every file cites the maker's register map it was taken from and says
whether it was checked against a real meter (`verified`).

`load_profile()` validates the whole file: unknown keys, wrong types and impossible registers stop with a
`ValueError` naming the file and the key.
"""

import math
import re
import sys
import tomllib
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, NoReturn, cast, get_args

Kind = Literal["input", "holding"]
"""Input registers are read with function 04, holding registers with function 03."""
ValueType = Literal["float32", "int16", "uint16", "int32", "uint32", "int64", "uint64"]
WordOrder = Literal["big", "little"]
"""Order of the 16-bit registers of a value: "big" sends the most significant register first (Modbus
Application Protocol V1.1b3 §4.2 fixes big-endian bytes inside a register but not the register order)."""

WORDS: dict[str, int] = {"int16": 1, "uint16": 1, "float32": 2, "int32": 2, "uint32": 2, "int64": 4, "uint64": 4}
"""Registers per value type."""

MAX_READ_REGISTERS = 125
"""Read Holding/Input Registers carry at most 125 registers (Modbus Application Protocol V1.1b3 §6.3, §6.4)."""

SEARCH_DIRS = (
    Path(sys.prefix) / "share" / "evsed" / "meters",
    Path(__file__).resolve().parent.parent / "config" / "meters",
)
"""Where profile names are looked up, in order: the installed data files, then the source tree."""

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


@dataclass(frozen=True)
class Register:
    """One value in the meter: `scale` turns the raw number into Wh, W, V or A (a kWh float register has 1000)."""

    kind: Kind
    address: int
    """Protocol address as sent on the wire, counted from 0 (the maker's 30073 is 0x0048)."""
    type: ValueType
    word_order: WordOrder
    scale: float

    @property
    def words(self) -> int:
        return WORDS[self.type]


@dataclass(frozen=True)
class MeterProfile:
    """Registers of one meter model. `verified` is False until someone has read the values on real hardware."""

    name: str
    model: str
    source: str
    verified: bool
    energy_import: Register
    power: Register
    voltage: tuple[Register, ...]
    """Per phase L1, L2, L3; empty when the meter does not publish voltages."""
    current: tuple[Register, ...]
    """Per phase L1, L2, L3; empty when the meter does not publish currents."""
    max_registers_per_read: int = MAX_READ_REGISTERS
    """The meter's limit for one request (often lower than the protocol's 125)."""
    max_gap: int = 0
    """Registers between two wanted values that a request may read over; only registers the maker's map defines
    may be read over, as some meters answer exception 2 for undefined ones."""
    int_max_invalid: bool = False
    """An integer register holding its type's largest value (0xFFFF..., 0x7FFF... when signed) carries no
    measurement: ABB's "not available", Carlo Gavazzi's overflow."""

    def registers(self) -> tuple[Register, ...]:
        return (self.energy_import, self.power, *self.voltage, *self.current)


def profile_names() -> list[str]:
    """Names `load_profile()` finds in the search directories, sorted."""
    return sorted({path.stem for folder in SEARCH_DIRS if folder.is_dir() for path in folder.glob("*.toml")})


def load_profile(name_or_path: str) -> MeterProfile:
    """Load a profile by name (`sdm630`) or by file path (contains "/" or ends with ".toml").

    A name is looked up as `<name>.toml` in `SEARCH_DIRS`, first match wins. Raises ValueError for an unknown name
    (listing the known ones), a missing file or an invalid profile.
    """
    path = _find(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"meter profile {path} cannot be read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"meter profile {path} is not valid TOML: {exc}") from None
    return _Parser(path).profile(data)


def _find(name_or_path: str) -> Path:
    if "/" in name_or_path or name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        if not path.is_file():
            raise ValueError(f"meter profile file {name_or_path} does not exist")
        return path
    if _NAME.fullmatch(name_or_path):
        for folder in SEARCH_DIRS:
            if (path := folder / f"{name_or_path}.toml").is_file():
                return path
    raise ValueError(f"unknown meter profile {name_or_path!r}; known profiles: {', '.join(profile_names()) or 'none'}")


_PROFILE_KEYS = {"model": True, "source": True, "verified": True, "energy_import": True, "power": True,
                 "voltage": False, "current": False, "max_registers_per_read": False, "max_gap": False,
                 "int_max_invalid": False}
"""Top-level keys of a profile file; True marks the required ones."""
_REGISTER_KEYS = {"kind": True, "address": True, "type": True, "word_order": True, "scale": True}
_MAX_PHASES = 3


class _Parser:
    """Checks one profile file; every error names the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ValueError(f"meter profile {self.path}: {key}: {problem}")

    def table(self, key: str, value: Any, keys: dict[str, bool]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, f"must be a table, not {_describe(value)}")
        for name in value:
            if name not in keys:
                self.fail(f"{key}.{name}" if key else name, f"unknown key (allowed: {', '.join(keys)})")
        for name, required in keys.items():
            if required and name not in value:
                self.fail(f"{key}.{name}" if key else name, "missing")
        return value

    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"must be a non-empty string, not {_describe(value)}")
        return value

    def flag(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {_describe(value)}")
        return value

    def integer(self, key: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"must be an integer from {low} to {high}, not {_describe(value)}")
        return value

    def choice(self, key: str, value: Any, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            self.fail(key, f"must be one of {', '.join(map(repr, allowed))}, not {_describe(value)}")
        return cast(str, value)

    def register(self, key: str, value: Any) -> Register:
        fields = self.table(key, value, _REGISTER_KEYS)
        value_type = self.choice(f"{key}.type", fields["type"], get_args(ValueType))
        address = self.integer(f"{key}.address", fields["address"], 0, 0x10000 - WORDS[value_type])
        scale = fields["scale"]
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale) or not scale:
            self.fail(f"{key}.scale", f"must be a non-zero number, not {_describe(scale)}")
        return Register(kind=cast(Kind, self.choice(f"{key}.kind", fields["kind"], get_args(Kind))),
                        address=address, type=cast(ValueType, value_type),
                        word_order=cast(WordOrder, self.choice(f"{key}.word_order", fields["word_order"],
                                                               get_args(WordOrder))),
                        scale=float(scale))

    def phases(self, key: str, value: Any) -> tuple[Register, ...]:
        if not isinstance(value, list) or len(value) > _MAX_PHASES:
            self.fail(key, f"must be a list of 0 to {_MAX_PHASES} registers (L1, L2, L3), not {_describe(value)}")
        return tuple(self.register(f"{key}[{i}]", item) for i, item in enumerate(value))

    def profile(self, data: dict[str, Any]) -> MeterProfile:
        self.table("", data, _PROFILE_KEYS)
        profile = MeterProfile(
            name=self.path.stem,
            model=self.text("model", data["model"]),
            source=self.text("source", data["source"]),
            verified=self.flag("verified", data["verified"]),
            energy_import=self.register("energy_import", data["energy_import"]),
            power=self.register("power", data["power"]),
            voltage=self.phases("voltage", data.get("voltage", [])),
            current=self.phases("current", data.get("current", [])),
            max_registers_per_read=self.integer("max_registers_per_read",
                                                data.get("max_registers_per_read", MAX_READ_REGISTERS),
                                                1, MAX_READ_REGISTERS),
            max_gap=self.integer("max_gap", data.get("max_gap", 0), 0, MAX_READ_REGISTERS),
            int_max_invalid=self.flag("int_max_invalid", data.get("int_max_invalid", False)),
        )
        self.check_layout(profile)
        return profile

    def check_layout(self, profile: MeterProfile) -> None:
        """No two values share a register (a copy-paste slip), and each value fits in one request."""
        named = [("energy_import", profile.energy_import), ("power", profile.power),
                 *((f"voltage[{i}]", r) for i, r in enumerate(profile.voltage)),
                 *((f"current[{i}]", r) for i, r in enumerate(profile.current))]
        named.sort(key=lambda item: (item[1].kind, item[1].address))
        for (first_key, first), (key, reg) in pairwise(named):
            if reg.kind == first.kind and reg.address < first.address + first.words:
                self.fail(key, f"{reg.kind} register 0x{reg.address:04X} overlaps {first_key}")
        for key, reg in named:
            if reg.words > profile.max_registers_per_read:
                self.fail(key, f"needs {reg.words} registers, more than max_registers_per_read")


def _describe(value: Any) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= 40 else shown[:37] + '...'}"
