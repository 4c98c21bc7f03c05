"""The OCPP 1.6J adapter: the 1.6 messages of registration, heartbeat, StatusNotification (the §4.9 table,
`ocpp16.status`), Authorize, the outbox's kinds and what TriggerMessage asks for; the conversation itself is
`protocol.session.Session`'s. CSMS requests go to the registered handlers (`ocpp16.handlers`).

OCPP 1.6 §4.2 BootNotification gates everything; while Pending the charge point rejects RemoteStart and
RemoteStop. The CSMS can ask for a message (§5.17 TriggerMessage, `trigger`), and DataTransfer goes both ways (§4.3
`data_transfer`; the CSMS's are answered by `protocol.vendors`).
"""

import logging

import websockets
from ocpp.v16 import call
from ocpp.v16.enums import MessageTrigger

from firmware import __version__
from firmware.auth.idtag import IdTagInfo
from firmware.clock import Clock
from firmware.config_file import Config
from firmware.core.confirmations import Confirmations
from firmware.core.connector import Connector
from firmware.core.services import Services
from firmware.ocpp16 import SUBPROTOCOL, convert
from firmware.ocpp16.handlers import FEATURE_PROFILES, HANDLERS
from firmware.ocpp16.outbound import outbound
from firmware.ocpp16.peer import Ocpp16Peer, Ocpp16Services
from firmware.ocpp16.status import StatusReport, StatusReporter
from firmware.protocol.peer import Peer
from firmware.protocol.pump import Outbound
from firmware.protocol.security import LinkSecurity
from firmware.protocol.session import Registration, Session, tell
from firmware.protocol.vendors import TransferAnswer, TransferStatus
from firmware.settings import Settings
from firmware.transactions.outbox import Outbox

log = logging.getLogger(__name__)

SIGN_CERTIFICATE = "SignChargePointCertificate"
LOG_STATUS = "LogStatusNotification"
SIGNED_FIRMWARE_STATUS = "SignedFirmwareStatusNotification"
TRIGGERABLE = frozenset(m.value for m in (
    MessageTrigger.boot_notification, MessageTrigger.diagnostics_status_notification,
    MessageTrigger.firmware_status_notification, MessageTrigger.heartbeat, MessageTrigger.meter_values,
    MessageTrigger.status_notification)) | {SIGN_CERTIFICATE, LOG_STATUS, SIGNED_FIRMWARE_STATUS}
"""The six messages a 1.6 TriggerMessage.req can name, and the three only ExtendedTriggerMessage can (the Security
Whitepaper's: its FirmwareStatusNotification is the signed one; the schemas keep each request to its own): evsed
sends each (`Ocpp16Adapter._triggered`)."""


