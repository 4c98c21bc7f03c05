"""The charger's settings: what the core reads (timeouts, offline rules, measurands, limits), by neutral names.

Each protocol adapter exposes them under its own names (OCPP 1.6 configuration keys: `ocpp16.keys`).
Values are stored natively (bool, int, str) in the store's `settings` table. A preset (the config
file's `[ocpp]` table, mapped to these names) seeds a setting only when no value has been saved yet,
so a change from the CSMS wins and survives restarts. Read-only settings are facts of this charger.
"""

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from firmware.persistence.db import Store
from firmware.transactions.metering import MEASURANDS

log = logging.getLogger(__name__)

Value = bool | int | str

_TYPE_NAMES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string",
                                 dict: "table", list: "array"}


def type_name(kind: type) -> str:
    """How TOML (and an installer) calls a type."""
    return _TYPE_NAMES.get(kind, kind.__name__)


@dataclass(frozen=True)
class SettingSpec:
    name: str
    kind: type[bool] | type[int] | type[str]
    default: Value
    readonly: bool = False
    """A fact of this charger (a limit, the number of connectors): nobody sets it."""
    minimum: int | None = None
    maximum: int | None = None
    """Every integer setting has both bounds (`SETTINGS` says why each): a value a timer, a counter or a
    32-bit field cannot hold is refused, never stored."""
    members: frozenset[str] | None = None
    """For comma-separated lists (CSL): the allowed members."""
    max_members: int | None = None
    """For CSLs: how many members a value may have (OCPP 1.6 §9.1 exposes it as the key's `…MaxLength`)."""
    pattern: str | None = None
    """For strings: a regular expression the whole value must match."""
    secret: bool = False
    """Write-only: never shown (GetConfiguration gives no value; logs say ***)."""
    raise_only: bool = False
    """A preset may raise the stored value at start, never lower it (the security profile)."""

    def __post_init__(self) -> None:
        if self.kind is int and (self.minimum is None or self.maximum is None):
            raise ValueError(f"setting {self.name}: an integer setting needs a minimum and a maximum")

    def check(self, value: Value) -> str | None:
        """Return why `value` is not acceptable for this setting, or None."""
        if type(value) is not self.kind:
            return f"expected {type_name(self.kind)}, got {type_name(type(value))}"
        if isinstance(value, int) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {self.minimum}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum}"
        if self.members is not None and isinstance(value, str):
            unknown = [m for m in split_csl(value) if m not in self.members]
            if unknown:
                supported = f"; supported: {', '.join(sorted(self.members))}" if len(self.members) <= 10 else ""
                return f"unsupported member(s) {', '.join(unknown[:5])[:200]}{supported}"
        if self.max_members is not None and isinstance(value, str) and len(split_csl(value)) > self.max_members:
            return f"at most {self.max_members} members"
        if self.pattern is not None and isinstance(value, str) and re.fullmatch(self.pattern, value) is None:
            return "not of the required form"
        return None

    def shown(self, value: Value) -> str:
        """The wire form of a value as a log line may show it."""
        return "***" if self.secret else wire(value)

    def parse(self, text: str) -> Value:
        """Parse the wire form of a value (booleans as true/false, integers as ASCII decimal digits with an
        optional sign). Raises ValueError; never parses more digits than a value in range can have."""
        if self.kind is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError("expected true or false")
            return lowered == "true"
        if self.kind is int:
            if not _INTEGER.fullmatch(text.strip()):
                raise ValueError("expected an integer of at most 18 digits")
            return int(text.strip())
        return text


_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
"""An integer as the wire carries it. Not `int()` alone: it takes "1_000" and other scripts' digits, and
thousands of digits (slowly, up to Python's 4300-digit limit)."""


def _shortened(text: str, limit: int = 40) -> str:
    """A stored value as a log line may show it: at most `limit` characters, and how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"


def split_csl(value: str) -> list[str]:
    return [member.strip() for member in value.split(",") if member.strip()]


def wire(value: Value) -> str:
    """The wire form of a value: booleans as lower-case true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_MEASURANDS = frozenset(MEASURANDS)

