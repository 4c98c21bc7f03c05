"""The OCPP 1.6J link to the CSMS: connection, registration, heartbeat, status and the outbox pump.

OCPP 1.6 §4.2 BootNotification gates everything: before it is Accepted nothing else is sent (queued
messages included); while Pending the charge point answers the CSMS but rejects RemoteStart and
RemoteStop and sends nothing of its own; while Rejected it sends nothing until the interval passed.
A reconnect after an accepted boot does not register again but resends the current statuses.
"""

import asyncio
import logging
import random
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from ocpp.v16.enums import RegistrationStatus

from firmware import __version__
from firmware.authorization import Authorizer
from firmware.chargepoint import ChargePoint
from firmware.clock import Clock
from firmware.config import Config
from firmware.configuration import Configuration
from firmware.logs import shown
from firmware.ocpp16 import convert
from firmware.ocpp16.peer import Ocpp16Peer
from firmware.outbox import MessageKind, Outbox, OutboxMessage
from firmware.records import IdTagInfo
from firmware.status_report import StatusReport, StatusReporter
from firmware.store import Store
from firmware.transactions import TransactionStore

log = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
MAX_FRAME_BYTES = 8 * 2**20


class Registration(StrEnum):
    NONE = "None"
    PENDING = "Pending"
    REJECTED = "Rejected"
    ACCEPTED = "Accepted"


