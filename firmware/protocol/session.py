"""What every OCPP version's adapter does the same way over one websocket connection at a time: register
(BootNotification until Accepted), beat, report connector statuses in the order of what happened, pump the
outbox, send what the CSMS triggers. A version's adapter (`ocpp16.adapter`, `ocpp201.adapter`) builds the messages.

BootNotification gates everything (OCPP 1.6 §4.2, 2.0.1 B01-B03): before it is Accepted nothing else is sent
(queued messages included); while Pending the charge point answers the CSMS but sends nothing of its own (but
what a TriggerMessage asks for); while Rejected it sends nothing until the interval passed (a triggered
BootNotification goes at once). A reconnect after an accepted boot does not register again but resends the
current statuses. A CSMS that answers with errors, nonsense or silence costs a log line per CALL (`tell`, `Pump`),
never the conversation.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from enum import StrEnum
from typing import Any, Protocol

import websockets
from ocpp.exceptions import OCPPError

from firmware.auth.authorizer import CsmsRefused
from firmware.auth.idtag import IdTagInfo
from firmware.clock import Clock, iso
from firmware.config_file import Config
from firmware.core.confirmations import Confirmations
from firmware.core.connector import Connector
from firmware.core.ports import ConnectorReport
from firmware.core.services import Services
from firmware.logs import masked
from firmware.protocol.connection import Connection, reconnect_delay, summary
from firmware.protocol.peer import Peer
from firmware.protocol.pump import Outbound, Pump
from firmware.protocol.security import LinkSecurity
from firmware.settings import Settings
from firmware.transactions import metering
from firmware.transactions.outbox import Outbox, OutboxMessage
from hal import MeterError

log = logging.getLogger(__name__)

MAX_BOOT_RETRY_S = 86_400
IN_FLIGHT_WAIT_S = 3.0
"""How long closing the link (a redial, the daemon stopping) waits for the CSMS to answer the CALL of ours in flight
before it closes anyway (`Peer.calls_held`)."""
"""The longest wait a Pending or Rejected BootNotification answer's interval can ask for (neither version sets a
bound; a day keeps a bogus value from parking the charger for ever)."""


class Registration(StrEnum):
    NONE = "None"
    PENDING = "Pending"
    REJECTED = "Rejected"
    ACCEPTED = "Accepted"


class Queued(Protocol):
    """A status report waiting to be sent: after the outbox messages queued up to `queued_after`."""

    @property
    def queued_after(self) -> int: ...


class Reporter(Protocol):
    """A version's status reporter: the core's reports in, the version's statuses out (through `_status_ready`)."""

    def connector_changed(self, report: ConnectorReport) -> None: ...

    def current(self) -> list[Any]: ...


