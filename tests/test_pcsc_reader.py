"""The PC/SC card reader driver against a real pcscd, with vpcd's virtual reader and our own virtual card
(tests/pcsc_peer.py). No mocks: every UID travels card -> vpcd -> pcscd -> pyscard -> driver.

The tests share one pcscd of their own (private socket, pid file and vpcd ports, stopped by its pid), so they
run one after another, and beside any pcscd the machine runs. Without pcscd, vpcd or pyscard they skip (fail
under CI).
"""

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from drivers.pcsc_reader import PcscCardReader
from tests.pcsc_peer import READER, START_S, STOP_S, Pcscd, VirtualCard, pcsc_stack, wait_card

LOGGER = "drivers.pcsc_reader"
REPO = Path(__file__).resolve().parent.parent
MACHINE_RUN = Path("/run/pcscd")
"""Where the machine's pcscd (Debian's, hard-coded) keeps its socket and pid file."""


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory):
    with pcsc_stack(tmp_path_factory.mktemp("pcscd")) as daemon:
        yield daemon


@pytest.fixture
def card(pcscd: Pcscd):
    card = VirtualCard(pcscd.port)
    yield card
    card.remove()
    wait_card(False)  # the next test starts with an empty reader


class Taps:
    """Runs `reader.taps()` in a task and keeps what it yields."""

    def __init__(self, reader: PcscCardReader) -> None:
        self.reader = reader
        self.received: asyncio.Queue[str] = asyncio.Queue()
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for uid in self.reader.taps():
            self.received.put_nowait(uid)

    async def next(self, within: float = 5.0) -> str:
        async with asyncio.timeout(within):
            return await self.received.get()

    async def none_within(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        assert self.received.empty(), f"unexpected tap {self.received.get_nowait()}"


@pytest.fixture
async def open_reader(pcscd):
    opened: list[Taps] = []

    def open_(name: str = READER, retry_min_s: float = 0.1, retry_max_s: float = 0.5) -> Taps:
        taps = Taps(PcscCardReader(name, retry_min_s=retry_min_s, retry_max_s=retry_max_s))
        opened.append(taps)
        return taps

    yield open_
    for taps in opened:
        await taps.reader.aclose()
        async with asyncio.timeout(1):
            await taps.task


async def wait_for(condition, within: float = 5.0, what: str = "condition") -> None:
    """Poll `condition()` (bounded): the driver's state changes in its own thread, with no event to await."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def logged(caplog, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records)


async def test_uids_of_4_7_and_10_bytes_arrive_normalised(open_reader, card, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    taps = open_reader()
    for uid in ("04a1b2c3", "04a1b2c3d4e580", "04a1b2c3d4e5f6a7b8c9"):
        card.insert(uid)
        assert await taps.next() == uid.upper()
        card.remove()
        await asyncio.to_thread(wait_card, False)
    assert taps.reader.problem is None
    in_clear = [r for r in caplog.records if r.levelno > logging.DEBUG and "A1B2C3" in r.getMessage()]
    assert not in_clear, "full UIDs are logged only at debug level"
    assert logged(caplog, "uid=" + "*" * 16 + "B8C9")


async def test_held_card_is_one_tap_and_presenting_it_again_is_another(open_reader, card):
    taps = open_reader()
    card.insert("04a1b2c3d4e580")
    assert await taps.next() == "04A1B2C3D4E580"
    await taps.none_within(1.0)  # a few of pcscd's presence polls
    card.remove()
    await asyncio.to_thread(wait_card, False)
    card.insert("04a1b2c3d4e580")
    assert await taps.next() == "04A1B2C3D4E580"
    card.remove()  # and a swap quicker than pcscd's presence poll: pcscd still counts both events
    card.insert("04a1b2c3d4e580")
    assert await taps.next() == "04A1B2C3D4E580"


async def test_unreadable_cards_are_no_tap_and_the_reader_keeps_working(open_reader, card, caplog):
    taps = open_reader()
    for reply in (
        "0102030405060708" "9000",  # 8 bytes: a FeliCa IDm, not an ISO 14443 UID
        "6A81",  # function not supported
        "04A1B2C3" "6282",  # a warning status instead of 90 00
        "90",  # too short to hold a status word
    ):
        caplog.clear()
        card.insert("", reply=bytes.fromhex(reply))
        await wait_for(lambda: logged(caplog, "card ignored"), what=f"the card answering {reply} to be ignored")
        card.remove()
        await asyncio.to_thread(wait_card, False)
    card.insert("04a1b2c3")
    assert await taps.next() == "04A1B2C3"  # the first tap at all: the bad cards gave none
    assert taps.reader.problem is None


async def test_problem_when_no_reader_matches_and_close_is_prompt(open_reader):
    taps = open_reader("ACR122", retry_min_s=5.0, retry_max_s=5.0)
    expected = "no PC/SC reader matching 'ACR122' (is pcscd running? is the reader plugged in?)"
    await wait_for(lambda: taps.reader.problem == expected, what="the problem")
    assert not taps.task.done()  # taps() keeps going
    started = time.monotonic()
    await taps.reader.aclose()  # the worker sleeps 5 s between retries: close must not wait for it
    async with asyncio.timeout(0.5):
        await taps.task
    assert time.monotonic() - started < 0.5


async def test_close_while_waiting_for_a_card_is_prompt(open_reader, card):
    taps = open_reader()
    card.insert("04a1b2c3")
    assert await taps.next() == "04A1B2C3"  # the worker now blocks in SCardGetStatusChange
    started = time.monotonic()
    await taps.reader.aclose()
    async with asyncio.timeout(0.5):
        await taps.task  # taps() ends
    assert time.monotonic() - started < 0.5
    assert not any(t.name == "pcsc-reader" and t.is_alive() for t in threading.enumerate())


async def test_recovers_when_pcscd_comes_back(open_reader, card, pcscd: Pcscd):
    taps = open_reader()
    told: list[str | None] = []  # the firmware's health watcher is told of each change, from the worker thread
    assert taps.reader.watch_problem(lambda: told.append(taps.reader.problem)) is True
    card.insert("04a1b2c3")
    assert await taps.next() == "04A1B2C3"
    try:
        await asyncio.to_thread(pcscd.stop)  # vpcd goes with it, and so does the card's connection
        await wait_for(lambda: (taps.reader.problem or "").startswith("cannot reach pcscd"), what="the problem")
        assert taps.reader.problem.endswith("(is pcscd running?)")
    finally:
        await asyncio.to_thread(pcscd.start)
    await wait_for(lambda: taps.reader.problem is None, what="the reader to recover")
    assert any((p or "").startswith("cannot reach pcscd") for p in told) and told[-1] is None, told
    assert all(a != b for a, b in pairwise(told)), "each change told once, not each retry"
    card.insert("04a1b2c3")  # the driver saw the reader empty since: a new tap
    assert await taps.next() == "04A1B2C3"


async def test_card_still_on_the_reader_after_a_pcscd_restart_is_no_new_tap(open_reader, card, pcscd: Pcscd,
                                                                            caplog):
    """Like a reader replugged under a card: the card was never seen leaving, so its tap already counted."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    taps = open_reader(retry_min_s=2.0, retry_max_s=2.0)
    card.insert("04a1b2c3")
    assert await taps.next() == "04A1B2C3"
    try:
        await asyncio.to_thread(pcscd.stop)
        await wait_for(lambda: (taps.reader.problem or "").startswith("lost PC/SC reader"), what="the problem")
    finally:
        await asyncio.to_thread(pcscd.start)
    # The driver retries 2 s after losing pcscd; pcscd starts and sees the card again in about 0.5 s.
    card.insert("04a1b2c3")
    await asyncio.to_thread(wait_card, True)
    await wait_for(lambda: logged(caplog, "not a new tap"), what="the held card to be recognised")
    assert taps.reader.problem is None
    assert taps.received.empty()


def machine_readers() -> list[str] | None:
    """The readers the machine's pcscd offers at its standard socket, or None when none answers: asked from a
    child process, since this one's PC/SC library is bound to the tests' pcscd."""
    env = {name: value for name, value in os.environ.items() if name != "PCSCLITE_CSOCK_NAME"}
    code = "import json; from tests.pcsc_peer import pcscd_readers; print(json.dumps(pcscd_readers()))"
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=30, check=True)
    return json.loads(result.stdout)