class Ocpp16Adapter(Session):
    """Implements the core's ports (`core.ports.StatusPort`, `auth.authorizer.CsmsAuthorize`) in OCPP 1.6."""

    def __init__(self, config: Config, settings: Settings, outbox: Outbox, clock: Clock,
                 security: LinkSecurity | None = None) -> None:
        """`security`: the security profile's TLS context and credentials (None: a plain connection)."""
        super().__init__(config, settings, outbox, clock, SUBPROTOCOL, security)
        self._reporter = StatusReporter(settings, clock, self._status_ready, outbox.last_id)
        settings.fix("protocol_features", ",".join(FEATURE_PROFILES))

    def _services_for(self, services: Services) -> Ocpp16Services:
        return Ocpp16Services.of(services, triggers=self, link=self)

    def _outbound(self, confirmations: Confirmations) -> dict[str, Outbound]:
        return outbound(confirmations)

    def _peer_for(self, connection: websockets.ClientConnection) -> Ocpp16Peer:
        return Ocpp16Peer(self._config.charge_point.id, connection, HANDLERS, self._services,
                          lambda: self.registration is Registration.ACCEPTED, self._config.csms.call_timeout_s)

    @staticmethod
    def transaction_id(remote_id: str) -> int:
        """The CSMS's id for a transaction as 1.6 types it (StartTransaction.conf transactionId: integer)."""
        return int(remote_id)

    # --- ports --------------------------------------------------------------------------------

    async def authorize(self, id_tag: str) -> IdTagInfo | None:
        return await self._authorized(id_tag, call.Authorize(id_tag=id_tag), lambda conf: convert.id_tag_info(
            conf.id_tag_info))

    def _boot_request(self, reason: str) -> call.BootNotification:
        cp = self._config.charge_point
        # chargeBoxSerialNumber is deprecated in 1.6 but some CSMSs and test tools still read only it: send both.
        return call.BootNotification(charge_point_vendor=cp.vendor, charge_point_model=cp.model,
                                     charge_point_serial_number=cp.serial_number or None,
                                     charge_box_serial_number=cp.serial_number or None,
                                     firmware_version=__version__)

    def _heartbeat_request(self) -> call.Heartbeat:
        return call.Heartbeat()

    def _status_request(self, report: StatusReport) -> call.StatusNotification:
        return call.StatusNotification(
            connector_id=report.connector_id, error_code=report.error_code.value, status=report.status.value,
            timestamp=self._clock.date(report.timestamp), info=report.info, vendor_error_code=report.vendor_error_code)

    # --- what the CSMS asks for (§5.17) and DataTransfer (§4.3) ----------------------------------

    @property
    def triggerable(self) -> frozenset[str]:
        """The messages TriggerMessage can ask for here: all six of 1.6 (`Triggers`)."""
        return TRIGGERABLE

    async def _triggered(self, peer: Peer, message: str, connector_id: int | None) -> None:
        """What TriggerMessage (§5.17) asks for (`Session.trigger` schedules it):

        - BootNotification: once Accepted, one more BootNotification (`Session._boot_again`).
        - Heartbeat: one Heartbeat.
        - StatusNotification: the current status of the connector asked for, or of connector 0 and every
          connector. Once Accepted it takes the statuses' ordered path (after the transaction messages queued
          before the status began); before, it goes at once (§4.2: while Pending the charge point sends what a
          TriggerMessage asks for, and nothing else).
        - MeterValues: the meter of the connector asked for (or of every connector) read now, the measurands of
          MeterValuesSampledData, context Trigger, with the running transaction's id once the CSMS gave it (§5.17:
          "the most recent measurements for all measurands configured in configuration key
          MeterValuesSampledData"). Sent directly, not queued in the outbox: §3.7 counts only periodic and
          clock-aligned MeterValues as transaction-related messages, and §5.17 asks for "current information"
          ("not intended to retrieve historic data"), so a triggered sample lost with the link is not sent later.
        - DiagnosticsStatusNotification, FirmwareStatusNotification: what is under way (Uploading; Downloading,
          Downloaded, Installing), else Idle (§4.4, §4.5: Idle is sent only on a TriggerMessage, "when it is not
          busy"). Sent directly: the steps themselves are reported through the outbox.
        - The Security Whitepaper's ExtendedTriggerMessage adds SignChargePointCertificate, LogStatusNotification
          and SignedFirmwareStatusNotification.
        """
        services = self._services
        match message:
            case MessageTrigger.boot_notification:
                await self._boot_again(peer)
            case MessageTrigger.heartbeat:
                await self._beat(peer)
            case MessageTrigger.status_notification:
                await self._statuses_now(peer, lambda r: connector_id is None or r.connector_id == connector_id)
            case MessageTrigger.meter_values:
                await self._meter_values_now(peer, connector_id)
            case MessageTrigger.diagnostics_status_notification:
                await tell(peer, call.DiagnosticsStatusNotification(status=services.diagnostics.status()))
            case MessageTrigger.firmware_status_notification:
                await tell(peer, call.FirmwareStatusNotification(status=services.firmware_updates.status()))
            case "SignChargePointCertificate":
                await self._sign_certificate(peer, lambda csr: call.SignCertificate(csr=csr))
            case "SignedFirmwareStatusNotification":
                status, request_id = services.firmware_updates.signed_status()
                await tell(peer, call.SignedFirmwareStatusNotification(status=status, request_id=request_id))
            case "LogStatusNotification":
                status, request_id = services.diagnostics.log_status()
                await tell(peer, call.LogStatusNotification(status=status, request_id=request_id))

    async def _meter_values_now(self, peer: Peer, connector_id: int | None) -> None:
        assert self._services is not None
        connectors = self._services.charge_point.connectors
        for number in sorted(connectors) if connector_id is None else [connector_id]:
            if number in connectors and (request := await self._meter_values(connectors[number])) is not None:
                await tell(peer, request)

    async def _meter_values(self, connector: Connector) -> call.MeterValues | None:
        """A MeterValues.req of the meter read now (see `_triggered`); None (logged) when there is nothing to send."""
        value = await self._sample_now(connector)
        if value is None:
            return None
        tx = connector.tx
        return call.MeterValues(connector_id=connector.id, meter_value=[value],
                                transaction_id=self.transaction_id(tx.remote_id) if tx and tx.remote_id else None)

    async def data_transfer(self, vendor_id: str, message_id: str | None = None,
                            data: str | None = None) -> TransferAnswer:
        """DataTransfer to the CSMS (OCPP 1.6 §4.3, "for a function not supported by OCPP"): the CSMS's status
        (Accepted, Rejected, UnknownMessageId, UnknownVendorId) and data. Raises ConnectionError while not
        online (no link, or the boot not Accepted: §4.2), OCPPError for a CALLERROR, an answer breaking the
        schema or a request breaking it (vendorId over 255 characters, messageId over 50), TimeoutError when no
        answer came in time."""
        peer = self._peer
        if peer is None or not self.online:
            raise ConnectionError("CSMS not connected, or the boot not Accepted")
        conf = await peer.ask(call.DataTransfer(vendor_id=vendor_id, message_id=message_id, data=data))
        log.info("DataTransfer to CSMS vendorId=%.60s messageId=%.60s status=%s", vendor_id, message_id, conf.status)
        return TransferAnswer(TransferStatus(conf.status), conf.data)
