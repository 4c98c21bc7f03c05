"""Crash injection: charging sessions run against a real loopback CSMS while the daemon is SIGKILLed
at seeded random moments, then the CSMS's record is checked for anything lost, doubled or out of order.

Kill moments: as the CSMS receives an Authorize, a StartTransaction (the start is stored by then), a
MeterValues or a StopTransaction (before its answer reaches the charger), right after a SendLocalList
was sent, and at random times. Each kill is followed by a restart on the same state directory.

The normal suite runs a fast variant (`test_durability.py`); the long one is

    .venv/bin/python -m tests.crash_injection --kills 300 --seed 1
"""

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sqlite3
import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware.demo.loopback_csms import LoopbackCsms, Received
from tests.conftest import CHARGE_POINT, Daemon

CARDS = {1: "04A1B2C3", 2: "04D5E6F7A8B9C0"}
TRIGGERS = ("Authorize", "StartTransaction", "MeterValues", "StopTransaction", "SendLocalList", "time")
OCPP = {"MeterValueSampleInterval": 1, "ConnectionTimeOut": 5,
        "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import"}


@dataclass
class Report:
    kills: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sessions: int = 0
    lost: int = 0
    doubled_stops: int = 0
    resent_starts: int = 0
    resent_starts_identical: bool = True
    resent_messages: int = 0
    energy_reported_wh: dict[int, int] = field(default_factory=dict)
    energy_metered_wh: dict[int, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"kills {sum(self.kills.values())} ({', '.join(f'{k} {v}' for k, v in sorted(self.kills.items()))}); "
                f"sessions checked {self.sessions}; lost {self.lost}; doubled stops {self.doubled_stops}; "
                f"resent starts {self.resent_starts} (identical: {self.resent_starts_identical}); "
                f"other resends {self.resent_messages}; energy reported/metered per connector "
                + ", ".join(f"{n}: {self.energy_reported_wh[n]}/{self.energy_metered_wh[n]:.1f} Wh"
                            for n in sorted(self.energy_reported_wh)))


