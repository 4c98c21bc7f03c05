"""Benchmark on simulated hardware with a loopback CSMS (the `ocpp` library) in this process.

Prints the median and p99 time from card tap to contactor closed (online Authorize, then a Local
List hit with LocalPreAuthorize), from RemoteStartTransaction sent to contactor closed, the daemon's
resident memory idle and while charging, its idle CPU, and the time from process start to
BootNotification. The daemon runs as its own process, as on a charger.

    .venv/bin/python -m bench.latency [--cycles 200]
"""

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from ocpp.v16 import call

from bench.charger import CP, p99, running_charger

CARD = "04A1B2C3"
LOCAL_CARD = "04C0FFEE"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(cycles: int) -> None:
    async with running_charger() as charger:
        csms, pid = charger.csms, charger.proc.pid
        boot_s = charger.boot_s()
        await asyncio.sleep(2)
        idle_rss = charger.rss_mb()
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(10)
        idle_cpu = 100 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)

        await charger.cmd(cmd="plug", connector=1)
        tap_ms = [await charger.tap_to_contactor_ms(CARD, 1) for _ in range(cycles)]

        await charger.cmd(cmd="plug", connector=2)
        remote_ms = []
        for i in range(cycles // 2):
            sent = time.monotonic()
            result = await csms.call(CP, call.RemoteStartTransaction(id_tag=f"QR{i:08d}", connector_id=2))
            assert result.status == "Accepted", result
            remote_ms.append(1000 * (await charger.until_contactor(2, True) - sent))
            async with asyncio.timeout(10):
                while (tx_id := (await charger.connector(2))["transaction_id"]) is None:
                    await asyncio.sleep(0.005)
            await csms.call(CP, call.RemoteStopTransaction(transaction_id=tx_id))
            await charger.until_contactor(2, False)

        assert await charger.send_local_list(1, "Full", [{"idTag": LOCAL_CARD, "idTagInfo": {"status": "Accepted"}}]) \
            == "Accepted"
        assert (await csms.call(CP, call.ChangeConfiguration(key="LocalPreAuthorize", value="true"))).status \
            == "Accepted"
        local_ms = [await charger.tap_to_contactor_ms(LOCAL_CARD, 1) for _ in range(cycles)]

        await charger.cmd(cmd="tap", uid=CARD, connector=1)
        await csms.call(CP, call.RemoteStartTransaction(id_tag="QRFINAL", connector_id=2))
        await charger.until_contactor(1, True)
        await charger.until_contactor(2, True)
        await asyncio.sleep(2)
        charging_rss = charger.rss_mb()

    print(f"tap → contactor closed (online Authorize), {len(tap_ms)} cycles: "
          f"p50 {statistics.median(tap_ms):.1f} ms, p99 {p99(tap_ms):.1f} ms")
    print(f"tap → contactor closed (Local List hit, LocalPreAuthorize), {len(local_ms)} cycles: "
          f"p50 {statistics.median(local_ms):.1f} ms, p99 {p99(local_ms):.1f} ms")
    print(f"RemoteStartTransaction → contactor closed, {len(remote_ms)} cycles: "
          f"p50 {statistics.median(remote_ms):.1f} ms, p99 {p99(remote_ms):.1f} ms")
    print(f"process start → BootNotification received: {boot_s:.2f} s")
    print(f"daemon RSS idle {idle_rss:.1f} MB, while charging (2 connectors) {charging_rss:.1f} MB")
    print(f"daemon idle CPU {idle_cpu:.2f} % of one core (10 s window)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    asyncio.run(main(parser.parse_args().cycles))
