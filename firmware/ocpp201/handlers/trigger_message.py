"""TriggerMessage (OCPP 2.0.1 F06): the CSMS asks for a message; the adapter sends it once this answer is written
(F06.FR.04). NotImplemented for a requestedMessage evsed does not send (F06.FR.08); Rejected for an EVSE this charging
station does not have, and for a TransactionEvent or MeterValues of an EVSE with nothing to report (F06.FR.17: a
TransactionEvent is only for a running transaction). See `Ocpp201Adapter._triggered`."""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, requested_message: str,
           evse: dict[str, Any] | None = None) -> call_result.TriggerMessage:
    triggers = services.triggers
    if triggers is None or requested_message not in triggers.triggerable:
        return call_result.TriggerMessage(status="NotImplemented")
    connectors = services.charge_point.connectors
    if evse is not None and evse["id"] not in connectors:
        return call_result.TriggerMessage(status="Rejected")
    if requested_message == "TransactionEvent" and not any(
            c.tx is not None for n, c in connectors.items() if evse is None or n == evse["id"]):
        return call_result.TriggerMessage(status="Rejected")
    return call_result.TriggerMessage(status="Accepted")


def then(services: Ocpp201Services, answer: call_result.TriggerMessage, requested_message: str,
         evse: dict[str, Any] | None = None) -> None:
    if answer.status == "Accepted" and services.triggers is not None:
        services.triggers.trigger(requested_message, evse)
