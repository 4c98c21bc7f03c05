"""OCPP 1.6 §9 configuration keys over the wire: every key of the supported profiles with its accessibility,
key names matched in any case (CiString50Type), and GetConfigurationMaxKeys. Real daemon, real CSMS."""

import json

import pytest
from ocpp.v16 import call

from tests.conftest import CHARGE_POINT

SPEC_KEYS: dict[str, tuple[bool, str]] = {
    # §9.1 Core Profile: key → (required, accessibility)
    "AllowOfflineTxForUnknownId": (False, "RW"),
    "AuthorizationCacheEnabled": (False, "RW"),
    "AuthorizeRemoteTxRequests": (True, "R or RW"),
    "ClockAlignedDataInterval": (True, "RW"),
    "ConnectionTimeOut": (True, "RW"),
    "ConnectorPhaseRotation": (True, "RW"),
    "ConnectorPhaseRotationMaxLength": (False, "R"),
    "GetConfigurationMaxKeys": (True, "R"),
    "HeartbeatInterval": (True, "RW"),
    "LocalAuthorizeOffline": (True, "RW"),
    "LocalPreAuthorize": (True, "RW"),
    "MaxEnergyOnInvalidId": (False, "RW"),
    "MeterValuesAlignedData": (True, "RW"),
    "MeterValuesAlignedDataMaxLength": (False, "R"),
    "MeterValuesSampledData": (True, "RW"),
    "MeterValuesSampledDataMaxLength": (False, "R"),
    "MeterValueSampleInterval": (True, "RW"),
    "MinimumStatusDuration": (False, "RW"),
    "NumberOfConnectors": (True, "R"),
    "ResetRetries": (True, "RW"),
    "StopTransactionOnEVSideDisconnect": (True, "RW"),
    "StopTransactionOnInvalidId": (True, "RW"),
    "StopTxnAlignedData": (True, "RW"),
    "StopTxnAlignedDataMaxLength": (False, "R"),
    "StopTxnSampledData": (True, "RW"),
    "StopTxnSampledDataMaxLength": (False, "R"),
    "SupportedFeatureProfiles": (True, "R"),
    "SupportedFeatureProfilesMaxLength": (False, "R"),
    "TransactionMessageAttempts": (True, "RW"),
    "TransactionMessageRetryInterval": (True, "RW"),
    "UnlockConnectorOnEVSideDisconnect": (True, "RW"),
    "WebSocketPingInterval": (False, "RW"),
    # §9.2 Local Auth List Management Profile
    "LocalAuthListEnabled": (True, "RW"),
    "LocalAuthListMaxLength": (True, "R"),
    "SendLocalListMaxLength": (True, "R"),
    # §9.3 Reservation Profile
    "ReserveConnectorZeroSupported": (False, "R"),
    # §9.4 Smart Charging Profile
    "ChargeProfileMaxStackLevel": (True, "R"),
    "ChargingScheduleAllowedChargingRateUnit": (True, "R"),
    "ChargingScheduleMaxPeriods": (True, "R"),
    "ConnectorSwitch3to1PhaseSupported": (False, "R"),
    "MaxChargingProfilesInstalled": (True, "R"),
    # Security Whitepaper (edition 3) §7
    "AdditionalRootCertificateCheck": (False, "R"),
    "AuthorizationKey": (False, "W"),
    "CertificateSignedMaxChainSize": (False, "R"),
    "CertificateStoreMaxLength": (False, "R"),
    "CpoName": (False, "RW"),
    "SecurityProfile": (False, "RW"),
}
NOT_OFFERED = {"BlinkRepeat", "LightIntensity"}
"""Optional §9.1 keys for a light evsed cannot blink or dim on request."""


async def get(csms, *names: str) -> dict[str, dict]:
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=list(names) or None))
    return {k["key"]: k for k in conf.configuration_key or []} | {
        name: {"unknown": True} for name in conf.unknown_key or []}


async def change(csms, key: str, value: str) -> str:
    return (await csms.call(CHARGE_POINT, call.ChangeConfiguration(key=key, value=value))).status


async def test_every_key_of_the_supported_profiles_with_its_accessibility(daemon, csms):
    keys = await get(csms)
    assert set(keys) == set(SPEC_KEYS), set(keys) ^ set(SPEC_KEYS)
    for name, (_, access) in SPEC_KEYS.items():
        if access != "R or RW":
            assert keys[name]["readonly"] is (access == "R"), name
        if access == "W":
            assert "value" not in keys[name], f"{name} is write-only: its value is never shown"
        else:
            assert "value" in keys[name], f"{name}: every key evsed has carries its value"
    assert NOT_OFFERED.isdisjoint(keys)
    assert keys["NumberOfConnectors"]["value"] == "2"
    assert keys["MeterValuesSampledDataMaxLength"]["value"] == "4"
    assert keys["ConnectorPhaseRotation"]["value"] == "0.Unknown"
    for name, entry in keys.items():
        if entry["readonly"]:
            assert await change(csms, name, entry["value"]) == "Rejected", f"{name} is read-only"


@pytest.mark.parametrize("spelling", ["ConnectionTimeout", "connectiontimeout", "CONNECTIONTIMEOUT"])
async def test_key_names_match_in_any_case(daemon, csms, spelling):
    """Key names are CiString50Type: `ConnectionTimeout` is ConnectionTimeOut (it was NotSupported)."""
    assert await change(csms, spelling, "45") == "Accepted"
    assert (await get(csms, spelling)) == {"ConnectionTimeOut": {"key": "ConnectionTimeOut", "readonly": False,
                                                                 "value": "45"}}


async def test_list_keys_take_their_members_up_to_their_max_length(daemon, csms):
    assert await change(csms, "ConnectorPhaseRotation", "0.RST,1.RST,2.RTS") == "Accepted"
    assert (await get(csms, "ConnectorPhaseRotation"))["ConnectorPhaseRotation"]["value"] == "0.RST,1.RST,2.RTS"
    assert await change(csms, "ConnectorPhaseRotation", "1.XYZ") == "Rejected"
    assert await change(csms, "ConnectorPhaseRotation", ",".join(f"{n}.RST" for n in range(18))) == "Rejected"
    measurands = "Energy.Active.Import.Register,Power.Active.Import,Voltage,Current.Import"
    assert await change(csms, "MeterValuesSampledData", measurands) == "Accepted"
    assert await change(csms, "MeterValuesSampledData", measurands + ",Voltage") == "Rejected", "5 > MaxLength 4"
    assert await change(csms, "MeterValuesSampledDataMaxLength", "10") == "Rejected"


async def test_unknown_keys_are_echoed_and_too_many_names_are_refused(daemon, csms):
    keys = await get(csms, "HeartbeatInterval", "NoSuchKey", "blinkrepeat")
    assert keys["NoSuchKey"] == {"unknown": True} and keys["blinkrepeat"] == {"unknown": True}
    assert keys["HeartbeatInterval"]["value"] == "300"
    assert await change(csms, "NoSuchKey", "1") == "NotSupported"
    names = [f"Key{n}" for n in range(101)]  # GetConfigurationMaxKeys is 100
    reply = await csms.send_raw(CHARGE_POINT, json.dumps([2, "many", "GetConfiguration", {"key": names}]), "many")
    assert reply[:3] == [4, "many", "OccurenceConstraintViolation"]
