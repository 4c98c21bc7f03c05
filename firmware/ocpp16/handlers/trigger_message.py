"""TriggerMessage (OCPP 1.6 §5.17, feature profile RemoteTrigger): the CSMS asks for a message the charge point
sends; the adapter sends it (`Ocpp16Services.triggers`, `Ocpp16Adapter.trigger`).

- NotImplemented: a requestedMessage the adapter cannot send ("If the requested message is unknown or not
  implemented the Charge Point SHALL return NOT_IMPLEMENTED"). The 1.6 adapter sends all six the schema
  names; a value outside them never gets here: the library's schema check answers the CALLERROR
  PropertyConstraintViolation.
- Rejected: a connectorId this charge point does not have (negative, or above NumberOfConnectors), and
  MeterValues for connector 0: it would be the main energy meter's reading (§4.7), and evsed's meters are the
  connectors' own ("It is up to the Charge Point if it accepts or rejects the request to send").
- Accepted otherwise. "The Charge Point SHALL first send the TriggerMessage response, before sending the
  requested message": `then` hands the message to the adapter once the answer is written. "The requested
  message is leading: if the specified connectorId is not relevant to the message, it should be ignored"
  (BootNotification, Heartbeat, the two status notifications); where it is relevant but absent it means
  "for all allowed connectorId values" (StatusNotification: connector 0 and every connector; MeterValues:
  every connector).
"""

from ocpp.v16 import call_result
from ocpp.v16.enums import MessageTrigger, TriggerMessageStatus

from firmware.core.services import Services
from firmware.ocpp16.peer import Ocpp16Services
from firmware.protocol.peer import Triggers


def _triggers(services: Services) -> Triggers | None:
    return services.triggers if isinstance(services, Ocpp16Services) else None


def handle(services: Services, requested_message: str, connector_id: int | None = None) -> call_result.TriggerMessage:
    triggers = _triggers(services)
    if triggers is None or requested_message not in triggers.triggerable:
        return call_result.TriggerMessage(status=TriggerMessageStatus.not_implemented)
    if connector_id is not None and not 0 <= connector_id <= services.settings.integer("connectors"):
        return call_result.TriggerMessage(status=TriggerMessageStatus.rejected)
    if connector_id == 0 and requested_message == MessageTrigger.meter_values:
        return call_result.TriggerMessage(status=TriggerMessageStatus.rejected)
    return call_result.TriggerMessage(status=TriggerMessageStatus.accepted)


def then(services: Services, answer: call_result.TriggerMessage, requested_message: str,
         connector_id: int | None = None) -> None:
    triggers = _triggers(services)
    if answer.status == TriggerMessageStatus.accepted and triggers is not None:
        triggers.trigger(requested_message, connector_id)
