"""Card reader over nfcpy: a PN532 on the UART, an ACR122U or another USB reader nfcpy drives.

nfcpy (the `nfc` extra, `pip install 'evsed[nfc]'`) is imported by the worker thread only, so evsed's core
imports without it. nfcpy's `clf.connect()` blocks, so one daemon thread per reader runs it and hands UIDs
to the event loop; nfcpy's callbacks (`terminate`, `on-discover`, `on-release`) run in that thread.
"""

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

from hal.card_reader import CardReader
from hal.uid import mask_uid, normalise_uid
from hal.watchers import Watchers

if TYPE_CHECKING:
    import nfc.clf
    import nfc.tag

log = logging.getLogger(__name__)

TARGETS = ("106A", "106B")
JOIN_TIMEOUT_S = 5.0  # how long aclose waits for nfcpy to finish the sense round in progress


class NfcCardReader(CardReader):
    """Taps from the nfcpy reader at `path`.

    `path` is nfcpy's device path: `tty:S0:pn532` or `tty:AMA0:pn532` for a PN532 on a Raspberry Pi UART
    (not the `serial0` alias), `usb` or `usb:072f:2200` for an ACR122U and other USB readers,
    `udp:127.0.0.1:PORT` for nfcpy's loopback driver in tests.

    What a card yields: Type A (`106A`) gives the UID from ISO/IEC 14443-3 anticollision, 4, 7 or 10 bytes.
    Type B (`106B`) gives the 4-byte PUPI of the ATQB; many Type B cards (identity cards, passports, some bank
    cards) draw a new random PUPI each time they are powered, so only Type B cards with a fixed PUPI are
    usable as charging cards. Anything that does not normalise (`hal.uid.normalise_uid`) is logged and
    ignored. FeliCa is not read.

    A card held on the reader is one tap. nfcpy keeps a card it can activate (Type 2, Type 4) and checks
    that it stays; other cards (MIFARE Classic fails nfcpy's Type 2 presence check) are simply found again
    on the next round. Either way a UID seen again less than `rearm_s` after it was last seen is the same
    tap, so a card is a new tap only once it has been away from the reader for `rearm_s`.

    `poll_s` paces the sense rounds and presence checks. A reader that cannot be opened or fails is
    reported by `problem` and reopened after a backoff doubling from `backoff_min_s` to `backoff_max_s`.
    """

    def __init__(self, path: str, *, targets: Sequence[str] = TARGETS, poll_s: float = 0.2, rearm_s: float = 1.0,
                 backoff_min_s: float = 1.0, backoff_max_s: float = 30.0) -> None:
        if not targets or not set(targets) <= set(TARGETS):
            raise ValueError(f"NFC targets must be among {TARGETS}, not {list(targets)}")
        self.path = path
        self._targets = list(targets)
        self._poll_s = poll_s
        self._rearm_s = rearm_s
        self._backoff_min_s = backoff_min_s
        self._backoff_max_s = backoff_max_s
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._problem: str | None = None
        self._watchers = Watchers()
        self._failures = 0  # consecutive failed sessions; 0 once a sense round went through
        self._rounds = 0  # terminate() calls since the reader was opened
        self._last_raw: bytes | None = None  # the card seen last, and when (time.monotonic())
        self._last_seen = 0.0

    @property
    def problem(self) -> str | None:
        return self._problem

    def watch_problem(self, changed: Callable[[], None]) -> bool:
        return self._watchers.add(changed)

    async def taps(self) -> AsyncIterator[str]:
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._run, name=f"nfc {self.path}", daemon=True)
            self._thread.start()
        while True:
            yield await self._queue.get()

    async def aclose(self) -> None:
        """Stop polling: nfcpy asks `terminate` between sense rounds, so this waits for one round at most."""
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("event=nfc_reader_close_slow reader=%s waited_s=%s", self.path, JOIN_TIMEOUT_S)

    def _run(self) -> None:
        """Worker thread: a session per opening of the reader, with a bounded backoff after each failure."""
        while not self._stop.is_set():
            problem = self._session()
            if problem is None:
                return
            self._failures += 1
            text = f"NFC reader {self.path} {problem}"
            if text != self._problem:
                log.warning("event=nfc_reader_problem reader=%s problem=%r", self.path, text)
                self._problem = text
                self._watchers()
            delay = min(self._backoff_max_s, self._backoff_min_s * 2 ** (self._failures - 1))
            log.debug("event=nfc_reader_retry reader=%s failures=%d in_s=%.1f", self.path, self._failures, delay)
            self._stop.wait(delay)

    def _session(self) -> str | None:
        """Open the reader and poll it until aclose (returns None) or until it fails (returns what is wrong)."""
        try:
            import nfc  # lazily: evsed's core must import without nfcpy
        except ImportError:
            return "cannot be used: nfcpy is not installed (pip install 'evsed[nfc]')"
        try:
            clf = nfc.ContactlessFrontend(self.path)
        except (OSError, ValueError) as error:  # ENODEV, EACCES, EBUSY, or a malformed path
            return f"cannot be opened: {error}; {self._hint()}"
        self._rounds = 0
        rdwr = {"targets": self._targets, "iterations": 1, "on-discover": self._on_discover,
                "on-release": self._on_release}
        try:
            while not self._stop.is_set():
                # True after a held card left, None once terminated, False when nfcpy caught an I/O error
                if clf.connect(rdwr=rdwr, terminate=self._terminate) is False:
                    return f"stopped working (nfc.clf logged why); {self._hint()}"
        except Exception as error:  # some driver and USB errors get through connect(): never end the taps
            log.warning("event=nfc_reader_error reader=%s error=%r", self.path, error, exc_info=True)
            return f"failed: {error}; {self._hint()}"
        finally:
            clf.close()
        return None

    def _hint(self) -> str:
        if self.path.startswith(("tty", "com")):
            return "check the wiring and that the UART is enabled and not used by a serial console"
        if self.path.startswith("usb"):
            return "check that it is plugged in and that neither pcscd nor the pn533_usb kernel module holds it"
        return "check the reader path"

    def _terminate(self) -> bool:
        """nfcpy's `terminate` callback, asked before every sense round and between presence checks.

        Waiting on the stop event here paces polling to `poll_s` and still ends it at once on aclose. A call
        after the first since opening means a sense round went through: the reader works (again).
        """
        self._rounds += 1
        if self._rounds == 2 and self._failures:
            log.info("event=nfc_reader_ok reader=%s after_failures=%d", self.path, self._failures)
            self._problem, self._failures = None, 0
            self._watchers()
        return self._stop.wait(self._poll_s)

    def _on_discover(self, target: "nfc.clf.RemoteTarget") -> bool:
        """A card answered a sense round: a tap unless it is the card already on the reader.

        Returns True so that nfcpy activates the card and holds it while it stays."""
        if target.sdd_res is not None:
            raw = bytes(target.sdd_res)  # Type A: the UID, cascade tags already removed by nfcpy
        elif target.sensb_res is not None:
            raw = bytes(target.sensb_res[1:5])  # Type B: the PUPI of the ATQB
        else:
            raw = b""  # Type 1 (Topaz): its UID needs RID, which evsed does not send
        now = time.monotonic()
        new = raw != self._last_raw or now - self._last_seen > self._rearm_s
        self._last_raw, self._last_seen = raw, now
        if new:
            self._tap(raw, target.brty)
        return True

    def _on_release(self, tag: "nfc.tag.Tag") -> bool:
        """The held card left the reader: it was there until now (nfcpy's `on-release` callback)."""
        self._last_seen = time.monotonic()
        return True

    def _tap(self, raw: bytes, brty: str) -> None:
        try:
            uid = normalise_uid(raw)
        except ValueError as error:
            log.warning("event=nfc_card_ignored reader=%s type=%s reason=%r", self.path, brty, str(error))
            return
        log.info("event=nfc_tap reader=%s type=%s uid=%s", self.path, brty, mask_uid(uid))
        log.debug("event=nfc_tap_uid reader=%s uid=%s", self.path, uid)
        assert self._loop is not None  # set by taps() before the worker starts
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, uid)
        except RuntimeError:  # the event loop is closed: nobody takes taps any more
            self._stop.set()
