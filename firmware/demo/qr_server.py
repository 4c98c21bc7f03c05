"""The driver's web page of the demo's QR backend, on 127.0.0.1: served by the `websockets` library (already evsed's),
the page and its files as plain HTTP answers, its live view as a websocket.

- `GET /ev?cp=<id>&connector=<n>`: the page (plain HTML, CSS and JS from `firmware/demo/web/`, no framework);
  an unknown charger or connector gets a page saying so (404).
- `GET /ev.js`, `GET /ev.css`: its files.
- `GET /receipt?session=<idTag>`: a finished session's receipt as a text file (attachment).
- `/live?cp=<id>&connector=<n>` (websocket): the connector's state, pushed at every change (status, the session's
  energy, power, cost and duration), and the driver's taps (`{"action": "start", "budget": 5}`, `{"action":
  "stop"}`). A page reopened mid-session finds the running session: it is the connector's.
"""

import asyncio
import contextlib
import json
import logging
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import websockets
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from firmware.demo.qr_backend import QrBackend

log = logging.getLogger(__name__)

WEB = Path(__file__).parent / "web"
FILES = {"/ev.js": ("ev.js", "text/javascript; charset=utf-8"), "/ev.css": ("ev.css", "text/css; charset=utf-8")}


def _response(status: HTTPStatus, body: str, content_type: str = "text/html; charset=utf-8",
              **headers: str) -> Response:
    data = body.encode()
    fields = Headers([("Content-Type", content_type), ("Content-Length", str(len(data))),
                      ("Cache-Control", "no-store"), *((k.replace("_", "-"), v) for k, v in headers.items())])
    return Response(status.value, status.phrase, fields, data)


def _not_found(text: str) -> Response:
    return _response(HTTPStatus.NOT_FOUND, f'<!doctype html><meta name="viewport" content="width=device-width">'
                                           f"<title>Not found</title><p>{escape(text)}</p>")


class QrServer:
    def __init__(self, backend: QrBackend) -> None:
        self.backend = backend
        self._server: websockets.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> int:
        self._server = await websockets.serve(self._live, "127.0.0.1", port, process_request=self._http)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def page_url(self, charge_point: str, connector: int) -> str:
        return f"http://127.0.0.1:{self.port}/ev?cp={charge_point}&connector={connector}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _target(self, query: dict[str, list[str]]) -> tuple[str, int] | str:
        """The (charger, connector) a query names, or why it names none."""
        charge_point = query.get("cp", [""])[0]
        try:
            connector = int(query.get("connector", [""])[0])
        except ValueError:
            return "the link names no connector: scan the sticker on the charger again"
        if not self.backend.knows(charge_point, connector):
            return f"this demo has no charger {charge_point!r} with a connector {connector}"
        return charge_point, connector

    def _http(self, connection: websockets.ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        if parts.path == "/live":
            target = self._target(query)
            return connection.respond(HTTPStatus.NOT_FOUND, target) if isinstance(target, str) else None
        if parts.path == "/ev":
            target = self._target(query)
            if isinstance(target, str):
                return _not_found(target)
            return _response(HTTPStatus.OK, (WEB / "ev.html").read_text(encoding="utf-8"))
        if parts.path in FILES:
            name, content_type = FILES[parts.path]
            return _response(HTTPStatus.OK, (WEB / name).read_text(encoding="utf-8"), content_type)
        if parts.path == "/receipt":
            id_tag = query.get("session", [""])[0]
            receipt = self.backend.receipt(id_tag)
            if receipt is None:
                return _not_found("no finished session with that name")
            return _response(HTTPStatus.OK, receipt, "text/plain; charset=utf-8",
                             content_disposition=f'attachment; filename="receipt-{id_tag}.txt"')
        return _not_found("nothing here: open the link on the charger's sticker")

    async def _live(self, connection: websockets.ServerConnection) -> None:
        target = self._target(parse_qs(urlsplit(connection.request.path).query))
        assert not isinstance(target, str), "refused in _http"
        charge_point, connector = target
        queue = self.backend.subscribe(charge_point, connector)
        sender = asyncio.create_task(self._send(connection, queue))
        try:
            async for text in connection:
                await self._tap(connection, charge_point, connector, text)
        except websockets.ConnectionClosed:
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self.backend.unsubscribe(charge_point, connector, queue)

    @staticmethod
    async def _send(connection: websockets.ServerConnection, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await connection.send(json.dumps(await queue.get()))

    async def _tap(self, connection: websockets.ServerConnection, charge_point: str, connector: int,
                   text: str | bytes) -> None:
        """A tap on the page: start with a budget, or stop. A bad one gets an error message, not a closed page."""
        try:
            tap = json.loads(text)
            if tap.get("action") == "start":
                await self.backend.start(charge_point, connector, float(tap["budget"]))
            elif tap.get("action") == "stop":
                await self.backend.stop(charge_point, connector)
            else:
                raise ValueError("unknown action")
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            await connection.send(json.dumps({"error": f"could not do that: {e}"}))
        except (TimeoutError, websockets.ConnectionClosed):
            await connection.send(json.dumps({"error": "the charger did not answer; try again"}))
