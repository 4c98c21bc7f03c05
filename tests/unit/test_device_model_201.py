"""The OCPP 2.0.1 device model over the real settings (SQLite in tmp_path): GetVariables/SetVariables (B06, B05) read
and write the very settings the 1.6 configuration keys do, ReadOnly and WriteOnly hold, unknown names and bad values
are answered as the spec says, TxStopPoint and TxStartPoint map as documented, BasicAuthPassword is never shown, and
GetBaseReport's reports (B07) are what each report base asks for. Every handler answer, and every NotifyReport request
a report becomes, passes the `ocpp` library's 2.0.1 schema."""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OccurrenceConstraintViolationError
from ocpp.messages import Call, CallResult, validate_payload
from ocpp.v201 import call

from firmware.firmware_management.transfer import SCHEMES
from firmware.ocpp16 import keys
from firmware.ocpp201 import device_model
from firmware.ocpp201.device_model import DeviceModel, Facts, base_report, get_variable, set_variable
from firmware.ocpp201.handlers import get_base_report, get_variables, set_variables
from firmware.persistence.db import Store
from firmware.protocol.connection import MAX_FRAME_BYTES
from firmware.settings import Settings

CHARGE_POINT = "CP_TEST"
NOW = "2025-01-02T03:04:05.000Z"
PASSWORD = "S3cret-password-of-32-characters"


def facts(now: str = NOW) -> Facts:
    return Facts(availability=lambda evse: {0: "Available", 1: "Occupied", 2: "Unavailable"}[evse],
                 local_list_entries=lambda: 7, charging_profiles=lambda: 3, certificates=lambda: 2, now=lambda: now)


def settings_at(path: Path) -> Settings:
    return Settings(Store(path / "evsed.db"), {}, fixed={"connectors": 2})


@pytest.fixture
def model(tmp_path: Path) -> DeviceModel:
    return DeviceModel(settings_at(tmp_path), CHARGE_POINT, 2, facts(), message_timeout_s=45)


def component(name: str, evse: int | None = None, connector: int | None = None) -> dict[str, Any]:
    if evse is None:
        return {"name": name}
    return {"name": name, "evse": {"id": evse} if connector is None else {"id": evse, "connector_id": connector}}


def variable(name: str, instance: str | None = None) -> dict[str, Any]:
    return {"name": name} if instance is None else {"name": name, "instance": instance}


def get(model: DeviceModel, comp: str, var: str, instance: str | None = None, evse: int | None = None,
        connector: int | None = None) -> dict[str, Any]:
    return get_variable(model, component(comp, evse, connector), variable(var, instance))


def put(model: DeviceModel, comp: str, var: str, value: str, instance: str | None = None) -> dict[str, Any]:
    return set_variable(model, component(comp), variable(var, instance), value)


