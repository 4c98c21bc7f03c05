"""The ocpp-csms backend of the interop tests, with a command channel: run by the interpreter of its own
virtual environment (`.venv-interop/ocpp-csms`, see install.sh), never imported by evsed or the tests.

It serves ocpp-csms's `CentralSystem` on 127.0.0.1:PORT. An idTag named by `--accept` is Accepted, any other
Invalid (the library's `authorize` hook, which answers Authorize and StartTransaction). Its log (stderr)
carries the library's own wire log (`ocpp_csms.wire` at debug: every frame received and sent) and one
line per library event.

The command channel is newline-delimited JSON: on stdin `{"id": n, "action": "Reset", "payload":
{"type": "Soft"}}` (the OCPP request, camelCase), on stdout `{"id": n, "answer": {...}}` with the charge
point's confirmation as the library returned it, or `{"id": n, "error": "CsmsConnectionError: ..."}` when the
library's call failed. The first stdout line is `{"ready": PORT}`. Every request goes through the
library's `ChargePoint.async_*` methods (`async_call` for the Local List, which has no method of its own).
"""

import argparse
import asyncio
import dataclasses
import json
import logging
import sys
from typing import Any

from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case
from ocpp.v16 import call
from ocpp_csms import AuthorizationStatus, CentralSystem, ChargePoint, CsmsError, ResetType

log = logging.getLogger("interop.csms_driver")

CALL_TIMEOUT_S = 10.0
"""How long the library waits for a charge point's confirmation."""


async def run_command(cp: ChargePoint, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Send one request through the library's method for it; the confirmation as a camelCase payload."""
    p = camel_to_snake_case(payload)
    match action:
        case "RemoteStartTransaction":
            return {"status": await cp.async_remote_start_transaction(p["id_tag"], p.get("connector_id"))}
        case "RemoteStopTransaction":
            return {"status": await cp.async_remote_stop_transaction(p["transaction_id"])}
        case "Reset":
            return {"status": await cp.async_reset(ResetType(p["type"]))}
        case "ChangeConfiguration":
            return {"status": await cp.async_change_configuration(p["key"], p["value"])}
        case "GetConfiguration":
            answer = await cp.async_get_configuration(p.get("key"))
            keys = [{"key": v.key, "readonly": v.readonly, "value": v.value} for v in answer.values.values()]
            return {"configurationKey": keys, "unknownKey": list(answer.unknown_keys)}
        case "SendLocalList" | "GetLocalListVersion":
            request = getattr(call, action)(**p)
            return snake_to_camel_case(dataclasses.asdict(await cp.async_call(request)))
    raise ValueError(f"no command {action}")


class Driver:
    """The central system and the command channel around it."""

    def __init__(self, port: int, accepted: set[str]) -> None:
        self.accepted = accepted
        self.central = CentralSystem(host="127.0.0.1", port=port, call_timeout=CALL_TIMEOUT_S,
                                     authorize=self.authorize)
        self.central.add_listener(lambda event: log.info("event=%s", event))
        self.tasks: set[asyncio.Task[None]] = set()

    async def authorize(self, cp: ChargePoint, id_tag: str) -> AuthorizationStatus:
        return AuthorizationStatus.ACCEPTED if id_tag in self.accepted else AuthorizationStatus.INVALID

    async def answer(self, line: bytes) -> None:
        """Carry out one request line and write its answer line."""
        request = json.loads(line)
        reply: dict[str, Any] = {"id": request["id"]}
        cp = self.central.charge_points.get(request["charge_point"])
        try:
            if cp is None:
                raise CsmsError(f"charge point {request['charge_point']} never connected")
            reply["answer"] = await run_command(cp, request["action"], request.get("payload", {}))
        except (CsmsError, ValueError, KeyError) as e:
            reply["error"] = f"{type(e).__name__}: {e}"
        log.info("command id=%s action=%s reply=%s", request["id"], request["action"], json.dumps(reply))
        write(reply)

    async def serve(self, commands: asyncio.StreamReader) -> None:
        """Until stdin closes: each request runs as its own task, so a slow one holds up no other."""
        async with self.central:
            write({"ready": self.central.port})
            while line := await commands.readline():
                task = asyncio.create_task(self.answer(line))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)


def write(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--accept", nargs="*", default=[], help="idTags answered Accepted (others: Invalid)")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    logging.getLogger("ocpp_csms.wire").setLevel(logging.DEBUG)
    commands = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    await Driver(args.port, set(args.accept)).serve(commands)


if __name__ == "__main__":
    asyncio.run(main())
