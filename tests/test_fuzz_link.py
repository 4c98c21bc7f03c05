"""Issue 15: the charger's OCPP link fuzzed by a raw CSMS (`tests/fuzz_csms.py`) while two sessions run.

The CI slice: a few thousand frames (the crash classes the issue names first, then frames drawn from the
1.6 schemas and mutated, and mis-answers to the charger's own CALLs), each batch followed by a probe the
charger must answer within 5 s, one deliberate Reset in the middle; then both sessions stop normally.
The long run is `python -m bench.fuzz_link --frames 100000`. `EVSED_FUZZ_SEED` and `EVSED_FUZZ_FRAMES`
change the slice (the seed fixes the frames sent; the charger's timing decides what they meet).
"""

import asyncio
import json
import os
import random
import re

from ocpp.messages import MessageType

from firmware.ocpp16.keys import KEYS
from tests.fuzz_csms import (
    CARDS,
    SAFE_VALUES,
    TRANSACTION_ID_BASE,
    FrameGenerator,
    FuzzOptions,
    build_pool,
    known_batches,
    run_fuzz,
    tracebacks,
    valid_call,
)

SEED = int(os.environ.get("EVSED_FUZZ_SEED", "15"))
FRAMES = int(os.environ.get("EVSED_FUZZ_FRAMES", "3000"))
FUZZ_DEADLINE_S = 110.0
"""The fuzzing phase's bound; with start, the sessions and the final checks the test stays under 3 minutes."""


async def test_fuzzed_link_keeps_answering_and_every_transaction_ends(tmp_path):
    """The daemon never exits (the Reset restarts it in-process, same pid), never restarts unasked, answers
    every probe within 5 s, logs no traceback, keeps its link and both sessions; at the end every
    StartTransaction has its StopTransaction and the outbox is empty, without dead letters."""
    options = FuzzOptions(frames=FRAMES, seed=SEED, deadline_s=FUZZ_DEADLINE_S, resets=1, pace_s=0.3)
    async with asyncio.timeout(FUZZ_DEADLINE_S + 130):
        report = await run_fuzz(tmp_path, options, progress=print)
    print(report.describe(incidents=60))
    failures = report.failures()
    assert not failures, "\n".join(failures) + "\n" + report.describe()
    assert report.frames >= min(FRAMES, 1500), f"only {report.frames} frames fuzzed before the deadline"
    assert report.probes >= report.batches - report.resets, "a batch went unprobed"
    assert report.resets == 1 and report.transactions >= 2 * len(CARDS), \
        "both sessions ran before and after the Reset, each with its own transactionId"
    assert report.misanswers >= 10, "the charger's own CALLs were mis-answered too"


def test_generator_defuses_destructive_commands_and_covers_the_known_crash_classes():
    """No schema-valid Reset, no RemoteStop of a running transaction, no UnlockConnector of a session's
    connector, no ChangeConfiguration of a real key to a value that would change how the sessions run among
    the generated frames; every frame type and the issue's crash classes are there."""
    pool = build_pool(SEED, 8)
    issued = {TRANSACTION_ID_BASE, TRANSACTION_ID_BASE + 1}
    generator = FrameGenerator(pool, random.Random(SEED), lambda: issued, lambda: ["1"])
    frames = [f for _ in range(400) for f in generator.batch(20)]
    kinds = {f.kind.split(" ")[0] for f in frames}
    assert {"call", "mutated", "stray"} <= kinds
    calls = 0
    real_keys = {k.lower(): k for k in KEYS}
    for frame in frames:
        try:
            message = json.loads(frame.data)
        except (ValueError, RecursionError):  # broken, 5000-digit numbers, too deep: not a valid CALL anyway
            continue
        if not (isinstance(message, list) and len(message) == 4 and message[0] == MessageType.Call):
            continue
        action, payload = message[2], message[3]
        if not isinstance(action, str) or not valid_call(action, payload):
            continue
        calls += 1
        assert action != "Reset", frame.data
        if action == "RemoteStopTransaction":
            assert payload["transactionId"] not in issued, frame.data
        if action == "UnlockConnector":
            assert payload["connectorId"] not in CARDS, frame.data
        if action == "ChangeConfiguration" and payload["key"].strip().lower() in real_keys:
            value = payload["value"]
            harmless = value in SAFE_VALUES.get(real_keys[payload["key"].strip().lower()], ()) or \
                len(value.strip().lstrip("+-")) >= 400 or not re.fullmatch(r"\s*[+-]?\d+\s*|true|false", value.lower())
            assert harmless, frame.data
    assert calls > 500, "the generator sends well-formed CALLs too"
    known = "\n".join(f.kind for batch in known_batches(20) for f in batch)
    for crash_class in ("1000-deep array as the payload", "1000-deep array as the whole frame",
                        "1000 stale CALLRESULTs", "ChangeConfiguration HeartbeatInterval = 400 digits"):
        assert crash_class in known


def test_traceback_count_reads_chained_and_grouped_tracebacks():
    log = "\n".join([
        "2026-01-01 00:00:00,000 ERROR x: boom",
        "Traceback (most recent call last):",
        '  File "a.py", line 1, in f',
        "    g()",
        "KeyError: 'a'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "a.py", line 2, in f',
        "ValueError: b",
        "2026-01-01 00:00:01,000 INFO x: fine",
        "  + Exception Group Traceback (most recent call last):",
        '  |   File "b.py", line 3, in h',
        "  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)",
        "  +-+---------------- 1 ----------------",
        "    | Traceback (most recent call last):",
        '    |   File "c.py", line 4, in k',
        "    | TimeoutError",
        "    +------------------------------------",
    ])
    assert tracebacks(log) == ["ValueError: b", "TimeoutError"]
    assert tracebacks("2026-01-01 00:00:00,000 INFO x: nothing wrong\n") == []
