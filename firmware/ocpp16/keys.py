"""OCPP 1.6 configuration keys (§9, "Standard Configuration Key Names & Values") → the charger's settings.

The one place that spells a 1.6 key name: GetConfiguration and ChangeConfiguration answer through it,
and the config file's `[ocpp]` presets are read through it. Pure data and functions (no `ocpp`
library), so checking a config file imports nothing else of the adapter.
"""

import logging
import re
from enum import StrEnum

from firmware.settings import AUTHORIZATION_KEY, SETTINGS, Settings, Value, wire

log = logging.getLogger(__name__)

KEYS: dict[str, str] = {
    "AllowOfflineTxForUnknownId": "offline_unknown_id_allowed",
    "AuthorizationCacheEnabled": "auth_cache_enabled",
    "AdditionalRootCertificateCheck": "additional_root_check",
    "AuthorizationKey": "authorization_key",
    "CertificateSignedMaxChainSize": "certificate_chain_max_chars",
    "CertificateStoreMaxLength": "certificate_store_max",
    "AuthorizeRemoteTxRequests": "authorize_remote_starts",
    "ChargeProfileMaxStackLevel": "max_profile_stack_level",
    "ChargingScheduleAllowedChargingRateUnit": "charging_rate_units",
    "ChargingScheduleMaxPeriods": "max_schedule_periods",
    "ClockAlignedDataInterval": "aligned_sample_interval_s",
    "ConnectionTimeOut": "connection_timeout_s",
    "ConnectorPhaseRotation": "connector_phase_rotation",
    "ConnectorSwitch3to1PhaseSupported": "phase_switching_supported",
    "CpoName": "cpo_name",
    "GetConfigurationMaxKeys": "max_keys_per_request",
    "HeartbeatInterval": "heartbeat_interval_s",
    "LocalAuthListEnabled": "local_list_enabled",
    "LocalAuthListMaxLength": "local_list_max_entries",
    "LocalAuthorizeOffline": "local_authorize_offline",
    "LocalPreAuthorize": "local_pre_authorize",
    "MaxChargingProfilesInstalled": "max_charging_profiles",
    "MaxEnergyOnInvalidId": "max_energy_on_invalid_id_wh",
    "MeterValuesAlignedData": "aligned_measurands",
    "MeterValuesSampledData": "sampled_measurands",
    "MeterValueSampleInterval": "sample_interval_s",
    "MinimumStatusDuration": "minimum_status_duration_s",
    "NumberOfConnectors": "connectors",
    "ReserveConnectorZeroSupported": "reserve_connector_zero_supported",
    "ResetRetries": "reset_retries",
    "SecurityProfile": "security_profile",
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
"""1.6 key name → setting name: every key of §9.1 (Core), §9.2 (Local Auth List Management), §9.3
(Reservation), §9.4 (Smart Charging) and of the Security Whitepaper (edition 3) evsed has a meaning for.
Not here: BlinkRepeat and LightIntensity (optional; the status LED driver neither blinks on request nor dims)."""

MAX_LENGTHS: dict[str, str] = {
    "ConnectorPhaseRotationMaxLength": "connector_phase_rotation",
    "MeterValuesAlignedDataMaxLength": "aligned_measurands",
    "MeterValuesSampledDataMaxLength": "sampled_measurands",
    "StopTxnAlignedDataMaxLength": "stop_aligned_measurands",
    "StopTxnSampledDataMaxLength": "stop_sampled_measurands",
    "SupportedFeatureProfilesMaxLength": "protocol_features",
}
"""The read-only §9.1 keys that say how many members a list key may hold (`SettingSpec.max_members`)."""

WIRE_PATTERNS: dict[str, str] = {"AuthorizationKey": AUTHORIZATION_KEY}
"""Keys 1.6 holds to a narrower form than the setting stores: the Security Whitepaper's AuthorizationKey is the hex
text of 16 to 20 bytes (a 2.0.1 BasicAuthPassword stored in the same setting may be any 16 to 40 characters)."""

_CANONICAL = {name.lower(): name for name in sorted([*KEYS, *MAX_LENGTHS], key=str.lower)}
"""Key names are CiString50Type: compared case-insensitively, answered as the spec spells them. In this
order GetConfiguration without keys lists them."""


def canonical(name: str) -> str | None:
    """The spec's spelling of key `name` (any case), or None when evsed has no such key."""
    return _CANONICAL.get(name.lower())


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
        if spec is None and name not in MAX_LENGTHS:
            problem: str | None = "not a configuration key evsed supports"
        elif spec is None or spec.readonly:
            problem = "read-only key, it cannot be set"
        else:
            problem = spec.check(value) or _wire_problem(name, value)
        if problem is not None:
            out.append(f"[ocpp] {_shown(name)}: {problem}")
    return out


def presets(table: dict[str, Value]) -> dict[str, Value]:
    """The config file's `[ocpp]` table as setting presets; ValueError names every bad key, one per line."""
    problems = preset_problems(table)
    if problems:
        raise ValueError("\n".join(problems))
    return {KEYS[name]: value for name, value in table.items()}


def _wire_problem(key: str, value: Value) -> str | None:
    """Why `value` breaks 1.6's own form of `key` (`WIRE_PATTERNS`), or None."""
    pattern = WIRE_PATTERNS.get(key)
    if pattern is not None and isinstance(value, str) and re.fullmatch(pattern, value) is None:
        return "not of the required form"
    return None


def _shown(name: str) -> str:
    """A key name as an error may show it: printable, at most 50 characters (a 1.6 key is CiString50Type)."""
    return name if len(name) <= 50 and name.isprintable() else repr(name[:50]) + ("..." if len(name) > 50 else "")


def entries(settings: Settings, names: list[str] | None) -> tuple[list[tuple[str, bool, str | None]], list[str]]:
    """GetConfiguration (§5.8): (key, readonly, wire value) for the known keys, every key when no names are
    given, and the names not known, as they were asked for."""
    if not names:
        return [_entry(settings, key) for key in _CANONICAL.values()], []
    found = [(name, canonical(name)) for name in names]
    return [_entry(settings, key) for _, key in found if key is not None], [n for n, key in found if key is None]


def _entry(settings: Settings, key: str) -> tuple[str, bool, str | None]:
    """(key, readonly, value); a write-only key (AuthorizationKey) has no value to show."""
    if key in MAX_LENGTHS:
        return key, True, str(SETTINGS[MAX_LENGTHS[key]].max_members)
    spec = SETTINGS[KEYS[key]]
    return key, spec.readonly, None if spec.secret else wire(settings[spec.name])


def change(settings: Settings, name: str, text: str) -> ChangeResult:
    """ChangeConfiguration (§5.3): the key is matched in any case (CiString50Type); an unknown key is
    NotSupported; a read-only key or a value that does not
    parse or is out of the setting's range (`settings.SETTINGS`) is Rejected, and nothing is stored; an
    accepted value is stored and applies from now on."""
    key = canonical(name)
    if key is None:
        return ChangeResult.NOT_SUPPORTED
    if key in MAX_LENGTHS:
        return _rejected(key, "read-only", text)
    setting = KEYS[key]
    try:
        value = SETTINGS[setting].parse(text)
    except ValueError as e:
        return _rejected(key, str(e), text)
    problem = _wire_problem(key, value) or settings.change(setting, value)
    if problem is not None:
        return _rejected(key, problem, text)
    log.info("configuration changed key=%s value=%s", key, SETTINGS[setting].shown(value))
    return ChangeResult.ACCEPTED


def _rejected(name: str, problem: str, text: str) -> ChangeResult:
    """Log why (never the value itself: it may be 500 characters of anything) and answer Rejected."""
    log.info("configuration change rejected key=%s reason=%r value_chars=%d", name, problem, len(text))
    return ChangeResult.REJECTED
