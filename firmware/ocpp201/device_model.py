"""OCPP 2.0.1 device model (Part 2, B "Provisioning"; the components and variables of Part 2's Appendix,
"Standardized Components and Variables") → the charger's settings.

The one place that spells a 2.0.1 component or variable name. Each configuration variable reads and writes the same
stored neutral setting as its 1.6 configuration key (`ocpp16.keys`), so a charger switched from 1.6 keeps its
settings. A few are derived from a setting (TxCtrlr.TxStopPoint, SmartChargingCtrlr.RateUnit), some are fixed facts
of evsed, and the live ones (counts, availability, the time) come from the adapter through `Facts`. Pure data and
functions (no `ocpp` library): the GetVariables, SetVariables and GetBaseReport handlers turn these dicts, snake_case
like the requests the library hands them, into its messages.

Names: ComponentType and VariableType say of name and instance "Case Insensitive" (Part 2 §2 Datatypes, and the JSON
schemas), so a request matches in any case; results give the request's component and variable back as sent, and
reports spell them as the Appendix does. A component is also told apart by its EVSE, exactly: EVSE n is
`{"id": n}`, its one connector `{"id": n, "connector_id": 1}`; the controllers and ChargingStation have none.

Values travel as strings: booleans "true"/"false", integers in decimal (`SettingSpec.parse`, then `Settings.change`,
which checks, guards, stores and logs the value masked when secret). Only the Actual attribute exists here.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from firmware.settings import (
    BASIC_AUTH_PASSWORD,
    CHARGING_PROFILES,
    LOCAL_LIST_MAX_ENTRIES,
    SETTINGS,
    Settings,
    split_csl,
    wire,
)

log = logging.getLogger(__name__)

ACTUAL = "Actual"
"""AttributeEnumType: the only attribute evsed's variables have (absent in a request means Actual)."""
REPORTING_VALUE_SIZE = 2500
"""DeviceDataCtrlr.ReportingValueSize: values in GetVariableResult and NotifyReport are cut to it (the schemas')."""
CONFIGURATION_VALUE_SIZE = 1000
"""DeviceDataCtrlr.ConfigurationValueSize: SetVariableData.attributeValue (the schema's bound)."""
ITEMS_PER_MESSAGE = 100
"""DeviceDataCtrlr.ItemsPerMessage(GetReport, GetVariables, SetVariables): the most items one request may name."""
FRAME_BYTES = 8 * 2**20
"""DeviceDataCtrlr.BytesPerMessage and LocalAuthListCtrlr.BytesPerMessage: the largest frame the link takes
(`protocol.connection.MAX_FRAME_BYTES`; a unit test holds them equal)."""
MESSAGE_TIMEOUT_S = 30
"""OCPPCommCtrlr.MessageTimeout(Default) when the adapter gives none (`[csms] call_timeout_s`'s default)."""
FILE_TRANSFER_PROTOCOLS = "FTP,HTTP,HTTPS"
"""OCPPCommCtrlr.FileTransferProtocols: what `firmware_management.transfer` speaks (a unit test holds them equal)."""
AVAILABILITY_STATES = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")
"""AvailabilityState's values (ConnectorStatusEnumType), what `Facts.availability` returns."""
TX_STOP_POINTS = {True: "EVConnected,Authorized", False: "Authorized"}
"""TxCtrlr.TxStopPoint by stop_on_ev_disconnect: a transaction ends when the EV is unplugged or the authorization
ends, or (false) only when the authorization ends. Members are matched in any order, case-sensitively."""
RATE_UNITS = {"Current": "A", "Power": "W"}
"""charging_rate_units' members (1.6 ChargingScheduleAllowedChargingRateUnit) → SmartChargingCtrlr.RateUnit's."""
INVALID_VALUE = "InvalidValue"
VALUE_OUT_OF_RANGE = "ValueOutOfRange"
"""Reason codes (Part 2 Appendix, "Reason codes") of a refused SetVariables value."""


class Mutability(StrEnum):
    """MutabilityEnumType."""

    READ_ONLY = "ReadOnly"
    READ_WRITE = "ReadWrite"
    WRITE_ONLY = "WriteOnly"


class DataType(StrEnum):
    """DataEnumType, as far as evsed's variables use it (2.0.1 has no passwordString: BasicAuthPassword is a string)."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE_TIME = "dateTime"
    OPTION_LIST = "OptionList"
    MEMBER_LIST = "MemberList"
    SEQUENCE_LIST = "SequenceList"


class Status(StrEnum):
    """GetVariableStatusEnumType and SetVariableStatusEnumType (never RebootRequired: every change applies at once)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    NOT_SUPPORTED_ATTRIBUTE_TYPE = "NotSupportedAttributeType"


