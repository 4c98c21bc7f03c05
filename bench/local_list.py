"""Benchmark of the Local Authorization List at its full size (LocalAuthListMaxLength = 100,000).

Prints, for 100,000 entries sent to the running daemon as a Full update followed by Differential
updates of SendLocalListMaxLength entries each, the charger-side time from frame received to list
committed (the daemon logs it per update); where that time goes, measured in this process on one
SendLocalListMaxLength message, next to what the `ocpp` library's own validation path would cost;
and the time to look up an idTag in the 100,000-entry list.

    .venv/bin/python -m bench.local_list
"""

import asyncio
import json
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ocpp.charge_point import camel_to_snake_case
from ocpp.messages import Call, _validate_payload, unpack

from bench.charger import p99, running_charger
from firmware.auth.local_list import LocalList
from firmware.ocpp16 import compiled_schemas, convert
from firmware.persistence.db import Store
from firmware.settings import LOCAL_LIST_MAX_ENTRIES as LOCAL_AUTH_LIST_MAX_LENGTH
from firmware.settings import LOCAL_LIST_MAX_UPDATE as SEND_LOCAL_LIST_MAX_LENGTH

TOOK = re.compile(r"SendLocalList answered status=Accepted took_ms=([\d.]+)")
UPDATES = LOCAL_AUTH_LIST_MAX_LENGTH // SEND_LOCAL_LIST_MAX_LENGTH


def entries(update: int) -> list[dict[str, Any]]:
    """SendLocalListMaxLength entries, 14-character idTags (7-byte UIDs), with expiry and parent."""
    return [{"idTag": f"{update:02X}{i:012X}",
             "idTagInfo": {"status": "Accepted", "expiryDate": "2030-01-01T00:00:00Z", "parentIdTag": "FLEET01"}}
            for i in range(SEND_LOCAL_LIST_MAX_LENGTH)]


def timed_ms(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return 1000 * (time.perf_counter() - start), result


async def end_to_end() -> tuple[list[float], float, float]:
    async with running_charger() as charger:
        started = time.perf_counter()
        for n in range(UPDATES):
            status = await charger.send_local_list(n + 1, "Full" if n == 0 else "Differential", entries(n))
            assert status == "Accepted", status
        round_trips_s = time.perf_counter() - started
        size = (await charger.cmd(cmd="state"))["authorization"]["local_list_entries"]
        assert size == LOCAL_AUTH_LIST_MAX_LENGTH, size
        took = [float(m[1]) for m in TOOK.finditer(charger.log.read_text())]
        rss = charger.rss_mb()
    assert len(took) == UPDATES, took
    return took, round_trips_s, rss


def breakdown(local_list: LocalList) -> dict[str, float]:
    """One SendLocalListMaxLength message (rewriting existing entries) through each step of the
    charger's path, and the library's."""
    frame = json.dumps([2, "bench", "SendLocalList", {"listVersion": UPDATES + 1, "updateType": "Differential",
                                                      "localAuthorizationList": entries(0)}])
    msg, steps = through_steps(local_list, frame)
    library_validate_ms, _ = timed_ms(lambda: _validate_payload(msg, "1.6"))
    library_snake_ms, _ = timed_ms(lambda: camel_to_snake_case(msg.payload))
    return {"frame size (MB)": len(frame) / 1e6, **steps, "library jsonschema check (not used)": library_validate_ms,
            "library snake_case keys (not used)": library_snake_ms}


def through_steps(local_list: LocalList, frame: str) -> tuple[Call, dict[str, float]]:
    """One SendLocalList frame through the charger's steps, as its handler takes it: the message and ms per step."""
    parse_ms, msg = timed_ms(lambda: unpack(frame))
    validate_ms, error = timed_ms(lambda: compiled_schemas.schema_error(msg))
    assert error is None, error
    convert_ms, update = timed_ms(lambda: convert.list_update(msg.payload))
    commit_ms, status = timed_ms(lambda: local_list.apply(update))
    assert status.value == "Accepted", status
    return msg, {"json parse": parse_ms, "compiled schema check": validate_ms, "to records": convert_ms,
                 "SQLite apply + commit": commit_ms}


def lookups(local_list: LocalList, rounds: int = 20_000) -> list[float]:
    rng = random.Random(1)
    tags = [f"{rng.randrange(UPDATES):02X}{rng.randrange(2 * SEND_LOCAL_LIST_MAX_LENGTH):012X}"
            for _ in range(rounds)]  # about half of them are in the list
    times_us = []
    for tag in tags:
        start = time.perf_counter()
        local_list.lookup(tag)
        times_us.append(1e6 * (time.perf_counter() - start))
    return times_us


@contextmanager
def empty_list() -> Iterator[LocalList]:
    """A Local List of the charger's limits in a fresh database."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "evsed.db")
        try:
            yield LocalList(store, LOCAL_AUTH_LIST_MAX_LENGTH, SEND_LOCAL_LIST_MAX_LENGTH)
        finally:
            store.close()


@contextmanager
def filled_list() -> Iterator[LocalList]:
    """A Local List of LocalAuthListMaxLength entries in a fresh database."""
    with empty_list() as local_list:
        for n in range(UPDATES):
            local_list.apply(convert.list_update({"listVersion": n + 1, "updateType": "Differential",
                                                  "localAuthorizationList": entries(n)}))
        yield local_list


def steps_s() -> dict[str, float]:
    """The 100,000 entries of `end_to_end` through the charger's steps in this process: seconds per step, summed
    over the updates. JSON parsing, the compiled schema check and the SQLite work are what no change of evsed's
    own code can remove."""
    took: dict[str, float] = {}
    with empty_list() as local_list:
        for n in range(UPDATES):
            frame = json.dumps([2, "bench", "SendLocalList", {"listVersion": n + 1,
                                                              "updateType": "Full" if n == 0 else "Differential",
                                                              "localAuthorizationList": entries(n)}])
            for step, ms in through_steps(local_list, frame)[1].items():
                took[step] = took.get(step, 0.0) + ms / 1000
    return took


def filled_list_lookups() -> list[float]:
    """µs per lookup in a full Local List."""
    with filled_list() as local_list:
        return lookups(local_list)


def main() -> None:
    took, round_trips_s, rss = asyncio.run(end_to_end())
    print(f"{LOCAL_AUTH_LIST_MAX_LENGTH} entries as 1 Full + {UPDATES - 1} Differential updates of "
          f"{SEND_LOCAL_LIST_MAX_LENGTH}: frame received → committed {sum(took):.0f} ms in total on the charger "
          f"(per update p50 {statistics.median(took):.0f} ms, max {max(took):.0f} ms); "
          f"{round_trips_s:.2f} s of CSMS round trips; daemon RSS afterwards {rss:.1f} MB")
    with filled_list() as local_list:
        print(f"where the time goes for one {SEND_LOCAL_LIST_MAX_LENGTH}-entry update "
              f"(on a {local_list.count()}-entry list):")
        for step, value in breakdown(local_list).items():
            print(f"  {step:40s} {value:8.1f}" + ("" if "MB" in step else " ms"))
        times_us = lookups(local_list)
        print(f"lookup in a {local_list.count()}-entry list, {len(times_us)} idTags: "
              f"p50 {statistics.median(times_us):.0f} µs, p99 {p99(times_us):.0f} µs")


if __name__ == "__main__":
    main()
