"""Benchmark on simulated hardware with a loopback CSMS (the `ocpp` library) in this process.

Prints the median and p99 time from card tap to contactor closed (online Authorize), from
RemoteStartTransaction sent to contactor closed, the daemon's resident memory idle and while
charging, and its idle CPU. The daemon runs as its own process, as on a charger.

    .venv/bin/python bench/latency.py [--cycles 200]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ocpp.v16 import call

from firmware.control import request
from firmware.loopback_csms import LoopbackCsms, sim_config_text

CP = "CP_BENCH"
CARD = "04A1B2C3"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def main(cycles: int) -> None:
    csms = LoopbackCsms()
    url = await csms.start()
    workdir = Path(tempfile.mkdtemp(prefix="evsed-bench-"))
    config = workdir / "evsed.toml"
    config.write_text(sim_config_text(url, workdir / "evsed.db", CP))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "firmware", "run", "-c", str(config))
    sock = workdir / "evsed.sock"
    try:
        async with asyncio.timeout(20):
            while not sock.exists():
                await asyncio.sleep(0.05)
            await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 2)

        async def connector(n: int) -> dict:
            return (await request(sock, {"cmd": "state"}))["connectors"][n - 1]

        async def until_contactor(n: int, closed: bool) -> float:
            async with asyncio.timeout(10):
                while (c := await connector(n))["contactor_closed"] is not closed:
                    await asyncio.sleep(0.005)
            return c["contactor_changed_at"]

        await asyncio.sleep(2)
        idle_rss = rss_mb(proc.pid)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        await asyncio.sleep(10)
        idle_cpu = 100 * (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)

        await request(sock, {"cmd": "plug", "connector": 1})
        tap_ms = []
        for _ in range(cycles):
            sent = time.monotonic()
            await request(sock, {"cmd": "tap", "uid": CARD, "connector": None})
            tap_ms.append(1000 * (await until_contactor(1, True) - sent))
            await request(sock, {"cmd": "tap", "uid": CARD, "connector": None})
            await until_contactor(1, False)

        await request(sock, {"cmd": "plug", "connector": 2})
        remote_ms = []
        for i in range(cycles // 2):
            sent = time.monotonic()
            result = await csms.call(CP, call.RemoteStartTransaction(id_tag=f"QR{i:08d}", connector_id=2))
            assert result.status == "Accepted", result
            remote_ms.append(1000 * (await until_contactor(2, True) - sent))
            async with asyncio.timeout(10):
                while (tx_id := (await connector(2))["transaction_id"]) is None:
                    await asyncio.sleep(0.005)
            await csms.call(CP, call.RemoteStopTransaction(transaction_id=tx_id))
            await until_contactor(2, False)

        await request(sock, {"cmd": "tap", "uid": CARD, "connector": None})
        await csms.call(CP, call.RemoteStartTransaction(id_tag="QRFINAL", connector_id=2))
        await until_contactor(1, True)
        await until_contactor(2, True)
        await asyncio.sleep(2)
        charging_rss = rss_mb(proc.pid)

        print(f"tap → contactor closed (online Authorize), {len(tap_ms)} cycles: "
              f"p50 {statistics.median(tap_ms):.1f} ms, p99 {p99(tap_ms):.1f} ms")
        print(f"RemoteStartTransaction → contactor closed, {len(remote_ms)} cycles: "
              f"p50 {statistics.median(remote_ms):.1f} ms, p99 {p99(remote_ms):.1f} ms")
        print(f"daemon RSS idle {idle_rss:.1f} MB, while charging (2 connectors) {charging_rss:.1f} MB")
        print(f"daemon idle CPU {idle_cpu:.2f} % of one core (10 s window)")
    finally:
        proc.terminate()
        await proc.wait()
        await csms.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    asyncio.run(main(parser.parse_args().cycles))
