"""The websocket to the CSMS: connect with the adapter's subprotocol, reconnect with backoff, hold it down.

Supervision: whatever ends a conversation (the network, the CSMS closing, an answer the adapter could not
take, a fault in the adapter itself) ends only that connection: one log line, and the link is dialled again
with backoff. The connectors and their sessions run in their own tasks and never see it.

OCPP-J (1.6 §3, 2.0.1 part 4 §3): the charge point opens the connection to `url/<charge point id>` and
asks for its OCPP version as the websocket subprotocol; a CSMS that does not accept it is not spoken to.
"""

import asyncio
import logging
import random
import traceback
from collections.abc import Awaitable, Callable

import websockets

from firmware.protocol.security import LinkSecurity
from firmware.settings import Settings

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 8 * 2**20
CLOSE_TIMEOUT_S = 2.0
"""How long a closing handshake may take: a CSMS that does not answer the close frame cannot hold up a stop
or a reset for longer."""

Session = Callable[[websockets.ClientConnection], Awaitable[None]]
"""The adapter's conversation over one open connection; returns or raises ConnectionClosed when it ends."""


def reconnect_delay(attempt: int, cap_s: float) -> float:
    """Exponential backoff with jitter: attempt 0 waits 2-4 s (the first retry within 5 s), capped."""
    ceiling = min(cap_s, 4.0 * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


def summary(error: BaseException) -> str:
    """One log line's worth of an error: each leaf of a group, with where it was raised."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(summary(inner) for inner in error.exceptions[:3])
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at={frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}: {str(error)[:160]}{where}"


class Connection:
    def __init__(self, endpoint: str, shown_url: str, subprotocol: str, settings: Settings, reconnect_max_s: float,
                 session: Session, security: LinkSecurity | None = None) -> None:
        """`security`: the TLS context and credentials of each dial (None: a plain connection)."""
        self._endpoint = endpoint
        self.url = shown_url
        """The endpoint for logs and status (no password)."""
        self._subprotocol = subprotocol
        self._settings = settings
        self._reconnect_max_s = reconnect_max_s
        self._session = session
        self._security = security
        self._connection: websockets.ClientConnection | None = None
        self._wanted = asyncio.Event()
        self._wanted.set()
        self._closing = False
        self._redial = False

    @property
    def connected(self) -> bool:
        return self._connection is not None

    def set_wanted(self, up: bool) -> None:
        """Down cuts the connection as a network loss would, and keeps it down until up (`evsed sim link`)."""
        if up:
            self._wanted.set()
            return
        self._wanted.clear()
        if self._connection is not None:
            self._connection.transport.abort()

    @property
    def wanted(self) -> bool:
        return self._wanted.is_set()

    async def redial(self) -> None:
        """Close the connection normally and dial again at once (a security profile was raised)."""
        connection = self._connection
        if connection is not None:
            self._redial = True
            await connection.close(websockets.CloseCode.SERVICE_RESTART, "security profile changed")

    async def close(self) -> None:
        """End the link for good (the daemon stops or restarts): everything written so far reaches the CSMS,
        then the closing handshake with 1001 Going Away (RFC 6455 §7.4.1), at most CLOSE_TIMEOUT_S."""
        self._closing = True
        self._wanted.set()  # `run` returns instead of waiting to be wanted again
        connection = self._connection
        if connection is not None:
            await connection.close(websockets.CloseCode.GOING_AWAY, "charge point stopping")

    async def run(self) -> None:
        """Connect, serve, reconnect with backoff; returns once `close` was called (the daemon ends the link
        with `close` before cancelling: a cancel arriving while a session's task group fails is absorbed by
        it in Python 3.11, so the loop must end by itself)."""
        attempt = 0
        while True:
            await self._wanted.wait()
            if self._closing:
                return
            served, failure = False, None
            try:
                options = self._security.dial() if self._security else {}
                async with websockets.connect(self._endpoint, subprotocols=[self._subprotocol],
                                              open_timeout=10, ping_interval=None, close_timeout=CLOSE_TIMEOUT_S,
                                              max_size=MAX_FRAME_BYTES, **options) as connection:
                    if connection.subprotocol != self._subprotocol:
                        log.error("CSMS did not accept subprotocol %s url=%s", self._subprotocol, self.url)
                    else:
                        attempt, served = 0, True
                        if self._security:
                            self._security.connected()
                        await self._serve(connection)
            except (OSError, TimeoutError, websockets.WebSocketException) as e:  # a TLS refusal and a 401 too
                log.warning("CSMS link down url=%s error=%s", self.url, e or type(e).__name__)
                failure = e
            except Exception as e:  # supervision: a fault in the conversation never ends the daemon
                log.error("CSMS link failed, dropped and dialled again url=%s error=%s", self.url, summary(e))
                failure = e
            if not served and self._security and failure is not None:
                self._security.failed(failure)
            if self._closing:
                return
            if self._redial:
                self._redial = False
                continue
            if not self._wanted.is_set():
                log.info("CSMS link held down")
                continue
            delay = reconnect_delay(attempt, self._reconnect_max_s)
            attempt += 1
            log.info("reconnecting to CSMS in %.1f s attempt=%d", delay, attempt)
            await asyncio.sleep(delay)

    async def _serve(self, connection: websockets.ClientConnection) -> None:
        self._connection = connection
        log.info("CSMS connected url=%s", self.url)
        keepalive = asyncio.create_task(self._keepalive(connection), name="keepalive")
        try:
            await self._session(connection)
        except* websockets.ConnectionClosed:
            log.log(logging.INFO if self._closing else logging.WARNING, "CSMS connection closed url=%s", self.url)
        finally:
            keepalive.cancel()
            self._connection = None

    async def _keepalive(self, connection: websockets.ClientConnection) -> None:
        """A websocket ping every WebSocketPingInterval (OCPP 1.6 §9.1; 0: none); no pong within the interval
        means the link is dead, and it is dropped so the reconnect begins. A new interval applies at once."""
        name = "websocket_ping_interval_s"
        async for _ in self._settings.every(name):
            try:
                pong = await connection.ping()
                async with asyncio.timeout(self._settings.integer(name) or None):  # 0 now: ping no more
                    await pong
            except websockets.ConnectionClosed:
                return  # the session sees it too, and ends
            except TimeoutError:
                log.warning("CSMS link dead: no pong within %d s url=%s", self._settings.integer(name), self.url)
                connection.transport.abort()
                return