class ReportBase(StrEnum):
    """ReportBaseEnumType (B07)."""

    CONFIGURATION_INVENTORY = "ConfigurationInventory"
    FULL_INVENTORY = "FullInventory"
    SUMMARY_INVENTORY = "SummaryInventory"


@dataclass(frozen=True)
class Refusal:
    """Why a SetVariables value is refused: a reason code and a text for StatusInfoType (never the value itself)."""

    reason: str
    info: str


@dataclass(frozen=True)
class Facts:
    """What the device model reads from the running charger, asked each time a variable is read."""

    availability: Callable[[int], str]
    """EVSE id (0: the charging station) → its AvailabilityState, one of `AVAILABILITY_STATES`."""
    local_list_entries: Callable[[], int]
    """IdTokens in the Local Authorization List (LocalAuthListCtrlr.Entries)."""
    charging_profiles: Callable[[], int]
    """Charging profiles installed (SmartChargingCtrlr.Entries(ChargingProfiles))."""
    certificates: Callable[[], int]
    """Certificates installed (SecurityCtrlr.CertificateEntries)."""
    now: Callable[[], str]
    """The current time, ISO 8601 in UTC (ClockCtrlr.DateTime)."""


Reader = Callable[["DeviceModel"], str]
"""A variable's Actual value in its wire form."""
Writer = Callable[["DeviceModel", str], Refusal | None]
"""Stores a new Actual value from its wire form, or says why not."""


@dataclass(frozen=True)
class Variable:
    """One variable of one component, with its VariableCharacteristics and VariableAttribute (Actual)."""

    component: str
    name: str
    data_type: DataType
    read: Reader | None
    """None: WriteOnly."""
    write: Writer | None = None
    """None: ReadOnly."""
    instance: str | None = None
    """The variable's instance (MessageAttempts(TransactionEvent), ItemsPerMessage(GetVariables), ...)."""
    evse: int | None = None
    connector: int | None = None
    unit: str | None = None
    values_list: str | None = None
    min_limit: int | None = None
    max_limit: int | None = None
    persistent: bool = False
    """The value survives a reboot: stored settings and fixed facts."""
    constant: bool = False
    """The charging station never changes the value while it runs."""

    @property
    def mutability(self) -> Mutability:
        if self.read is None:
            return Mutability.WRITE_ONLY
        return Mutability.READ_ONLY if self.write is None else Mutability.READ_WRITE


def _reader(setting: str) -> Reader:
    def read(model: "DeviceModel") -> str:
        return wire(model.settings[setting])
    return read


def _writer(setting: str, form: Callable[[str], str | None] | None = None) -> Writer:
    """Parse (after `form`, 2.0.1's own stricter form of the value, if any), then `Settings.change`. A refused integer
    is out of range: parsing has already refused anything that is not one."""
    spec = SETTINGS[setting]

    def write(model: "DeviceModel", text: str) -> Refusal | None:
        problem = form(text) if form is not None else None
        if problem is not None:
            return Refusal(INVALID_VALUE, problem)
        try:
            value = spec.parse(text)
        except ValueError as e:
            return Refusal(INVALID_VALUE, str(e))
        problem = model.settings.change(setting, value)
        if problem is None:
            return None
        return Refusal(VALUE_OUT_OF_RANGE if spec.kind is int else INVALID_VALUE, problem)
    return write


_DATA_TYPES: dict[type, DataType] = {bool: DataType.BOOLEAN, int: DataType.INTEGER, str: DataType.STRING}


def _setting(component: str, name: str, setting: str, *, instance: str | None = None, unit: str | None = None,
             read_only: bool = False, form: Callable[[str], str | None] | None = None, min_limit: int | None = None,
             max_limit: int | None = None) -> Variable:
    """A variable that is a setting: ReadOnly when the setting is a fact of this charger (or `read_only`: 2.0.1 changes
    it by other means), WriteOnly when it is secret. A setting with members is a MemberList of them; an integer's
    range is its limits unless given."""
    spec = SETTINGS[setting]
    members = ",".join(sorted(spec.members)) if spec.members is not None else None
    return Variable(component, name, DataType.MEMBER_LIST if members is not None else _DATA_TYPES[spec.kind],
                    None if spec.secret else _reader(setting),
                    None if spec.readonly or read_only else _writer(setting, form),
                    instance=instance, unit=unit, values_list=members,
                    min_limit=spec.minimum if min_limit is None else min_limit,
                    max_limit=spec.maximum if max_limit is None else max_limit,
                    persistent=True, constant=spec.readonly)


