"""The outbox pump: queued messages go to the CSMS strictly in order, each removed once confirmed.

OCPP 1.6 §4.10 / 2.0.1 E13 (transaction-related messages): delivery is guaranteed and ordered; a message
the CSMS answers with a CALLERROR is retried (TransactionMessageAttempts times, TransactionMessageRetryInterval
apart, growing), then set aside as a dead letter; a message with no answer is sent again, unchanged.
Nothing is sent before the wall clock is trusted: an event recorded before carries no date yet.
A message of no transaction (a firmware or log status, a security event) that the CSMS answers NotImplemented or
NotSupported is set aside at once: that CSMS does not take such messages, and retrying would only hold up the
transaction messages queued behind it.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ocpp.exceptions import OCPPError

from firmware.clock import Clock
from firmware.settings import Settings
from firmware.transactions.outbox import Outbox, OutboxMessage

log = logging.getLogger(__name__)


UNSUPPORTED = frozenset({"NotImplemented", "NotSupported"})
"""CALLERROR codes saying the CSMS does not take a message at all (OCPP-J §4.2.3)."""


class Unsendable(Exception):
    """A queued message that can never be sent (e.g. a stop whose start the CSMS never confirmed)."""


class Outbound(Protocol):
    """How an adapter sends one kind of queued message."""

    def request(self, message: OutboxMessage) -> Any:
        """The CALL payload for `message` (the same every time, so a resend is verbatim); raises Unsendable."""
        ...

    def confirmed(self, message: OutboxMessage, response: Any) -> None:
        """Apply the CSMS's answer; runs inside the database transaction that removes the message."""
        ...


class Notification:
    """A queued message of no transaction whose body is its request's fields (snake_case) and whose answer carries
    nothing: 1.6's Firmware- and DiagnosticsStatusNotification (§4.5, §4.4), the Security Whitepaper's
    SecurityEventNotification, LogStatusNotification and SignedFirmwareStatusNotification, and the 2.0.1 messages
    they were taken from (A04, N01, L01: the same fields)."""

    def __init__(self, request: type) -> None:
        self._request = request

    def request(self, message: OutboxMessage) -> Any:
        return self._request(**message.body)

    def confirmed(self, message: OutboxMessage, response: Any) -> None:
        """Nothing to apply: these answers are empty."""


class Pump:
    def __init__(self, outbox: Outbox, settings: Settings, clock: Clock, outbound: dict[str, Outbound],
                 before_send: Callable[[OutboxMessage], Awaitable[None]]) -> None:
        """`before_send(message)` returns once what must reach the CSMS before `message` has (the adapter's
        StatusNotifications of changes that happened before it was queued)."""
        self._outbox = outbox
        self._settings = settings
        self._clock = clock
        self._outbound = outbound
        self._before_send = before_send

    async def run(self, call: Callable[[Any], Awaitable[Any]]) -> None:
        """Send through `call` (which raises OCPPError for a CALLERROR, TimeoutError for no answer)."""
        await self._clock.wait_trusted()
        while True:
            message = self._outbox.head()
            if message is None:
                await self._outbox.wait()
                continue
            sender = self._outbound.get(message.kind)
            try:
                if sender is None:
                    raise Unsendable(f"no sender for messages of kind {message.kind}")
                request = sender.request(message)
            except Unsendable as e:
                self._outbox.record_failure(message, str(e), 1)
                continue
            await self._before_send(message)
            try:
                response = await call(request)
            except OCPPError as e:
                attempts = self._settings.integer("transaction_message_attempts")
                if message.tx_ref is None and e.code in UNSUPPORTED:
                    log.warning("CSMS does not take %s error=%s; set aside", message.kind, e.code)
                    attempts = 1
                if not self._outbox.record_failure(message, f"{e.code}: {e.description}", attempts):
                    wait = self._settings.integer("transaction_message_retry_interval_s") * (message.attempts + 1)
                    log.warning("CSMS refused %s tx_ref=%s error=%s; retry in %d s",
                                message.kind, message.tx_ref, e.code, wait)
                    await self._settings.sleep(wait, "transaction_message_retry_interval_s")  # a new interval: at once
                continue
            except TimeoutError:
                log.warning("no answer to %s tx_ref=%s; resending", message.kind, message.tx_ref)
                continue
            self._outbox.confirmed(message, lambda m=message, r=response, s=sender: s.confirmed(m, r))