# (component, variable, instance, setting, 1.6 key or None, new wire value, stored value)
READ_WRITE = [
    ("OCPPCommCtrlr", "HeartbeatInterval", None, "heartbeat_interval_s", "HeartbeatInterval", "120", 120),
    ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent", "transaction_message_attempts",
     "TransactionMessageAttempts", "5", 5),
    ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent", "transaction_message_retry_interval_s",
     "TransactionMessageRetryInterval", "45", 45),
    ("OCPPCommCtrlr", "WebSocketPingInterval", None, "websocket_ping_interval_s", "WebSocketPingInterval", "0", 0),
    ("OCPPCommCtrlr", "ResetRetries", None, "reset_retries", "ResetRetries", "3", 3),
    ("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", None, "unlock_on_ev_disconnect", "UnlockConnectorOnEVSideDisconnect",
     "false", False),
    ("TxCtrlr", "EVConnectionTimeOut", None, "connection_timeout_s", "ConnectionTimeOut", "90", 90),
    ("TxCtrlr", "StopTxOnInvalidId", None, "stop_on_invalid_id", "StopTransactionOnInvalidId", "false", False),
    ("TxCtrlr", "StopTxOnEVSideDisconnect", None, "stop_on_ev_disconnect", "StopTransactionOnEVSideDisconnect",
     "false", False),
    ("TxCtrlr", "MaxEnergyOnInvalidId", None, "max_energy_on_invalid_id_wh", "MaxEnergyOnInvalidId", "5000", 5000),
    ("TxCtrlr", "TxStartPoint", None, "tx_start_point", None, "PowerPathClosed", "PowerPathClosed"),
    ("AuthCtrlr", "LocalAuthorizeOffline", None, "local_authorize_offline", "LocalAuthorizeOffline", "false", False),
    ("AuthCtrlr", "LocalPreAuthorize", None, "local_pre_authorize", "LocalPreAuthorize", "true", True),
    ("AuthCtrlr", "OfflineTxForUnknownIdEnabled", None, "offline_unknown_id_allowed", "AllowOfflineTxForUnknownId",
     "true", True),
    ("AuthCtrlr", "AuthorizeRemoteStart", None, "authorize_remote_starts", "AuthorizeRemoteTxRequests", "true", True),
    ("AuthCacheCtrlr", "Enabled", None, "auth_cache_enabled", "AuthorizationCacheEnabled", "false", False),
    ("LocalAuthListCtrlr", "Enabled", None, "local_list_enabled", "LocalAuthListEnabled", "false", False),
    ("SampledDataCtrlr", "TxUpdatedMeasurands", None, "sampled_measurands", "MeterValuesSampledData",
     "Energy.Active.Import.Register,Voltage", "Energy.Active.Import.Register,Voltage"),
    ("SampledDataCtrlr", "TxUpdatedInterval", None, "sample_interval_s", "MeterValueSampleInterval", "15", 15),
    ("SampledDataCtrlr", "TxEndedMeasurands", None, "stop_sampled_measurands", "StopTxnSampledData", "Current.Import",
     "Current.Import"),
    ("AlignedDataCtrlr", "Interval", None, "aligned_sample_interval_s", "ClockAlignedDataInterval", "900", 900),
    ("AlignedDataCtrlr", "Measurands", None, "aligned_measurands", "MeterValuesAlignedData", "Power.Active.Import",
     "Power.Active.Import"),
    ("AlignedDataCtrlr", "TxEndedMeasurands", None, "stop_aligned_measurands", "StopTxnAlignedData", "Voltage",
     "Voltage"),
    ("SecurityCtrlr", "OrganizationName", None, "cpo_name", "CpoName", "Example CPO", "Example CPO"),
    ("SecurityCtrlr", "Identity", None, "security_identity", None, "CP-7", "CP-7"),
]


@pytest.mark.parametrize(("comp", "var", "instance", "setting", "key", "text", "stored"), READ_WRITE,
                         ids=[f"{row[0]}.{row[1]}" for row in READ_WRITE])
def test_a_variable_set_is_the_setting_the_16_key_reads_and_survives_a_restart(tmp_path, model, comp, var, instance,
                                                                                setting, key, text, stored):
    assert model.settings[setting] != stored or setting == "tx_start_point", "the new value differs from the default"
    assert put(model, comp, var, text, instance)["attribute_status"] == "Accepted"
    assert model.settings[setting] == stored
    answer = get(model, comp, var, instance)
    assert (answer["attribute_status"], answer["attribute_value"]) == ("Accepted", text)
    restarted = settings_at(tmp_path)
    assert restarted[setting] == stored
    if key is not None:
        assert keys.entries(restarted, [key])[0][0][2] == text