LOCAL_LIST_MAX_ENTRIES = 100_000
LOCAL_LIST_MAX_UPDATE = 10_000
"""Chosen with the link's largest frame (`protocol.connection.MAX_FRAME_BYTES`): a list update of this
many entries, each as long as OCPP 1.6 allows, still fits in one frame."""

HOUR = 3600
DAY = 86_400
WEEK = 7 * DAY
CONNECTORS_MAX = 16
"""The most connectors a config file may declare (`[charge_point] connectors`)."""

AUTHORIZATION_KEY = r"(?:[0-9a-fA-F]{2}){16,20}|"
"""The HTTP Basic password of security profiles 1 and 2 as the OCPP 1.6 Security Whitepaper gives it: the hex text of
16 to 20 bytes (empty: none set). The 1.6 adapter holds AuthorizationKey to it (`ocpp16.keys.WIRE_PATTERNS`)."""
BASIC_AUTH_PASSWORD = r"[\x20-\x7e]{16,40}|"
"""OCPP 2.0.1's SecurityCtrlr.BasicAuthPassword (A00.FR.205: passwordString of 16 to 40 characters). The stored
password may take either form, so a charger switched between the versions keeps it; each adapter admits its own."""
IDENTITY = r"[A-Za-z0-9*\-_=:+|@.]{0,48}"
"""OCPP 2.0.1 SecurityCtrlr.Identity: an identifierString of at most 48 characters (empty: the charge point id)."""
TX_START_POINTS = frozenset({"PowerPathClosed"})
"""OCPP 2.0.1 TxCtrlr.TxStartPoint values evsed supports (E01): its sessions start when the EV is connected and
authorized and the contactor closes, as in 1.6."""

CERTIFICATES = 20
"""The most root certificates installed at once (Security Whitepaper: CertificateStoreMaxLength)."""
CHAIN_CHARS = 10_000
"""The longest CertificateSigned chain (CertificateSignedMaxChainSize; the schema's own bound)."""

PROFILE_STACK_LEVELS = 10
"""The highest stackLevel a charging profile may have (OCPP 1.6 §9.4 ChargeProfileMaxStackLevel)."""
SCHEDULE_PERIODS = 96
"""The most periods one charging schedule may have (§9.4 ChargingScheduleMaxPeriods): a day in quarter hours."""
CHARGING_PROFILES = 32
"""The most charging profiles installed at once (§9.4 MaxChargingProfilesInstalled): every purpose at every
stack level for a few connectors; each is evaluated at every schedule boundary."""

PHASE_ROTATIONS = ("NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR")
"""OCPP 1.6 §9.1 ConnectorPhaseRotation: how a connector's phases are wired to the meter (or the grid)."""

_PHASE_ROTATION_MEMBERS = frozenset(f"{n}.{r}" for n in range(CONNECTORS_MAX + 1) for r in PHASE_ROTATIONS)

