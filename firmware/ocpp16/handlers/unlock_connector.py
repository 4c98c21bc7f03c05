"""UnlockConnector (OCPP 1.6 §5.18): "If there was a transaction in progress on the specific connector, then Charge
Point SHALL finish the transaction first as described in Stop Transaction" (reason UnlockCommand, §7.38); then the
cable lock is released: Unlocked, or UnlockFailed when it stays engaged (or the contact reports closed). NotSupported
where no lock is fitted (a tethered cable: nothing is stopped) and for a connectorId this charge point does not
have. See `ChargePoint.unlock_connector`.
"""

from ocpp.v16 import call_result
from ocpp.v16.enums import UnlockStatus

from firmware.core.chargepoint import UnlockResult
from firmware.core.services import Services

STATUS = {
    UnlockResult.UNLOCKED: UnlockStatus.unlocked,
    UnlockResult.UNLOCK_FAILED: UnlockStatus.unlock_failed,
    UnlockResult.NO_LOCK: UnlockStatus.not_supported,
    UnlockResult.UNKNOWN_CONNECTOR: UnlockStatus.not_supported,
}


def handle(services: Services, connector_id: int) -> call_result.UnlockConnector:
    return call_result.UnlockConnector(status=STATUS[services.charge_point.unlock_connector(connector_id)])