# (component, variable, instance, evse, connector, value)
READ_ONLY = [
    ("OCPPCommCtrlr", "MessageTimeout", "Default", None, None, "45"),
    ("OCPPCommCtrlr", "NetworkConfigurationPriority", None, None, None, "0"),
    ("OCPPCommCtrlr", "FileTransferProtocols", None, None, None, "FTP,HTTP,HTTPS"),
    ("AuthCtrlr", "Enabled", None, None, None, "true"),
    ("LocalAuthListCtrlr", "Entries", None, None, None, "7"),
    ("LocalAuthListCtrlr", "ItemsPerMessage", None, None, None, "10000"),
    ("LocalAuthListCtrlr", "BytesPerMessage", None, None, None, str(8 * 2**20)),
    ("ReservationCtrlr", "Enabled", None, None, None, "true"),
    ("ReservationCtrlr", "NonEvseSpecific", None, None, None, "true"),
    ("SampledDataCtrlr", "TxEndedInterval", None, None, None, "0"),
    ("SampledDataCtrlr", "TxStartedMeasurands", None, None, None, "Energy.Active.Import.Register"),
    ("AlignedDataCtrlr", "TxEndedInterval", None, None, None, "0"),
    ("SmartChargingCtrlr", "Enabled", None, None, None, "true"),
    ("SmartChargingCtrlr", "Entries", "ChargingProfiles", None, None, "3"),
    ("SmartChargingCtrlr", "ProfileStackLevel", None, None, None, "10"),
    ("SmartChargingCtrlr", "PeriodsPerSchedule", None, None, None, "96"),
    ("SmartChargingCtrlr", "RateUnit", None, None, None, "A,W"),
    ("SecurityCtrlr", "SecurityProfile", None, None, None, "0"),
    ("SecurityCtrlr", "CertificateEntries", None, None, None, "2"),
    ("SecurityCtrlr", "MaxCertificateChainSize", None, None, None, "10000"),
    ("ClockCtrlr", "DateTime", None, None, None, NOW),
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables", None, None, "100"),
    ("DeviceDataCtrlr", "ItemsPerMessage", "SetVariables", None, None, "100"),
    ("DeviceDataCtrlr", "BytesPerMessage", "GetReport", None, None, str(8 * 2**20)),
    ("DeviceDataCtrlr", "ReportingValueSize", None, None, None, "2500"),
    ("ChargingStation", "AvailabilityState", None, None, None, "Available"),
    ("EVSE", "AvailabilityState", None, 1, None, "Occupied"),
    ("EVSE", "AvailabilityState", None, 2, None, "Unavailable"),
    ("EVSE", "Available", None, 2, None, "true"),
    ("Connector", "AvailabilityState", None, 1, 1, "Occupied"),
    ("Connector", "Available", None, 2, 1, "true"),
]


@pytest.mark.parametrize(("comp", "var", "instance", "evse", "connector", "value"), READ_ONLY,
                         ids=[f"{r[0]}{r[3] or ''}.{r[1]}{'.' + r[2] if r[2] else ''}" for r in READ_ONLY])
def test_read_only_variables_read_their_value_and_refuse_a_new_one(model, comp, var, instance, evse, connector, value):
    read = get(model, comp, var, instance, evse, connector)
    assert (read["attribute_status"], read["attribute_value"]) == ("Accepted", value)
    refused = set_variable(model, component(comp, evse, connector), variable(var, instance), "1")
    assert refused["attribute_status"] == "Rejected"
    assert refused["attribute_status_info"]["reason_code"] == "ReadOnly"
    assert get(model, comp, var, instance, evse, connector)["attribute_value"] == value


def test_identity_is_the_charge_point_id_until_one_is_set(model):
    assert get(model, "SecurityCtrlr", "Identity")["attribute_value"] == CHARGE_POINT
    assert put(model, "SecurityCtrlr", "Identity", "Station.7")["attribute_status"] == "Accepted"
    assert get(model, "SecurityCtrlr", "Identity")["attribute_value"] == "Station.7"
    assert put(model, "SecurityCtrlr", "Identity", "")["attribute_status"] == "Accepted"
    assert get(model, "SecurityCtrlr", "Identity")["attribute_value"] == CHARGE_POINT