def wait_machine_pcscd(within: float = START_S) -> list[str]:
    deadline = time.monotonic() + within
    while (readers := machine_readers()) is None:
        assert time.monotonic() < deadline, f"the machine's pcscd did not answer within {within} s"
        time.sleep(0.1)
    return readers


@pytest.fixture
def machine_pcscd(pcscd: Pcscd, tmp_path) -> Iterator[subprocess.Popen[bytes] | None]:
    """A pcscd of the machine's own at the standard socket with Debian's vpcd configuration (TCP 35963), as on a
    charger, a developer's PC, or CI once apt-get installed pcscd: the one running (None), or, when none runs,
    one started here as the system would, and stopped by its pid."""
    if machine_readers() is not None:
        yield None
        return
    with open(tmp_path / "machine-pcscd.log", "ab") as log:
        machine = subprocess.Popen([pcscd.program, "--foreground", *pcscd.polkit_off], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log)
    try:
        wait_machine_pcscd()
        yield machine
        assert machine.poll() is None, (tmp_path / "machine-pcscd.log").read_text()
    finally:
        machine.terminate()
        try:
            machine.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            machine.kill()
            machine.wait(timeout=STOP_S)


async def test_a_pcscd_the_machine_runs_is_left_alone(open_reader, card, pcscd: Pcscd, machine_pcscd):
    """The tests' pcscd works and restarts beside the machine's, and never stops or disturbs it."""
    before = await asyncio.to_thread(machine_readers)
    taps = open_reader()
    card.insert("04a1b2c3")
    assert await taps.next() == "04A1B2C3"  # through the tests' pcscd, not the machine's
    await asyncio.to_thread(pcscd.stop)
    assert await asyncio.to_thread(machine_readers) == before
    await asyncio.to_thread(pcscd.start)
    await wait_for(lambda: taps.reader.problem is None, what="the reader to recover")
    assert await asyncio.to_thread(machine_readers) == before
    if machine_pcscd is not None:
        # Ours never wrote or removed the machine's pid file (`pcscd --hotplug` and its next start read it).
        assert (MACHINE_RUN / "pcscd.pid").read_text().strip("\0\n") == str(machine_pcscd.pid)  # pcscd writes "PID\n\0"
