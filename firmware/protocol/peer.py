"""One OCPP-J websocket conversation, the same for every OCPP version: frames in, CALLs to the registered handlers,
our CALLs out. A version's peer (`ocpp16.peer`, `ocpp201.peer`) says what differs: the library's version, its
call_result module, its CALLERROR codes and descriptions.

The `ocpp` library supplies the messages, the schemas and their validation; this class routes and answers
itself, so that nothing a CSMS sends can raise out of it: a frame that is not OCPP-J is answered with the version's
error for it when its id can be read and dropped otherwise (OCPP-J 1.6 §4.2.3, 2.0.1 §4.3), a CALL is answered with a
CALLRESULT or a CALLERROR, and an answer to no CALL of ours is dropped. Our own CALLs (`ask`) go one at a time (OCPP-J
1.6 §4.1.1, 2.0.1 §4.1.1) and end in their CALLRESULT, an OCPPError (a CALLERROR, or an answer that does not fit the
message's schema) or TimeoutError. Handlers never await a CSMS call (frames are read one at a time and an answer would
never be read): follow-up work runs in tasks.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any, Protocol

from ocpp.charge_point import ChargePoint as LibraryChargePoint
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import (
    FormatViolationError,
    GenericError,
    InternalError,
    NotSupportedError,
    OCPPError,
    UnknownCallErrorCodeError,
)
from ocpp.messages import Call, CallError, CallResult, validate_payload

from firmware.protocol import frames
from firmware.protocol.connection import summary
from firmware.protocol.registry import Handler, Registry

log = logging.getLogger(__name__)


class Triggers(Protocol):
    """The adapter's port for TriggerMessage (OCPP 1.6 §5.17, 2.0.1 F06): the messages it can send on request, and
    sending one. `trigger` returns at once; the message goes out in a task of the conversation."""

    @property
    def triggerable(self) -> frozenset[str]: ...

    def trigger(self, message: str, connector_id: int | None) -> None: ...


class Link(Protocol):
    """The adapter's port for the link itself: dial again (with a security profile just raised)."""

    def redial(self) -> None: ...

    @property
    def csms_url(self) -> str:
        """The CSMS's url as the config file gives it (`[csms] url`)."""
        ...

    @property
    def dialed_profile(self) -> int:
        """The security profile the current connection was made with."""
        ...


