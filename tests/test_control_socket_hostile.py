"""Hostile control-socket input gets an error line and at most a one-line warning, never a traceback, and the
daemon keeps serving."""

import asyncio
import json
from contextlib import suppress
from pathlib import Path
from typing import Any

from firmware.daemon.control_socket import MAX_REQUEST_BYTES, ControlServer, request

HOSTILE: list[tuple[bytes, str]] = [
    (b'{"cmd": "plug", "connector": [1]}\n', "connector"),
    (b'{"cmd": "fault", "device": "meter", "connector": {"n": 1}, "on": true}\n', "connector"),
    (b'{"cmd": "tap", "uid": "04A1B2C3", "connector": true}\n', "connector"),  # True == 1: not connector 1
    (b'{"cmd": "tap", "uid": 4}\n', "uid"),
    (b'{"cmd": "card", "id_tag": ["04A1B2C3"]}\n', "id_tag"),
    (b'{"cmd": "link", "state": {"up": 1}}\n', "state"),
    (b'{"cmd": "fault", "device": "meter", "connector": 1, "on": "yes"}\n', "on"),
    (b'{"cmd": ["x"]}\n', "cmd"),
    (b'{"cmd": {"state": 1}}\n', "cmd"),
    (b'{"no_cmd": 1}\n', "cmd"),
    (b"[" * 60_000 + b"\n", "JSON"),
    (b'{"cmd": "state", "n": ' + b"9" * 5_000 + b"}\n", "JSON"),  # beyond int's digit limit: ValueError
    (b"\xff\xfe\x80 not utf-8\n", "UTF-8"),
    (b"a" * (2 * MAX_REQUEST_BYTES) + b"\n", "too long"),
    (b"\n", "empty"),
    (b'"state"\n', "JSON object"),
]
"""(raw request line, a word the error must contain)."""


async def send_raw(socket: Path, data: bytes) -> bytes:
    """Write `data` as is and return the one answer line (bounded)."""
    async with asyncio.timeout(10):
        reader, writer = await asyncio.open_unix_connection(socket, limit=2**24)
        try:
            writer.write(data)
            with suppress(ConnectionError):  # the server may stop reading an oversize line and close
                await writer.drain()
            return await reader.readline()
        finally:
            writer.close()


async def test_hostile_requests_get_an_error_line_and_no_traceback(daemon):
    answers: dict[str, Any] = {}
    for data, _ in HOSTILE:
        try:
            answers[repr(data[:60])] = json.loads(await send_raw(daemon.socket, data))
        except (ValueError, TimeoutError, OSError) as e:
            answers[repr(data[:60])] = f"no answer line: {e!r}"
    wrong = {request: answer for (data, word), (request, answer) in zip(HOSTILE, answers.items(), strict=True)
             if not (isinstance(answer, dict) and answer.get("ok") is False and word in answer.get("error", ""))}
    assert wrong == {}, "every hostile request is answered with an error naming what is wrong"
    log = daemon.log()
    assert "Traceback" not in log and "Unhandled exception" not in log and "RecursionError" not in log
    assert (await daemon.connector(1))["plugged"] is False, "no hostile request plugged an EV in"
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.wait_state(1, plugged=True)



async def test_a_failing_command_is_answered_and_the_server_keeps_serving(tmp_path):
    """A bug in a command (not the client's fault) still gets an answer line; the next request is served."""

    async def broken(request: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("bug")

    async def fine(request: dict[str, Any]) -> dict[str, Any]:
        return {"fine": True}

    server = ControlServer(tmp_path / "control.sock", {"broken": broken, "fine": fine})
    await server.start()
    try:
        answer = await request(server.path, {"cmd": "broken"})
        assert answer == {"ok": False, "error": "internal error: KeyError('bug')"}
        assert await request(server.path, {"cmd": "fine"}) == {"ok": True, "fine": True}
    finally:
        await server.close()
