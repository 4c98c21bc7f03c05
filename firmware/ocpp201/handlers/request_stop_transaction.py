"""RequestStopTransaction (OCPP 2.0.1 F03): Accepted when the transaction runs here, which then ends with stoppedReason
Remote, triggerReason RemoteStop; Rejected for a transactionId this charging station does not know (F03.FR.08)."""

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services

REJECTED = call_result.RequestStopTransaction(status="Rejected")


def handle(services: Ocpp201Services, transaction_id: str) -> call_result.RequestStopTransaction:
    ref = services.transactions.transaction_ref(transaction_id) if services.transactions else None
    stopped = services.charge_point.remote_stop(transaction_id, ref)
    return call_result.RequestStopTransaction(status="Accepted" if stopped else "Rejected")