SETTINGS: dict[str, SettingSpec] = {
    spec.name: spec
    for spec in (
        SettingSpec("offline_unknown_id_allowed", bool, False),
        SettingSpec("auth_cache_enabled", bool, True),
        SettingSpec("authorize_remote_starts", bool, False),
        SettingSpec("aligned_sample_interval_s", int, 0, minimum=0, maximum=DAY),
        SettingSpec("connection_timeout_s", int, 60, minimum=1, maximum=HOUR),
        SettingSpec("max_keys_per_request", int, 100, readonly=True, minimum=100, maximum=100),
        SettingSpec("heartbeat_interval_s", int, 300, minimum=0, maximum=WEEK),
        SettingSpec("local_list_enabled", bool, True),
        SettingSpec("local_list_max_entries", int, LOCAL_LIST_MAX_ENTRIES, readonly=True,
                    minimum=LOCAL_LIST_MAX_ENTRIES, maximum=LOCAL_LIST_MAX_ENTRIES),
        SettingSpec("local_authorize_offline", bool, True),
        SettingSpec("local_pre_authorize", bool, False),
        SettingSpec("max_energy_on_invalid_id_wh", int, 0, minimum=0, maximum=1_000_000),
        SettingSpec("aligned_measurands", str, "", members=_MEASURANDS, max_members=len(_MEASURANDS)),
        SettingSpec("sampled_measurands", str, "Energy.Active.Import.Register", members=_MEASURANDS,
                    max_members=len(_MEASURANDS)),
        SettingSpec("sample_interval_s", int, 60, minimum=0, maximum=DAY),
        SettingSpec("minimum_status_duration_s", int, 0, minimum=0, maximum=HOUR),
        SettingSpec("connectors", int, 1, readonly=True, minimum=1, maximum=CONNECTORS_MAX),
        SettingSpec("reset_retries", int, 1, minimum=0, maximum=10),
        SettingSpec("local_list_max_update", int, LOCAL_LIST_MAX_UPDATE, readonly=True,
                    minimum=LOCAL_LIST_MAX_UPDATE, maximum=LOCAL_LIST_MAX_UPDATE),
        SettingSpec("stop_on_ev_disconnect", bool, True),
        SettingSpec("stop_on_invalid_id", bool, True),
        SettingSpec("stop_aligned_measurands", str, "", members=_MEASURANDS, max_members=len(_MEASURANDS)),
        SettingSpec("stop_sampled_measurands", str, "Energy.Active.Import.Register", members=_MEASURANDS,
                    max_members=len(_MEASURANDS)),
        SettingSpec("protocol_features", str, "", readonly=True, max_members=6),
        SettingSpec("connector_phase_rotation", str, "0.Unknown", members=_PHASE_ROTATION_MEMBERS,
                    max_members=CONNECTORS_MAX + 1),
        SettingSpec("reserve_connector_zero_supported", bool, True, readonly=True),
        SettingSpec("transaction_message_attempts", int, 3, minimum=1, maximum=100),
        SettingSpec("transaction_message_retry_interval_s", int, 30, minimum=0, maximum=HOUR),
        SettingSpec("unlock_on_ev_disconnect", bool, True),
        SettingSpec("websocket_ping_interval_s", int, 30, minimum=0, maximum=HOUR),
        SettingSpec("max_profile_stack_level", int, PROFILE_STACK_LEVELS, readonly=True,
                    minimum=PROFILE_STACK_LEVELS, maximum=PROFILE_STACK_LEVELS),
        SettingSpec("charging_rate_units", str, "Current,Power", readonly=True),
        SettingSpec("max_schedule_periods", int, SCHEDULE_PERIODS, readonly=True,
                    minimum=SCHEDULE_PERIODS, maximum=SCHEDULE_PERIODS),
        SettingSpec("max_charging_profiles", int, CHARGING_PROFILES, readonly=True,
                    minimum=CHARGING_PROFILES, maximum=CHARGING_PROFILES),
        SettingSpec("phase_switching_supported", bool, False, readonly=True),
        SettingSpec("security_profile", int, 0, minimum=0, maximum=3, raise_only=True),
        SettingSpec("authorization_key", str, "", pattern=f"{AUTHORIZATION_KEY}|{BASIC_AUTH_PASSWORD}", secret=True),
        SettingSpec("security_identity", str, "", pattern=IDENTITY),
        SettingSpec("tx_start_point", str, "PowerPathClosed", members=TX_START_POINTS, max_members=1),
        SettingSpec("certificate_store_max", int, CERTIFICATES, readonly=True, minimum=CERTIFICATES,
                    maximum=CERTIFICATES),
        SettingSpec("certificate_chain_max_chars", int, CHAIN_CHARS, readonly=True, minimum=CHAIN_CHARS,
                    maximum=CHAIN_CHARS),
        SettingSpec("additional_root_check", bool, False, readonly=True),
        SettingSpec("cpo_name", str, "", pattern=r"[^\x00-\x1f\x7f]{0,64}"),
    )
}
"""Every setting. `protocol_features` is what the configured protocol adapter implements (OCPP 1.6:
its feature profiles), fixed by the adapter from its registered handlers.

The integer ranges (OCPP 1.6 §9.1, Core Profile keys, gives each a unit but no bound; a value outside its range is
refused, by ChangeConfiguration (§5.3: Rejected), in the config file, and when stored: it is repaired at
start). Each bound keeps every timer finite and says what still makes sense for a charger:

- aligned_sample_interval_s (ClockAlignedDataInterval) 0..1 day: intervals are evenly spaced
  per day from midnight, so a day is the longest; 0 = off.
- connection_timeout_s (ConnectionTimeOut) 1 s..1 hour: how long a plugged-in or authorized
  session waits for its other half; longer, a forgotten card keeps the connector Preparing.
- heartbeat_interval_s (HeartbeatInterval) 0..1 week: a CSMS relying on WebSocket pings may
  ask for a long one (BootNotification.conf gives it too); 0 = none.
- max_energy_on_invalid_id_wh (MaxEnergyOnInvalidId) 0..1 MWh: five times the largest EV
  battery, i.e. no limit in practice.
- sample_interval_s (MeterValueSampleInterval) 0..1 day; 0 = no sampled values.
- minimum_status_duration_s (MinimumStatusDuration) 0..1 hour: a status held longer would hide
  a fault from the CSMS.
- reset_retries (ResetRetries) 0..10: a reset that failed ten times will not succeed.
- transaction_message_attempts (TransactionMessageAttempts) 1..100: a message the CSMS
  refused a hundred times is a dead letter.
- transaction_message_retry_interval_s (TransactionMessageRetryInterval) 0..1 hour: the wait
  grows with each attempt (the interval times the attempt's number), so an hour already spreads
  the attempts over days.
- websocket_ping_interval_s (WebSocketPingInterval) 0..1 hour: a ping keeps NAT and firewall
  state and finds a dead link; far beyond their minutes-long timeouts it does neither; 0 = none.
- Read-only facts: connectors 1..CONNECTORS_MAX (the config file's bound); the list and key limits
  have the one value this charger has.
"""