def reconnect_delay(attempt: int, cap_s: float) -> float:
    """Exponential backoff with jitter: attempt 0 waits 2-4 s (the first retry within 5 s), capped."""
    ceiling = min(cap_s, 4.0 * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


class Ocpp16Link:
    def __init__(self, config: Config, configuration: Configuration, store: Store, outbox: Outbox,
                 txs: TransactionStore, reporter: StatusReporter, authorizer: Authorizer, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self.on_reset: Callable[[bool], bool] = lambda hard: False
        """Carries out a Reset.req (hard or soft); False when it cannot now."""
        self.configuration = configuration
        self.authorizer = authorizer
        self._store = store
        self._outbox = outbox
        self._txs = txs
        self._reporter = reporter
        self.charge_point: ChargePoint | None = None
        self._endpoint = config.csms.endpoint(config.charge_point.id)
        self.url = config.csms.shown_endpoint(config.charge_point.id)
        """The endpoint for logs and status (no password)."""
        self.registration = Registration.NONE
        self._peer: Ocpp16Peer | None = None
        self._connection: websockets.ClientConnection | None = None
        self._wanted = asyncio.Event()
        self._wanted.set()
        self._statuses: asyncio.Queue[StatusReport] = asyncio.Queue()

    # --- Upstream port ------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._peer is not None and self.registration is Registration.ACCEPTED

    @property
    def connected(self) -> bool:
        return self._peer is not None

    @property
    def accepts_remote_commands(self) -> bool:
        return self.registration is Registration.ACCEPTED

    async def authorize(self, id_tag: str) -> IdTagInfo | None:
        peer = self._peer
        if peer is None or not self.online:
            return None
        try:
            conf = await peer.call(call.Authorize(id_tag=id_tag), suppress=False)
        except (OCPPError, TimeoutError, websockets.ConnectionClosed) as e:
            log.warning("Authorize got no answer idTag=%s error=%s", shown(id_tag), type(e).__name__)
            return None
        return convert.id_tag_info(conf.id_tag_info)

    def send_status(self, report: StatusReport) -> None:
        if self.online:
            self._statuses.put_nowait(report)

    # --- CSMS commands ------------------------------------------------------------------------

    def remote_start(self, connector_id: int | None, id_tag: str) -> bool:
        if not self.accepts_remote_commands or self.charge_point is None:
            return False
        return self.charge_point.remote_start(connector_id, id_tag,
                                              self.configuration.flag("AuthorizeRemoteTxRequests"))

    def remote_stop(self, transaction_id: int) -> bool:
        if not self.accepts_remote_commands or self.charge_point is None:
            return False
        return self.charge_point.remote_stop(transaction_id)

    # --- link control (the simulator's `link down` / `link up`) -------------------------------

    def set_wanted(self, up: bool) -> None:
        """Down cuts the connection as a network loss would, and keeps it down until up."""
        if up:
            self._wanted.set()
            return
        self._wanted.clear()
        if self._connection is not None:
            self._connection.transport.abort()

    @property
    def wanted(self) -> bool:
        return self._wanted.is_set()

    # --- connection ---------------------------------------------------------------------------

    async def run(self) -> None:
        attempt = 0
        while True:
            await self._wanted.wait()
            try:
                ping = self.configuration.integer("WebSocketPingInterval") or None
                async with websockets.connect(self._endpoint, subprotocols=[SUBPROTOCOL], open_timeout=10,
                                              ping_interval=ping, ping_timeout=ping,
                                              max_size=MAX_FRAME_BYTES) as connection:
                    if connection.subprotocol != SUBPROTOCOL:
                        log.error("CSMS did not accept subprotocol %s url=%s", SUBPROTOCOL, self.url)
                    else:
                        attempt = 0
                        await self._serve(connection)
            except (OSError, TimeoutError, websockets.WebSocketException) as e:
                log.warning("CSMS link down url=%s error=%s", self.url, e or type(e).__name__)
            if not self._wanted.is_set():
                log.info("CSMS link held down")
                continue
            delay = reconnect_delay(attempt, self._config.csms.reconnect_max_s)
            attempt += 1
            log.info("reconnecting to CSMS in %.1f s attempt=%d", delay, attempt)
            await asyncio.sleep(delay)

    async def _serve(self, connection: websockets.ClientConnection) -> None:
        peer = Ocpp16Peer(self._config.charge_point.id, connection, self, self._config.csms.call_timeout_s)
        self._connection, self._peer = connection, peer
        self._statuses = asyncio.Queue()
        log.info("CSMS connected url=%s", self.url)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(peer.start())
                group.create_task(self._converse(peer))
        except* websockets.ConnectionClosed:
            log.warning("CSMS connection closed url=%s", self.url)
        finally:
            self._connection = self._peer = None

    async def _converse(self, peer: Ocpp16Peer) -> None:
        if self.registration is not Registration.ACCEPTED:
            await self._register(peer)
        for report in self._reporter.current():
            self._statuses.put_nowait(report)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._send_statuses(peer))
            group.create_task(self._heartbeat(peer))
            group.create_task(self._pump_outbox(peer))

    async def _register(self, peer: Ocpp16Peer) -> None:
        """BootNotification until Accepted (OCPP 1.6 §4.2)."""
        cp = self._config.charge_point
        request = call.BootNotification(charge_point_vendor=cp.vendor, charge_point_model=cp.model,
                                        charge_point_serial_number=cp.serial_number or None,
                                        firmware_version=__version__)
        retries = 0
        while True:
            try:
                conf = await peer.call(request, suppress=False)
            except (OCPPError, TimeoutError) as e:
                self.registration = Registration.NONE
                wait = reconnect_delay(retries, 300)
                log.warning("BootNotification failed error=%s; retrying in %.0f s", type(e).__name__, wait)
            else:
                self._clock.set_from_csms(conf.current_time)
                self.registration = Registration(conf.status)
                if conf.status == RegistrationStatus.accepted:
                    if conf.interval > 0:
                        self.configuration.change("HeartbeatInterval", str(conf.interval))
                    log.info("registered with CSMS heartbeat_s=%d csms_time=%s",
                             self.configuration.integer("HeartbeatInterval"), conf.current_time)
                    return
                wait = conf.interval if conf.interval > 0 else reconnect_delay(retries, 300)
                log.warning("BootNotification %s; next attempt in %.0f s", conf.status, wait)
            retries += 1
            await asyncio.sleep(wait)

    async def _send_statuses(self, peer: Ocpp16Peer) -> None:
        while True:
            report = await self._statuses.get()
            await peer.call(call.StatusNotification(
                connector_id=report.connector_id, error_code=report.error_code.value, status=report.status.value,
                timestamp=report.timestamp, info=report.info, vendor_error_code=report.vendor_error_code))

    async def _heartbeat(self, peer: Ocpp16Peer) -> None:
        while True:
            interval = self.configuration.integer("HeartbeatInterval")
            await asyncio.sleep(interval if interval > 0 else 60)
            if interval > 0:
                await peer.call(call.Heartbeat())

    async def _pump_outbox(self, peer: Ocpp16Peer) -> None:
        """Send queued transaction messages strictly in order; remove each once confirmed.

        Nothing is sent before the wall clock is trusted: an event recorded before carries no date yet.
        """
        await self._clock.wait_trusted()
        while True:
            message = self._outbox.head()
            if message is None:
                await self._outbox.wait()
                continue
            transaction_id = self._txs.csms_id(message.tx_ref)
            if message.kind is MessageKind.TRANSACTION_STOP and transaction_id is None:
                self._outbox.record_failure(message, "StartTransaction was never confirmed", 1)
                continue
            try:
                conf = await peer.call(convert.outbox_call(message, transaction_id), suppress=False)
            except OCPPError as e:
                attempts = self.configuration.integer("TransactionMessageAttempts")
                if not self._outbox.record_failure(message, f"{e.code}: {e.description}", attempts):
                    wait = self.configuration.integer("TransactionMessageRetryInterval") * (message.attempts + 1)
                    log.warning("CSMS refused %s tx_ref=%d error=%s; retry in %d s",
                                message.kind, message.tx_ref, e.code, wait)
                    await asyncio.sleep(wait)
                continue
            except TimeoutError:
                log.warning("no answer to %s tx_ref=%d; resending", message.kind, message.tx_ref)
                continue
            with self._store.atomic():
                if message.kind is MessageKind.TRANSACTION_START:
                    self._txs.confirm_start(message.tx_ref, conf.transaction_id,
                                            convert.id_tag_info(conf.id_tag_info).status)
                self._outbox.remove(message)
            self._confirmed(message, conf)

    def _confirmed(self, message: OutboxMessage, conf: Any) -> None:
        """Act on a transaction message's confirmation: the idTagInfo of StartTransaction.conf and
        StopTransaction.conf updates the authorization cache (OCPP 1.6 §3.5)."""
        if message.kind is MessageKind.TRANSACTION_START:
            info = convert.id_tag_info(conf.id_tag_info)  # required in StartTransaction.conf
            self.authorizer.learn(message.body["id_tag"], info)
            if self.charge_point is not None:
                self.charge_point.transaction_confirmed(message.tx_ref, conf.transaction_id, info)
        elif message.kind is MessageKind.TRANSACTION_STOP:
            if conf.id_tag_info and message.body["id_tag"]:
                self.authorizer.learn(message.body["id_tag"], convert.id_tag_info(conf.id_tag_info))
            self._txs.prune()
