"""OCPP 1.6 configuration keys (§9, "Standard Configuration Key Names & Values") → the charger's settings.

The one place that spells a 1.6 key name: GetConfiguration and ChangeConfiguration answer through it,
and the config file's `[ocpp]` presets are read through it. Pure data and functions (no `ocpp`
library), so checking a config file imports nothing else of the adapter.
"""

import logging
from enum import StrEnum

from firmware.settings import SETTINGS, Settings, Value, wire

log = logging.getLogger(__name__)

KEYS: dict[str, str] = {
    "AllowOfflineTxForUnknownId": "offline_unknown_id_allowed",
    "AuthorizationCacheEnabled": "auth_cache_enabled",
    "AuthorizeRemoteTxRequests": "authorize_remote_starts",
    "ClockAlignedDataInterval": "aligned_sample_interval_s",
    "ConnectionTimeOut": "connection_timeout_s",
    "GetConfigurationMaxKeys": "max_keys_per_request",
    "HeartbeatInterval": "heartbeat_interval_s",
    "LocalAuthListEnabled": "local_list_enabled",
    "LocalAuthListMaxLength": "local_list_max_entries",
    "LocalAuthorizeOffline": "local_authorize_offline",
    "LocalPreAuthorize": "local_pre_authorize",
    "MaxEnergyOnInvalidId": "max_energy_on_invalid_id_wh",
    "MeterValuesAlignedData": "aligned_measurands",
    "MeterValuesSampledData": "sampled_measurands",
    "MeterValueSampleInterval": "sample_interval_s",
    "MinimumStatusDuration": "minimum_status_duration_s",
    "NumberOfConnectors": "connectors",
    "ResetRetries": "reset_retries",
    "SendLocalListMaxLength": "local_list_max_update",
    "StopTransactionOnEVSideDisconnect": "stop_on_ev_disconnect",
    "StopTransactionOnInvalidId": "stop_on_invalid_id",
    "StopTxnAlignedData": "stop_aligned_measurands",
    "StopTxnSampledData": "stop_sampled_measurands",
    "SupportedFeatureProfiles": "protocol_features",
    "TransactionMessageAttempts": "transaction_message_attempts",
    "TransactionMessageRetryInterval": "transaction_message_retry_interval_s",
    "UnlockConnectorOnEVSideDisconnect": "unlock_on_ev_disconnect",
    "WebSocketPingInterval": "websocket_ping_interval_s",
}
"""1.6 key name → setting name. GetConfiguration without keys lists them in this order."""


class ChangeResult(StrEnum):
    """OCPP 1.6 ConfigurationStatus."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"


def preset_problems(table: dict[str, Value]) -> list[str]:
    """What is wrong with the config file's `[ocpp]` table (1.6 key names), one line per bad key, each
    naming it: an unknown key, a read-only one, or a value the setting refuses (wrong type, out of range:
    the ranges are `settings.SETTINGS`'s)."""
    out = []
    for name, value in table.items():
        setting = KEYS.get(name)
        spec = SETTINGS[setting] if setting is not None else None
        if spec is None:
            problem: str | None = "not a configuration key evsed supports"
        elif spec.readonly:
            problem = "read-only key, it cannot be set"
        else:
            problem = spec.check(value)
        if problem is not None:
            out.append(f"[ocpp] {_shown(name)}: {problem}")
    return out


def presets(table: dict[str, Value]) -> dict[str, Value]:
    """The config file's `[ocpp]` table as setting presets; ValueError names every bad key, one per line."""
    problems = preset_problems(table)
    if problems:
        raise ValueError("\n".join(problems))
    return {KEYS[name]: value for name, value in table.items()}


def _shown(name: str) -> str:
    """A key name as an error may show it: printable, at most 50 characters (a 1.6 key is CiString50Type)."""
    return name if len(name) <= 50 and name.isprintable() else repr(name[:50]) + ("..." if len(name) > 50 else "")


def entries(settings: Settings, names: list[str] | None) -> tuple[list[tuple[str, bool, str]], list[str]]:
    """GetConfiguration (§5.8): (key, readonly, wire value) for known keys, and the unknown names."""
    wanted = names or list(KEYS)
    known = [(n, SETTINGS[KEYS[n]].readonly, wire(settings[KEYS[n]])) for n in wanted if n in KEYS]
    return known, [n for n in wanted if n not in KEYS]


def change(settings: Settings, name: str, text: str) -> ChangeResult:
    """ChangeConfiguration (§5.3): an unknown key is NotSupported; a read-only key or a value that does not
    parse or is out of the setting's range (`settings.SETTINGS`) is Rejected, and nothing is stored; an
    accepted value is stored and applies from now on."""
    setting = KEYS.get(name)
    if setting is None:
        return ChangeResult.NOT_SUPPORTED
    try:
        value = SETTINGS[setting].parse(text)
    except ValueError as e:
        return _rejected(name, str(e), text)
    problem = settings.change(setting, value)
    if problem is not None:
        return _rejected(name, problem, text)
    log.info("configuration changed key=%s value=%s", name, wire(value))
    return ChangeResult.ACCEPTED


def _rejected(name: str, problem: str, text: str) -> ChangeResult:
    """Log why (never the value itself: it may be 500 characters of anything) and answer Rejected."""
    log.info("configuration change rejected key=%s reason=%r value_chars=%d", name, problem, len(text))
    return ChangeResult.REJECTED
