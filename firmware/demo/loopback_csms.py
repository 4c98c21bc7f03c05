"""A small CSMS built on the `ocpp` library's central-system side, for the demo, tests and benchmark.

It accepts every charge point on 127.0.0.1, records every CALL it receives, answers by a
configurable `Behaviour`, and can send CALLs (RemoteStartTransaction, ...) or raw frames. It speaks OCPP 1.6
(`CsmsPeer`), or OCPP 2.0.1 (`CsmsPeer201`, firmware.demo.loopback_csms201) when built with
`protocol="ocpp2.0.1"`.
"""

import asyncio
import base64
import itertools
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import websockets
from ocpp.messages import MessageType, unpack
from ocpp.routing import on
from ocpp.v16 import ChargePoint as LibraryChargePoint
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from firmware.clock import iso, utc_now
from firmware.demo.loopback_csms201 import CsmsPeer201

log = logging.getLogger(__name__)

OCPP16 = "ocpp1.6"
OCPP201 = "ocpp2.0.1"


def sim_config_text(url: str, db: Path, charge_point_id: str, *, connectors: int = 2, log_level: str = "warning",
                    reconnect_max_s: float = 30.0, ocpp: dict[str, bool | int | str] | None = None,
                    clock_trust: str = "ntp", resume_transactions: bool = False, serial_number: str = "",
                    call_timeout_s: float = 30.0, install_command: list[str] | None = None,
                    csms: dict[str, str] | None = None) -> str:
    """The config file of a simulated charger talking to a loopback CSMS at `url` (demo, tests, bench);
    `install_command`: `[firmware] install_command` (None: the simulator's built-in installer); `csms`: more
    `[csms]` settings (ca_file, client_cert, client_key, basic_auth_password)."""

    def toml(value: bool | int | str) -> str:
        return ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)

    lines = [
        "[charge_point]", f"id = {toml(charge_point_id)}", f"connectors = {connectors}",
        f"resume_transactions = {toml(resume_transactions)}", f"serial_number = {toml(serial_number)}",
        "[csms]", f"url = {toml(url)}", f"reconnect_max_s = {reconnect_max_s}",
        f"call_timeout_s = {call_timeout_s}", *(f"{key} = {toml(value)}" for key, value in (csms or {}).items()),
        "[hardware]", 'backend = "sim"',
        "[storage]", f"path = {toml(str(db))}",
        "[logging]", f"level = {toml(log_level)}",
        "[clock]", f"trust = {toml(clock_trust)}",
        *(["[firmware]", f"install_command = {json.dumps(install_command)}"] if install_command else []),
        "[ocpp]", *(f"{key} = {toml(value)}" for key, value in (ocpp or {}).items()),
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Received:
    at: float
    """time.monotonic() on arrival"""
    charge_point: str
    action: str
    payload: dict[str, Any]


@dataclass
class Behaviour:
    boot_status: str = "Accepted"
    boot_interval: int = 300
    authorize: Callable[[str], str | dict[str, Any]] = lambda id_tag: "Accepted"
    """idTag → AuthorizationStatus, or a whole idTagInfo, for Authorize, StartTransaction and StopTransaction
    (1.6); under 2.0.1 idToken value → AuthorizationStatusEnumType, or a whole IdTokenInfo in camelCase as on
    the wire (e.g. {"status": "Accepted", "groupIdToken": {"idToken": "G1", "type": "Central"}}), for Authorize
    and for a TransactionEvent carrying an idToken."""
    answer_delay_s: dict[str, float] = field(default_factory=dict)
    """How long the CSMS takes to answer each action (it reads nothing else meanwhile, like the library)."""
    transaction_ids: itertools.count = field(default_factory=lambda: itertools.count(1001))
    time_offset_s: float = 0.0
    """How far the CSMS's clock (currentTime) is ahead of this machine's."""
    password: bytes | None = None
    """HTTP Basic password the CSMS requires (None: it admits anyone); a wrong one gets 401."""
    anonymous: bool = False
    """With `password`: a request without credentials is admitted too (only a wrong password gets 401)."""
    raw_answers: dict[str, Callable[[str, dict[str, Any]], str | None]] = field(default_factory=dict)
    """A hostile or broken CSMS, for tests: action → f(unique id, payload) giving the whole frame to answer
    with instead ("" answers nothing; None answers as usual)."""

    def current_time(self) -> str:
        return iso(utc_now() + timedelta(seconds=self.time_offset_s))

    def token_info(self, token: str) -> dict[str, Any]:
        """`authorize`'s verdict on an idTag (1.6) or idToken value (2.0.1) as a whole idTagInfo / IdTokenInfo."""
        verdict = self.authorize(token)
        return {"status": verdict} if isinstance(verdict, str) else verdict

    def data_transfer(self, vendor_id: str, message_id: str | None, data: Any) -> tuple[str, Any]:
        """DataTransfer's (status, data), for tests (OCPP 1.6 §4.3; 2.0.1 Part 2 DataTransfer): vendorId
        "org.evsed.loopback" answers messageId "Echo" Accepted with the data sent and "Refuse" Rejected, any other
        UnknownMessageId; any other vendorId is UnknownVendorId."""
        if vendor_id != "org.evsed.loopback":
            return "UnknownVendorId", None
        answers = {"Echo": ("Accepted", data), "Refuse": ("Rejected", None)}
        return answers.get(message_id or "", ("UnknownMessageId", None))


class CsmsPeer(LibraryChargePoint):
    """One charge point's OCPP 1.6 conversation: the library's routing and schema checks both ways, the answers
    from the CSMS's `Behaviour`."""

    def __init__(self, charge_point_id: str, connection: Any, csms: "LoopbackCsms") -> None:
        super().__init__(charge_point_id, connection, response_timeout=10)
        self._csms = csms
        self.connection = connection

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        b = self._csms.behaviour
        return call_result.BootNotification(current_time=b.current_time(), interval=b.boot_interval,
                                            status=b.boot_status)

    @on(Action.heartbeat)
    def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=self._csms.behaviour.current_time())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=self._csms.behaviour.token_info(id_tag))

    @on(Action.start_transaction)
    def on_start(self, id_tag: str, connector_id: int, meter_start: int, timestamp: str,
                 **_: Any) -> call_result.StartTransaction:
        """A resent StartTransaction (identical to one seen before) gets the same transactionId."""
        key = (self.id, connector_id, id_tag, meter_start, timestamp)
        transaction_id = self._csms.started.get(key)
        if transaction_id is None:
            transaction_id = self._csms.started[key] = next(self._csms.behaviour.transaction_ids)
            self._csms.issued(transaction_id)
        return call_result.StartTransaction(transaction_id=transaction_id,
                                            id_tag_info=self._csms.behaviour.token_info(id_tag))

    @on(Action.stop_transaction)
    def on_stop(self, id_tag: str | None = None, **_: Any) -> call_result.StopTransaction:
        return call_result.StopTransaction(id_tag_info=self._csms.behaviour.token_info(id_tag) if id_tag else None)

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.sign_certificate)
    def on_sign_certificate(self, **_: Any) -> call_result.SignCertificate:
        return call_result.SignCertificate(status="Accepted")

    @on(Action.security_event_notification)
    def on_security_event(self, **_: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on(Action.signed_firmware_status_notification)
    def on_signed_firmware_status(self, **_: Any) -> call_result.SignedFirmwareStatusNotification:
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.log_status_notification)
    def on_log_status(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None,
                         data: str | None = None) -> call_result.DataTransfer:
        """OCPP 1.6 §4.3 by `Behaviour.data_transfer`."""
        status, reply = self._csms.behaviour.data_transfer(vendor_id, message_id, data)
        return call_result.DataTransfer(status=status, data=reply)