def _fixed(component: str, name: str, value: str, data_type: DataType, *, instance: str | None = None,
           unit: str | None = None, values_list: str | None = None) -> Variable:
    """A ReadOnly fact of evsed that never changes."""
    return Variable(component, name, data_type, lambda _: value, instance=instance, unit=unit,
                    values_list=values_list, persistent=True, constant=True)


def _password_form(text: str) -> str | None:
    """SecurityCtrlr.BasicAuthPassword (A00.FR.205): 16 to 40 printable ASCII characters; 2.0.1 cannot clear it."""
    return None if text and re.fullmatch(BASIC_AUTH_PASSWORD, text) else "16 to 40 printable ASCII characters"


def _some_member(text: str) -> str | None:
    """TxCtrlr.TxStartPoint: a transaction must start at some point."""
    return None if split_csl(text) else "at least one member"


def _tx_stop_point(model: "DeviceModel") -> str:
    return TX_STOP_POINTS[model.settings.flag("stop_on_ev_disconnect")]


def _set_tx_stop_point(model: "DeviceModel", text: str) -> Refusal | None:
    """TxCtrlr.TxStopPoint: one of `TX_STOP_POINTS` (its members in any order) sets stop_on_ev_disconnect."""
    members = sorted(split_csl(text))
    stop = next((stop for stop, points in TX_STOP_POINTS.items() if sorted(split_csl(points)) == members), None)
    if stop is None:
        return Refusal(INVALID_VALUE, f"supported: {' or '.join(TX_STOP_POINTS.values())}")
    problem = model.settings.change("stop_on_ev_disconnect", stop)
    return None if problem is None else Refusal(INVALID_VALUE, problem)


def _rate_units(model: "DeviceModel") -> str:
    return ",".join(RATE_UNITS[unit] for unit in model.settings.csl("charging_rate_units"))


def _identity(model: "DeviceModel") -> str:
    """SecurityCtrlr.Identity: the stored identity, or the charge point id while none is set."""
    return str(model.settings["security_identity"]) or model.charge_point_id


def _availability(evse: int) -> Reader:
    def read(model: "DeviceModel") -> str:
        return model.facts.availability(evse)
    return read


_AVAILABILITY_STATES = ",".join(AVAILABILITY_STATES)
_COMM = "OCPPCommCtrlr"
_TX = "TxCtrlr"
_AUTH = "AuthCtrlr"
_LIST = "LocalAuthListCtrlr"
_SAMPLED = "SampledDataCtrlr"
_ALIGNED = "AlignedDataCtrlr"
_SMART = "SmartChargingCtrlr"
_SECURITY = "SecurityCtrlr"
_DEVICE_DATA = "DeviceDataCtrlr"

