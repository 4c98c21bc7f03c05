"""NfcCardReader on nfcpy's real stack: its `udp` driver polls a Type 2 tag that tests/nfc_tag_peer.py
plays on 127.0.0.1. No mocks; every wait is bounded.

nfcpy's udp driver waits 1 s for a silent card per technology polled, so a sense round with no card takes
1 s per target here (milliseconds on a PN532)."""

import asyncio
import logging
import threading
import time

import pytest

from drivers.nfc_reader import NfcCardReader
from tests.nfc_tag_peer import Type2TagPeer

FAST = {"poll_s": 0.05, "rearm_s": 0.5, "backoff_min_s": 0.1, "backoff_max_s": 0.4}
UID7 = bytes.fromhex("04a1b2c3d4e5f6")


class Taps:
    """Collects a reader's taps in a task, so a test can wait for some and also see that no more came."""

    def __init__(self, reader: NfcCardReader) -> None:
        self.reader = reader
        self.got: list[str] = []
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for uid in self.reader.taps():
            self.got.append(uid)

    async def wait(self, count: int, within: float = 5.0) -> list[str]:
        async with asyncio.timeout(within):
            while len(self.got) < count:
                await asyncio.sleep(0.02)
        return self.got


async def wait_until(condition, within: float) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.02)


@pytest.fixture
def peer():
    with Type2TagPeer() as tag:
        yield tag


@pytest.fixture
async def start_reader():
    started: list[Taps] = []

    def start(path: str, **tunables) -> Taps:
        taps = Taps(NfcCardReader(path, **{**FAST, **tunables}))
        started.append(taps)
        return taps

    yield start
    for taps in started:
        await taps.reader.aclose()
        taps.task.cancel()


@pytest.mark.parametrize("uid", ["0a1b2c3d", "04a1b2c3d4e5f6", "04112233445566778899"],
                         ids=["single-4", "double-7", "triple-10"])
async def test_uid_of_each_size_arrives_normalised(peer, start_reader, caplog, uid):
    caplog.set_level(logging.INFO, logger="drivers.nfc_reader")
    peer.present(bytes.fromhex(uid))
    taps = start_reader(f"udp:127.0.0.1:{peer.port}", targets=["106A"])
    assert await taps.wait(1) == [uid.upper()]
    assert taps.reader.problem is None
    logged = caplog.text.upper()
    assert uid.upper()[-4:] in logged and uid.upper() not in logged  # masked outside DEBUG


@pytest.mark.parametrize("readable", [True, False], ids=["held-by-nfcpy", "refound-each-round"])
async def test_held_card_is_one_tap_and_presenting_it_again_another(peer, start_reader, readable):
    """readable=False plays a card nfcpy cannot keep (like a MIFARE Classic): found anew each sense round."""
    peer.readable = readable
    taps = start_reader(f"udp:127.0.0.1:{peer.port}")  # polls 106A and 106B, no card yet
    await asyncio.sleep(0.3)
    peer.present(UID7)
    await taps.wait(1)
    await asyncio.sleep(1.5)  # held: several presence checks or sense rounds
    assert taps.got == ["04A1B2C3D4E5F6"]
    peer.remove()
    await asyncio.sleep(1.0)  # longer than the presence check and rearm_s
    assert taps.got == ["04A1B2C3D4E5F6"]
    peer.present(UID7)
    assert await taps.wait(2) == ["04A1B2C3D4E5F6"] * 2
    assert taps.reader.problem is None


async def test_reader_that_cannot_be_opened_is_a_problem_and_retried(start_reader, caplog):
    caplog.set_level(logging.DEBUG, logger="drivers.nfc_reader")
    taps = start_reader("tty:USB97:pn532")  # no /dev/ttyUSB97
    told: list[str | None] = []  # the firmware's health watcher is told of each change, from the worker thread
    assert taps.reader.watch_problem(lambda: told.append(taps.reader.problem)) is True
    await wait_until(lambda: taps.reader.problem is not None, within=3)
    assert taps.reader.problem == ("NFC reader tty:USB97:pn532 cannot be opened: [Errno 19] No such device; "
                                   "check the wiring and that the UART is enabled and not used by a serial console")
    await wait_until(lambda: caplog.text.count("event=nfc_reader_retry") >= 4, within=3)
    assert caplog.text.count("event=nfc_reader_problem") == 1  # reported once, not per retry
    assert told == [taps.reader.problem], "the watcher is told once too"
    assert not taps.task.done()  # taps() goes on
    started = time.monotonic()
    await taps.reader.aclose()
    assert time.monotonic() - started < 0.5


async def test_reader_failing_while_polling_is_a_problem_and_retried(start_reader, caplog):
    """nfcpy opens a udp reader on the broadcast address, then every send fails with EACCES, which
    clf.connect() swallows (returns False): the same path as a USB reader failing mid-poll."""
    caplog.set_level(logging.DEBUG)
    taps = start_reader("udp:255.255.255.255:54321")
    await wait_until(lambda: caplog.text.count("event=nfc_reader_retry") >= 3, within=3)
    assert taps.reader.problem == ("NFC reader udp:255.255.255.255:54321 stopped working (nfc.clf logged why); "
                                   "check the reader path")
    assert "Permission denied" in caplog.text
    assert not taps.task.done()


@pytest.mark.parametrize("card", [True, False], ids=["holding-a-card", "mid-sense-round"])
async def test_aclose_is_prompt(peer, start_reader, card):
    if card:
        peer.present(UID7)
    taps = start_reader(f"udp:127.0.0.1:{peer.port}")
    if card:
        await taps.wait(1)
    else:
        await asyncio.sleep(0.5)  # inside a udp probe that waits 1 s for the absent card
    started = time.monotonic()
    await taps.reader.aclose()
    # without a card nfcpy finishes the probe in progress (up to 1 s per target on udp) before it stops
    assert time.monotonic() - started < (0.5 if card else 2.5)
    assert not any(t.name == f"nfc udp:127.0.0.1:{peer.port}" for t in threading.enumerate())
