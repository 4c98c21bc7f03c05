"""ExtendedTriggerMessage (OCPP 1.6 Security Whitepaper ed. 3 §5): TriggerMessage's rules (`trigger_message`), and two
messages more: SignChargePointCertificate (a new key pair and SignCertificate with its CSR) and
LogStatusNotification. FirmwareStatusNotification here means SignedFirmwareStatusNotification, which evsed does not
send yet: NotImplemented.
"""

from ocpp.v16 import call_result
from ocpp.v16.enums import TriggerMessageStatus

from firmware.core.services import Services
from firmware.ocpp16.handlers import trigger_message

SIGNED_FIRMWARE_STATUS = "FirmwareStatusNotification"


def handle(services: Services, requested_message: str,
           connector_id: int | None = None) -> call_result.ExtendedTriggerMessage:
    if requested_message == SIGNED_FIRMWARE_STATUS:
        return call_result.ExtendedTriggerMessage(status=TriggerMessageStatus.not_implemented)
    answer = trigger_message.handle(services, requested_message, connector_id)
    return call_result.ExtendedTriggerMessage(status=answer.status)


def then(services: Services, answer: call_result.ExtendedTriggerMessage, requested_message: str,
         connector_id: int | None = None) -> None:
    trigger_message.then(services, answer, requested_message, connector_id)  # type: ignore[arg-type]