STATION: tuple[Variable, ...] = (
    _fixed("ChargingStation", "Available", "true", DataType.BOOLEAN),
    Variable("ChargingStation", "AvailabilityState", DataType.OPTION_LIST, _availability(0),
             values_list=_AVAILABILITY_STATES),
    _fixed(_COMM, "FileTransferProtocols", FILE_TRANSFER_PROTOCOLS, DataType.MEMBER_LIST,
           values_list=FILE_TRANSFER_PROTOCOLS),
    _setting(_COMM, "HeartbeatInterval", "heartbeat_interval_s", unit="s"),
    _setting(_COMM, "MessageAttemptInterval", "transaction_message_retry_interval_s", instance="TransactionEvent",
             unit="s"),
    _setting(_COMM, "MessageAttempts", "transaction_message_attempts", instance="TransactionEvent"),
    Variable(_COMM, "MessageTimeout", DataType.INTEGER, lambda model: str(model.message_timeout_s),
             instance="Default", unit="s", persistent=True, constant=True),
    _fixed(_COMM, "NetworkConfigurationPriority", "0", DataType.SEQUENCE_LIST, values_list="0"),
    _setting(_COMM, "ResetRetries", "reset_retries"),
    _setting(_COMM, "UnlockOnEVSideDisconnect", "unlock_on_ev_disconnect"),
    _setting(_COMM, "WebSocketPingInterval", "websocket_ping_interval_s", unit="s"),
    _setting(_TX, "EVConnectionTimeOut", "connection_timeout_s", unit="s"),
    _setting(_TX, "MaxEnergyOnInvalidId", "max_energy_on_invalid_id_wh", unit="Wh"),
    _setting(_TX, "StopTxOnEVSideDisconnect", "stop_on_ev_disconnect"),
    _setting(_TX, "StopTxOnInvalidId", "stop_on_invalid_id"),
    _setting(_TX, "TxStartPoint", "tx_start_point", form=_some_member),
    Variable(_TX, "TxStopPoint", DataType.MEMBER_LIST, _tx_stop_point, _set_tx_stop_point,
             values_list="Authorized,EVConnected", persistent=True),
    _fixed(_AUTH, "Enabled", "true", DataType.BOOLEAN),
    _setting(_AUTH, "AuthorizeRemoteStart", "authorize_remote_starts"),
    _setting(_AUTH, "LocalAuthorizeOffline", "local_authorize_offline"),
    _setting(_AUTH, "LocalPreAuthorize", "local_pre_authorize"),
    _setting(_AUTH, "OfflineTxForUnknownIdEnabled", "offline_unknown_id_allowed"),
    _setting("AuthCacheCtrlr", "Enabled", "auth_cache_enabled"),
    _fixed(_LIST, "BytesPerMessage", str(FRAME_BYTES), DataType.INTEGER),
    _setting(_LIST, "Enabled", "local_list_enabled"),
    Variable(_LIST, "Entries", DataType.INTEGER, lambda model: str(model.facts.local_list_entries()),
             max_limit=LOCAL_LIST_MAX_ENTRIES),
    _setting(_LIST, "ItemsPerMessage", "local_list_max_update"),
    _fixed("ReservationCtrlr", "Enabled", "true", DataType.BOOLEAN),
    _setting("ReservationCtrlr", "NonEvseSpecific", "reserve_connector_zero_supported"),
    _fixed(_SAMPLED, "TxEndedInterval", "0", DataType.INTEGER, unit="s"),
    _setting(_SAMPLED, "TxEndedMeasurands", "stop_sampled_measurands"),
    _setting(_SAMPLED, "TxStartedMeasurands", "sampled_measurands", read_only=True),
    _setting(_SAMPLED, "TxUpdatedInterval", "sample_interval_s", unit="s"),
    _setting(_SAMPLED, "TxUpdatedMeasurands", "sampled_measurands"),
    _setting(_ALIGNED, "Interval", "aligned_sample_interval_s", unit="s"),
    _setting(_ALIGNED, "Measurands", "aligned_measurands"),
    _fixed(_ALIGNED, "TxEndedInterval", "0", DataType.INTEGER, unit="s"),
    _setting(_ALIGNED, "TxEndedMeasurands", "stop_aligned_measurands"),
    _fixed(_SMART, "Enabled", "true", DataType.BOOLEAN),
    Variable(_SMART, "Entries", DataType.INTEGER, lambda model: str(model.facts.charging_profiles()),
             instance="ChargingProfiles", max_limit=CHARGING_PROFILES),
    _setting(_SMART, "PeriodsPerSchedule", "max_schedule_periods"),
    _setting(_SMART, "Phases3to1", "phase_switching_supported"),
    _setting(_SMART, "ProfileStackLevel", "max_profile_stack_level"),
    Variable(_SMART, "RateUnit", DataType.MEMBER_LIST, _rate_units, values_list=",".join(RATE_UNITS.values()),
             persistent=True, constant=True),
    _setting(_SECURITY, "AdditionalRootCertificateCheck", "additional_root_check"),
    _setting(_SECURITY, "BasicAuthPassword", "authorization_key", form=_password_form, min_limit=16, max_limit=40),
    Variable(_SECURITY, "CertificateEntries", DataType.INTEGER, lambda model: str(model.facts.certificates())),
    Variable(_SECURITY, "Identity", DataType.STRING, _identity, _writer("security_identity"), max_limit=48,
             persistent=True),
    _setting(_SECURITY, "MaxCertificateChainSize", "certificate_chain_max_chars"),
    _setting(_SECURITY, "OrganizationName", "cpo_name", max_limit=64),
    _setting(_SECURITY, "SecurityProfile", "security_profile", read_only=True),
    Variable("ClockCtrlr", "DateTime", DataType.DATE_TIME, lambda model: model.facts.now()),
    *(_fixed(_DEVICE_DATA, name, str(value), DataType.INTEGER, instance=instance)
      for name, value in (("BytesPerMessage", FRAME_BYTES), ("ItemsPerMessage", ITEMS_PER_MESSAGE))
      for instance in ("GetReport", "GetVariables", "SetVariables")),
    _fixed(_DEVICE_DATA, "ConfigurationValueSize", str(CONFIGURATION_VALUE_SIZE), DataType.INTEGER),
    _fixed(_DEVICE_DATA, "ReportingValueSize", str(REPORTING_VALUE_SIZE), DataType.INTEGER),
)
"""The charging station's variables, in report order. Notes on the mapping:

- SecurityCtrlr.SecurityProfile is ReadOnly: 2.0.1 raises it with SetNetworkProfile and a reset (A05), not SetVariables.
- SecurityCtrlr.BasicAuthPassword is WriteOnly (never read back, never reported) and takes only 2.0.1's form; the 1.6
  AuthorizationKey stored in the same setting stays in force until replaced.
- TxCtrlr.TxStopPoint and StopTxOnEVSideDisconnect are both stop_on_ev_disconnect.
- SampledDataCtrlr.TxStartedMeasurands is ReadOnly: a transaction's start is sampled with TxUpdatedMeasurands'
  measurands (`core.connector`), and TxEndedInterval 0: the end is sampled once, when it ends."""


