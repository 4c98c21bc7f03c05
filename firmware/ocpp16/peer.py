"""The `ocpp` library's ChargePoint for one websocket connection, routing CALLs to the registered handlers.

The route map is built from the registry (`ocpp16.handlers`); errors are answered with OCPP-J 1.6's
CALLERROR codes (`ocpp16.errors`). Handlers never await a CSMS call (the library's receive loop is
serial and would deadlock): follow-up work runs in tasks.
"""

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import FormationViolationError, OCPPError
from ocpp.messages import Call, CallError, MessageType, unpack
from ocpp.v16 import ChargePoint as LibraryChargePoint

from firmware.core.services import Services
from firmware.ocpp16 import compiled_schemas
from firmware.ocpp16.errors import DESCRIPTIONS, described, frame_id, ocpp16_error
from firmware.protocol.registry import Handler, Registry

log = logging.getLogger(__name__)


class Ocpp16Peer(LibraryChargePoint):
    def __init__(self, charge_point_id: str, connection: Any, registry: Registry, services: Services,
                 accepted: Callable[[], bool], response_timeout: float) -> None:
        super().__init__(charge_point_id, connection, response_timeout=response_timeout)
        self._registry = registry
        self._services = services
        self._accepted = accepted
        self._answer: Any = None
        """The answer the last routed CALL got from its handler (CALLs are routed one at a time)."""
        self.route_map = {h.action: {"_on_action": self._bound(h), "_skip_schema_validation": False}
                          for h in registry if not h.fast_schema}

    def _bound(self, handler: Handler) -> Callable[..., Any]:
        """The library's `@on` function for `handler`: the payload's fields, plus the services."""

        @functools.wraps(handler.handle)
        def on_action(**payload: Any) -> Any:
            self._answer = self._refusal(handler) or handler.handle(self._services, **payload)
            return self._answer

        return on_action

    def _refusal(self, handler: Handler) -> Any:
        """The answer that replaces the handler's while the boot is not Accepted, if it has one."""
        return None if self._accepted() else handler.until_accepted

    async def route_message(self, raw_msg: str) -> None:
        """Route a frame, answering errors with OCPP-J 1.6 error codes.

        A frame that cannot be unpacked is answered with FormationViolation when its message id can
        be read; otherwise there is no id to answer, so it is logged and dropped.
        """
        received = time.perf_counter()
        try:
            msg = unpack(raw_msg)
        except OCPPError as error:
            unique_id = frame_id(raw_msg)
            if unique_id is None:
                log.warning("unparseable frame from CSMS dropped error=%s length=%d", error.code, len(raw_msg))
                return
            log.warning("malformed CALL from CSMS id=%s error=%s", unique_id, error.code)
            await self._send(CallError(unique_id, "FormationViolation", DESCRIPTIONS["FormationViolation"],
                                       {}).to_json())
            return
        if msg.message_type_id != MessageType.Call:
            self._response_queue.put_nowait(msg)
            return
        try:
            if not isinstance(msg.action, str):
                raise FormationViolationError(details={"cause": "action is not a string"})
            handler = self._registry.get(msg.action)
            self._answer = None
            if handler is not None and handler.fast_schema:
                await self._fast_call(msg, handler, received)
            else:
                await self._handle_call(msg)  # returns once the answer is written
        except OCPPError as error:
            await self._send_error(msg, ocpp16_error(msg, error))
            return
        if handler is not None and handler.then is not None and self._answer is not None:
            handler.then(self._services, self._answer, **camel_to_snake_case(msg.payload))

    async def _send_error(self, msg: Call, answer: OCPPError) -> None:
        log.warning("CALLERROR to CSMS action=%s id=%s code=%s cause=%s", msg.action, msg.unique_id,
                    answer.code, answer.details.get("cause") if isinstance(answer.details, dict) else None)
        await self._send(msg.create_call_error(described(answer)).to_json())

    async def _fast_call(self, msg: Call, handler: Handler, received: float) -> None:
        """A `fast_schema` handler, outside the library's router: the compiled schema checks the payload and
        the handler reads it as sent. Logs the time from frame received to answer sent."""
        error = compiled_schemas.schema_error(msg)
        if error is not None:
            await self._send_error(msg, error)
            return
        self._answer = self._refusal(handler) or handler.handle(self._services, msg.payload)
        payload = snake_to_camel_case(remove_nones(serialize_as_dict(self._answer)))
        log.info("%s answered status=%s took_ms=%.1f", msg.action, payload.get("status"),
                 1000 * (time.perf_counter() - received))
        await self._send(msg.create_call_result(payload).to_json())