class Session:
    """The version-independent part of an adapter; the core's `StatusPort` and the link's port.

    A subclass gives `_peer_for` (its conversation), `_services_for`, `_outbound`, `_boot_request`,
    `_heartbeat_request`, `_status_request` and `_triggered`, and sets `_reporter`, which calls `_status_ready(report)`
    for each status it decides to send."""

    _reporter: Reporter

    def __init__(self, config: Config, settings: Settings, outbox: Outbox, clock: Clock, subprotocol: str,
                 security: LinkSecurity | None = None) -> None:
        """`security`: the security profile's TLS context and credentials (None: a plain connection)."""
        self._config = config
        self._settings = settings
        self._outbox = outbox
        self._clock = clock
        self._services: Any = None
        self._pump: Pump | None = None
        self.registration = Registration.NONE
        self._peer: Peer | None = None
        self._redialing: asyncio.Task[None] | None = None
        self._statuses: asyncio.Queue[Queued] = asyncio.Queue()
        self._unsent: deque[int] = deque()
        """`queued_after` of the statuses waiting in `_statuses`, oldest first."""
        self._status_sent = asyncio.Event()
        self._boot_now = asyncio.Event()
        """A triggered BootNotification before the boot is Accepted: the registration's next attempt goes now."""
        self._conversation: asyncio.TaskGroup | None = None
        """The tasks of the current connection; triggered messages are sent in one of them."""
        self.boot_reason = "PowerUp"
        """Why this start's first BootNotification is sent (2.0.1 BootReasonEnumType; the app sets it from
        `core.recovery.restart_cause` after a Reset or a firmware update); 1.6 sends none."""
        self._security = security
        cp = config.charge_point
        self.connection = Connection(config.csms.endpoint(cp.id), config.csms.shown_endpoint(cp.id), subprotocol,
                                     settings, config.csms.reconnect_max_s, self._serve, security)

    # --- what a version gives ---------------------------------------------------------------------

    def _peer_for(self, connection: websockets.ClientConnection) -> Peer:
        raise NotImplementedError

    def _services_for(self, services: Services) -> Any:
        """What the version's handlers get: `services` and the adapter's ports."""
        raise NotImplementedError

    def _outbound(self, confirmations: Confirmations) -> dict[str, Outbound]:
        raise NotImplementedError

    def _boot_request(self, reason: str) -> Any:
        """BootNotification; `reason`: why it is sent ("PowerUp", "Triggered", as 2.0.1 names them)."""
        raise NotImplementedError

    def _heartbeat_request(self) -> Any:
        raise NotImplementedError

    def _status_request(self, report: Any) -> Any:
        raise NotImplementedError

    def _current_statuses(self) -> Iterable[Any]:
        """The status of every connector now (resent after a reconnect)."""
        return self._reporter.current()

    async def _triggered(self, peer: Peer, message: str, target: Any) -> None:
        """Send `message` because the CSMS asked."""
        raise NotImplementedError

    def _registered(self, conf: Any) -> None:
        """An accepted BootNotification's answer, beyond the clock and the interval."""

    # --- the core's ports -------------------------------------------------------------------------

    def attach(self, services: Services) -> None:
        """The core is built: CSMS requests and confirmations go to its services from now on."""
        self._services = self._services_for(services)
        self._pump = Pump(self._outbox, self._settings, self._clock, self._outbound(services.confirmations),
                          self._statuses_before)

    def redial(self) -> None:
        """The link's port: connect again (a security profile was raised), once a CALL of ours in flight has been
        answered (at most IN_FLIGHT_WAIT_S)."""
        self._redialing = asyncio.get_running_loop().create_task(self._when_no_call_in_flight(self.connection.redial))

    @property
    def csms_url(self) -> str:
        return self._config.csms.url

    @property
    def dialed_profile(self) -> int:
        return self._security.dialed if self._security is not None else 0

    @property
    def url(self) -> str:
        """The CSMS endpoint for logs and status (no password)."""
        return self.connection.url

    @property
    def online(self) -> bool:
        return self._peer is not None and self.registration is Registration.ACCEPTED

    def connector_changed(self, report: ConnectorReport) -> None:
        """The core's `StatusPort`: the version's reporter decides what the CSMS hears, and when."""
        self._reporter.connector_changed(report)

    def _status_ready(self, report: Queued) -> None:
        """A status is never stored: sent now if online, and the current ones after a reconnect."""
        if self.online:
            self._statuses.put_nowait(report)
            self._unsent.append(report.queued_after)

    # --- the conversation -----------------------------------------------------------------------

    async def run(self) -> None:
        await self.connection.run()

    async def close(self) -> None:
        """The daemon stops or restarts: close the link cleanly, once a CALL of ours in flight has been answered
        (at most IN_FLIGHT_WAIT_S)."""
        await self._when_no_call_in_flight(self.connection.close)

    async def _when_no_call_in_flight(self, close: Callable[[], Coroutine[Any, Any, None]]) -> None:
        peer = self._peer
        if peer is None:
            await close()
            return
        async with peer.calls_held(IN_FLIGHT_WAIT_S):
            await close()

    async def _serve(self, connection: websockets.ClientConnection) -> None:
        assert self._services is not None, "attach() the core's services before running"
        peer = self._peer_for(connection)
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

    async def _converse(self, peer: Peer) -> None:
        if self.registration is not Registration.ACCEPTED:
            await self._register(peer)
        for report in self._current_statuses():
            self._status_ready(report)
        assert self._pump is not None
        async with asyncio.TaskGroup() as group:
            group.create_task(self._send_statuses(peer))
            group.create_task(self._heartbeat(peer))
            group.create_task(self._pump.run(peer.ask))

    def _apply_interval(self, interval: int) -> None:
        """An Accepted BootNotification's interval is the heartbeat interval (1.6 §4.2, 2.0.1 B01.FR.04); 0 or less:
        unchanged."""
        if interval > 0 and (problem := self._settings.change("heartbeat_interval_s", interval)):
            log.warning("BootNotification interval ignored interval=%.20s problem=%s", interval, problem)

    async def _register(self, peer: Peer) -> None:
        """BootNotification until Accepted (OCPP 1.6 §4.2, 2.0.1 B01-B03). A triggered BootNotification (1.6 §5.17,
        2.0.1 F06) ends the wait between attempts."""
        request = self._boot_request(self.boot_reason)
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
                if conf.status == Registration.ACCEPTED:
                    self._apply_interval(conf.interval)
                    self._registered(conf)
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

    async def _send_statuses(self, peer: Peer) -> None:
        """Statuses in the order of what happened, interleaved with the outbox's transaction messages: Preparing →
        the start → Charging, the stop → Finishing, after a reconnect too. A status waits for the messages queued
        before it began (`_statuses_before` makes later ones wait for it). Before the clock is trusted nothing
        queued is sent, so a status does not wait then."""
        while True:
            report = await self._statuses.get()
            if self._clock.trusted:
                await self._outbox.wait_sent_through(report.queued_after)
            await tell(peer, self._status_request(report))
            self._unsent.popleft()
            self._status_sent.set()

    async def _statuses_before(self, message: OutboxMessage) -> None:
        """Hold `message` while a status that began before it was queued waits to be sent."""
        while self._unsent and self._unsent[0] < message.id:
            self._status_sent.clear()
            await self._status_sent.wait()

    async def _heartbeat(self, peer: Peer) -> None:
        """Heartbeat every HeartbeatInterval (1.6 §4.6, 2.0.1 G02; 0: none); a new interval applies at once. While
        the clock is not trusted (BootNotification's currentTime was unreadable), one goes at once: its currentTime
        sets the clock, and nothing queued is sent before that."""
        if not self._clock.trusted:
            await self._beat(peer)
        async for _ in self._settings.every("heartbeat_interval_s"):
            await self._beat(peer)

    async def _beat(self, peer: Peer) -> None:
        conf = await tell(peer, self._heartbeat_request())
        if conf is not None and not self._clock.trusted:
            self._clock.set_from_csms(conf.current_time)

    # --- what the CSMS asks for -------------------------------------------------------------------

    def trigger(self, message: str, target: Any) -> None:
        """Send `message` because the CSMS asked (1.6 §5.17 TriggerMessage, 2.0.1 F06). Called once the answer is
        written; returns at once, the message goes out in a task of this conversation (the peer goes on reading
        frames, so its answer can be read; our CALLs go one at a time through `ask`). Before the boot is Accepted a
        triggered BootNotification makes the registration's next attempt go now."""
        log.info("message triggered by CSMS message=%s target=%s", message, target)
        if message == "BootNotification" and self.registration is not Registration.ACCEPTED:
            self._boot_now.set()
            return
        self._in_conversation(self._guarded(message, target), f"trigger-{message}")

    def _in_conversation(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` in a task of the current conversation; logged and dropped when there is none."""
        group = self._conversation
        try:
            if group is None:
                raise RuntimeError("no connection")
            group.create_task(work, name=name)
        except RuntimeError as e:  # no link, or the conversation is ending
            work.close()
            log.warning("message not sent name=%s error=%s", name, e)

    async def _guarded(self, message: str, target: Any) -> None:
        peer = self._peer
        try:
            if peer is None:
                raise ConnectionError("no connection")
            await self._triggered(peer, message, target)
        except Exception as e:  # the link went meanwhile, or a fault here: one line, never the conversation
            log.warning("triggered message not sent message=%s error=%s", message, summary(e))

    async def _boot_again(self, peer: Peer) -> None:
        """A triggered BootNotification once Accepted: its answer's currentTime and interval apply as at registration;
        the registration is not run again (an answer other than Accepted is logged and the charge point stays
        registered)."""
        conf = await tell(peer, self._boot_request("Triggered"))
        if conf is None:
            return
        self._clock.set_from_csms(conf.current_time)
        if conf.status == Registration.ACCEPTED:
            self._apply_interval(conf.interval)
            log.info("triggered BootNotification accepted heartbeat_s=%d csms_time=%s",
                     self._settings.integer("heartbeat_interval_s"), conf.current_time)
        else:
            log.warning("triggered BootNotification answered status=%s; the charge point stays registered",
                        conf.status)

    async def _statuses_now(self, peer: Peer, wanted: Any) -> None:
        """The current statuses `wanted(report)` selects: once Accepted on the statuses' ordered path, before at once
        (while Pending the charge point sends what a TriggerMessage asks for, and nothing else)."""
        for report in self._current_statuses():
            if not wanted(report):
                continue
            if self.online:
                self._status_ready(report)
            else:
                await tell(peer, self._status_request(report))


    # --- what both versions send alike ---------------------------------------------------------------

    async def _authorized(self, id_tag: str, request: Any, info: Callable[[Any], IdTagInfo]) -> IdTagInfo | None:
        """Authorize (1.6 §4.1, 2.0.1 C01) through `request`; `info(answer)` reads the answer. None when offline or
        unanswered (the offline rules apply); CsmsRefused for a CALLERROR or an answer breaking the schema: the CSMS
        is there and answered, so it is not an offline case (1.6 §3.5)."""
        peer = self._peer
        if peer is None or not self.online:
            return None
        try:
            conf = await peer.ask(request)
        except (TimeoutError, websockets.ConnectionClosed) as e:
            log.warning("Authorize got no answer idTag=%s error=%s", masked(id_tag), type(e).__name__)
            return None
        except OCPPError as e:
            raise CsmsRefused(f"{e.code}: {e.description}") from None
        return info(conf)

    async def _sample_now(self, connector: Connector) -> dict[str, Any] | None:
        """The connector's meter read now as a sample of the sampled measurands (1.6 MeterValuesSampledData, 2.0.1
        TxUpdatedMeasurands), context Trigger; None (logged) when the meter fails or there is nothing to report."""
        try:
            reading = await connector.read_meter()
        except MeterError as e:
            log.warning("triggered meter reading not sent connector=%d error=%s", connector.id, summary(e))
            return None
        measurands = self._settings.csl("sampled_measurands")
        value = metering.sample(reading, measurands, metering.ReadingContext.TRIGGER, iso(self._clock.now()))
        if not value["sampledValue"]:  # the schemas want at least one
            log.warning("triggered meter reading not sent, nothing to report connector=%d measurands=%s",
                        connector.id, ",".join(measurands) or "none")
            return None
        return value

    async def _sign_certificate(self, peer: Peer, request: Callable[[str], Any]) -> None:
        """SignCertificate (1.6 Security Whitepaper ed. 3 A02/A03, 2.0.1 A02): a new key pair made here, `request(csr)`
        to the CSMS, which answers with CertificateSigned later."""
        csr = self._services.certificates.signing_request()
        if csr is None:
            log.warning("certificate signing request not sent: set CpoName first (2.0.1: OrganizationName); it goes "
                        "in the subject")
            return
        conf = await tell(peer, request(csr))
        log.info("certificate signing request sent status=%s", None if conf is None else conf.status)


async def tell(peer: Peer, request: object) -> Any:
    """A CALL whose answer carries nothing the charger needs (StatusNotification, Heartbeat): a CALLERROR,
    an invalid answer or none is logged, and the conversation goes on (a status is sent again after a
    reconnect; neither version asks for it to be retried)."""
    try:
        return await peer.ask(request)
    except (OCPPError, TimeoutError) as e:
        cause = f"{e.code}: {e.description}" if isinstance(e, OCPPError) else "no answer in time"
        log.warning("%s not confirmed by CSMS error=%s", type(request).__name__, cause[:200])
        return None
