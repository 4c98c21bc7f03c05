"""The benchmarks' charger: a loopback CSMS in this process and the daemon in its own, as on a device.

The daemon runs as a charger in the field does on every start but its first: its code byte-compiled (pip compiles
the installed wheel; a checkout run with PYTHONDONTWRITEBYTECODE would compile 120 modules from source at every
start, 0.15 s and 1 MB) and its database at the current schema (the first start after an install or an upgrade
migrates it, and loads sqlite-utils for that)."""

import asyncio
import compileall
import json
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.daemon.control_socket import request
from firmware.demo.loopback_csms import LoopbackCsms, sim_config_text
from firmware.persistence.db import Store

CP = "CP_BENCH"
ROOT = Path(__file__).resolve().parents[1]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


@dataclass
class Charger:
    csms: LoopbackCsms
    proc: asyncio.subprocess.Process
    socket: Path
    log: Path
    spawned_at: float
    """time.monotonic() when the daemon's process was started."""

    def boot_s(self) -> float:
        """From process start to the CSMS receiving BootNotification."""
        return self.csms.of("BootNotification")[0].at - self.spawned_at

    def rss_mb(self) -> float:
        """The daemon's resident memory."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    async def cmd(self, **command: Any) -> dict[str, Any]:
        return await request(self.socket, command)

    async def connector(self, n: int) -> dict[str, Any]:
        return (await self.cmd(cmd="state"))["connectors"][n - 1]

    async def until_contactor(self, n: int, closed: bool) -> float:
        """Poll until connector `n`'s contactor is so; return when it changed (daemon's monotonic clock)."""
        async with asyncio.timeout(10):
            while (c := await self.connector(n))["contactor_closed"] is not closed:
                await asyncio.sleep(0.005)
        return c["contactor_changed_at"]

    async def tap_to_contactor_ms(self, uid: str, connector: int) -> float:
        """Tap `uid` on the shared reader (charging starts on `connector`, whose EV is plugged in), tap
        again (it stops); return the ms from the first tap to contactor closed."""
        loop = asyncio.get_running_loop()
        sent = loop.time()  # the daemon's monotonic clock is the same clock
        await self.cmd(cmd="tap", uid=uid, connector=None)
        closed_at = await self.until_contactor(connector, True)
        await self.cmd(cmd="tap", uid=uid, connector=None)
        await self.until_contactor(connector, False)
        return 1000 * (closed_at - sent)

    async def send_local_list(self, version: int, update_type: str, entries: list[dict[str, Any]]) -> str:
        """SendLocalList as a raw frame; the CSMS-side round trip is not what is measured."""
        unique_id = str(uuid.uuid4())
        payload = {"listVersion": version, "updateType": update_type, "localAuthorizationList": entries}
        frame = await self.csms.send_raw(CP, json.dumps([2, unique_id, "SendLocalList", payload]), unique_id)
        return frame[2]["status"]


@asynccontextmanager
async def running_charger(ocpp: dict[str, bool | int | str] | None = None, tls: ssl.SSLContext | None = None,
                          csms_options: dict[str, str] | None = None,
                          protocol: str = "ocpp1.6") -> AsyncIterator[Charger]:
    """A booted two-connector charger; `tls`: the CSMS behind TLS (wss://), `csms_options`: more `[csms]`;
    `protocol`: the OCPP version both sides speak."""
    csms = LoopbackCsms(protocol=protocol)
    csms_options = {**(csms_options or {}), "protocol": protocol}
    url = await csms.start(tls=tls)
    workdir = Path(tempfile.mkdtemp(prefix="evsed-bench-"))
    config = workdir / "evsed.toml"
    config.write_text(sim_config_text(url, workdir / "evsed.db", CP, log_level="info", ocpp=ocpp, csms=csms_options))
    log = workdir / "daemon.log"
    for package in ("firmware", "hal", "drivers"):
        compileall.compile_dir(ROOT / package, quiet=1)
    Store(workdir / "evsed.db").close()
    spawned_at = time.monotonic()
    with open(log, "wb") as out:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "firmware", "run", "-c", str(config),
                                                    stdout=out, stderr=out)
    charger = Charger(csms, proc, workdir / "evsed.sock", log, spawned_at)
    try:
        async with asyncio.timeout(20):
            while not charger.socket.exists():
                await asyncio.sleep(0.05)
            await csms.wait_for("StatusNotification", where=lambda p: p.get("evseId", p["connectorId"]) == 2)
        yield charger
    finally:
        proc.terminate()
        await proc.wait()
        await csms.stop()
