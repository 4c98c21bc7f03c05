"""The outbox's messages as OCPP 1.6 CALLs (§4.8 StartTransaction, §4.7 MeterValues, §4.10 StopTransaction, §4.4
DiagnosticsStatusNotification, §4.5 FirmwareStatusNotification, the Security Whitepaper's
SecurityEventNotification), and what each confirmation means to the core.
Deterministic, so a resend is verbatim.
"""

import logging
from typing import Any

from ocpp.v16 import call

from firmware.core.confirmations import Confirmations
from firmware.firmware_management.diagnostics import DIAGNOSTICS_STATUS, LOG_STATUS
from firmware.firmware_management.updates import FIRMWARE_STATUS, SIGNED_FIRMWARE_STATUS
from firmware.ocpp16.convert import id_tag_info
from firmware.protocol.pump import Notification, Outbound
from firmware.security.events import SECURITY_EVENT
from firmware.transactions.outbox import MessageKind, OutboxMessage

log = logging.getLogger(__name__)

UNCONFIRMED_TRANSACTION_ID = -1
"""StopTransaction.req's transactionId for a transaction whose start the CSMS never confirmed."""


def transaction_id(message: OutboxMessage) -> int | None:
    """The CSMS's transactionId of the message's transaction (1.6: an integer), once it confirmed the start."""
    return None if message.remote_id is None else int(message.remote_id)


class StartTransaction:
    def __init__(self, confirmations: Confirmations) -> None:
        self._confirmations = confirmations

    def request(self, message: OutboxMessage) -> Any:
        """§4.8; reservationId when the start used a reservation (§5.13). A body queued before reservations
        existed has no such key and is sent as it always was."""
        body = message.body
        return call.StartTransaction(connector_id=body["connector"], id_tag=body["id_tag"],
                                     meter_start=body["meter_start"], timestamp=body["timestamp"],
                                     reservation_id=body.get("reservation_id"))

    def confirmed(self, message: OutboxMessage, response: Any) -> None:
        self._confirmations.start_confirmed(message, str(response.transaction_id),
                                            id_tag_info(response.id_tag_info))  # idTagInfo is required here


class MeterValues:
    def request(self, message: OutboxMessage) -> Any:
        body = message.body
        return call.MeterValues(connector_id=body["connector"], meter_value=body["values"],
                                transaction_id=transaction_id(message))

    def confirmed(self, message: OutboxMessage, response: Any) -> None:
        """MeterValues.conf carries nothing."""


class StopTransaction:
    def __init__(self, confirmations: Confirmations) -> None:
        self._confirmations = confirmations

    def request(self, message: OutboxMessage) -> Any:
        """The stop of a transaction whose StartTransaction the CSMS refused on every attempt (a dead letter,
        so it has no transactionId) is still sent, with transactionId -1: the CSMS learns that a session ran
        (idTag, meter values, times) and ended, as 1.6 §4.10 wants every stop delivered; -1 is no id a CSMS
        hands out (EVerest's libocpp sends the same for a transaction it has no id for)."""
        tx_id = transaction_id(message)
        if tx_id is None:
            log.warning("StopTransaction without a confirmed start tx_ref=%s: sent with transactionId=%d",
                        message.tx_ref, UNCONFIRMED_TRANSACTION_ID)
            tx_id = UNCONFIRMED_TRANSACTION_ID
        body = message.body
        return call.StopTransaction(meter_stop=body["meter_stop"], timestamp=body["timestamp"],
                                    transaction_id=tx_id, reason=body["reason"], id_tag=body["id_tag"],
                                    transaction_data=body["transaction_data"] or None)

    def confirmed(self, message: OutboxMessage, response: Any) -> None:
        self._confirmations.stop_confirmed(message, id_tag_info(response.id_tag_info) if response.id_tag_info
                                           else None)


def outbound(confirmations: Confirmations) -> dict[str, Outbound]:
    """The sender of each queued kind this adapter speaks."""
    return {MessageKind.TRANSACTION_START: StartTransaction(confirmations), MessageKind.METER_VALUES: MeterValues(),
            MessageKind.TRANSACTION_STOP: StopTransaction(confirmations),
            FIRMWARE_STATUS: Notification(call.FirmwareStatusNotification),
            DIAGNOSTICS_STATUS: Notification(call.DiagnosticsStatusNotification),
            SECURITY_EVENT: Notification(call.SecurityEventNotification),
            LOG_STATUS: Notification(call.LogStatusNotification),
            SIGNED_FIRMWARE_STATUS: Notification(call.SignedFirmwareStatusNotification)}
