"""One websocket conversation in OCPP-J 1.6: frames in, CALLs to the registered handlers, our CALLs out.

The `ocpp` library supplies the messages, the schemas and their validation; this class routes and answers
itself, so that nothing a CSMS sends can raise out of it: a frame that is not OCPP-J is answered with a
FormationViolation when its id can be read and dropped otherwise (OCPP-J 1.6 §4.2.3), a CALL is answered with a
CALLRESULT or a 1.6 CALLERROR (`ocpp16.errors`), and an answer to no CALL of ours is dropped. Our own CALLs
(`ask`) go one at a time (OCPP-J 1.6 §4.1.1) and end in their CALLRESULT, an OCPPError (a CALLERROR, or an
answer that does not fit the message's schema) or TimeoutError. Handlers never await a CSMS call (frames
are read one at a time and an answer would never be read): follow-up work runs in tasks.

Handlers get `Ocpp16Services`: the core's `Services` and the adapter's own ports (what only the adapter can
do, e.g. send a message on request), so `core` stays free of OCPP.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Protocol

from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import (
    FormationViolationError,
    GenericError,
    InternalError,
    NotSupportedError,
    OCPPError,
    UnknownCallErrorCodeError,
)
from ocpp.messages import Call, CallError, CallResult, validate_payload
from ocpp.v16 import ChargePoint as LibraryChargePoint
from ocpp.v16 import call_result

from firmware.core.services import Services
from firmware.ocpp16 import compiled_schemas
from firmware.ocpp16.errors import described, ocpp16_error
from firmware.protocol import frames
from firmware.protocol.connection import summary
from firmware.protocol.registry import Handler, Registry

log = logging.getLogger(__name__)


class Triggers(Protocol):
    """The adapter's port for TriggerMessage (OCPP 1.6 §5.17): the messages it can send on request, and
    sending one. `trigger` returns at once; the message goes out in a task of the conversation."""

    @property
    def triggerable(self) -> frozenset[str]: ...

    def trigger(self, message: str, connector_id: int | None) -> None: ...


class Link(Protocol):
    """The adapter's port for the link itself: dial again (with a security profile just raised)."""

    def redial(self) -> None: ...


@dataclass(frozen=True)
class Ocpp16Services(Services):
    """What a 1.6 handler gets: the core's services, and the adapter's ports."""

    triggers: Triggers | None = None
    """Messages the charge point sends when the CSMS asks (TriggerMessage); None: none can be."""
    link: Link | None = None
    """The websocket (a raised SecurityProfile applies by connecting again); None: no link to redial."""

    @classmethod
    def of(cls, services: Services, triggers: Triggers | None, link: Link | None = None) -> "Ocpp16Services":
        """`services` with the adapter's ports added."""
        return cls(**{f.name: getattr(services, f.name) for f in fields(Services)}, triggers=triggers, link=link)


class Ocpp16Peer(LibraryChargePoint):
    def __init__(self, charge_point_id: str, connection: Any, registry: Registry, services: Services,
                 accepted: Callable[[], bool], response_timeout: float) -> None:
        super().__init__(charge_point_id, connection, response_timeout=response_timeout)
        self._registry = registry
        self._services = services
        self._accepted = accepted
        self._awaited: tuple[str, asyncio.Future[CallResult | CallError]] | None = None
        """The id of our CALL waiting for its answer, and where the answer goes."""

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
        # OCPP-J 1.6 §4.2.3: "syntactically incorrect or not conform the PDU structure"
        error = described(FormationViolationError(details={"cause": str(bad)}))
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
                raise NotSupportedError(details={"cause": f"no handler for {msg.action}"})  # 1.6 name: ocpp16_error
            answer, payload = await self._answer(msg, handler)
        except OCPPError as error:
            await self._send_error(msg, ocpp16_error(msg, error))
            return
        await self._send(msg.create_call_result(payload).to_json())
        if handler.fast_schema:
            log.info("%s answered status=%s took_ms=%.1f", msg.action, payload.get("status"),
                     1000 * (time.perf_counter() - received))
        if handler.then is not None:
            handler.then(self._services, answer, **camel_to_snake_case(msg.payload))

    async def _answer(self, msg: Call, handler: Handler) -> tuple[Any, dict[str, Any]]:
        """The handler's answer and its payload. A `fast_schema` handler's request is checked by a compiled
        schema and read as sent; the others' by the library's validator, with snake_case fields."""
        if handler.fast_schema:
            if (error := compiled_schemas.schema_error(msg)) is not None:
                raise error
            answer = self._refusal(handler) or self._carry_out(handler, msg, msg.payload)
        else:
            await _validated(msg, self._ocpp_version)
            answer = self._refusal(handler) or self._carry_out(handler, msg, **camel_to_snake_case(msg.payload))
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
        await self._send(msg.create_call_error(described(answer)).to_json())

    # --- our CALLs ------------------------------------------------------------------------------

    async def ask(self, request: Any) -> Any:
        """Send `request` (a `ocpp.v16.call` dataclass) and return the CSMS's CALLRESULT as the matching
        `ocpp.v16.call_result` dataclass. Raises OCPPError for a CALLERROR or an answer that breaks the
        message's schema, TimeoutError when no answer came within the response timeout."""
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
        return await _result(action, response, self._ocpp_version)


async def _validated(msg: Call | CallResult, version: str) -> None:
    """The library's schema check of a CSMS request or answer. Its OCPPErrors are the 1.6 CALLERRORs
    (`ocpp16_error`); anything else it raises on a payload it cannot check (a number its decimal arithmetic cannot
    divide, say) is FormationViolation, not a fault of ours."""
    try:
        await validate_payload(msg, version)
    except OCPPError:
        raise
    except Exception as e:
        raise FormationViolationError(details={"cause": f"payload could not be checked: {summary(e)}"}) from None


def _refusal(error: CallError) -> OCPPError:
    """A CALLERROR as the library's exception; a code OCPP does not define is a GenericError."""
    try:
        return error.to_exception()
    except UnknownCallErrorCodeError:
        return GenericError(description=str(error.error_description)[:200],
                            details={"cause": f"unknown error code {str(error.error_code)[:40]}"})


async def _result(action: str, response: CallResult, version: str) -> Any:
    """A CALLRESULT as its `call_result` dataclass, once it fits the schema of `action`'s answer."""
    response.action = action
    await _validated(response, version)
    try:
        return getattr(call_result, action)(**camel_to_snake_case(response.payload))
    except TypeError as e:  # a field the dataclass does not know, in a schema that allows more
        raise FormationViolationError(details={"cause": str(e)[:200]}) from None
