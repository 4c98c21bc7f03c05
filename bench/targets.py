"""Issue 22's targets in one run, as one table: memory, idle cost, stop against start, boot, the full Local List.

Each figure is measured on the daemon as it ships (its own process, simulated hardware, a loopback CSMS on the
`ocpp` library in this process):

- RSS charging on two connectors, OCPP 1.6 and 2.0.1 (`/proc/<pid>/status` VmRSS, 2 s after both started);
- idle CPU and wakeups over 60 s with the link up and no EV plugged in: the sum over the daemon's threads of
  `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on a CPU, and the number of times a thread was put on one);
- RemoteStartTransaction sent → StartTransaction received and RemoteStopTransaction sent → StopTransaction
  received, as the CSMS sees them, alternating in the same run (2.0.1: Request{Start,Stop}Transaction →
  TransactionEvent Started / Ended);
- process start → BootNotification received, over several starts;
- 100,000 Local List entries (one Full update and nine Differential ones of SendLocalListMaxLength) from frame
  received to committed on the charger, and the lookup time in that list.

Where a target lies below what the chosen libraries cost by themselves, a "floor" row measures that part alone: the
resident memory and the start time of an interpreter that imports only asyncio, websockets, sqlite3 and the `ocpp`
library (which the daemon needs before it can send BootNotification), and the JSON parsing, compiled schema check
and SQLite writes of the 100,000 entries, measured in this process.

    .venv/bin/python -m bench.targets [--cycles 30] [--idle-s 60] [--boots 6]
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.charger import CP, Charger, running_charger
from bench.import_rss import RSS
from bench.protocols import remote_start, remote_stop

PROTOCOLS = ("ocpp1.6", "ocpp2.0.1")


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[8]


def schedstat(pid: int) -> tuple[float, int]:
    """(seconds on a CPU, times put on a CPU) summed over the process's threads."""
    seconds, runs = 0.0, 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            on_cpu_ns, _, timeslices = (task / "schedstat").read_text().split()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        seconds, runs = seconds + int(on_cpu_ns) / 1e9, runs + int(timeslices)
    return seconds, runs


FLOOR_IMPORTS = "import asyncio, sqlite3, websockets.asyncio.client, ocpp.v16, ocpp.charge_point"
"""What the daemon must import before BootNotification: the event loop, the database, the websocket client and the
`ocpp` library that validates the message (jsonschema with it)."""


def floor(runs: int = 5) -> tuple[list[float], float]:
    """Seconds from start to exit of an interpreter that imports FLOOR_IMPORTS, over `runs`, and its RSS in MB."""
    code = RSS + FLOOR_IMPORTS + "\nprint(rss())"
    seconds, rss_mb = [], 0.0
    for _ in range(runs):
        began = time.monotonic()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        seconds.append(time.monotonic() - began)
        rss_mb = float(out.stdout)
    return seconds, rss_mb


def threads(pid: int) -> set[str]:
    return {task.name for task in Path(f"/proc/{pid}/task").iterdir()}


@dataclass
class Row:
    label: str
    values: list[float]
    target: str
    met: Callable[[float], bool] | None
    """None: a figure shown beside one that has a target."""
    unit: str
    digits: int = 1

    def line(self) -> str:
        p50 = statistics.median(self.values)
        spread = f"{p90(self.values):>9.{self.digits}f}" if len(self.values) >= 5 else f"{'':>9}"
        met = "" if self.met is None else "yes" if self.met(p50) else "NO"
        return f"{self.label:52}{p50:>9.{self.digits}f}{spread}  {self.unit:5}{self.target:>10}  {met}"


async def started(charger: Charger, protocol: str, mark: int) -> float:
    if protocol == "ocpp1.6":
        return (await charger.csms.wait_for("StartTransaction", after=mark)).at
    return (await charger.csms.wait_for("TransactionEvent", after=mark,
                                        where=lambda p: p["eventType"] == "Started")).at


async def ended(charger: Charger, protocol: str, mark: int) -> float:
    if protocol == "ocpp1.6":
        return (await charger.csms.wait_for("StopTransaction", after=mark)).at
    return (await charger.csms.wait_for("TransactionEvent", after=mark,
                                        where=lambda p: p["eventType"] == "Ended")).at


async def remote_cycles(charger: Charger, protocol: str, cycles: int) -> tuple[list[float], list[float]]:
    """`cycles` remote starts and stops on connector 2 (EV plugged in): the ms each took to reach the CSMS."""
    starts, stops = [], []
    for i in range(cycles):
        mark, sent = len(charger.csms.received), time.monotonic()
        assert (await charger.csms.call(CP, remote_start(protocol, i))).status == "Accepted"
        starts.append(1000 * (await started(charger, protocol, mark) - sent))
        async with asyncio.timeout(10):
            while (tx_id := (await charger.connector(2))["transaction_id"]) is None:
                await asyncio.sleep(0.005)
        mark, sent = len(charger.csms.received), time.monotonic()
        assert (await charger.csms.call(CP, remote_stop(protocol, tx_id))).status == "Accepted"
        stops.append(1000 * (await ended(charger, protocol, mark) - sent))
        await charger.until_contactor(2, False)
    return starts, stops