def _evse(evse: int) -> tuple[Variable, ...]:
    """EVSE `evse` and its one connector: whether they exist and their availability."""
    return (
        Variable("EVSE", "Available", DataType.BOOLEAN, lambda _: "true", evse=evse, persistent=True, constant=True),
        Variable("EVSE", "AvailabilityState", DataType.OPTION_LIST, _availability(evse), evse=evse,
                 values_list=_AVAILABILITY_STATES),
        Variable("Connector", "Available", DataType.BOOLEAN, lambda _: "true", evse=evse, connector=1,
                 persistent=True, constant=True),
        Variable("Connector", "AvailabilityState", DataType.OPTION_LIST, _availability(evse), evse=evse, connector=1,
                 values_list=_AVAILABILITY_STATES),
    )


_Key = tuple[str, str, int | None, int | None]
"""A component as matched: name and instance in lower case, EVSE id, connector id."""


def _component_key(component: dict[str, Any]) -> _Key:
    evse = component.get("evse") or {}
    return (component["name"].lower(), (component.get("instance") or "").lower(), evse.get("id"),
            evse.get("connector_id"))


class DeviceModel:
    """This charger's components and variables: `STATION`'s, then each EVSE's, over its settings and `facts`."""

    def __init__(self, settings: Settings, charge_point_id: str, evses: int, facts: Facts,
                 message_timeout_s: int = MESSAGE_TIMEOUT_S) -> None:
        """`evses`: EVSEs 1..evses, each with connector 1 (evsed's 1.6 connectors); `message_timeout_s`: how long the
        adapter waits for the CSMS's answer (OCPPCommCtrlr.MessageTimeout)."""
        self.settings = settings
        self.charge_point_id = charge_point_id
        self.facts = facts
        self.message_timeout_s = message_timeout_s
        self.variables = STATION + tuple(v for n in range(1, evses + 1) for v in _evse(n))
        self._index: dict[_Key, dict[tuple[str, str], Variable]] = {}
        for v in self.variables:
            key = (v.component.lower(), "", v.evse, v.connector)
            self._index.setdefault(key, {})[v.name.lower(), (v.instance or "").lower()] = v

    def find(self, component: dict[str, Any], variable: dict[str, Any]) -> Variable | Status:
        """The variable a request names (ComponentType, VariableType as snake_case dicts), or UnknownComponent
        (B06.FR.06), UnknownVariable (B06.FR.07)."""
        variables = self._index.get(_component_key(component))
        if variables is None:
            return Status.UNKNOWN_COMPONENT
        found = variables.get((variable["name"].lower(), (variable.get("instance") or "").lower()))
        return Status.UNKNOWN_VARIABLE if found is None else found


def _result(status: Status, component: dict[str, Any], variable: dict[str, Any], attribute_type: str | None,
            refusal: Refusal | None = None) -> dict[str, Any]:
    """A Get/SetVariableResult: the request's component, variable and attributeType as sent (B06.FR.02, .03)."""
    result: dict[str, Any] = {"attribute_status": status, "component": component, "variable": variable}
    if attribute_type is not None:
        result["attribute_type"] = attribute_type
    if refusal is not None:
        result["attribute_status_info"] = {"reason_code": refusal.reason, "additional_info": refusal.info[:512]}
    return result