UNKNOWN = [
    (component("NoSuchCtrlr"), variable("HeartbeatInterval"), "UnknownComponent"),
    (component("OCPPCommCtrlr", evse=1), variable("HeartbeatInterval"), "UnknownComponent"),
    ({"name": "OCPPCommCtrlr", "instance": "Second"}, variable("HeartbeatInterval"), "UnknownComponent"),
    (component("EVSE"), variable("AvailabilityState"), "UnknownComponent"),
    (component("EVSE", evse=3), variable("AvailabilityState"), "UnknownComponent"),
    (component("Connector", evse=1, connector=2), variable("AvailabilityState"), "UnknownComponent"),
    (component("OCPPCommCtrlr"), variable("NoSuchVariable"), "UnknownVariable"),
    (component("OCPPCommCtrlr"), variable("MessageAttempts"), "UnknownVariable"),
    (component("OCPPCommCtrlr"), variable("MessageAttempts", "Default"), "UnknownVariable"),
    (component("EVSE", evse=1), variable("HeartbeatInterval"), "UnknownVariable"),
]


@pytest.mark.parametrize(("comp", "var", "status"), UNKNOWN, ids=[f"{c['name']}.{v['name']}" for c, v, _ in UNKNOWN])
def test_unknown_components_and_variables_are_named_as_such_and_nothing_is_stored(model, comp, var, status):
    before = {name: model.settings[name] for name in ("heartbeat_interval_s", "transaction_message_attempts")}
    got, put_ = get_variable(model, comp, var), set_variable(model, comp, var, "17")
    assert got == {"attribute_status": status, "component": comp, "variable": var}
    assert put_ == {"attribute_status": status, "component": comp, "variable": var}
    assert {name: model.settings[name] for name in before} == before


def test_names_match_in_any_case_and_results_give_the_request_back_as_sent(model):
    """ComponentType and VariableType names are "Case Insensitive" (Part 2, and the schemas)."""
    comp = {"name": "ocppCOMMctrlr", "custom_data": {"vendor_id": "org.example"}}
    var = {"name": "heartbeatinterval"}
    assert set_variable(model, comp, var, "77", "Actual") == {
        "attribute_status": "Accepted", "component": comp, "variable": var, "attribute_type": "Actual"}
    assert model.settings["heartbeat_interval_s"] == 77
    evse = component("evse", evse=1)
    assert get_variable(model, evse, {"name": "AVAILABILITYSTATE"})["attribute_value"] == "Occupied"
    instance = get_variable(model, component("OCPPCommCtrlr"), variable("MessageAttempts", "transactionevent"))
    assert instance["attribute_value"] == "3"


@pytest.mark.parametrize("attribute_type", ["Target", "MinSet", "MaxSet"])
def test_only_the_actual_attribute_is_supported(model, attribute_type):
    comp, var = component("OCPPCommCtrlr"), variable("HeartbeatInterval")
    expected = {"attribute_status": "NotSupportedAttributeType", "component": comp, "variable": var,
                "attribute_type": attribute_type}
    assert get_variable(model, comp, var, attribute_type) == expected
    assert set_variable(model, comp, var, "60", attribute_type) == expected
    assert model.settings["heartbeat_interval_s"] == 300


# (component, variable, wire value, setting, reason code)
BAD_VALUES = [
    ("OCPPCommCtrlr", "HeartbeatInterval", "abc", "heartbeat_interval_s", "InvalidValue"),
    ("OCPPCommCtrlr", "HeartbeatInterval", "1_000", "heartbeat_interval_s", "InvalidValue"),
    ("OCPPCommCtrlr", "HeartbeatInterval", "", "heartbeat_interval_s", "InvalidValue"),
    ("OCPPCommCtrlr", "HeartbeatInterval", "-1", "heartbeat_interval_s", "ValueOutOfRange"),
    ("OCPPCommCtrlr", "HeartbeatInterval", "99999999999", "heartbeat_interval_s", "ValueOutOfRange"),
    ("TxCtrlr", "EVConnectionTimeOut", "0", "connection_timeout_s", "ValueOutOfRange"),
    ("AuthCtrlr", "LocalPreAuthorize", "yes", "local_pre_authorize", "InvalidValue"),
    ("AuthCtrlr", "LocalPreAuthorize", "1", "local_pre_authorize", "InvalidValue"),
    ("SampledDataCtrlr", "TxUpdatedMeasurands", "Temperature", "sampled_measurands", "InvalidValue"),
    ("SecurityCtrlr", "OrganizationName", "line\nbreak", "cpo_name", "InvalidValue"),
    ("SecurityCtrlr", "Identity", "has space", "security_identity", "InvalidValue"),
    ("SecurityCtrlr", "Identity", "x" * 49, "security_identity", "InvalidValue"),
]