async def charging_rss(charger: Charger, protocol: str, cycles: int) -> float:
    """RSS with both connectors charging (connector 1 by a card, connector 2 remotely)."""
    await charger.cmd(cmd="plug", connector=1)
    await charger.cmd(cmd="tap", uid="04A1B2C3", connector=1)
    assert (await charger.csms.call(CP, remote_start(protocol, cycles))).status == "Accepted"
    await charger.until_contactor(1, True)
    await charger.until_contactor(2, True)
    await asyncio.sleep(2)
    return charger.rss_mb()


async def protocol_run(protocol: str, cycles: int, idle_s: float) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with running_charger(protocol=protocol) as charger:
        figures["boot"] = charger.boot_s()
        if idle_s:
            await asyncio.sleep(2)  # the start's own work (statuses, first heartbeat answer) is done
            pid, before = charger.proc.pid, threads(charger.proc.pid)
            (cpu0, runs0), t0 = schedstat(pid), time.monotonic()
            await asyncio.sleep(idle_s)
            (cpu1, runs1), elapsed = schedstat(pid), time.monotonic() - t0
            assert threads(pid) == before, "a thread came or went while idle: its schedstat would be lost"
            figures["idle_cpu"] = 100 * (cpu1 - cpu0) / elapsed
            figures["wakeups"] = (runs1 - runs0) / elapsed
        await charger.cmd(cmd="plug", connector=2)
        figures["start"], figures["stop"] = await remote_cycles(charger, protocol, cycles)
        figures["rss"] = await charging_rss(charger, protocol, cycles)
    return figures


async def boots(count: int) -> list[float]:
    found = []
    for _ in range(count):
        async with running_charger() as charger:
            found.append(charger.boot_s())
    return found


async def measure(cycles: int, idle_s: float, boot_count: int) -> list[Row]:
    from bench.local_list import end_to_end, filled_list_lookups, steps_s

    v16 = await protocol_run("ocpp1.6", cycles, idle_s)
    v201 = await protocol_run("ocpp2.0.1", cycles, 0)
    boot_s = [v16["boot"], v201["boot"], *await boots(boot_count)]
    took_ms, _, _ = await end_to_end()
    lookup_us = await asyncio.to_thread(filled_list_lookups)
    steps = await asyncio.to_thread(steps_s)
    floor_s, floor_rss = floor()
    rss16 = v16["rss"]
    start16 = statistics.median(v16["start"])
    return [
        Row("RSS charging 2 connectors, OCPP 1.6", [rss16], "≤ 30", lambda v: v <= 30, "MB"),
        Row("  floor: those libraries imported, nothing else", [floor_rss], "", None, "MB"),
        Row("RSS charging 2 connectors, OCPP 2.0.1", [v201["rss"]], f"≤ {rss16 + 2:.1f}",
            lambda v: v <= rss16 + 2, "MB"),
        Row(f"idle CPU over {idle_s:g} s (1.6, link up)", [v16["idle_cpu"]], "< 0.05", lambda v: v < 0.05,
            "%", 3),
        Row(f"idle wakeups over {idle_s:g} s (all threads)", [v16["wakeups"]], "", None, "/s"),
        Row(f"RemoteStart → StartTransaction, 1.6 ({cycles})", v16["start"], "", None, "ms"),
        Row(f"RemoteStop → StopTransaction, 1.6 ({cycles})", v16["stop"], f"≤ {start16:.1f}",
            lambda v: v <= start16, "ms"),
        Row("RequestStart → TransactionEvent Started, 2.0.1", v201["start"], "", None, "ms"),
        Row("RequestStop → TransactionEvent Ended, 2.0.1", v201["stop"], "", None, "ms"),
        Row(f"start → BootNotification ({len(boot_s)} starts)", boot_s, "≤ 0.3", lambda v: v <= 0.3, "s", 2),
        Row(f"  floor: start → exit of those imports ({len(floor_s)})", floor_s, "", None, "s", 2),
        Row("100k Local List, frame → committed (10 updates)", [sum(took_ms) / 1000], "≤ 1", lambda v: v <= 1,
            "s", 2),
        Row("  floor: JSON parse, schema check, SQLite",
            [steps["json parse"] + steps["compiled schema check"] + steps["SQLite apply + commit"]], "", None, "s", 2),
        Row("  of which SQLite apply + commit", [steps["SQLite apply + commit"]], "", None, "s", 2),
        Row("  evsed's own conversion to records", [steps["to records"]], "", None, "s", 2),
        Row("lookup in the 100k list", lookup_us, "< 20", lambda v: v < 20, "µs"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=30, help="remote start/stop cycles per protocol")
    parser.add_argument("--idle-s", type=float, default=60.0, help="the idle window")
    parser.add_argument("--boots", type=int, default=6, help="extra daemon starts for the boot time")
    args = parser.parse_args()
    began = time.monotonic()
    rows = asyncio.run(measure(args.cycles, args.idle_s, args.boots))
    print(f"{'':52}{'p50':>9}{'p90':>9}  {'':5}{'target':>10}  met")
    for row in rows:
        print(row.line())
    print(f"(one value where p90 is blank; took {time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    main()