class SettingConflict(ValueError):
    """A preset the stored state forbids (a security profile lower than the one in force)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(problem)
        self.name = name


Guard = Callable[[Value, Value], str | None]
"""(current value, new value) → why the change is refused, or None."""


class Settings:
    """Current values of the settings, persisted in the store's `settings` table."""

    def __init__(self, store: Store, presets: dict[str, Value], fixed: dict[str, Value]) -> None:
        """`presets`: initial values (checked already); `fixed`: read-only facts of this charger.

        A stored value this version refuses (out of range, not JSON, a number too long to read) is
        repaired: replaced by its preset or default, rewritten, and logged once, so a bad value stored
        once never stops the daemon at every start."""
        self._store = store
        with store.atomic() as db:
            db.executemany("INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)",
                           [(name, json.dumps(value)) for name, value in presets.items()])
        self._values: dict[str, Value] = {spec.name: spec.default for spec in SETTINGS.values()}
        for name, text in store.db.execute("SELECT name, value FROM settings").fetchall():
            spec = SETTINGS.get(name)
            if spec is not None and not spec.readonly:
                self._values[spec.name] = self._stored(spec, text, presets)
        self._values.update(fixed)
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._guards: dict[str, Guard] = {}
        for name, value in presets.items():
            if SETTINGS[name].raise_only:
                self._raise_to(SETTINGS[name], value)

    def _raise_to(self, spec: SettingSpec, preset: Value) -> None:
        """A raise-only preset: raises the stored value, never lowers it (SettingConflict)."""
        stored = self._values[spec.name]
        assert isinstance(stored, int) and isinstance(preset, int)
        if preset < stored:
            raise SettingConflict(spec.name, f"the preset {preset} is lower than the {stored} in force, which only a "
                                             "higher value may replace")
        if preset > stored:
            self._write(spec.name, preset)
            self._values[spec.name] = preset
            log.warning("setting raised by its preset name=%s from=%d to=%d", spec.name, stored, preset)

    def guard(self, name: str, check: Guard) -> None:
        """A rule a change of `name` must pass besides its spec (the security profile's prerequisites)."""
        self._guards[name] = check

    def _stored(self, spec: SettingSpec, text: str, presets: dict[str, Value]) -> Value:
        """The stored value of `spec` if it passes its check, else the repaired one."""
        try:
            value = json.loads(text)
        except ValueError as e:  # not JSON, or an integer above Python's digit limit
            problem = f"unreadable: {str(e)[:60]}"
        else:
            problem = spec.check(value)
            if problem is None:
                return value
        used = presets.get(spec.name, spec.default)
        if spec.check(used) is not None:
            used = spec.default
        self._write(spec.name, used)
        log.warning("stored setting repaired name=%s stored=%r used=%s problem=%r", spec.name,
                    "***" if spec.secret else _shortened(text), spec.shown(used), problem)
        return used

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def flag(self, name: str) -> bool:
        return bool(self._values[name])

    def integer(self, name: str) -> int:
        value = self._values[name]
        assert isinstance(value, int)
        return value

    def csl(self, name: str) -> list[str]:
        return split_csl(str(self._values[name]))

    def fix(self, name: str, value: Value) -> None:
        """Set a read-only fact known only once the parts are built (what the protocol adapter supports)."""
        assert SETTINGS[name].readonly, f"{name} is not a read-only setting"
        self._values[name] = value

    def change(self, name: str, value: Value) -> str | None:
        """Validate, persist and apply a new value; return why it was refused, or None."""
        spec = SETTINGS[name]
        problem = "read-only" if spec.readonly else spec.check(value)
        if problem is None and name in self._guards:
            problem = self._guards[name](self._values[name], value)
        if problem is not None:
            return problem
        self._put(name, value)
        log.info("setting changed name=%s value=%s", name, spec.shown(value))
        return None

    def restore(self, name: str, value: Value) -> None:
        """Put back an earlier value past the guards (a raised security profile that fails to connect)."""
        self._put(name, value)
        log.warning("setting restored name=%s value=%s", name, SETTINGS[name].shown(value))

    def _write(self, name: str, value: Value) -> None:
        """Store `value` (a single statement: committed on its own or with the `atomic()` block around it)."""
        self._store.db.execute("INSERT INTO settings (name, value) VALUES (?, ?)"
                               " ON CONFLICT (name) DO UPDATE SET value = excluded.value", [name, json.dumps(value)])

    def _put(self, name: str, value: Value) -> None:
        self._write(name, value)
        self._values[name] = value
        for event in self._waiting.get(name, ()):
            event.set()

    async def sleep(self, seconds: float, name: str) -> bool:
        """Sleep `seconds`, or less: True as soon as setting `name` changes. Loops that wait an interval
        sleep here, so a new interval applies at once (OCPP 1.6 §9.1: HeartbeatInterval and the others take
        effect when changed), not after the old one ran out."""
        event = asyncio.Event()
        waiting = self._waiting.setdefault(name, set())
        waiting.add(event)
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
            return True
        except TimeoutError:
            return False
        finally:
            waiting.discard(event)

    async def every(self, name: str) -> AsyncIterator[None]:
        """Yield each time the interval in setting `name` (seconds; 0 = never) has passed since the last
        time, re-reading it whenever it changes: a shorter interval that has already passed fires at once."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            interval = self.integer(name)
            if interval <= 0:
                await self.sleep(86_400, name)
                last = loop.time()
                continue
            left = last + interval - loop.time()
            if left > 0:
                await self.sleep(left, name)
                continue
            last = loop.time()
            yield
