"""Third-party CSMS backends for the interop tests (tests/test_interop.py), as subprocesses on 127.0.0.1.

Each backend runs with the interpreter of its own virtual environment (`.venv-interop/<name>`, made by
tests/interop/install.sh); the test process never imports it. A `Backend` is the one thing that differs
between them, and gives the scenarios three things:

- `url`: where evsed connects (it appends its charge point id);
- `command(action, payload)`: a CSMS→charge point request sent through the backend's own command path,
  returning the charge point's confirmation as the backend received it (`CommandFailed` when the
  backend's call did not succeed);
- `frames()`: what the backend logged of the conversation. Both backends answer charge points with the
  `ocpp` library's `ChargePoint`, which logs every frame it reads ("<id>: receive message [...]") and writes
  ("<id>: send [...]"); the backend's log is parsed into `Frame`s, in the order logged.

Every wait is bounded; a backend is stopped (or killed) by the pid this module started.
"""

import asyncio
import json
import re
import signal
import socket
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENVS = ROOT / ".venv-interop"
START_S = 20.0
"""How long a backend may take to listen."""
STOP_S = 5.0
"""How long a backend may take to end on request before it is killed."""
HTTP_TIMEOUT_S = 5.0
"""How long the broker's REST API may take to answer a request."""
POLL_S = 0.05

CALL, CALLRESULT, CALLERROR = 2, 3, 4


class CommandFailed(Exception):
    """The backend's request to the charge point did not succeed (no confirmation, or a CALLERROR)."""


@dataclass(frozen=True)
class Frame:
    """One OCPP-J frame as a backend logged it."""

    sent: bool
    """Written by the backend (False: read from the charge point)."""
    kind: int
    """CALL, CALLRESULT or CALLERROR."""
    unique_id: str
    action: str | None
    """The action of a CALL."""
    payload: Any
    """A CALL's or CALLRESULT's payload; a CALLERROR's [code, description, details]."""


def parse_frame(verb: str, text: str) -> Frame:
    message = json.loads(text)
    kind, unique_id = message[0], message[1]
    if kind == CALL:
        return Frame(verb == "send", kind, unique_id, message[2], message[3])
    return Frame(verb == "send", kind, unique_id, None, message[2] if kind == CALLRESULT else message[2:])


class FrameLog:
    """The frames in a backend's log file, read incrementally (the file grows across restarts)."""

    def __init__(self, path: Path, charge_point: str) -> None:
        self.path = path
        self._line = re.compile(rf"{re.escape(charge_point)}: (receive message|send) (\[.*\])$")
        self._offset = 0
        self._frames: list[Frame] = []

    def frames(self) -> list[Frame]:
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.decode(errors="replace").splitlines():
                if m := self._line.search(line):
                    self._frames.append(parse_frame(m[1], m[2]))
        return list(self._frames)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the backend binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snake_case(payload: dict[str, Any]) -> dict[str, Any]:
    """An OCPP payload's top-level camelCase names in snake_case (`idTag` → `id_tag`)."""
    return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in payload.items()}


async def until(predicate: Callable[[], Any], within: float, what: str) -> Any:
    """Poll `predicate` until it returns something truthy (its value), at most `within` seconds."""
    try:
        async with asyncio.timeout(within):
            while not (result := predicate()):
                await asyncio.sleep(POLL_S)
            return result
    except TimeoutError:
        raise AssertionError(f"not within {within} s: {what}") from None


