"""The `ocpp` library's ChargePoint for one websocket connection, with thin OCPP 1.6 operations.

Each `@on` handler parses, calls one core method and builds the reply. Handlers never await a CSMS
call (the library's receive loop is serial and would deadlock): follow-up work runs in tasks.
"""

import logging
import time
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import FormationViolationError, OCPPError
from ocpp.messages import Call, CallError, MessageType, unpack
from ocpp.routing import on
from ocpp.v16 import ChargePoint as LibraryChargePoint
from ocpp.v16 import call_result
from ocpp.v16.enums import (
    Action,
    ClearCacheStatus,
    ConfigurationStatus,
    RemoteStartStopStatus,
    ResetStatus,
    ResetType,
)

from firmware.ocpp16 import compiled_schemas, convert
from firmware.ocpp16.errors import frame_id, ocpp16_error

if TYPE_CHECKING:
    from firmware.ocpp16.link import Ocpp16Link

log = logging.getLogger(__name__)


class Ocpp16Peer(LibraryChargePoint):
    def __init__(self, charge_point_id: str, connection: Any, link: "Ocpp16Link", response_timeout: float) -> None:
        super().__init__(charge_point_id, connection, response_timeout=response_timeout)
        self._link = link

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
            await self._send(CallError(unique_id, "FormationViolation", error.description, {}).to_json())
            return
        if msg.message_type_id != MessageType.Call:
            self._response_queue.put_nowait(msg)
            return
        try:
            if not isinstance(msg.action, str):
                raise FormationViolationError(details={"cause": "action is not a string"})
            if msg.action == Action.send_local_list:
                await self._send_local_list(msg, received)
            else:
                await self._handle_call(msg)
        except OCPPError as error:
            await self._send_error(msg, ocpp16_error(msg, error))

    async def _send_error(self, msg: Call, answer: OCPPError) -> None:
        log.warning("CALLERROR to CSMS action=%s id=%s code=%s cause=%s", msg.action, msg.unique_id,
                    answer.code, answer.details.get("cause") if isinstance(answer.details, dict) else None)
        await self._send(msg.create_call_error(answer).to_json())

    async def _send_local_list(self, msg: Call, received: float) -> None:
        """SendLocalList, outside the library's router: its lists are too large for the library's
        validator (see `compiled_schemas`). Logs the time from frame received to list committed."""
        error = compiled_schemas.schema_error(msg)
        if error is not None:
            await self._send_error(msg, error)
            return
        status = self._link.authorizer.update_local_list(convert.list_update(msg.payload))
        log.info("SendLocalList answered status=%s entries=%d took_ms=%.1f", status,
                 len(msg.payload.get("localAuthorizationList", ())), 1000 * (time.perf_counter() - received))
        await self._send(msg.create_call_result({"status": status.value}).to_json())

    @on(Action.remote_start_transaction)
    def on_remote_start_transaction(self, id_tag: str, connector_id: int | None = None,
                                    charging_profile: dict | None = None) -> call_result.RemoteStartTransaction:
        accepted = self._link.remote_start(connector_id, id_tag)
        return call_result.RemoteStartTransaction(
            status=RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected)

    @on(Action.remote_stop_transaction)
    def on_remote_stop_transaction(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        accepted = self._link.remote_stop(transaction_id)
        return call_result.RemoteStopTransaction(
            status=RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected)

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None) -> call_result.GetConfiguration:
        known, unknown = self._link.configuration.entries(key)
        return call_result.GetConfiguration(
            configuration_key=[{"key": k, "readonly": ro, "value": v} for k, ro, v in known],
            unknown_key=unknown or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str) -> call_result.ChangeConfiguration:
        result = self._link.configuration.change(key, value)
        return call_result.ChangeConfiguration(status=ConfigurationStatus(result.value))

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self) -> call_result.GetLocalListVersion:
        return call_result.GetLocalListVersion(list_version=self._link.authorizer.local_list_version())

    @on(Action.clear_cache)
    def on_clear_cache(self) -> call_result.ClearCache:
        """OCPP 1.6 §5.4: the cache is emptied; the Local List is not touched."""
        self._link.authorizer.cache.clear()
        return call_result.ClearCache(status=ClearCacheStatus.accepted)

    @on(Action.reset)
    def on_reset(self, type: str) -> call_result.Reset:
        """OCPP 1.6 §5.15: accepted, then transactions end with reason SoftReset/HardReset and the
        charge point restarts once this answer is on its way (see `App.reset`)."""
        hard = type == ResetType.hard
        accepted = self._link.on_reset(hard)
        return call_result.Reset(status=ResetStatus.accepted if accepted else ResetStatus.rejected)