def get_variable(model: DeviceModel, component: dict[str, Any], variable: dict[str, Any],
                 attribute_type: str | None = None) -> dict[str, Any]:
    """GetVariableResult (B06) of one GetVariableData: Accepted with the value (cut to ReportingValueSize),
    UnknownComponent, UnknownVariable, NotSupportedAttributeType for any attribute but Actual, Rejected for a
    WriteOnly variable (B06.FR.09)."""
    found = model.find(component, variable)
    if isinstance(found, Status):
        return _result(found, component, variable, attribute_type)
    if attribute_type not in (None, ACTUAL):
        return _result(Status.NOT_SUPPORTED_ATTRIBUTE_TYPE, component, variable, attribute_type)
    if found.read is None:
        return _result(Status.REJECTED, component, variable, attribute_type, Refusal("WriteOnly", "write-only"))
    result = _result(Status.ACCEPTED, component, variable, attribute_type)
    result["attribute_value"] = found.read(model)[:REPORTING_VALUE_SIZE]
    return result


def set_variable(model: DeviceModel, component: dict[str, Any], variable: dict[str, Any], attribute_value: str,
                 attribute_type: str | None = None) -> dict[str, Any]:
    """SetVariableResult (B05) of one SetVariableData: Accepted once stored (it applies at once), UnknownComponent,
    UnknownVariable, NotSupportedAttributeType for any attribute but Actual, Rejected for a ReadOnly variable or a value
    the setting refuses (with the reason; nothing is stored). Logs never show the value."""
    found = model.find(component, variable)
    if isinstance(found, Status):
        return _result(found, component, variable, attribute_type)
    if attribute_type not in (None, ACTUAL):
        return _result(Status.NOT_SUPPORTED_ATTRIBUTE_TYPE, component, variable, attribute_type)
    refusal = Refusal("ReadOnly", "read-only") if found.write is None else found.write(model, attribute_value)
    if refusal is not None:
        log.info("variable set rejected component=%s variable=%s reason=%s info=%r value_chars=%d", found.component,
                 found.name, refusal.reason, refusal.info[:200], len(attribute_value))
        return _result(Status.REJECTED, component, variable, attribute_type, refusal)
    log.info("variable set component=%s variable=%s", found.component, found.name)
    return _result(Status.ACCEPTED, component, variable, attribute_type)


def _report_data(model: DeviceModel, v: Variable) -> dict[str, Any]:
    """ReportDataType of one variable: its Actual attribute (no value when WriteOnly) and characteristics."""
    component: dict[str, Any] = {"name": v.component}
    if v.evse is not None:
        component["evse"] = {"id": v.evse} if v.connector is None else {"id": v.evse, "connector_id": v.connector}
    variable = {"name": v.name} if v.instance is None else {"name": v.name, "instance": v.instance}
    attribute: dict[str, Any] = {"type": ACTUAL, "mutability": v.mutability, "persistent": v.persistent,
                                 "constant": v.constant}
    if v.read is not None:
        attribute["value"] = v.read(model)[:REPORTING_VALUE_SIZE]
    characteristics: dict[str, Any] = {"data_type": v.data_type, "supports_monitoring": False}
    for name in ("unit", "values_list", "min_limit", "max_limit"):
        if getattr(v, name) is not None:
            characteristics[name] = getattr(v, name)
    return {"component": component, "variable": variable, "variable_attribute": [attribute],
            "variable_characteristics": characteristics}


def base_report(model: DeviceModel, report_base: str) -> list[dict[str, Any]] | None:
    """The ReportData of GetBaseReport (B07): FullInventory every variable, ConfigurationInventory those the CSMS can
    set (ReadWrite, WriteOnly), SummaryInventory the AvailabilityState of the station, its EVSEs and connectors; None
    for a report base evsed does not know (NotSupported)."""
    if report_base == ReportBase.FULL_INVENTORY:
        chosen = list(model.variables)
    elif report_base == ReportBase.CONFIGURATION_INVENTORY:
        chosen = [v for v in model.variables if v.mutability != Mutability.READ_ONLY]
    elif report_base == ReportBase.SUMMARY_INVENTORY:
        chosen = [v for v in model.variables if v.name == "AvailabilityState"]
    else:
        return None
    return [_report_data(model, v) for v in chosen]

