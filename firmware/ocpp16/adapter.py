"""The OCPP 1.6J adapter: registration, heartbeat, StatusNotifications, Authorize and the outbox, over one
websocket connection at a time; CSMS requests go to the registered handlers (`ocpp16.handlers`).

OCPP 1.6 §4.2 BootNotification gates everything: before it is Accepted nothing else is sent (queued
messages included); while Pending the charge point answers the CSMS but rejects RemoteStart and
RemoteStop and sends nothing of its own (but what a TriggerMessage asks for); while Rejected it sends
nothing until the interval passed (a triggered BootNotification goes at once).
A reconnect after an accepted boot does not register again but resends the current statuses. A CSMS that
answers with errors, nonsense or silence costs a log line per CALL (`_tell`, `Pump`), never the conversation.

The CSMS can ask for a message (§5.17 TriggerMessage, `trigger`), and DataTransfer goes both ways (§4.3
`data_transfer`; the CSMS's are answered by `protocol.vendors`).
"""

import asyncio
import logging
from collections import deque
from enum import StrEnum
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from ocpp.v16.enums import MessageTrigger, RegistrationStatus

from firmware import __version__
from firmware.auth.authorizer import CsmsRefused
from firmware.auth.idtag import IdTagInfo
from firmware.clock import Clock, iso
from firmware.config_file import Config
from firmware.core.connector import Connector
from firmware.core.ports import ConnectorReport
from firmware.core.services import Services
from firmware.logs import masked
from firmware.ocpp16 import SUBPROTOCOL, convert
from firmware.ocpp16.handlers import FEATURE_PROFILES, HANDLERS
from firmware.ocpp16.outbound import outbound
from firmware.ocpp16.peer import Ocpp16Peer, Ocpp16Services
from firmware.ocpp16.status import StatusReport, StatusReporter
from firmware.protocol.connection import Connection, reconnect_delay, summary
from firmware.protocol.pump import Pump
from firmware.protocol.security import LinkSecurity
from firmware.protocol.vendors import TransferAnswer, TransferStatus
from firmware.settings import Settings
from firmware.transactions import metering
from firmware.transactions.outbox import Outbox, OutboxMessage
from hal import MeterError

log = logging.getLogger(__name__)

MAX_BOOT_RETRY_S = 86_400
"""The longest wait a Pending or Rejected BootNotification.conf's interval can ask for (1.6 §4.2 sets no
bound; a day keeps a bogus value from parking the charger for ever)."""

SIGN_CERTIFICATE = "SignChargePointCertificate"
LOG_STATUS = "LogStatusNotification"
SIGNED_FIRMWARE_STATUS = "SignedFirmwareStatusNotification"
TRIGGERABLE = frozenset(m.value for m in (
    MessageTrigger.boot_notification, MessageTrigger.diagnostics_status_notification,
    MessageTrigger.firmware_status_notification, MessageTrigger.heartbeat, MessageTrigger.meter_values,
    MessageTrigger.status_notification)) | {SIGN_CERTIFICATE, LOG_STATUS, SIGNED_FIRMWARE_STATUS}
"""The six messages a 1.6 TriggerMessage.req can name, and the three only ExtendedTriggerMessage can (the Security
Whitepaper's: its FirmwareStatusNotification is the signed one; the schemas keep each request to its own): evsed
sends each (`Ocpp16Adapter.trigger`)."""

class Registration(StrEnum):
    NONE = "None"
    PENDING = "Pending"
    REJECTED = "Rejected"
    ACCEPTED = "Accepted"


