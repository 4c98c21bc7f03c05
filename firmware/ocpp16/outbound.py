"""The outbox's transaction messages as OCPP 1.6 CALLs (§4.8 StartTransaction, §4.7 MeterValues, §4.10
StopTransaction), and what each confirmation means to the core. Deterministic, so a resend is verbatim.
"""

from typing import Any

from ocpp.v16 import call

from firmware.core.confirmations import Confirmations
from firmware.ocpp16.convert import id_tag_info
from firmware.protocol.pump import Outbound, Unsendable
from firmware.transactions.outbox import MessageKind, OutboxMessage


def transaction_id(message: OutboxMessage) -> int | None:
    """The CSMS's transactionId of the message's transaction (1.6: an integer), once it confirmed the start."""
    return None if message.remote_id is None else int(message.remote_id)


class StartTransaction:
    def __init__(self, confirmations: Confirmations) -> None:
        self._confirmations = confirmations

    def request(self, message: OutboxMessage) -> Any:
        body = message.body
        return call.StartTransaction(connector_id=body["connector"], id_tag=body["id_tag"],
                                     meter_start=body["meter_start"], timestamp=body["timestamp"])

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
        tx_id = transaction_id(message)
        if tx_id is None:
            raise Unsendable("StartTransaction was never confirmed")
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
            MessageKind.TRANSACTION_STOP: StopTransaction(confirmations)}