async def listening(port: int) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:`port` (the caller bounds the wait)."""
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(POLL_S)
            continue
        writer.close()
        await writer.wait_closed()
        return


class Backend(ABC):
    """One third-party CSMS in a subprocess. `accepted`: the idTags it knows (any other is Invalid to it)."""

    name: str

    def __init__(self, workdir: Path, charge_point: str, accepted: Iterable[str]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.charge_point = charge_point
        self.accepted = list(accepted)
        self.port = free_port()
        """The chargers' port, kept across restarts."""
        self.log_path = workdir / f"{self.name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self._log = FrameLog(self.log_path, charge_point)

    @property
    def python(self) -> Path:
        return VENVS / self.name / "bin" / "python"

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    async def _spawn(self, log: int) -> asyncio.subprocess.Process:
        """Start the backend's process, its log going to file descriptor `log`."""

    @abstractmethod
    async def _ready(self) -> None:
        """Return once the backend serves chargers and commands (bounded by `start`)."""

    @abstractmethod
    async def command(self, action: str, payload: dict[str, Any], within: float = 15.0) -> dict[str, Any]:
        """Send `action` (camelCase `payload`) to the charge point through the backend's command path and
        return the confirmation's payload as the backend received it, or raise `CommandFailed`."""

    async def start(self) -> None:
        """Start the process (its log appended to `log_path`) and wait until it serves, at most START_S;
        one that does not is killed."""
        with self.log_path.open("ab") as log:
            log.write(f"--- interop harness: starting {self.name} port={self.port}\n".encode())
            log.flush()
            self.proc = await self._spawn(log.fileno())
        try:
            async with asyncio.timeout(START_S):
                await self._ready()
        except Exception as e:
            await self.kill()
            raise AssertionError(f"{self.name} did not start ({e!r}):\n{self.log_tail()}") from e

    async def kill(self) -> None:
        """End the process at once, as a crash would (SIGKILL to the pid started here)."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        """End the process on request (SIGTERM), killing it if it has not ended within STOP_S."""
        await self._end(signal.SIGTERM)

    async def _end(self, sig: int) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(sig)
        try:
            async with asyncio.timeout(STOP_S):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def frames(self) -> list[Frame]:
        return self._log.frames()

    def calls(self, action: str | None = None, after: int = 0) -> list[Frame]:
        """The CALLs the backend received from the charge point (at index ≥ `after` of `frames()`)."""
        return [f for f in self.frames()[after:] if f.kind == CALL and not f.sent and action in (None, f.action)]

    def reply(self, frame: Frame, sent: bool) -> Frame | None:
        """The CALLRESULT/CALLERROR answering `frame` (sent by the backend or by the charge point)."""
        return next((f for f in self.frames() if f.kind != CALL and f.sent is sent and f.unique_id == frame.unique_id),
                    None)

    async def wait_call(self, action: str, where: Callable[[dict[str, Any]], bool] = lambda p: True,
                        after: int = 0, within: float = 10.0) -> Frame:
        """The first `action` CALL received (at index ≥ `after`) whose payload satisfies `where`."""
        return await until(lambda: next((f for f in self.calls(action, after) if where(f.payload)), None), within,
                           f"{self.name} logs a {action} from the charge point")

    async def answer(self, frame: Frame, within: float = 10.0) -> dict[str, Any]:
        """The payload of the backend's CALLRESULT to a CALL it received."""
        reply = await until(lambda: self.reply(frame, sent=True), within, f"{self.name} answers {frame.action}")
        assert reply.kind == CALLRESULT, f"{self.name} answered {frame.action} with {reply.payload}"
        return reply.payload

    def log_tail(self, chars: int = 20000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


class OcppCsms(Backend):
    """ocpp-csms 0.1.0 (AGPL): its `CentralSystem` in tests/interop/csms_driver.py, whose stdin/stdout
    carries the commands to the library's `ChargePoint.async_*` methods and their results."""

    name = "ocpp-csms"

    def __init__(self, workdir: Path, charge_point: str, accepted: Iterable[str]) -> None:
        super().__init__(workdir, charge_point, accepted)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def _spawn(self, log: int) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            self.python, HERE / "csms_driver.py", "--port", str(self.port), "--accept", *self.accepted,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log)

    async def _ready(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            raise EOFError("the driver ended before it listened")
        assert json.loads(line) == {"ready": self.port}, line
        self._reader = asyncio.create_task(self._read_replies(self.proc.stdout))

    async def _read_replies(self, stdout: asyncio.StreamReader) -> None:
        """Hand each reply line to the command waiting for it; fail the rest when the driver ends."""
        while line := await stdout.readline():
            reply = json.loads(line)
            waiter = self._pending.pop(reply["id"], None)
            if waiter is not None and not waiter.done():
                waiter.set_result(reply)
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(CommandFailed(f"{self.name} ended before it replied"))

    async def command(self, action: str, payload: dict[str, Any], within: float = 15.0) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self._next_id += 1
        waiter = self._pending[self._next_id] = asyncio.get_running_loop().create_future()
        request = {"id": self._next_id, "charge_point": self.charge_point, "action": action, "payload": payload}
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            await self.proc.stdin.drain()
            async with asyncio.timeout(within):
                reply = await waiter
        finally:
            self._pending.pop(request["id"], None)
        if "error" in reply:
            raise CommandFailed(f"{self.name} {action}: {reply['error']}")
        return reply["answer"]

    async def _end(self, sig: int) -> None:
        await super()._end(sig)
        if self._reader is not None:
            async with asyncio.timeout(STOP_S):
                await self._reader


class OcppBroker(Backend):
    """ocpp-broker 0.4 acting as the backend itself (`connect_to_backend: false`), its chargers' server
    and REST command API started by tests/interop/broker_launcher.py from a config file written here.

    The REST API writes the CALL to the charger and answers "sent" at once; the charger's confirmation
    reaches the broker's `ocpp` ChargePoint, which logs it, so a command's result is read from the log."""

    name = "ocpp-broker"
    ORG = "orgA"

    def __init__(self, workdir: Path, charge_point: str, accepted: Iterable[str]) -> None:
        super().__init__(workdir, charge_point, accepted)
        self.api_port = free_port()
        self.config = workdir / "config.yaml"
        self.config.write_text(json.dumps({  # JSON is YAML: the broker reads it with yaml.safe_load
            "broker": {"host": "127.0.0.1", "port": self.port},
            "api": {"host": "127.0.0.1", "port": self.api_port},
            "organizations": [{
                "name": self.ORG, "connect_to_backend": False, "tag_management": {"enabled": True},
                "tags": [{"id_tag": tag, "status": "Accepted"} for tag in self.accepted],
            }],
        }, indent=1))

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/{self.ORG}"

    async def _spawn(self, log: int) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            self.python, HERE / "broker_launcher.py", self.config,
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)

    async def _ready(self) -> None:
        await listening(self.port)
        await listening(self.api_port)

    def _post(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        url = (f"http://127.0.0.1:{self.api_port}/api/ocpp/organizations/{self.ORG}/chargers/"
               f"{self.charge_point}/commands/{action}")
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                return json.load(response)
        except urllib.error.HTTPError as e:
            raise CommandFailed(f"{self.name} {action}: HTTP {e.code} {e.read().decode(errors='replace')}") from None

    async def command(self, action: str, payload: dict[str, Any], within: float = 15.0) -> dict[str, Any]:
        sent = await asyncio.to_thread(self._post, action, snake_case(payload))
        assert sent.get("status") == "sent", sent
        call = Frame(True, CALL, sent["message_id"], action, payload)
        try:
            reply = await until(lambda: self.reply(call, sent=False), within,
                                f"{self.name} logs the charge point's confirmation of {action}")
        except AssertionError as e:
            raise CommandFailed(f"{self.name} {action} message_id={sent['message_id']}: {e}") from None
        if reply.kind == CALLERROR:
            raise CommandFailed(f"{self.name} {action}: CALLERROR {reply.payload}")
        return reply.payload


BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (OcppCsms, OcppBroker)}
