"""RemoteStopTransaction (OCPP 1.6 §5.12): Accepted when the transaction runs here, then stopped (reason Remote)."""

from ocpp.v16 import call_result
from ocpp.v16.enums import RemoteStartStopStatus

from firmware.core.services import Services

REJECTED = call_result.RemoteStopTransaction(status=RemoteStartStopStatus.rejected)


def handle(services: Services, transaction_id: int) -> call_result.RemoteStopTransaction:
    if services.charge_point.remote_stop(str(transaction_id)):
        return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)
    return REJECTED