class Harness:
    def __init__(self, workdir: Path, kills: int, seed: int) -> None:
        self.workdir = workdir
        self.target = kills
        self.rng = random.Random(seed)
        self.csms = LoopbackCsms(on_message=self._received)
        self.report = Report()
        self.daemon: Daemon | None = None
        self._armed: str | None = None
        self._killed = asyncio.Event()
        self._list_version = 0

    # --- killing ----------------------------------------------------------------------------------

    def _received(self, message: Received) -> None:
        """Kill as the armed action arrives: before the CSMS answers (half the time) or just after."""
        if self._armed == message.action:
            self._armed = None
            if self.rng.random() < 0.5:
                self._kill(message.action)
            else:
                asyncio.get_running_loop().call_later(self.rng.uniform(0, 0.02), self._kill, message.action)

    def _kill(self, why: str) -> None:
        if self.daemon is not None and self.daemon.proc is not None and self.daemon.proc.returncode is None:
            self.daemon.proc.send_signal(signal.SIGKILL)
            self.report.kills[why] += 1
            self._killed.set()

    async def _killer(self) -> None:
        while sum(self.report.kills.values()) < self.target:
            trigger = self.rng.choice(TRIGGERS)
            self._killed.clear()
            if trigger == "time":
                await asyncio.sleep(self.rng.uniform(0.05, 1.5))
                self._kill("time")
            elif trigger == "SendLocalList":
                await self._send_list()
                await asyncio.sleep(self.rng.uniform(0, 0.1))
                self._kill("SendLocalList")
            else:
                self._armed = trigger
                try:
                    async with asyncio.timeout(5):
                        await self._killed.wait()
                except TimeoutError:
                    self._armed = None
                    continue
            await self._restart()

    async def _send_list(self) -> None:
        self._list_version += 1
        generation = self._list_version
        entries = [{"idTag": f"L{generation:03d}{i:08X}", "idTagInfo": {"status": "Accepted"}} for i in range(2000)]
        peer = self.csms.peers.get(CHARGE_POINT)
        if peer is not None:
            frame = [2, str(uuid.uuid4()), "SendLocalList",
                     {"listVersion": generation, "updateType": "Full", "localAuthorizationList": entries}]
            with contextlib.suppress(Exception):  # the daemon may be gone already; the kill still counts
                await peer.connection.send(json.dumps(frame))

    async def _restart(self) -> None:
        assert self.daemon is not None and self.daemon.proc is not None
        await self.daemon.proc.wait()
        await self.daemon.start()

    # --- driving sessions -------------------------------------------------------------------------

    async def _drive(self, connector: int, until: asyncio.Event) -> None:
        """Plug, tap, charge a random while, tap to stop, unplug; follow whatever state a restart left."""
        card = CARDS[connector]
        charging_since: float | None = None
        loop = asyncio.get_running_loop()
        while not until.is_set():
            await asyncio.sleep(self.rng.uniform(0.05, 0.25))
            assert self.daemon is not None
            try:
                c = await self.daemon.connector(connector)
                if not c["plugged"]:
                    charging_since = None
                    await self.daemon.cmd(cmd="plug", connector=connector)
                elif c["tx_ref"] is not None:
                    charging_since = charging_since or loop.time()
                    if loop.time() - charging_since > self.rng.uniform(0.5, 3.0):
                        await self.daemon.cmd(cmd="tap", uid=card, connector=connector)
                        charging_since = None
                elif c["status"] == "Finishing":
                    await self.daemon.cmd(cmd="unplug", connector=connector)
                elif c["status"] == "Preparing" and not c["awaiting_start"]:
                    await self.daemon.cmd(cmd="tap", uid=card, connector=connector)
            except (OSError, EOFError, ValueError, TimeoutError, AssertionError):
                continue  # the daemon is down or restarting

    # --- the run ----------------------------------------------------------------------------------

    async def run(self) -> Report:
        await self.csms.start()
        self.daemon = Daemon(self.workdir, self.csms.url, connectors=2, ocpp=OCPP)
        try:
            await self.daemon.start()
            stop_driving = asyncio.Event()
            drivers = [asyncio.create_task(self._drive(n, stop_driving)) for n in CARDS]
            await self._killer()
            stop_driving.set()
            await asyncio.gather(*drivers)
            await self._drain()
            await self.daemon.stop(signal.SIGTERM)
            await self.daemon.start()
            await self._drain()
            await self.daemon.stop(signal.SIGTERM)
        finally:
            if self.daemon.proc is not None and self.daemon.proc.returncode is None:
                self.daemon.proc.kill()
                await self.daemon.proc.wait()
            await self.csms.stop()
        self._check()
        return self.report

    async def _drain(self) -> None:
        """Wait (bounded) until the charger's outbox is empty."""
        assert self.daemon is not None
        async with asyncio.timeout(60):
            while True:
                try:
                    state = await self.daemon.state()
                    if state["link"]["connected"] and state["outbox"]["depth"] == 0:
                        return
                except OSError:
                    pass
                await asyncio.sleep(0.1)

    # --- the checks -------------------------------------------------------------------------------

    def _check(self) -> None:
        r, problems = self.report, self.report.problems
        starts: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for m in self.csms.of("StartTransaction"):
            key = (CHARGE_POINT, m.payload["connectorId"], m.payload["idTag"], m.payload["meterStart"],
                   m.payload["timestamp"])
            starts[self.csms.started[key]].append(m.payload)
        stops: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for m in self.csms.of("StopTransaction"):
            stops[m.payload["transactionId"]].append(m.payload)
        values: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for m in self.csms.of("MeterValues"):
            values[m.payload["transactionId"]].append(m.payload)

        r.sessions = len(starts)
        for tx_id, copies in starts.items():
            r.resent_starts += len(copies) - 1
            r.resent_starts_identical &= all(c == copies[0] for c in copies)
            distinct_stops = {json.dumps(s, sort_keys=True) for s in stops.get(tx_id, [])}
            if not distinct_stops:
                r.lost += 1
                problems.append(f"transaction {tx_id}: no StopTransaction")
                continue
            r.doubled_stops += len(distinct_stops) - 1
            r.resent_messages += len(stops[tx_id]) - 1
            stop = stops[tx_id][0]
            if stop["meterStop"] < copies[0]["meterStart"]:
                problems.append(f"transaction {tx_id}: meterStop {stop['meterStop']} < meterStart")
            seen: list[str] = []
            for payload in values.get(tx_id, []):
                text = json.dumps(payload, sort_keys=True)
                if text in seen:
                    r.resent_messages += 1
                    continue
                seen.append(text)
            samples = [json.loads(t)["meterValue"][0] for t in seen]
            stamps = [s["timestamp"] for s in samples]
            registers = [float(v["value"]) for s in samples for v in s["sampledValue"]
                         if v.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"]
            if stamps != sorted(stamps) or registers != sorted(registers):
                problems.append(f"transaction {tx_id}: meter values out of order")
            if registers and not copies[0]["meterStart"] - 1 <= registers[0] <= registers[-1] <= stop["meterStop"] + 1:
                problems.append(f"transaction {tx_id}: meter values outside meterStart..meterStop")
        for tx_id in stops:
            if tx_id not in starts:
                problems.append(f"StopTransaction for unknown transaction {tx_id}")

        db = sqlite3.connect(self.workdir / "state" / "evsed.db")
        try:
            unsent = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
            dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
            local = db.execute("SELECT count(*), count(remote_id), count(stopped_at) FROM transactions").fetchone()
            prefixes = db.execute("SELECT count(DISTINCT substr(id_tag, 1, 4)) FROM local_list").fetchone()[0]
        finally:
            db.close()
        if unsent or dead:
            problems.append(f"outbox {unsent} unsent, {dead} dead letters")
        if local != (r.sessions, r.sessions, r.sessions):
            r.lost += max(0, local[0] - r.sessions)
            problems.append(f"charger recorded {local[0]} transactions ({local[1]} confirmed, {local[2]} ended); "
                            f"the CSMS saw {r.sessions}")
        if prefixes > 1:
            problems.append("the Local List mixes two updates")

        by_connector = {p[0]["connectorId"]: 0 for p in starts.values()}
        for tx_id, copies in starts.items():
            if stops.get(tx_id):
                by_connector[copies[0]["connectorId"]] += stops[tx_id][0]["meterStop"] - copies[0]["meterStart"]
        for n, reported in by_connector.items():
            metered = json.loads((self.workdir / "state" / f"sim-meter-{n}.json").read_text())["energy_wh"]
            r.energy_reported_wh[n], r.energy_metered_wh[n] = reported, metered
            if abs(reported - round(metered)) > 1:
                problems.append(f"connector {n}: {reported} Wh reported, the meter counted {metered:.1f} Wh")


async def run(workdir: Path, kills: int, seed: int) -> Report:
    return await Harness(workdir, kills, seed).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evsed-crash-") as tmp:
        report = asyncio.run(run(Path(tmp), args.kills, args.seed))
    print(report.summary())
    for problem in report.problems:
        print("PROBLEM:", problem)
    raise SystemExit(1 if report.problems or report.lost or report.doubled_stops else 0)


if __name__ == "__main__":
    main()
