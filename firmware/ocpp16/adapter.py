"""The OCPP 1.6J adapter: registration, heartbeat, StatusNotifications, Authorize and the outbox, over one
websocket connection at a time; CSMS requests go to the registered handlers (`ocpp16.handlers`).

OCPP 1.6 §4.2 BootNotification gates everything: before it is Accepted nothing else is sent (queued
messages included); while Pending the charge point answers the CSMS but rejects RemoteStart and
RemoteStop and sends nothing of its own; while Rejected it sends nothing until the interval passed.
A reconnect after an accepted boot does not register again but resends the current statuses. A CSMS that
answers with errors, nonsense or silence costs a log line per CALL (`_tell`, `Pump`), never the conversation.
"""

import asyncio
import logging
from collections import deque
from enum import StrEnum
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from ocpp.v16.enums import RegistrationStatus

from firmware import __version__
from firmware.auth.authorizer import CsmsRefused
from firmware.auth.idtag import IdTagInfo
from firmware.clock import Clock
from firmware.config_file import Config
from firmware.core.ports import ConnectorReport
from firmware.core.services import Services
from firmware.logs import masked
from firmware.ocpp16 import SUBPROTOCOL, convert
from firmware.ocpp16.handlers import HANDLERS
from firmware.ocpp16.outbound import outbound
from firmware.ocpp16.peer import Ocpp16Peer
from firmware.ocpp16.status import StatusReport, StatusReporter
from firmware.protocol.connection import Connection, reconnect_delay
from firmware.protocol.pump import Pump
from firmware.settings import Settings
from firmware.transactions.outbox import Outbox, OutboxMessage

log = logging.getLogger(__name__)

MAX_BOOT_RETRY_S = 86_400
"""The longest wait a Pending or Rejected BootNotification.conf's interval can ask for (1.6 §4.2 sets no
bound; a day keeps a bogus value from parking the charger for ever)."""


class Registration(StrEnum):
    NONE = "None"
    PENDING = "Pending"
    REJECTED = "Rejected"
    ACCEPTED = "Accepted"


class Ocpp16Adapter:
    """Implements the core's ports (`core.ports.StatusPort`, `auth.authorizer.CsmsAuthorize`) in OCPP 1.6."""

    def __init__(self, config: Config, settings: Settings, outbox: Outbox, clock: Clock) -> None:
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
        self._reporter = StatusReporter(settings, clock, self._send_status, outbox.last_id)
        cp = config.charge_point
        self.connection = Connection(config.csms.endpoint(cp.id), config.csms.shown_endpoint(cp.id), SUBPROTOCOL,
                                     settings, config.csms.reconnect_max_s, self._serve)
        settings.fix("protocol_features", ",".join(HANDLERS.profiles()))

    def attach(self, services: Services) -> None:
        """The core is built: CSMS requests and confirmations go to its services from now on."""
        self._services = services
        self._pump = Pump(self._outbox, self._settings, self._clock, outbound(services.confirmations),
                          self._statuses_before)

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
                group.create_task(peer.start())
                group.create_task(self._converse(peer))
        finally:
            self._peer = None

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

    async def _register(self, peer: Ocpp16Peer) -> None:
        """BootNotification until Accepted (OCPP 1.6 §4.2)."""
        cp = self._config.charge_point
        # chargeBoxSerialNumber is deprecated in 1.6 but some CSMSs and test tools still read only it: send both.
        request = call.BootNotification(charge_point_vendor=cp.vendor, charge_point_model=cp.model,
                                        charge_point_serial_number=cp.serial_number or None,
                                        charge_box_serial_number=cp.serial_number or None,
                                        firmware_version=__version__)
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
                    if conf.interval > 0 and (problem := self._settings.change("heartbeat_interval_s", conf.interval)):
                        log.warning("BootNotification interval ignored interval=%.20s problem=%s", conf.interval,
                                    problem)
                    log.info("registered with CSMS heartbeat_s=%d csms_time=%s",
                             self._settings.integer("heartbeat_interval_s"), conf.current_time)
                    return
                wait = min(conf.interval, MAX_BOOT_RETRY_S) if conf.interval > 0 else reconnect_delay(retries, 300)
                log.warning("BootNotification %s; next attempt in %.0f s", conf.status, wait)
            retries += 1
            await asyncio.sleep(wait)

    async def _send_statuses(self, peer: Ocpp16Peer) -> None:
        """StatusNotifications in the order of what happened, interleaved with the outbox's transaction messages:
        Preparing → StartTransaction → Charging, StopTransaction → Finishing, after a reconnect too. A status
        waits for the messages queued before it began (`_statuses_before` makes later ones wait for it). Before
        the clock is trusted nothing queued is sent, so a status does not wait then."""
        while True:
            report = await self._statuses.get()
            if self._clock.trusted:
                await self._outbox.wait_sent_through(report.queued_after)
            await _tell(peer, call.StatusNotification(
                connector_id=report.connector_id, error_code=report.error_code.value, status=report.status.value,
                timestamp=self._clock.date(report.timestamp), info=report.info,
                vendor_error_code=report.vendor_error_code))
            self._unsent.popleft()
            self._status_sent.set()

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
