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


def presets(table: dict[str, Value]) -> dict[str, Value]:
    """The config file's `[ocpp]` table (1.6 key names) as setting presets; ValueError names the bad key."""
    out: dict[str, Value] = {}
    for name, value in table.items():
        setting = KEYS.get(name)
        if setting is None:
            raise ValueError(f"[ocpp] {name}: not a configuration key evsed supports")
        spec = SETTINGS[setting]
        if spec.readonly:
            raise ValueError(f"[ocpp] {name}: read-only key, it cannot be set")
        problem = spec.check(value)
        if problem:
            raise ValueError(f"[ocpp] {name}: {problem}")
        out[setting] = value
    return out


def entries(settings: Settings, names: list[str] | None) -> tuple[list[tuple[str, bool, str]], list[str]]:
    """GetConfiguration (§5.8): (key, readonly, wire value) for known keys, and the unknown names."""
    wanted = names or list(KEYS)
    known = [(n, SETTINGS[KEYS[n]].readonly, wire(settings[KEYS[n]])) for n in wanted if n in KEYS]
    return known, [n for n in wanted if n not in KEYS]


def change(settings: Settings, name: str, text: str) -> ChangeResult:
    """ChangeConfiguration (§5.3): an unknown key is NotSupported; a read-only key or a value that does not
    parse or fit is Rejected; an accepted value is stored and applies from now on."""
    setting = KEYS.get(name)
    if setting is None:
        return ChangeResult.NOT_SUPPORTED
    try:
        value = SETTINGS[setting].parse(text)
    except ValueError:
        return ChangeResult.REJECTED
    if settings.change(setting, value) is not None:
        return ChangeResult.REJECTED
    log.info("configuration changed key=%s value=%s", name, wire(value))
    return ChangeResult.ACCEPTED
