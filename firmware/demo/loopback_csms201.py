"""The OCPP 2.0.1 answers of the loopback CSMS: `LoopbackCsms(protocol="ocpp2.0.1")` serves each charging
station with a `CsmsPeer201`, which answers the CALLs of OCPP 2.0.1 Part 2 by the CSMS's `Behaviour`.

Recording, answer delays, raw answers and raw frames are the CSMS's, the same under both versions; this module
holds only what differs. It imports nothing of the CSMS, which imports it (tests/test_architecture.py allows
no import circle): what the peer needs of it is spelled as the `Csms` and `Answers` protocols.
"""

from typing import Any, Protocol

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action


class Answers(Protocol):
    """What a `CsmsPeer201` asks of the CSMS's `Behaviour` (firmware.demo.loopback_csms)."""

    boot_status: str
    boot_interval: int

    def current_time(self) -> str:
        """The CSMS's clock, an OCPP dateTime."""

    def token_info(self, token: str) -> dict[str, Any]:
        """The IdTokenInfo (camelCase, as on the wire) for an idToken value."""

    def data_transfer(self, vendor_id: str, message_id: str | None, data: Any) -> tuple[str, Any]:
        """DataTransfer's (status, data)."""


class Csms(Protocol):
    """What a `CsmsPeer201` asks of the CSMS that accepted it (`LoopbackCsms`)."""

    @property
    def behaviour(self) -> Answers:
        """Read at each answer, as the 1.6 peer does."""


class CsmsPeer201(ChargePoint):
    """One charging station's OCPP 2.0.1 conversation: the library's routing and schema checks both ways, the
    answers from the CSMS's `Behaviour`. A CALL with no handler here gets the library's NotImplemented
    CALLERROR."""

    def __init__(self, charge_point_id: str, connection: Any, csms: Csms) -> None:
        super().__init__(charge_point_id, connection, response_timeout=10)
        self._csms = csms
        self.connection = connection

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        """BootNotificationResponse: `boot_status`, `boot_interval` and the CSMS's currentTime."""
        b = self._csms.behaviour
        return call_result.BootNotification(current_time=b.current_time(), interval=b.boot_interval,
                                            status=b.boot_status)

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=self._csms.behaviour.current_time())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        """AuthorizeResponse: the idTokenInfo `Behaviour.authorize` gives for the idToken's value."""
        return call_result.Authorize(id_token_info=self._csms.behaviour.token_info(id_token["id_token"]))

    @on(Action.transaction_event)
    def on_transaction_event(self, id_token: dict[str, Any] | None = None,
                             **_: Any) -> call_result.TransactionEvent:
        """TransactionEventResponse: empty, or the idTokenInfo for the idToken when the request carries one."""
        info = self._csms.behaviour.token_info(id_token["id_token"]) if id_token else None
        return call_result.TransactionEvent(id_token_info=info)

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.notify_report)
    def on_notify_report(self, **_: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on(Action.notify_event)
    def on_notify_event(self, **_: Any) -> call_result.NotifyEvent:
        return call_result.NotifyEvent()

    @on(Action.notify_charging_limit)
    def on_notify_charging_limit(self, **_: Any) -> call_result.NotifyChargingLimit:
        return call_result.NotifyChargingLimit()

    @on(Action.security_event_notification)
    def on_security_event(self, **_: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    def on_log_status(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on(Action.reservation_status_update)
    def on_reservation_status(self, **_: Any) -> call_result.ReservationStatusUpdate:
        return call_result.ReservationStatusUpdate()

    @on(Action.sign_certificate)
    def on_sign_certificate(self, **_: Any) -> call_result.SignCertificate:
        return call_result.SignCertificate(status="Accepted")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: Any = None,
                         **_: Any) -> call_result.DataTransfer:
        """DataTransferResponse by `Behaviour.data_transfer`, the 1.6 peer's rule. The library hands `data` over
        with its object keys snake_cased and camelCases them back: camelCase keys are echoed unchanged."""
        status, reply = self._csms.behaviour.data_transfer(vendor_id, message_id, data)
        return call_result.DataTransfer(status=status, data=reply)
