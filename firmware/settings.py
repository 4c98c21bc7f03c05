"""The charger's settings: what the core reads (timeouts, offline rules, measurands, limits), by neutral names.

Each protocol adapter exposes them under its own names (OCPP 1.6 configuration keys: `ocpp16.keys`).
Values are stored natively (bool, int, str) in the store's `settings` table. A preset (the config
file's `[ocpp]` table, mapped to these names) seeds a setting only when no value has been saved yet,
so a change from the CSMS wins and survives restarts. Read-only settings are facts of this charger.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
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
    members: frozenset[str] | None = None
    """For comma-separated lists (CSL): the allowed members."""

    def check(self, value: Value) -> str | None:
        """Return why `value` is not acceptable for this setting, or None."""
        if type(value) is not self.kind:
            return f"expected {type_name(self.kind)}, got {type_name(type(value))}"
        if self.minimum is not None and isinstance(value, int) and value < self.minimum:
            return f"must be at least {self.minimum}"
        if self.members is not None and isinstance(value, str):
            unknown = [m for m in split_csl(value) if m not in self.members]
            if unknown:
                return f"unsupported member(s) {', '.join(unknown)}; supported: {', '.join(sorted(self.members))}"
        return None

    def parse(self, text: str) -> Value:
        """Parse the wire form of a value (booleans as true/false). Raises ValueError."""
        if self.kind is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError("expected true or false")
            return lowered == "true"
        if self.kind is int:
            return int(text.strip())
        return text


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

SETTINGS: dict[str, SettingSpec] = {
    spec.name: spec
    for spec in (
        SettingSpec("offline_unknown_id_allowed", bool, False),
        SettingSpec("auth_cache_enabled", bool, True),
        SettingSpec("authorize_remote_starts", bool, False),
        SettingSpec("aligned_sample_interval_s", int, 0, minimum=0),
        SettingSpec("connection_timeout_s", int, 60, minimum=1),
        SettingSpec("max_keys_per_request", int, 100, readonly=True),
        SettingSpec("heartbeat_interval_s", int, 300, minimum=0),
        SettingSpec("local_list_enabled", bool, True),
        SettingSpec("local_list_max_entries", int, LOCAL_LIST_MAX_ENTRIES, readonly=True),
        SettingSpec("local_authorize_offline", bool, True),
        SettingSpec("local_pre_authorize", bool, False),
        SettingSpec("max_energy_on_invalid_id_wh", int, 0, minimum=0),
        SettingSpec("aligned_measurands", str, "", members=_MEASURANDS),
        SettingSpec("sampled_measurands", str, "Energy.Active.Import.Register", members=_MEASURANDS),
        SettingSpec("sample_interval_s", int, 60, minimum=0),
        SettingSpec("minimum_status_duration_s", int, 0, minimum=0),
        SettingSpec("connectors", int, 1, readonly=True),
        SettingSpec("reset_retries", int, 1, minimum=0),
        SettingSpec("local_list_max_update", int, LOCAL_LIST_MAX_UPDATE, readonly=True),
        SettingSpec("stop_on_ev_disconnect", bool, True),
        SettingSpec("stop_on_invalid_id", bool, True),
        SettingSpec("stop_aligned_measurands", str, "", members=_MEASURANDS),
        SettingSpec("stop_sampled_measurands", str, "Energy.Active.Import.Register", members=_MEASURANDS),
        SettingSpec("protocol_features", str, "", readonly=True),
        SettingSpec("transaction_message_attempts", int, 3, minimum=1),
        SettingSpec("transaction_message_retry_interval_s", int, 30, minimum=0),
        SettingSpec("unlock_on_ev_disconnect", bool, True),
        SettingSpec("websocket_ping_interval_s", int, 30, minimum=0),
    )
}
"""Every setting. `protocol_features` is what the configured protocol adapter implements (OCPP 1.6:
its feature profiles), fixed by the adapter from its registered handlers."""


class Settings:
    """Current values of the settings, persisted in the store's `settings` table."""

    def __init__(self, store: Store, presets: dict[str, Value], fixed: dict[str, Value]) -> None:
        """`presets`: initial values (checked already); `fixed`: read-only facts of this charger."""
        self._store = store
        table = store.db["settings"]
        with store.atomic():
            for name, value in presets.items():
                table.insert({"name": name, "value": json.dumps(value)}, ignore=True)
        self._values: dict[str, Value] = {spec.name: spec.default for spec in SETTINGS.values()}
        for row in table.rows:
            spec = SETTINGS.get(row["name"])
            value = json.loads(row["value"])
            if spec is not None and not spec.readonly and spec.check(value) is None:
                self._values[row["name"]] = value
        self._values.update(fixed)
        self._waiting: dict[str, set[asyncio.Event]] = {}

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
        if problem is not None:
            return problem
        with self._store.atomic():
            self._store.db["settings"].upsert({"name": name, "value": json.dumps(value)}, pk="name")
        self._values[name] = value
        log.info("setting changed name=%s value=%s", name, wire(value))
        for event in self._waiting.get(name, ()):
            event.set()
        return None

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