@pytest.mark.parametrize(("comp", "var", "text", "setting", "reason"), BAD_VALUES,
                         ids=[f"{r[1]}={r[2][:12]!r}" for r in BAD_VALUES])
def test_a_value_the_setting_refuses_is_rejected_with_its_reason_and_not_stored(model, comp, var, text, setting,
                                                                               reason):
    before = model.settings[setting]
    answer = put(model, comp, var, text)
    assert answer["attribute_status"] == "Rejected"
    assert answer["attribute_status_info"]["reason_code"] == reason
    assert answer["attribute_status_info"]["additional_info"]
    assert model.settings[setting] == before


@pytest.mark.parametrize(("text", "stop_on_ev_disconnect", "reads"), [
    ("Authorized", False, "Authorized"),
    ("EVConnected,Authorized", True, "EVConnected,Authorized"),
    ("Authorized,EVConnected", True, "EVConnected,Authorized"),
    (" Authorized , EVConnected ", True, "EVConnected,Authorized"),
])
def test_tx_stop_point_is_stop_on_ev_disconnect(model, text, stop_on_ev_disconnect, reads):
    model.settings.change("stop_on_ev_disconnect", not stop_on_ev_disconnect)
    assert put(model, "TxCtrlr", "TxStopPoint", text)["attribute_status"] == "Accepted"
    assert model.settings["stop_on_ev_disconnect"] is stop_on_ev_disconnect
    assert get(model, "TxCtrlr", "TxStopPoint")["attribute_value"] == reads
    assert get(model, "TxCtrlr", "StopTxOnEVSideDisconnect")["attribute_value"] == str(stop_on_ev_disconnect).lower()


def test_tx_stop_point_follows_stop_tx_on_ev_side_disconnect(model):
    assert get(model, "TxCtrlr", "TxStopPoint")["attribute_value"] == "EVConnected,Authorized"
    assert put(model, "TxCtrlr", "StopTxOnEVSideDisconnect", "false")["attribute_status"] == "Accepted"
    assert get(model, "TxCtrlr", "TxStopPoint")["attribute_value"] == "Authorized"


@pytest.mark.parametrize("text", ["EVConnected", "PowerPathClosed", "authorized", "", "Authorized,Authorized",
                                  "EVConnected,Authorized,ParkingBayOccupancy"])
def test_other_tx_stop_points_are_rejected(model, text):
    answer = put(model, "TxCtrlr", "TxStopPoint", text)
    assert answer["attribute_status"] == "Rejected"
    assert answer["attribute_status_info"]["reason_code"] == "InvalidValue"
    assert model.settings["stop_on_ev_disconnect"] is True


@pytest.mark.parametrize("text", ["Authorized", "EVConnected", "PowerPathClosed,Authorized", "powerpathclosed", ""])
def test_tx_start_point_is_only_power_path_closed(model, text):
    answer = put(model, "TxCtrlr", "TxStartPoint", text)
    assert answer["attribute_status"] == "Rejected"
    assert model.settings["tx_start_point"] == "PowerPathClosed"
    report = next(r for r in base_report(model, "FullInventory") if r["variable"]["name"] == "TxStartPoint")
    assert report["variable_characteristics"]["values_list"] == "PowerPathClosed"


