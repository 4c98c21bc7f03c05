"""The outbox's messages as OCPP 2.0.1 CALLs: a transaction's start, samples and stop as TransactionEvent Started,
Updated and Ended (E01-E07, E12), and the notifications of no transaction; and what each answer means to the core.
Deterministic, so a resend is verbatim: the transactionId comes from the transaction's local reference, the seqNo
from how many of its messages the CSMS confirmed (`OutboxMessage.sequence`), `offline` from when it was queued.
"""

import logging
from collections.abc import Callable
from typing import Any

from ocpp.v201 import call

from firmware.core.confirmations import Confirmations
from firmware.firmware_management.diagnostics import LOG_STATUS
from firmware.firmware_management.updates import SIGNED_FIRMWARE_STATUS
from firmware.ocpp201 import convert
from firmware.protocol.pump import Notification, Outbound
from firmware.security.events import SECURITY_EVENT
from firmware.transactions.metering import ReadingContext
from firmware.transactions.outbox import MessageKind, OutboxMessage
from firmware.transactions.store import StopReason

log = logging.getLogger(__name__)

TransactionId = Callable[[str | None, int], str]
"""(the CSMS-confirmed id if any, the local reference) → the transactionId (`Ocpp201Adapter.transaction_id`)."""


UPDATE_TRIGGER = {"Sample.Clock": "MeterValueClock", ReadingContext.TRIGGER: "Trigger"}
"""A sample's context → the Updated event's triggerReason; a periodic sample and the samples taken at the start and
the end (TxUpdatedMeasurands' Transaction.Begin/End values) are MeterValuePeriodic."""


class TransactionEvents:
    """TransactionEvent for the three transaction kinds. The first event of a transaction carries its EVSE
    (E01.FR.16 asks for it in the first message) and the token; the Started event's triggerReason is RemoteStart for
    a start the CSMS asked for (F01/F02), Authorized for a card (TxStartPoint PowerPathClosed: the authorization
    came with the EV plugged in, or the plug completed it)."""

    def __init__(self, confirmations: Confirmations, transaction_id: TransactionId) -> None:
        self._confirmations = confirmations
        self._transaction_id = transaction_id

    def request(self, message: OutboxMessage) -> call.TransactionEvent:
        assert message.tx_ref is not None
        body = message.body
        info: dict[str, Any] = {"transaction_id": self._transaction_id(message.remote_id, message.tx_ref)}
        common: dict[str, Any] = {"seq_no": message.sequence, "offline": message.offline or None}
        match message.kind:
            case MessageKind.TRANSACTION_START:
                info["charging_state"] = "Charging"
                if "remote_start_id" in body:
                    info["remote_start_id"] = body["remote_start_id"]
                return call.TransactionEvent(
                    event_type="Started", timestamp=body["timestamp"], transaction_info=info,
                    trigger_reason="RemoteStart" if body.get("remote") else "Authorized",
                    id_token=convert.id_token(body["id_tag"], body.get("token_type")),
                    evse={"id": body["connector"], "connector_id": 1}, reservation_id=body.get("reservation_id"),
                    meter_value=[convert.energy_value(body["timestamp"], body["meter_start"],
                                                      ReadingContext.TRANSACTION_BEGIN)], **common)
            case MessageKind.METER_VALUES:
                first = body["values"][0]
                context = first["sampledValue"][0].get("context")
                return call.TransactionEvent(
                    event_type="Updated", timestamp=first["timestamp"], transaction_info=info,
                    trigger_reason=UPDATE_TRIGGER.get(context, "MeterValuePeriodic"),
                    meter_value=[convert.meter_value(v) for v in body["values"]], **common)
            case _:
                return self._ended(body, info, common)

    @staticmethod
    def _ended(body: dict[str, Any], info: dict[str, Any], common: dict[str, Any]) -> call.TransactionEvent:
        """Ended (E06): stoppedReason and triggerReason from the stop's reason; the TxEndedMeasurands sampled at the
        start and the end (1.6's StopTxnSampledData, stored as the stop's transaction data), and at least the energy
        register at the end; the token that stopped it, if one did."""
        reason = StopReason(body["reason"])
        info.update(stopped_reason=convert.STOPPED_REASON[reason],
                    charging_state="Idle" if reason is StopReason.EV_DISCONNECTED else "EVConnected")
        values = [convert.meter_value(v) for v in body["transaction_data"]]
        if not any(v["sampledValue"][0].get("context") == ReadingContext.TRANSACTION_END for v in values):
            values.append(convert.energy_value(body["timestamp"], body["meter_stop"], ReadingContext.TRANSACTION_END))
        return call.TransactionEvent(
            event_type="Ended", timestamp=body["timestamp"], transaction_info=info,
            trigger_reason=convert.TRIGGER_REASON[reason], meter_value=values,
            id_token=convert.id_token(body["id_tag"], None) if body.get("id_tag") else None, **common)

    def confirmed(self, message: OutboxMessage, response: Any) -> None:
        """The Started event's answer confirms the start (its idTokenInfo, when given, judges the token as 1.6's
        StartTransaction.conf did); the Ended event's the stop."""
        info = convert.id_token_info(response.id_token_info) if response.id_token_info else None
        if message.kind == MessageKind.TRANSACTION_START:
            assert message.tx_ref is not None
            self._confirmations.start_confirmed(message, self._transaction_id(message.remote_id, message.tx_ref),
                                                info)
        elif message.kind == MessageKind.TRANSACTION_STOP:
            self._confirmations.stop_confirmed(message, info)


def outbound(confirmations: Confirmations, transaction_id: TransactionId) -> dict[str, Outbound]:
    """The sender of each queued kind 2.0.1 speaks. 1.6's DiagnosticsStatusNotification and unsigned
    FirmwareStatusNotification have no 2.0.1 message: such a body (queued before a switch) is set aside unsent."""
    events = TransactionEvents(confirmations, transaction_id)
    return {MessageKind.TRANSACTION_START: events, MessageKind.METER_VALUES: events,
            MessageKind.TRANSACTION_STOP: events,
            SECURITY_EVENT: Notification(call.SecurityEventNotification),
            LOG_STATUS: Notification(call.LogStatusNotification),
            SIGNED_FIRMWARE_STATUS: Notification(call.FirmwareStatusNotification)}
