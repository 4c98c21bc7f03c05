"""A connector's state, derived from what is true about it (facts → state), and its fault codes.

The states are the finest-grained description both OCPP versions need, spelled as OCPP 1.6's
ChargePointStatus (§7.7); a protocol adapter reports them its own way: the 1.6 adapter through the §4.9
transition table (`ocpp16.status`), 2.0.1 as Available/Occupied/Reserved/Unavailable/Faulted plus the
transaction's charging state.
"""

from dataclasses import dataclass
from enum import StrEnum


class ConnectorState(StrEnum):
    """What a connector is doing, as a driver or the CSMS would say it."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class ErrorCode(StrEnum):
    """Why a connector (or the whole charge point) is not well, spelled as OCPP 1.6's ChargePointErrorCode."""

    CONNECTOR_LOCK_FAILURE = "ConnectorLockFailure"
    EV_COMMUNICATION_ERROR = "EVCommunicationError"
    GROUND_FAILURE = "GroundFailure"
    HIGH_TEMPERATURE = "HighTemperature"
    INTERNAL_ERROR = "InternalError"
    LOCAL_LIST_CONFLICT = "LocalListConflict"
    NO_ERROR = "NoError"
    OTHER_ERROR = "OtherError"
    OVER_CURRENT_FAILURE = "OverCurrentFailure"
    OVER_VOLTAGE = "OverVoltage"
    POWER_METER_FAILURE = "PowerMeterFailure"
    POWER_SWITCH_FAILURE = "PowerSwitchFailure"
    READER_FAILURE = "ReaderFailure"
    RESET_FAILURE = "ResetFailure"
    UNDER_VOLTAGE = "UnderVoltage"
    WEAK_SIGNAL = "WeakSignal"


@dataclass(frozen=True)
class Fault:
    error_code: ErrorCode
    info: str | None = None
    vendor_error_code: str | None = None


@dataclass(frozen=True)
class ConnectorFacts:
    """What is true about a connector now; `derive_state` turns it into a ConnectorState."""

    plugged: bool = False
    ev_requesting: bool = False
    transaction: bool = False
    evse_offers_energy: bool = True
    """False when the charger withholds energy inside a transaction (e.g. limit 0, invalid id)."""
    awaiting_start: bool = False
    """An authorized start waits for the EV to plug in (or a start is being authorized)."""
    finishing: bool = False
    """A transaction ended and the EV is still plugged in."""
    reserved: bool = False
    unavailable: bool = False
    fault: Fault | None = None


def derive_state(f: ConnectorFacts) -> ConnectorState:
    """The connector state OCPP 1.6 §7.7 (ChargePointStatus) describes for these facts.

    Inside a transaction SuspendedEVSE takes precedence over SuspendedEV: when the charger
    withholds energy the EV's own wish does not matter. A scheduled Unavailable waits for the
    transaction to end.
    """
    if f.fault is not None:
        return ConnectorState.FAULTED
    if f.transaction:
        if not f.evse_offers_energy:
            return ConnectorState.SUSPENDED_EVSE
        if not (f.plugged and f.ev_requesting):
            return ConnectorState.SUSPENDED_EV
        return ConnectorState.CHARGING
    if f.unavailable:
        return ConnectorState.UNAVAILABLE
    if f.awaiting_start:
        return ConnectorState.PREPARING
    if f.finishing and f.plugged:
        return ConnectorState.FINISHING
    if f.plugged:
        return ConnectorState.PREPARING
    if f.reserved:
        return ConnectorState.RESERVED
    return ConnectorState.AVAILABLE
