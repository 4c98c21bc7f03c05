"""Local control socket: newline-delimited JSON requests and answers over a unix socket.

The socket (`evsed.sock` beside the database) is created owner-only (0600). Its commands are in
`daemon.control_commands`; `request()` is the client side used by `evsed sim`, the demo and the tests.
"""

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
MAX_REQUEST_BYTES = 64 * 1024
REQUEST_TIMEOUT_S = 10.0


class ControlError(Exception):
    """A request that cannot be carried out; its message goes back to the client."""


class ControlServer:
    def __init__(self, path: Path, handlers: dict[str, Handler]) -> None:
        self.path = path
        self._handlers = handlers
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)
        old_umask = os.umask(0o177)  # the socket is born owner-only, no window for others
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=self.path, limit=MAX_REQUEST_BYTES)
        finally:
            os.umask(old_umask)
        log.info("control socket listening path=%s", self.path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            answer = await self._answer(line)
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, ValueError) as e:
            log.warning("control request failed error=%s", e)
        finally:
            writer.close()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ControlError("request must be a JSON object")
            handler = self._handlers.get(request.get("cmd"))  # type: ignore[arg-type]
            if handler is None:
                raise ControlError(f"unknown command {request.get('cmd')!r}; known: {', '.join(self._handlers)}")
            return {"ok": True, **await handler(request)}
        except json.JSONDecodeError:
            return {"ok": False, "error": "request is not JSON"}
        except ControlError as e:
            return {"ok": False, "error": str(e)}


async def request(path: Path, command: dict[str, Any]) -> dict[str, Any]:
    """Send one command to a running daemon and return its answer."""
    async with asyncio.timeout(REQUEST_TIMEOUT_S):
        reader, writer = await asyncio.open_unix_connection(path, limit=2**24)
        try:
            writer.write(json.dumps(command).encode() + b"\n")
            await writer.drain()
            return json.loads(await reader.readline())
        finally:
            writer.close()