@pytest.mark.parametrize(("password", "accepted"), [
    ("p" * 15, False), ("p" * 16, True), ("p" * 40, True), ("p" * 41, False), ("", False),
    ("é" * 16, False), ("tab\tin-the-middle-of-it", False), (PASSWORD, True), ("0011223344556677" * 2, True),
])
def test_basic_auth_password_takes_16_to_40_printable_ascii_characters(model, password, accepted):
    answer = put(model, "SecurityCtrlr", "BasicAuthPassword", password)
    assert answer["attribute_status"] == ("Accepted" if accepted else "Rejected")
    assert model.settings["authorization_key"] == (password if accepted else "")


def test_basic_auth_password_is_never_read_reported_or_logged(model, caplog):
    caplog.set_level(logging.DEBUG)
    assert put(model, "SecurityCtrlr", "BasicAuthPassword", PASSWORD)["attribute_status"] == "Accepted"
    assert put(model, "SecurityCtrlr", "BasicAuthPassword", PASSWORD + "~" * 20)["attribute_status"] == "Rejected"
    answer = get(model, "SecurityCtrlr", "BasicAuthPassword")
    assert answer["attribute_status"] == "Rejected" and "attribute_value" not in answer
    assert answer["attribute_status_info"]["reason_code"] == "WriteOnly"
    for report_base in ("FullInventory", "ConfigurationInventory"):
        report = base_report(model, report_base)
        entry = next(r for r in report if r["variable"]["name"] == "BasicAuthPassword")
        assert entry["variable_attribute"] == [{"type": "Actual", "mutability": "WriteOnly", "persistent": True,
                                                "constant": False}]
        assert PASSWORD not in json.dumps(report)
    assert PASSWORD not in json.dumps(answer)
    assert caplog.records and PASSWORD not in caplog.text


def test_configuration_inventory_is_what_the_csms_can_set(model):
    report = base_report(model, "ConfigurationInventory")
    names = {(r["component"]["name"], r["variable"]["name"]) for r in report}
    assert {r["variable_attribute"][0]["mutability"] for r in report} == {"ReadWrite", "WriteOnly"}
    assert {("OCPPCommCtrlr", "HeartbeatInterval"), ("TxCtrlr", "TxStopPoint"),
            ("SecurityCtrlr", "BasicAuthPassword"), ("SecurityCtrlr", "Identity")} <= names
    assert not names & {("SecurityCtrlr", "SecurityProfile"), ("ClockCtrlr", "DateTime"),
                        ("EVSE", "AvailabilityState"), ("SmartChargingCtrlr", "RateUnit")}
    assert len(report) == sum(v.mutability != "ReadOnly" for v in model.variables)


def test_full_inventory_is_every_variable_of_the_station_its_evses_and_connectors(model):
    report = base_report(model, "FullInventory")
    assert len(report) == len(model.variables) == len(device_model.STATION) + 2 * 4
    assert {"name": "Connector", "evse": {"id": 2, "connector_id": 1}} in [r["component"] for r in report]
    heartbeat = next(r for r in report if r["variable"]["name"] == "HeartbeatInterval")
    assert heartbeat == {
        "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
        "variable_attribute": [{"type": "Actual", "mutability": "ReadWrite", "persistent": True, "constant": False,
                                "value": "300"}],
        "variable_characteristics": {"data_type": "integer", "supports_monitoring": False, "unit": "s",
                                     "min_limit": 0, "max_limit": 604800}}
    attempts = next(r for r in report if r["variable"]["name"] == "MessageAttempts")
    assert attempts["variable"] == {"name": "MessageAttempts", "instance": "TransactionEvent"}
    entries = next(r for r in report if r["component"]["name"] == "LocalAuthListCtrlr"
                   and r["variable"]["name"] == "Entries")
    assert entries["variable_characteristics"]["max_limit"] == 100_000


