"""Fuzzing the charger's OCPP link, the long run (issue 15): `tests/test_fuzz_link.py` without its bounds.

The daemon on simulated hardware, two sessions charging, against the raw fuzz CSMS of `tests/fuzz_csms.py`
(imported from there, so the CI slice and this run send the same kinds of frames): the crash classes the
issue names first, then frames drawn from the 1.6 schemas and mutated, and mis-answers to the charger's own
CALLs; a probe after every batch must be answered within 5 s. At the end both sessions stop normally.
Prints frames sent, crashes, hangs, tracebacks, lost transactions, and the daemon's RSS at start and end;
exits 1 if anything went wrong. `--known` judges each known crash class alone instead (one verdict each).

`--atheris RUNS` is another kind of fuzzing: libFuzzer's coverage-guided mutation (atheris, not among the
test extras: `pip install atheris`) over the charger's frame router in this process, `Ocpp16Peer.route_message`
with the unit tests' fake services, seeded with the known frames. Coverage guidance cannot see into the
daemon's process, so it fuzzes the router alone; any exception that escapes it (the receive loop would
end with it) stops the run with the input that caused it.

    .venv/bin/python -m bench.fuzz_link --frames 100000 [--seed N] [--resets 1]
    .venv/bin/python -m bench.fuzz_link --known
    .venv/bin/python -m bench.fuzz_link --atheris 200000
"""

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

from tests.fuzz_csms import FuzzOptions, known_batches, run_fuzz, run_known


def say(line: str) -> None:
    print(line, flush=True)


async def main(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="evsed-fuzz-"))
    options = FuzzOptions(frames=args.frames, seed=args.seed, deadline_s=60 * args.max_minutes, batch=args.batch,
                          resets=args.resets, pool_size=args.pool, log_level=args.log_level, known=not args.no_known,
                          pace_s=args.pace)
    say(f"working directory (config, database, daemon log): {workdir}")
    if args.known:
        verdicts, report = await run_known(workdir, options, say)
        width = max(len(label) for label, _ in verdicts)
        for label, verdict in verdicts:
            say(f"{label:<{width}}  {verdict}")
        for signature, n in report.signatures.items():
            say(f"  {n:5d} x {signature}")
        return 1 if any(not v.startswith("ok") for _, v in verdicts) else 0
    report = await run_fuzz(workdir, options, say)
    say(report.describe(incidents=args.incidents))
    failures = report.failures()
    say("FAILED: " + "; ".join(failures) if failures else "passed: nothing went wrong")
    return 1 if failures else 0


def atheris_fuzz(runs: int) -> int:
    """libFuzzer over `Ocpp16Peer.route_message` in this process (see the module's doc); exits the process."""
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        say("atheris is not installed: pip install atheris (it is not among the test extras)")
        return 2
    from firmware.core.services import Services
    from firmware.ocpp16.handlers import HANDLERS
    from firmware.ocpp16.peer import Ocpp16Peer
    from firmware.persistence.db import Store
    from firmware.settings import Settings
    from tests.unit.test_handlers import FakeAuthorizer, FakeChargePoint, FakeLifecycle, Wire

    logging.disable(logging.CRITICAL)  # the router logs every bad frame; only what escapes it counts here
    atheris.instrument_all()
    workdir = Path(tempfile.mkdtemp(prefix="evsed-atheris-"))
    corpus = workdir / "corpus"
    corpus.mkdir()
    for i, frame in enumerate(f for batch in known_batches(1)[:-1] for f in batch):  # not the 1000 stale ones
        data = frame.data if isinstance(frame.data, bytes) else frame.data.encode("utf-8", "surrogatepass")
        (corpus / f"known-{i}").write_bytes(data if isinstance(frame.data, str) else b"\x00" + data)
    settings = Settings(Store(workdir / "evsed.db"), {}, fixed={"connectors": 2})
    services = Services(settings, FakeAuthorizer(), FakeChargePoint(), None, FakeLifecycle())  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()

    def one_frame(data: bytes) -> None:
        """A text frame (valid UTF-8, as a websocket guarantees), or a binary one after a 0 byte."""
        frame: str | bytes = data[1:] if data[:1] == b"\x00" else data.decode("utf-8", "replace")
        peer = Ocpp16Peer("CP", Wire(), HANDLERS, services, lambda: True, response_timeout=1)
        loop.run_until_complete(asyncio.wait_for(peer.route_message(frame), 5))

    say(f"atheris: corpus and findings in {workdir}")
    atheris.Setup([sys.argv[0], f"-runs={runs}", f"-artifact_prefix={workdir}/", str(corpus)], one_frame)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000, help="fuzz frames to send (default 100,000)")
    parser.add_argument("--seed", type=int, default=15, help="seeds the pool and the frames (default 15)")
    parser.add_argument("--batch", type=int, default=20, help="frames between two probes (default 20)")
    parser.add_argument("--resets", type=int, default=1, help="deliberate Resets spread over the run (default 1)")
    parser.add_argument("--pool", type=int, default=100, help="payloads drawn per action from its schema")
    parser.add_argument("--pace", type=float, default=0.1, help="seconds of pause after each batch (default 0.1)")
    parser.add_argument("--max-minutes", type=float, default=120, help="stop fuzzing after this long")
    parser.add_argument("--log-level", default="info", help="the daemon's log level (default info)")
    parser.add_argument("--incidents", type=int, default=40, help="incidents to print in full")
    parser.add_argument("--known", action="store_true", help="judge each known crash class alone instead")
    parser.add_argument("--no-known", action="store_true", help="random frames only (no known crash classes first)")
    parser.add_argument("--atheris", type=int, metavar="RUNS", help="libFuzzer over the frame router instead")
    arguments = parser.parse_args()
    if arguments.atheris is not None:
        raise SystemExit(atheris_fuzz(arguments.atheris))
    raise SystemExit(asyncio.run(main(arguments)))
