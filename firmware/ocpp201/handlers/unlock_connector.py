"""UnlockConnector (OCPP 2.0.1 F05): release the cable lock of EVSE evseId's connector. A transaction running there is
not stopped: OngoingAuthorizedTransaction (F05.FR.02, unlike 1.6); UnknownConnector for an EVSE or connector this
charging station does not have (F05.FR.03); Unlocked, or UnlockFailed when the lock stays engaged or none is fitted
(a tethered cable cannot be released)."""

from ocpp.v201 import call_result

from firmware.core.chargepoint import UnlockResult
from firmware.ocpp201.peer import Ocpp201Services

STATUS = {UnlockResult.UNLOCKED: "Unlocked", UnlockResult.UNLOCK_FAILED: "UnlockFailed",
          UnlockResult.NO_LOCK: "UnlockFailed", UnlockResult.UNKNOWN_CONNECTOR: "UnknownConnector"}


def handle(services: Ocpp201Services, evse_id: int, connector_id: int) -> call_result.UnlockConnector:
    connector = services.charge_point.connectors.get(evse_id)
    if connector is None or connector_id != 1:
        return call_result.UnlockConnector(status="UnknownConnector")
    if connector.tx is not None:
        return call_result.UnlockConnector(status="OngoingAuthorizedTransaction")
    return call_result.UnlockConnector(status=STATUS[services.charge_point.unlock_connector(evse_id)])