class Ocpp16Adapter:
    """Implements the core's ports (`core.ports.StatusPort`, `auth.authorizer.CsmsAuthorize`) in OCPP 1.6."""

    def __init__(self, config: Config, settings: Settings, outbox: Outbox, clock: Clock,
                 security: LinkSecurity | None = None) -> None:
        """`security`: the security profile's TLS context and credentials (None: a plain connection)."""
        self._config = config
        self._settings = settings
        self._outbox = outbox
        self._clock = clock
        self._services: Services | None = None
        self._pump: Pump | None = None
        self.registration = Registration.NONE
        self._peer: Ocpp16Peer | None = None
        self._statuses: asyncio.Queue[StatusReport] = asyncio.Queue()
        self._unsent: deque[int] = deque()
        """`queued_after` of the statuses waiting in `_statuses`, oldest first."""
        self._status_sent = asyncio.Event()
        self._boot_now = asyncio.Event()
        """A triggered BootNotification before the boot is Accepted: the registration's next attempt goes now."""
        self._conversation: asyncio.TaskGroup | None = None
        """The tasks of the current connection; triggered messages are sent in one of them."""
        self._reporter = StatusReporter(settings, clock, self._send_status, outbox.last_id)
        cp = config.charge_point
        self.connection = Connection(config.csms.endpoint(cp.id), config.csms.shown_endpoint(cp.id), SUBPROTOCOL,
                                     settings, config.csms.reconnect_max_s, self._serve, security)
        settings.fix("protocol_features", ",".join(FEATURE_PROFILES))

    def attach(self, services: Services) -> None:
        """The core is built: CSMS requests and confirmations go to its services from now on."""
        self._services = Ocpp16Services.of(services, triggers=self, link=self)
        self._pump = Pump(self._outbox, self._settings, self._clock, outbound(services.confirmations),
                          self._statuses_before)

    def redial(self) -> None:
        """The link's port: connect again (a security profile was raised)."""
        self.connection.redial()

    @property
    def url(self) -> str:
        """The CSMS endpoint for logs and status (no password)."""
        return self.connection.url

    @staticmethod
    def transaction_id(remote_id: str) -> int:
        """The CSMS's id for a transaction as 1.6 types it (StartTransaction.conf transactionId: integer)."""
        return int(remote_id)

    # --- ports --------------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._peer is not None and self.registration is Registration.ACCEPTED

    async def authorize(self, id_tag: str) -> IdTagInfo | None:
        peer = self._peer
        if peer is None or not self.online:
            return None
        try:
            conf = await peer.ask(call.Authorize(id_tag=id_tag))
        except (TimeoutError, websockets.ConnectionClosed) as e:
            log.warning("Authorize got no answer idTag=%s error=%s", masked(id_tag), type(e).__name__)
            return None
        except OCPPError as e:  # the CSMS is there and answered: not an offline case (§3.5)
            raise CsmsRefused(f"{e.code}: {e.description}") from None
        return convert.id_tag_info(conf.id_tag_info)

    def connector_changed(self, report: ConnectorReport) -> None:
        self._reporter.connector_changed(report)

    def _send_status(self, report: StatusReport) -> None:
        """StatusNotification is never stored: sent now if online, and the current ones after a reconnect."""
        if self.online:
            self._statuses.put_nowait(report)
            self._unsent.append(report.queued_after)

    # --- the conversation -----------------------------------------------------------------------

    async def run(self) -> None:
        await self.connection.run()

    async def close(self) -> None:
        """The daemon stops or restarts: close the link cleanly."""
        await self.connection.close()

    async def _serve(self, connection: websockets.ClientConnection) -> None:
        assert self._services is not None, "attach() the core's services before running"
        peer = Ocpp16Peer(self._config.charge_point.id, connection, HANDLERS, self._services,
                          lambda: self.registration is Registration.ACCEPTED, self._config.csms.call_timeout_s)
        self._peer = peer
        self._statuses, self._unsent = asyncio.Queue(), deque()
        try:
            async with asyncio.TaskGroup() as group:
                self._conversation = group
                group.create_task(peer.start())
                group.create_task(self._converse(peer))
        finally:
            self._peer = None
            self._conversation = None

    async def _converse(self, peer: Ocpp16Peer) -> None:
        if self.registration is not Registration.ACCEPTED:
            await self._register(peer)
        for report in self._reporter.current():
            self._send_status(report)
        assert self._pump is not None
        async with asyncio.TaskGroup() as group:
            group.create_task(self._send_statuses(peer))
            group.create_task(self._heartbeat(peer))
            group.create_task(self._pump.run(peer.ask))

    def _boot_request(self) -> call.BootNotification:
        cp = self._config.charge_point
        # chargeBoxSerialNumber is deprecated in 1.6 but some CSMSs and test tools still read only it: send both.
        return call.BootNotification(charge_point_vendor=cp.vendor, charge_point_model=cp.model,
                                     charge_point_serial_number=cp.serial_number or None,
                                     charge_box_serial_number=cp.serial_number or None,
                                     firmware_version=__version__)

    def _apply_interval(self, interval: int) -> None:
        """An Accepted BootNotification.conf's interval is the heartbeat interval (§4.2); 0 or less: unchanged."""
        if interval > 0 and (problem := self._settings.change("heartbeat_interval_s", interval)):
            log.warning("BootNotification interval ignored interval=%.20s problem=%s", interval, problem)

    async def _register(self, peer: Ocpp16Peer) -> None:
        """BootNotification until Accepted (OCPP 1.6 §4.2). A triggered BootNotification (§5.17) ends the wait
        between attempts."""
        request = self._boot_request()
        self._boot_now.clear()
        retries = 0
        while True:
            try:
                conf = await peer.ask(request)
            except (OCPPError, TimeoutError) as e:
                self.registration = Registration.NONE
                wait = reconnect_delay(retries, 300)
                log.warning("BootNotification failed error=%s; retrying in %.0f s", type(e).__name__, wait)
            else:
                self._clock.set_from_csms(conf.current_time)
                self.registration = Registration(conf.status)
                if conf.status == RegistrationStatus.accepted:
                    self._apply_interval(conf.interval)
                    log.info("registered with CSMS heartbeat_s=%d csms_time=%s",
                             self._settings.integer("heartbeat_interval_s"), conf.current_time)
                    return
                wait = min(conf.interval, MAX_BOOT_RETRY_S) if conf.interval > 0 else reconnect_delay(retries, 300)
                log.warning("BootNotification %s; next attempt in %.0f s", conf.status, wait)
            retries += 1
            try:
                async with asyncio.timeout(wait):
                    await self._boot_now.wait()
                log.info("BootNotification triggered by the CSMS: next attempt now")
            except TimeoutError:
                pass
            self._boot_now.clear()

    async def _send_statuses(self, peer: Ocpp16Peer) -> None:
        """StatusNotifications in the order of what happened, interleaved with the outbox's transaction messages:
        Preparing → StartTransaction → Charging, StopTransaction → Finishing, after a reconnect too. A status
        waits for the messages queued before it began (`_statuses_before` makes later ones wait for it). Before
        the clock is trusted nothing queued is sent, so a status does not wait then."""
        while True:
            report = await self._statuses.get()
            if self._clock.trusted:
                await self._outbox.wait_sent_through(report.queued_after)
            await _tell(peer, self._status_request(report))
            self._unsent.popleft()
            self._status_sent.set()

    def _status_request(self, report: StatusReport) -> call.StatusNotification:
        return call.StatusNotification(
            connector_id=report.connector_id, error_code=report.error_code.value, status=report.status.value,
            timestamp=self._clock.date(report.timestamp), info=report.info, vendor_error_code=report.vendor_error_code)

    async def _statuses_before(self, message: OutboxMessage) -> None:
        """Hold `message` while a status that began before it was queued waits to be sent."""
        while self._unsent and self._unsent[0] < message.id:
            self._status_sent.clear()
            await self._status_sent.wait()

    async def _heartbeat(self, peer: Ocpp16Peer) -> None:
        """Heartbeat every HeartbeatInterval (§4.6; 0: none); a new interval applies at once (§9.1). While the
        clock is not trusted (BootNotification.conf's currentTime was unreadable), one goes at once: its
        currentTime sets the clock (§4.6), and nothing queued is sent before that."""
        if not self._clock.trusted:
            await self._beat(peer)
        async for _ in self._settings.every("heartbeat_interval_s"):
            await self._beat(peer)

    async def _beat(self, peer: Ocpp16Peer) -> None:
        conf = await _tell(peer, call.Heartbeat())
        if conf is not None and not self._clock.trusted:
            self._clock.set_from_csms(conf.current_time)

    # --- what the CSMS asks for (§5.17) and DataTransfer (§4.3) ----------------------------------

    @property
    def triggerable(self) -> frozenset[str]:
        """The messages TriggerMessage can ask for here: all six of 1.6 (`Triggers`)."""
        return TRIGGERABLE

    def trigger(self, message: str, connector_id: int | None) -> None:
        """Send `message` because the CSMS asked (TriggerMessage, OCPP 1.6 §5.17). Called once the
        TriggerMessage.conf is written; returns at once, the message goes out in a task of this conversation (the
        peer goes on reading frames, so its answer can be read; our CALLs go one at a time through `ask`).

        - BootNotification: once Accepted, one more BootNotification whose conf's currentTime and interval apply
          as at registration; the registration is not run again (an answer other than Accepted is logged and the
          charge point stays registered). Before Accepted, the registration's next attempt goes now.
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
        """
        group = self._conversation
        log.info("message triggered by CSMS message=%s connector=%s", message, connector_id)
        if message == MessageTrigger.boot_notification and self.registration is not Registration.ACCEPTED:
            self._boot_now.set()
            return
        if group is None:
            log.warning("triggered message not sent message=%s error=no connection", message)
            return
        try:
            group.create_task(self._triggered(message, connector_id), name=f"trigger-{message}")
        except RuntimeError as e:  # the conversation is ending
            log.warning("triggered message not sent message=%s error=%s", message, e)

    async def _triggered(self, message: str, connector_id: int | None) -> None:
        peer = self._peer
        try:
            if peer is None:
                raise ConnectionError("no connection")
            match message:
                case MessageTrigger.boot_notification:
                    await self._boot_again(peer)
                case MessageTrigger.heartbeat:
                    await self._beat(peer)
                case MessageTrigger.status_notification:
                    await self._statuses_now(peer, connector_id)
                case MessageTrigger.meter_values:
                    await self._meter_values_now(peer, connector_id)
                case MessageTrigger.diagnostics_status_notification:
                    status = self._services.diagnostics.status() if self._services else "Idle"
                    await _tell(peer, call.DiagnosticsStatusNotification(status=status))
                case MessageTrigger.firmware_status_notification:
                    status = self._services.firmware_updates.status() if self._services else "Idle"
                    await _tell(peer, call.FirmwareStatusNotification(status=status))
                case "SignChargePointCertificate":
                    await self._sign_certificate(peer)
                case "SignedFirmwareStatusNotification":
                    status, request_id = (self._services.firmware_updates.signed_status() if self._services
                                          else ("Idle", None))
                    await _tell(peer, call.SignedFirmwareStatusNotification(status=status, request_id=request_id))
                case "LogStatusNotification":
                    status, request_id = self._services.diagnostics.log_status() if self._services else ("Idle", None)
                    await _tell(peer, call.LogStatusNotification(status=status, request_id=request_id))
        except Exception as e:  # the link went meanwhile, or a fault here: one line, never the conversation
            log.warning("triggered message not sent message=%s error=%s", message, summary(e))

    async def _sign_certificate(self, peer: Ocpp16Peer) -> None:
        """SignCertificate (Security Whitepaper ed. 3, A02/A03): a new key pair made here, its CSR to the CSMS, which
        answers with CertificateSigned later."""
        csr = self._services.certificates.signing_request() if self._services else None
        if csr is None:
            log.warning("certificate signing request not sent: set CpoName first (it goes in the subject)")
            return
        conf = await _tell(peer, call.SignCertificate(csr=csr))
        log.info("certificate signing request sent status=%s", None if conf is None else conf.status)

    async def _boot_again(self, peer: Ocpp16Peer) -> None:
        conf = await _tell(peer, self._boot_request())
        if conf is None:
            return
        self._clock.set_from_csms(conf.current_time)
        if conf.status == RegistrationStatus.accepted:
            self._apply_interval(conf.interval)
            log.info("triggered BootNotification accepted heartbeat_s=%d csms_time=%s",
                     self._settings.integer("heartbeat_interval_s"), conf.current_time)
        else:
            log.warning("triggered BootNotification answered status=%s; the charge point stays registered",
                        conf.status)

    async def _statuses_now(self, peer: Ocpp16Peer, connector_id: int | None) -> None:
        for report in self._reporter.current():
            if connector_id is not None and report.connector_id != connector_id:
                continue
            if self.online:
                self._send_status(report)
            else:
                await _tell(peer, self._status_request(report))

    async def _meter_values_now(self, peer: Ocpp16Peer, connector_id: int | None) -> None:
        assert self._services is not None
        connectors = self._services.charge_point.connectors
        for number in sorted(connectors) if connector_id is None else [connector_id]:
            if number in connectors and (request := await self._meter_values(connectors[number])) is not None:
                await _tell(peer, request)

    async def _meter_values(self, connector: Connector) -> call.MeterValues | None:
        """A MeterValues.req of the meter read now (see `trigger`); None (logged) when there is nothing to send."""
        try:
            reading = await connector.read_meter()
        except MeterError as e:
            log.warning("triggered MeterValues not sent connector=%d error=%s", connector.id, summary(e))
            return None
        measurands = self._settings.csl("sampled_measurands")
        value = metering.sample(reading, measurands, metering.ReadingContext.TRIGGER, iso(self._clock.now()))
        if not value["sampledValue"]:  # the schema wants at least one
            log.warning("triggered MeterValues not sent, nothing to report connector=%d measurands=%s",
                        connector.id, ",".join(measurands) or "none")
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


async def _tell(peer: Ocpp16Peer, request: object) -> Any:
    """A CALL whose answer carries nothing the charger needs (StatusNotification, Heartbeat): a CALLERROR,
    an invalid answer or none is logged, and the conversation goes on (a status is sent again after a
    reconnect; OCPP 1.6 §4.9 does not ask for it to be retried)."""
    try:
        return await peer.ask(request)
    except (OCPPError, TimeoutError) as e:
        cause = f"{e.code}: {e.description}" if isinstance(e, OCPPError) else "no answer in time"
        log.warning("%s not confirmed by CSMS error=%s", type(request).__name__, cause[:200])
        return None
