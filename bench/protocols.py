"""OCPP 1.6 and 2.0.1 side by side in one run: the same simulated charger and loopback CSMS, each protocol started
`--rounds` times, alternating, so both see the same machine. Per protocol: card tap → contactor closed (online
Authorize), remote start (1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction) → contactor closed, remote stop →
contactor open, the daemon's RSS idle and charging on two connectors, and process start → BootNotification.

    .venv/bin/python -m bench.protocols [--cycles 60] [--rounds 2]
"""

import argparse
import asyncio
import statistics
import time
from typing import Any

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from bench.charger import CP, Charger, p99, running_charger

CARD = "04A1B2C3"
PROTOCOLS = ("ocpp1.6", "ocpp2.0.1")


def remote_start(protocol: str, n: int) -> Any:
    if protocol == "ocpp1.6":
        return call16.RemoteStartTransaction(id_tag=f"QR{n:08d}", connector_id=2)
    return call201.RequestStartTransaction(id_token={"id_token": f"QR{n:08d}", "type": "Central"},
                                           remote_start_id=n, evse_id=2)


def remote_stop(protocol: str, transaction_id: Any) -> Any:
    if protocol == "ocpp1.6":
        return call16.RemoteStopTransaction(transaction_id=transaction_id)
    return call201.RequestStopTransaction(transaction_id=transaction_id)


async def measure(protocol: str, cycles: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"tap": [], "start": [], "stop": [], "rss_idle": [], "rss_charging": [],
                                       "boot": []}
    async with running_charger(protocol=protocol) as charger:
        figures["boot"].append(charger.boot_s())
        await asyncio.sleep(2)
        figures["rss_idle"].append(charger.rss_mb())
        await charger.cmd(cmd="plug", connector=1)
        figures["tap"] = [await charger.tap_to_contactor_ms(CARD, 1) for _ in range(cycles)]
        await charger.cmd(cmd="plug", connector=2)
        for i in range(cycles):
            await remote_cycle(charger, protocol, i, figures)
        await charger.cmd(cmd="tap", uid=CARD, connector=1)
        assert (await charger.csms.call(CP, remote_start(protocol, cycles))).status == "Accepted"
        await charger.until_contactor(1, True)
        await charger.until_contactor(2, True)
        await asyncio.sleep(2)
        figures["rss_charging"].append(charger.rss_mb())
    return figures


async def remote_cycle(charger: Charger, protocol: str, i: int, figures: dict[str, list[float]]) -> None:
    sent = time.monotonic()
    assert (await charger.csms.call(CP, remote_start(protocol, i))).status == "Accepted"
    figures["start"].append(1000 * (await charger.until_contactor(2, True) - sent))
    async with asyncio.timeout(10):
        while (tx_id := (await charger.connector(2))["transaction_id"]) is None:
            await asyncio.sleep(0.005)
    sent = time.monotonic()
    assert (await charger.csms.call(CP, remote_stop(protocol, tx_id))).status == "Accepted"
    figures["stop"].append(1000 * (await charger.until_contactor(2, False) - sent))


async def main(cycles: int, rounds: int) -> None:
    results: dict[str, dict[str, list[float]]] = {p: {} for p in PROTOCOLS}
    for _ in range(rounds):
        for protocol in PROTOCOLS:
            for name, values in (await measure(protocol, cycles)).items():
                results[protocol].setdefault(name, []).extend(values)
    print(f"{'':34}" + "".join(f"{p:>22}" for p in PROTOCOLS))
    for name, label in (("tap", "tap → contactor (Authorize) ms"), ("start", "remote start → contactor ms"),
                        ("stop", "remote stop → contactor open ms")):
        print(f"{label:34}" + "".join(f"{statistics.median(results[p][name]):>10.1f} p50 "
                                      f"{p99(results[p][name]):>6.1f} p99" for p in PROTOCOLS))
    for name, label in (("rss_idle", "RSS idle MB"), ("rss_charging", "RSS charging 2 connectors MB"),
                        ("boot", "start → BootNotification s")):
        print(f"{label:34}" + "".join(f"{statistics.mean(results[p][name]):>22.2f}" for p in PROTOCOLS))
    print(f"({rounds} rounds of {cycles} cycles each, protocols alternating)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.cycles, args.rounds))