def test_summary_inventory_is_the_availability_of_the_station_evses_and_connectors(model):
    report = base_report(model, "SummaryInventory")
    assert [(r["component"], r["variable_attribute"][0]["value"]) for r in report] == [
        ({"name": "ChargingStation"}, "Available"),
        ({"name": "EVSE", "evse": {"id": 1}}, "Occupied"),
        ({"name": "Connector", "evse": {"id": 1, "connector_id": 1}}, "Occupied"),
        ({"name": "EVSE", "evse": {"id": 2}}, "Unavailable"),
        ({"name": "Connector", "evse": {"id": 2, "connector_id": 1}}, "Unavailable"),
    ]


def test_an_unknown_report_base_has_no_report(model):
    assert base_report(model, "EverythingPlease") is None


def test_values_are_cut_to_reporting_value_size(tmp_path):
    model = DeviceModel(settings_at(tmp_path), CHARGE_POINT, 1, facts(now="9" * 3000))
    assert len(get(model, "ClockCtrlr", "DateTime")["attribute_value"]) == 2500
    clock = next(r for r in base_report(model, "FullInventory") if r["component"]["name"] == "ClockCtrlr")
    assert clock["variable_attribute"][0]["value"] == "9" * 2500


def test_fixed_facts_agree_with_the_parts_they_describe():
    assert device_model.FRAME_BYTES == MAX_FRAME_BYTES
    assert device_model.FILE_TRANSFER_PROTOCOLS.split(",") == sorted(scheme.upper() for scheme in SCHEMES)


# --- the handlers, and the library's 2.0.1 schemas --------------------------------------------------------------------


@dataclass
class FakeReports:
    sent: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)

    def notify_report(self, request_id: int, data: list[dict[str, Any]]) -> None:
        self.sent.append((request_id, data))


@dataclass
class FakeServices:
    device_model: DeviceModel
    reports: FakeReports = field(default_factory=FakeReports)


@pytest.fixture
def services(model: DeviceModel) -> FakeServices:
    return FakeServices(model)


async def request(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A CSMS's request as the peer hands it to a handler: checked against the schema, then snake_case."""
    await validate_payload(Call("1", action, payload), "2.0.1")
    return camel_to_snake_case(payload)


async def answered(action: str, answer: Any) -> dict[str, Any]:
    """The handler's answer as the peer sends it, checked against the schema."""
    payload = snake_to_camel_case(remove_nones(serialize_as_dict(answer)))
    await validate_payload(CallResult("1", payload, action), "2.0.1")
    return payload


async def test_get_variables_answers_every_item_in_order_within_the_schema(services):
    payload = await request("GetVariables", {"getVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
        {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "AvailabilityState"},
         "attributeType": "Actual"},
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
        {"component": {"name": "Connector", "evse": {"id": 2, "connectorId": 1}},
         "variable": {"name": "Available"}},
        {"component": {"name": "TxCtrlr"}, "variable": {"name": "EVConnectionTimeOut"}, "attributeType": "MaxSet"},
        {"component": {"name": "Nope"}, "variable": {"name": "Nope"}},
        {"component": {"name": "AuthCtrlr"}, "variable": {"name": "Nope"}},
    ]})
    answer = await answered("GetVariables", get_variables.handle(services, **payload))
    assert [(r["attributeStatus"], r.get("attributeValue")) for r in answer["getVariableResult"]] == [
        ("Accepted", "300"), ("Accepted", "Occupied"), ("Rejected", None), ("Accepted", "true"),
        ("NotSupportedAttributeType", None), ("UnknownComponent", None), ("UnknownVariable", None)]
    assert answer["getVariableResult"][3]["component"] == {"name": "Connector", "evse": {"id": 2, "connectorId": 1}}