class Peer(LibraryChargePoint):
    """The version-independent conversation. A subclass sets `_ocpp_version` and `results` and may override
    `error_for` (the library's error → the version's), `described` and `malformed`."""

    results: ModuleType
    """The version's `call_result` module."""

    def __init__(self, charge_point_id: str, connection: Any, registry: Registry, services: Any,
                 accepted: Callable[[], bool], response_timeout: float) -> None:
        super().__init__(charge_point_id, connection, response_timeout=response_timeout)
        self._registry = registry
        self._services = services
        self._accepted = accepted
        self._awaited: tuple[str, asyncio.Future[CallResult | CallError]] | None = None
        """The id of our CALL waiting for its answer, and where the answer goes."""

    def error_for(self, msg: Call, error: OCPPError) -> OCPPError:
        """The version's CALLERROR for what the library raised while handling `msg`."""
        return error

    def described(self, error: OCPPError) -> OCPPError:
        """`error` with the description the version's spec gives its code."""
        return error

    def malformed(self, cause: str) -> OCPPError:
        """The error for a frame that is not OCPP-J but whose message id can be read."""
        return FormatViolationError(details={"cause": cause})

    def request_fields(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A checked request's fields as its handler (and `then`) take them: snake_case keyword arguments."""
        return camel_to_snake_case(payload)

    def fast_schema_error(self, msg: Call) -> OCPPError | None:
        """The compiled schema's verdict on a `fast_schema` handler's request (None: valid)."""
        raise NotImplementedError(f"no compiled schemas for OCPP {self._ocpp_version}")

    def _refusal(self, handler: Handler) -> Any:
        """The answer that replaces the handler's while the boot is not Accepted, if it has one."""
        return None if self._accepted() else handler.until_accepted

    # --- frames from the CSMS -------------------------------------------------------------------

    async def route_message(self, raw_msg: str | bytes) -> None:
        received = time.perf_counter()
        try:
            msg = frames.parse(raw_msg)
        except frames.BadFrame as bad:
            await self._bad_frame(raw_msg, bad)
            return
        if isinstance(msg, Call):
            await self._serve(msg, received)
        else:
            self._answered(msg)

    async def _bad_frame(self, raw: str | bytes, bad: frames.BadFrame) -> None:
        unique_id = frames.call_id(raw)
        if unique_id is None:
            log.warning("unparseable frame from CSMS dropped error=%s cause=%s length=%d", bad.kind, bad, len(raw))
            return
        error = self.described(self.malformed(str(bad)))
        log.warning("malformed CALL from CSMS id=%s answered=%s cause=%s", unique_id[:40], error.code, bad)
        await self._send(CallError(unique_id, error.code, error.description, error.details).to_json())

    def _answered(self, msg: CallResult | CallError) -> None:
        awaited = self._awaited
        if awaited is not None and msg.unique_id == awaited[0] and not awaited[1].done():
            awaited[1].set_result(msg)
            return
        log.info("answer to no pending CALL dropped id=%s", msg.unique_id[:40])

    async def _serve(self, msg: Call, received: float) -> None:
        """Answer a CALL; a handler's `then` runs once the CALLRESULT is written."""
        handler = self._registry.get(msg.action)
        try:
            if handler is None:
                raise NotSupportedError(details={"cause": f"no handler for {msg.action}"})  # named by error_for
            answer, payload = await self._answer(msg, handler)
        except OCPPError as error:
            await self._send_error(msg, self.error_for(msg, error))
            return
        await self._send(msg.create_call_result(payload).to_json())
        if handler.fast_schema:
            log.info("%s answered status=%s took_ms=%.1f", msg.action, payload.get("status"),
                     1000 * (time.perf_counter() - received))
        if handler.then is not None:
            try:
                handler.then(self._services, answer, **self.request_fields(msg.payload))
            except Exception as e:  # the answer is out; a fault in what follows it costs a log line, not the link
                log.error("follow-up failed action=%s id=%s error=%s", msg.action, msg.unique_id[:40], summary(e))

    async def _answer(self, msg: Call, handler: Handler) -> tuple[Any, dict[str, Any]]:
        """The handler's answer and its payload. A `fast_schema` handler's request is checked by a compiled
        schema and read as sent; the others' by the library's validator, with snake_case fields."""
        if handler.fast_schema:
            if (error := self.fast_schema_error(msg)) is not None:
                raise error
            answer = self._refusal(handler) or self._carry_out(handler, msg, msg.payload)
        else:
            await _validated(msg, self._ocpp_version)
            answer = self._refusal(handler) or self._carry_out(handler, msg, **self.request_fields(msg.payload))
        return answer, snake_to_camel_case(remove_nones(serialize_as_dict(answer)))

    def _carry_out(self, handler: Handler, msg: Call, *args: Any, **payload: Any) -> Any:
        """Run the handler. A fault in it is answered with InternalError and logged in one line (where it
        happened included): the CSMS sent a valid request, and the link and the sessions go on."""
        try:
            return handler.handle(self._services, *args, **payload)
        except OCPPError:
            raise
        except Exception as e:
            log.error("handler failed action=%s id=%s error=%s", msg.action, msg.unique_id[:40], summary(e))
            raise InternalError(details={"cause": f"{msg.action} failed in the charge point"}) from None

    async def _send_error(self, msg: Call, answer: OCPPError) -> None:
        log.warning("CALLERROR to CSMS action=%s id=%s code=%s cause=%s", str(msg.action)[:40], msg.unique_id[:40],
                    answer.code, answer.details.get("cause") if isinstance(answer.details, dict) else None)
        await self._send(msg.create_call_error(self.described(answer)).to_json())

    # --- our CALLs ------------------------------------------------------------------------------

    @asynccontextmanager
    async def calls_held(self, within_s: float) -> AsyncIterator[None]:
        """A block with no CALL of ours in flight: it begins once the CSMS answered the one in flight (at most
        `within_s`, then it begins anyway), and the next CALL waits until it ends. Closing the link here cannot
        cut the CSMS off in the middle of answering us (OCPP-J: what it answers after our close is lost, and a
        CSMS on the `ocpp` library then drops what it had received but not read, our last answer too)."""
        try:
            async with asyncio.timeout(within_s):
                await self._call_lock.acquire()
        except TimeoutError:
            yield
            return
        try:
            yield
        finally:
            self._call_lock.release()

    async def ask(self, request: Any) -> Any:
        """Send `request` (a `call` dataclass of the version) and return the CSMS's CALLRESULT as the matching
        `call_result` dataclass. Raises OCPPError for a CALLERROR or an answer that breaks the message's schema,
        TimeoutError when no answer came within the response timeout."""
        action = type(request).__name__
        msg = Call(str(uuid.uuid4()), action, remove_nones(snake_to_camel_case(serialize_as_dict(request))))
        await validate_payload(msg, self._ocpp_version)
        async with self._call_lock:
            answered: asyncio.Future[CallResult | CallError] = asyncio.get_running_loop().create_future()
            self._awaited = (msg.unique_id, answered)
            try:
                await self._send(msg.to_json())
                async with asyncio.timeout(self._response_timeout):
                    response = await answered
            finally:
                self._awaited = None
        if isinstance(response, CallError):
            raise _refusal(response)
        return await self._result(action, response)

    async def _result(self, action: str, response: CallResult) -> Any:
        """A CALLRESULT as its `call_result` dataclass, once it fits the schema of `action`'s answer."""
        response.action = action
        await _validated(response, self._ocpp_version)
        try:
            return getattr(self.results, action)(**camel_to_snake_case(response.payload))
        except TypeError as e:  # a field the dataclass does not know, in a schema that allows more
            raise self.malformed(str(e)[:200]) from None


async def _validated(msg: Call | CallResult, version: str) -> None:
    """The library's schema check of a CSMS request or answer. Its OCPPErrors are mapped by the version's peer
    (`error_for`); anything else it raises on a payload it cannot check (a number its decimal arithmetic cannot
    divide, say) is a FormatViolation, not a fault of ours."""
    try:
        await validate_payload(msg, version)
    except OCPPError:
        raise
    except Exception as e:
        raise FormatViolationError(details={"cause": f"payload could not be checked: {summary(e)}"}) from None


def _refusal(error: CallError) -> OCPPError:
    """A CALLERROR as the library's exception; a code OCPP does not define is a GenericError."""
    try:
        return error.to_exception()
    except UnknownCallErrorCodeError:
        return GenericError(description=str(error.error_description)[:200],
                            details={"cause": f"unknown error code {str(error.error_code)[:40]}"})
