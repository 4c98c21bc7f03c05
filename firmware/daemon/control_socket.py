"""Local control socket: newline-delimited JSON requests and answers over a unix socket.

The socket (`evsed.sock` beside the database) is created owner-only (0600). Its commands are in
`daemon.control_commands`; `request()` is the client side used by `evsed sim`, the demo and the tests.
"""

import asyncio
import json
import logging
import os
import reprlib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
MAX_REQUEST_BYTES = 64 * 1024
REQUEST_TIMEOUT_S = 10.0


class ControlError(Exception):
    """A request that cannot be carried out; its message goes back to the client."""


Arg = TypeVar("Arg", str, int, bool)
_KINDS = {str: "a string", int: "an integer", bool: "true or false"}


def optional_argument(request: Mapping[str, Any], name: str, kind: type[Arg]) -> Arg | None:
    """The request's `name` (None when absent or null); ControlError when it is not exactly of `kind`
    (true is not the integer 1, a list is no connector number)."""
    value = request.get(name)
    if value is not None and type(value) is not kind:
        raise ControlError(f"{name} must be {_KINDS[kind]}, not {type(value).__name__} {shown(value)}")
    return value


def argument(request: Mapping[str, Any], name: str, kind: type[Arg]) -> Arg:
    """The request's `name`, which must be given and be exactly of `kind`; ControlError otherwise."""
    value = optional_argument(request, name, kind)
    if value is None:
        raise ControlError(f"{name} is missing (give {_KINDS[kind]})")
    return value


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40


def shown(value: object) -> str:
    """A client's value in an answer or a log line, cut short."""
    return _SHORT.repr(value)


def parse_request(line: bytes) -> dict[str, Any]:
    """One request line → its JSON object; ControlError, saying what is wrong, for anything else."""
    if not line.strip():
        raise ControlError("empty request: send one JSON object on one line")
    try:
        request = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise ControlError("request is not UTF-8 text") from None
    except RecursionError:
        raise ControlError("request is not JSON this daemon reads (nested too deeply)") from None
    except ValueError as e:  # JSONDecodeError, and integers beyond Python's digit limit
        raise ControlError(f"request is not JSON ({str(e)[:80]})") from None
    if not isinstance(request, dict):
        raise ControlError("request must be a JSON object")
    return request


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
        """Answer one request line, always with one JSON line: `{"ok": false, "error": ...}` when refused."""
        try:
            answer = await self._answer(reader)
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except ConnectionError as e:
            log.warning("control client went away error=%s", e)
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> dict[str, Any]:
        try:
            request = parse_request(await self._read_line(reader))
            cmd = argument(request, "cmd", str)
            handler = self._handlers.get(cmd)
            if handler is None:
                raise ControlError(f"unknown command {shown(cmd)}; known: {', '.join(self._handlers)}")
            return {"ok": True, **await handler(request)}
        except ControlError as e:
            log.warning("control request refused error=%s", e)
            return {"ok": False, "error": str(e)}
        except Exception as e:  # a bug in a command: the client hears of it and the server keeps serving
            log.exception("control command failed error=%s", shown(e))
            return {"ok": False, "error": f"internal error: {shown(e)}"}

    @staticmethod
    async def _read_line(reader: asyncio.StreamReader) -> bytes:
        try:
            return await reader.readline()
        except ValueError:  # asyncio's LimitOverrunError, as readline raises it
            raise ControlError(f"request too long (over {MAX_REQUEST_BYTES} bytes)") from None


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