Peer = CsmsPeer | CsmsPeer201


class LoopbackCsms:
    def __init__(self, behaviour: Behaviour | None = None, on_message: Callable[[Received], None] | None = None,
                 protocol: str = OCPP16) -> None:
        """`protocol`: the subprotocol offered and spoken, OCPP16 or OCPP201."""
        if protocol not in (OCPP16, OCPP201):
            raise ValueError(f"protocol {protocol!r}: {OCPP16!r} or {OCPP201!r}")
        self.protocol = protocol
        self.behaviour = behaviour or Behaviour()
        self.received: list[Received] = []
        self.peers: dict[str, Peer] = {}
        self._raw_waiters: dict[Peer, dict[str, asyncio.Future[list[Any]]]] = {}
        """Each connection's `send_raw` calls waiting for their answer, by unique id."""
        self.connections = 0
        self.close_codes: list[int | None] = []
        """How each charge point connection ended (1000/1001 clean; None: no closing handshake)."""
        self.transaction_ids: list[int] = []
        """transactionIds handed out, in order."""
        self.started: dict[tuple[str, int, str, int, str], int] = {}
        """(charge point, connector, idTag, meterStart, timestamp) of each StartTransaction → its transactionId."""
        self._on_message = on_message
        self._changed = asyncio.Condition()
        self._server: websockets.Server | None = None
        self.url = ""
        self.authorizations: list[str | None] = []
        """The Authorization header of each upgrade request (None: none sent)."""
        self.client_certificates: list[dict[str, Any] | None] = []
        """The TLS client certificate of each upgrade request, as `ssl` decodes it (None or {}: none)."""

    async def start(self, port: int = 0, tls: ssl.SSLContext | None = None, host_name: str = "127.0.0.1") -> str:
        """Serve on 127.0.0.1; `tls`: wss:// with that server context; `host_name`: the name the url gives."""
        self._server = await websockets.serve(self._handle, "127.0.0.1", port, subprotocols=[self.protocol],
                                              max_size=16 * 2**20, ssl=tls, process_request=self._admit)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'wss' if tls else 'ws'}://{host_name}:{port}/ocpp"
        return self.url

    def _admit(self, connection: websockets.ServerConnection, request: Any) -> Any:
        """Record the upgrade request's Authorization header; answer 401 while `behaviour.password` is set and the
        header does not carry it (HTTP Basic, the charge point id as the user)."""
        header = request.headers.get("Authorization")
        self.authorizations.append(header)
        self.client_certificates.append(connection.transport.get_extra_info("peercert"))
        asyncio.get_running_loop().create_task(self._notify())
        expected = self.behaviour.password
        if expected is None or (header is None and self.behaviour.anonymous):
            return None
        charge_point_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        wanted = "Basic " + base64.b64encode(charge_point_id.encode() + b":" + expected).decode()
        if header != wanted:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "wrong or missing credentials\n")
        return None

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, connection: websockets.ServerConnection) -> None:
        charge_point_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        peer: Peer = (CsmsPeer201 if self.protocol == OCPP201 else CsmsPeer)(charge_point_id, connection, self)
        self.peers[charge_point_id] = peer
        self._raw_waiters[peer] = {}
        self.connections += 1
        await self._notify()
        try:
            await self._serve(peer)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_codes.append(connection.close_code)
            del self._raw_waiters[peer]
            if self.peers.get(charge_point_id) is peer:
                del self.peers[charge_point_id]
            await self._notify()

    async def _serve(self, peer: Peer) -> None:
        """The library's receive loop (`ChargePoint.start`), each frame first through `_intercepted`: the same
        recording, delays, raw answers and raw frames under both versions."""
        while True:
            raw_msg = await peer.connection.recv()
            peer.logger.info("%s: receive message %s", peer.id, raw_msg)
            if not await self._intercepted(peer, raw_msg):
                await peer.route_message(raw_msg)

    async def _intercepted(self, peer: Peer, raw_msg: str) -> bool:
        """Resolve a `send_raw` waiting for this answer; record a CALL, wait its `answer_delay_s` and answer it by
        `raw_answers` when that gives a frame. True: the frame is done with (not for the library)."""
        frame = json.loads(raw_msg) if raw_msg.startswith("[") else None
        waiters = self._raw_waiters[peer]
        if isinstance(frame, list) and len(frame) >= 3 and frame[1] in waiters:
            waiters.pop(frame[1]).set_result(frame)
            return True
        try:
            msg = unpack(raw_msg)
        except Exception:
            return False
        if msg.message_type_id != MessageType.Call:
            return False
        self.record(Received(time.monotonic(), peer.id, msg.action, msg.payload))
        await asyncio.sleep(self.behaviour.answer_delay_s.get(msg.action, 0.0))
        answer = self.behaviour.raw_answers.get(msg.action, lambda *_: None)(msg.unique_id, msg.payload)
        if answer:
            await peer._send(answer)
        return answer is not None

    def record(self, message: Received) -> None:
        self.received.append(message)
        if self._on_message is not None:
            self._on_message(message)
        asyncio.get_running_loop().create_task(self._notify())

    def issued(self, transaction_id: int) -> None:
        self.transaction_ids.append(transaction_id)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], within: float = 10.0) -> Any:
        """Wait at most `within` seconds until `predicate()` is truthy; return its value (TimeoutError)."""
        async with asyncio.timeout(within), self._changed:
            while not (result := predicate()):
                await self._changed.wait()
            return result

    async def wait_for(self, action: str, within: float = 10.0, after: int = 0,
                       where: Callable[[dict[str, Any]], bool] = lambda payload: True) -> Received:
        """The first `action` CALL received at index ≥ `after` whose payload satisfies `where`."""
        return await self.wait_until(lambda: next(
            (m for m in self.received[after:] if m.action == action and where(m.payload)), None), within)

    def of(self, action: str) -> list[Received]:
        return [m for m in self.received if m.action == action]

    @property
    def transactions(self) -> dict[str, list[dict[str, Any]]]:
        """OCPP 2.0.1: transactionId → the TransactionEvent payloads received for it, in order (a view of
        `received`; one without transactionInfo.transactionId, which the schema check refuses, is only there)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for m in self.of("TransactionEvent"):
            info = m.payload.get("transactionInfo")
            if isinstance(info, dict) and isinstance(info.get("transactionId"), str):
                found.setdefault(info["transactionId"], []).append(m.payload)
        return found

    def events(self, transaction_id: str) -> list[dict[str, Any]]:
        """OCPP 2.0.1: the TransactionEvent payloads received for `transaction_id`, in order."""
        return self.transactions.get(transaction_id, [])

    async def call(self, charge_point_id: str, payload: Any) -> Any:
        peer = await self.wait_until(lambda: self.peers.get(charge_point_id))
        return await peer.call(payload)

    async def send_raw(self, charge_point_id: str, frame: str, unique_id: str) -> list[Any]:
        """Send a raw frame and wait (10 s) for the CALLRESULT/CALLERROR carrying `unique_id`."""
        peer = await self.wait_until(lambda: self.peers.get(charge_point_id))
        waiter: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._raw_waiters[peer][unique_id] = waiter
        await peer._send(frame)
        async with asyncio.timeout(10):
            return await waiter
