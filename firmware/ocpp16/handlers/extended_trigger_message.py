"""ExtendedTriggerMessage (OCPP 1.6 Security Whitepaper ed. 3 §5): TriggerMessage's rules (`trigger_message`), and two
messages more: SignChargePointCertificate (a new key pair and SignCertificate with its CSR) and
LogStatusNotification. FirmwareStatusNotification here means SignedFirmwareStatusNotification (the signed update
under way and its requestId, else Idle).
"""

from ocpp.v16 import call_result

from firmware.core.services import Services
from firmware.ocpp16.handlers import trigger_message

SIGNED_FIRMWARE_STATUS = "SignedFirmwareStatusNotification"
"""What the adapter sends for ExtendedTriggerMessage's FirmwareStatusNotification."""


def _message(requested_message: str) -> str:
    return SIGNED_FIRMWARE_STATUS if requested_message == "FirmwareStatusNotification" else requested_message


def handle(services: Services, requested_message: str,
           connector_id: int | None = None) -> call_result.ExtendedTriggerMessage:
    answer = trigger_message.handle(services, _message(requested_message), connector_id)
    return call_result.ExtendedTriggerMessage(status=answer.status)


def then(services: Services, answer: call_result.ExtendedTriggerMessage, requested_message: str,
         connector_id: int | None = None) -> None:
    trigger_message.then(services, answer, _message(requested_message), connector_id)  # type: ignore[arg-type]