async def test_set_variables_answers_every_item_in_order_within_the_schema(services):
    payload = await request("SetVariables", {"setVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}, "attributeValue": "60"},
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"},
         "attributeValue": PASSWORD},
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}, "attributeValue": "2"},
        {"component": {"name": "TxCtrlr"}, "variable": {"name": "TxStartPoint"}, "attributeValue": "Authorized"},
        {"component": {"name": "TxCtrlr"}, "variable": {"name": "TxStopPoint"}, "attributeValue": "Authorized",
         "attributeType": "Actual"},
        {"component": {"name": "AuthCtrlr"}, "variable": {"name": "LocalPreAuthorize"}, "attributeValue": "true",
         "attributeType": "Target"},
        {"component": {"name": "Nope"}, "variable": {"name": "Nope"}, "attributeValue": "1"},
    ]})
    answer = await answered("SetVariables", set_variables.handle(services, **payload))
    assert [(r["attributeStatus"], r.get("attributeStatusInfo", {}).get("reasonCode"))
            for r in answer["setVariableResult"]] == [
        ("Accepted", None), ("Accepted", None), ("Rejected", "ReadOnly"), ("Rejected", "InvalidValue"),
        ("Accepted", None), ("NotSupportedAttributeType", None), ("UnknownComponent", None)]
    settings = services.device_model.settings
    assert (settings["heartbeat_interval_s"], settings["authorization_key"], settings["security_profile"],
            settings["stop_on_ev_disconnect"], settings["local_pre_authorize"]) == (60, PASSWORD, 0, False, False)
    assert PASSWORD not in json.dumps(answer)


@pytest.mark.parametrize(("handler", "field_name", "item"), [
    (get_variables, "get_variable_data", {"component": {"name": "AuthCtrlr"}, "variable": {"name": "Enabled"}}),
    (set_variables, "set_variable_data", {"component": {"name": "OCPPCommCtrlr"},
                                          "variable": {"name": "HeartbeatInterval"}, "attribute_value": "61"}),
])
def test_more_items_than_items_per_message_is_an_occurrence_constraint_violation(services, handler, field_name, item):
    limit = device_model.ITEMS_PER_MESSAGE
    assert len(getattr(handler.handle(services, **{field_name: [item] * limit}), field_name.replace("data", "result")))\
        == limit
    services.device_model.settings.change("heartbeat_interval_s", 300)
    with pytest.raises(OccurrenceConstraintViolationError):  # 2.0.1's spelling (1.6's has one r)
        handler.handle(services, **{field_name: [item] * (limit + 1)})
    assert services.device_model.settings["heartbeat_interval_s"] == 300, "nothing of a refused request is set"


@pytest.mark.parametrize("report_base", ["FullInventory", "ConfigurationInventory", "SummaryInventory"])
async def test_get_base_report_accepts_then_sends_the_report_as_valid_notify_reports(services, report_base):
    payload = await request("GetBaseReport", {"requestId": 42, "reportBase": report_base})
    answer = get_base_report.handle(services, **payload)
    assert (await answered("GetBaseReport", answer))["status"] == "Accepted"
    assert services.reports.sent == []
    get_base_report.then(services, answer, **payload)
    [(request_id, data)] = services.reports.sent
    assert request_id == 42 and data == base_report(services.device_model, report_base) and data
    chunks = [data[i:i + 20] for i in range(0, len(data), 20)]
    for seq_no, chunk in enumerate(chunks):
        notify = call.NotifyReport(request_id=42, generated_at=NOW, seq_no=seq_no, report_data=chunk,
                                   tbc=seq_no < len(chunks) - 1)
        await validate_payload(Call(str(seq_no), "NotifyReport",
                                    remove_nones(snake_to_camel_case(serialize_as_dict(notify)))), "2.0.1")


async def test_get_base_report_of_an_unknown_base_is_not_supported_and_sends_nothing(services):
    answer = get_base_report.handle(services, request_id=7, report_base="EverythingPlease")
    assert (await answered("GetBaseReport", answer))["status"] == "NotSupported"
    get_base_report.then(services, answer, request_id=7, report_base="EverythingPlease")
    assert services.reports.sent == []
