"""OCPP configuration keys: their specs, initial values from the config file, and stored values.

OCPP 1.6 §9 (Standard Configuration Key Names & Values). Values are stored natively (bool, int, str)
and travel as strings on the wire. A value in the config file's `[ocpp]` table seeds a key only
when no value has been saved yet, so a ChangeConfiguration from the CSMS wins and survives restarts.
"""

import json
import logging
from dataclasses import dataclass
from enum import StrEnum

from firmware.metering import MEASURANDS
from firmware.store import Store

log = logging.getLogger(__name__)

Value = bool | int | str


class ChangeResult(StrEnum):
    """OCPP 1.6 ConfigurationStatus."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"


_TYPE_NAMES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string",
                                 dict: "table", list: "array"}


def type_name(kind: type) -> str:
    """How TOML (and an installer) calls a type."""
    return _TYPE_NAMES.get(kind, kind.__name__)


@dataclass(frozen=True)
class KeySpec:
    name: str
    kind: type[bool] | type[int] | type[str]
    default: Value
    readonly: bool = False
    minimum: int | None = None
    members: frozenset[str] | None = None
    """For comma-separated lists (CSL): the allowed members."""

    def check(self, value: Value) -> str | None:
        """Return why `value` is not acceptable for this key, or None."""
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
        """Parse the wire form of a value (ChangeConfiguration.req value). Raises ValueError."""
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

LOCAL_AUTH_LIST_MAX_LENGTH = 100_000
SEND_LOCAL_LIST_MAX_LENGTH = 10_000
"""Chosen with the link's largest frame (`ocpp16.link.MAX_FRAME_BYTES`): a SendLocalList of this
many entries, each as long as the schema allows, still fits in one frame."""

KEYS: dict[str, KeySpec] = {
    spec.name: spec
    for spec in (
        KeySpec("AllowOfflineTxForUnknownId", bool, False),
        KeySpec("AuthorizationCacheEnabled", bool, True),
        KeySpec("AuthorizeRemoteTxRequests", bool, False),
        KeySpec("ClockAlignedDataInterval", int, 0, minimum=0),
        KeySpec("ConnectionTimeOut", int, 60, minimum=1),
        KeySpec("GetConfigurationMaxKeys", int, 100, readonly=True),
        KeySpec("HeartbeatInterval", int, 300, minimum=0),
        KeySpec("LocalAuthListEnabled", bool, True),
        KeySpec("LocalAuthListMaxLength", int, LOCAL_AUTH_LIST_MAX_LENGTH, readonly=True),
        KeySpec("LocalAuthorizeOffline", bool, True),
        KeySpec("LocalPreAuthorize", bool, False),
        KeySpec("MaxEnergyOnInvalidId", int, 0, minimum=0),
        KeySpec("MeterValuesAlignedData", str, "", members=_MEASURANDS),
        KeySpec("MeterValuesSampledData", str, "Energy.Active.Import.Register", members=_MEASURANDS),
        KeySpec("MeterValueSampleInterval", int, 60, minimum=0),
        KeySpec("MinimumStatusDuration", int, 0, minimum=0),
        KeySpec("NumberOfConnectors", int, 1, readonly=True),
        KeySpec("ResetRetries", int, 1, minimum=0),
        KeySpec("SendLocalListMaxLength", int, SEND_LOCAL_LIST_MAX_LENGTH, readonly=True),
        KeySpec("StopTransactionOnEVSideDisconnect", bool, True),
        KeySpec("StopTransactionOnInvalidId", bool, True),
        KeySpec("StopTxnAlignedData", str, "", members=_MEASURANDS),
        KeySpec("StopTxnSampledData", str, "Energy.Active.Import.Register", members=_MEASURANDS),
        KeySpec("SupportedFeatureProfiles", str, "Core,LocalAuthListManagement", readonly=True),
        KeySpec("TransactionMessageAttempts", int, 3, minimum=1),
        KeySpec("TransactionMessageRetryInterval", int, 30, minimum=0),
        KeySpec("UnlockConnectorOnEVSideDisconnect", bool, True),
        KeySpec("WebSocketPingInterval", int, 30, minimum=0),
    )
}


def check_initial_values(values: dict[str, object]) -> str | None:
    """Validate a config file's `[ocpp]` table; return an error naming the key, or None."""
    for name, value in values.items():
        spec = KEYS.get(name)
        if spec is None:
            return f"[ocpp] {name}: not a configuration key evsed supports"
        if spec.readonly:
            return f"[ocpp] {name}: read-only key, it cannot be set"
        problem = spec.check(value)  # type: ignore[arg-type]
        if problem:
            return f"[ocpp] {name}: {problem}"
    return None


class Configuration:
    """Current values of the configuration keys, persisted in the store's `config_keys` table."""

    def __init__(self, store: Store, initial: dict[str, Value], fixed: dict[str, Value]) -> None:
        """`initial`: the config file's `[ocpp]` values (checked already); `fixed`: read-only facts."""
        self._store = store
        self._fixed = fixed
        table = store.db["config_keys"]
        with store.atomic():
            for name, value in initial.items():
                table.insert({"name": name, "value": json.dumps(value)}, ignore=True)
        self._values: dict[str, Value] = {spec.name: spec.default for spec in KEYS.values()}
        for row in table.rows:
            spec = KEYS.get(row["name"])
            value = json.loads(row["value"])
            if spec is not None and spec.check(value) is None:
                self._values[row["name"]] = value
        self._values.update(fixed)

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

    def entries(self, names: list[str] | None) -> tuple[list[tuple[str, bool, str]], list[str]]:
        """GetConfiguration: (name, readonly, wire value) for known keys, and the unknown names."""
        wanted = names or list(KEYS)
        known = [(n, KEYS[n].readonly, wire(self._values[n])) for n in wanted if n in KEYS]
        return known, [n for n in wanted if n not in KEYS]

    def change(self, name: str, text: str) -> ChangeResult:
        """ChangeConfiguration: validate, persist, apply."""
        spec = KEYS.get(name)
        if spec is None:
            return ChangeResult.NOT_SUPPORTED
        if spec.readonly:
            return ChangeResult.REJECTED
        try:
            value = spec.parse(text)
        except ValueError:
            return ChangeResult.REJECTED
        if spec.check(value) is not None:
            return ChangeResult.REJECTED
        with self._store.atomic():
            self._store.db["config_keys"].upsert({"name": name, "value": json.dumps(value)}, pk="name")
        self._values[name] = value
        log.info("configuration changed key=%s value=%s", name, wire(value))
        return ChangeResult.ACCEPTED
