"""Shared fixtures: a real CSMS (the `ocpp` library's central-system side) on 127.0.0.1 and the
real daemon as a subprocess on simulated hardware, driven through its control socket."""

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from firmware.daemon.control_socket import request
from firmware.demo.loopback_csms import LoopbackCsms, sim_config_text

CHARGE_POINT = "CP_TEST"
STARTUP_S = 15.0


def config_text(url: str, db: Path, connectors: int = 2, ocpp: dict[str, Any] | None = None,
                **options: Any) -> str:
    return sim_config_text(url, db, CHARGE_POINT, connectors=connectors, log_level="debug", reconnect_max_s=5,
                           ocpp=ocpp, **options)


class Daemon:
    """`python -m firmware run` in a subprocess; its log goes to `log_path`."""

    def __init__(self, workdir: Path, url: str, connectors: int = 2, ocpp: dict[str, Any] | None = None,
                 **options: Any) -> None:
        """`options`: further `sim_config_text` settings (clock_trust, resume_transactions)."""
        self.workdir = workdir
        self.config = workdir / "evsed.toml"
        self.config.write_text(config_text(url, workdir / "state" / "evsed.db", connectors, ocpp, **options))
        self.socket = workdir / "state" / "evsed.sock"
        self.log_path = workdir / "daemon.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.env: dict[str, str] = {}
        """Extra environment for the daemon (e.g. NOTIFY_SOCKET)."""

    async def start(self) -> None:
        self.socket.unlink(missing_ok=True)  # a killed daemon leaves its socket file behind
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "firmware", "run", "-c", str(self.config), stdout=log, stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        log.close()
        async with asyncio.timeout(STARTUP_S):
            while not self.socket.exists():
                assert self.proc.returncode is None, self.log()
                await asyncio.sleep(0.05)

    async def cmd(self, **command: Any) -> dict[str, Any]:
        answer = await request(self.socket, command)
        assert answer.pop("ok"), answer
        return answer

    async def state(self) -> dict[str, Any]:
        return await self.cmd(cmd="state")

    async def connector(self, n: int) -> dict[str, Any]:
        return next(c for c in (await self.state())["connectors"] if c["id"] == n)

    async def wait_state(self, n: int, within: float = 10.0, **expected: Any) -> dict[str, Any]:
        """Poll the control socket (bounded) until connector `n` shows all `expected` values."""
        async with asyncio.timeout(within):
            while True:
                c = await self.connector(n)
                if all(c.get(k) == v for k, v in expected.items()):
                    return c
                await asyncio.sleep(0.05)

    async def transaction_id(self, n: int, within: float = 10.0) -> int:
        """The CSMS's transactionId of connector `n`'s transaction, once the charger knows it."""
        async with asyncio.timeout(within):
            while (c := await self.connector(n))["transaction_id"] is None:
                await asyncio.sleep(0.05)
        return c["transaction_id"]

    async def card_start(self, n: int, uid: str = "04A1B2C3") -> None:
        """An EV plugs into connector `n` and a card on its reader starts charging."""
        await self.cmd(cmd="plug", connector=n)
        await self.cmd(cmd="tap", uid=uid, connector=n)
        await self.wait_state(n, status="Charging", contactor_closed=True)

    async def card_stop(self, n: int, uid: str = "04A1B2C3") -> None:
        """The same card on connector `n`'s reader ends its transaction (the EV stays plugged in)."""
        await self.cmd(cmd="tap", uid=uid, connector=n)
        await self.wait_state(n, status="Finishing", transaction_id=None)

    async def set_link(self, up: bool, within: float = 10.0) -> None:
        """Cut or restore the CSMS link, as a network loss would, and wait (bounded) until it is so."""
        await self.cmd(cmd="link", state="up" if up else "down")
        async with asyncio.timeout(within):
            while (await self.state())["link"]["connected"] is not up:
                await asyncio.sleep(0.05)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        async with asyncio.timeout(15):
            return await self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
async def csms(request):
    """The loopback CSMS; a test module with `CSMS_PROTOCOL = "ocpp2.0.1"` gets it speaking 2.0.1."""
    server = LoopbackCsms(protocol=getattr(request.module, "CSMS_PROTOCOL", "ocpp1.6"))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_daemon(tmp_path, csms):
    daemons: list[Daemon] = []

    async def make(connectors: int = 2, ocpp: dict[str, Any] | None = None, boot: bool = True,
                   workdir: Path | None = None, url: str | None = None, **options: Any) -> Daemon:
        d = Daemon(workdir or tmp_path, url or csms.url, connectors, ocpp, **options)
        daemons.append(d)
        seen = len(csms.received)
        await d.start()
        if boot:
            await csms.wait_for("StatusNotification", within=STARTUP_S, after=seen,  # 2.0.1: EVSE n, connector 1
                                where=lambda p: p.get("evseId", p["connectorId"]) == connectors)
        return d

    yield make
    for d in daemons:
        if d.proc is not None and d.proc.returncode is None:
            d.proc.kill()
            await d.proc.wait()
        print(f"--- daemon log {d.log_path} ---\n{d.log()[-20000:]}")


@pytest.fixture
def start201(make_daemon):
    """make_daemon for a charger speaking OCPP 2.0.1 (1 s meter samples unless `ocpp` says otherwise); the test module
    sets `CSMS_PROTOCOL = "ocpp2.0.1"` so that `csms` speaks it too."""

    async def start(connectors: int = 2, ocpp: dict[str, Any] | None = None, **options: Any) -> Daemon:
        return await make_daemon(connectors, {"MeterValueSampleInterval": 1, **(ocpp or {})},
                                 csms={"protocol": "ocpp2.0.1"}, **options)

    return start


@pytest.fixture
async def daemon(make_daemon):
    """A booted two-connector daemon with 1 s meter samples."""
    return await make_daemon(ocpp={"MeterValueSampleInterval": 1, "ConnectionTimeOut": 3})


@pytest.fixture
async def tls_csms(tmp_path):
    """start(server certificate, client CA=None, behaviour=None, require_client=True): a CSMS behind TLS on
    127.0.0.1 (wss://), checking client certificates against the client CA when given."""
    from tests.pki import server_context

    servers: list[LoopbackCsms] = []

    async def start(server, client_ca=None, behaviour=None, require_client: bool = True) -> LoopbackCsms:
        csms = LoopbackCsms(behaviour)
        await csms.start(tls=server_context(server, tmp_path, client_ca, require_client))
        servers.append(csms)
        return csms

    yield start
    for csms in servers:
        await csms.stop()
