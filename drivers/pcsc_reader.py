"""PC/SC card reader: any contactless reader that pcscd drives (ACR122U, ACR1252U, ...), through pyscard.

A worker thread waits on pcscd for card events (`SCardGetStatusChange`), reads each new card's UID with
GET DATA and hands it to the event loop; `aclose()` wakes it with `SCardCancel`. pyscard is imported only
when a `PcscCardReader` is made, so the rest of evsed installs and runs without it.
"""

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable

from hal.card_reader import CardReader
from hal.uid import mask_uid, normalise_uid
from hal.watchers import Watchers

log = logging.getLogger(__name__)

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]
"""PC/SC part 3 §3.2.2.1.3 GET DATA with P1 P2 = 00 00: the card's UID; Le = 00 asks for all of it."""
SW_OK = [0x90, 0x00]
CLOSE_S = 2.0
"""How long `aclose()` waits for the worker thread, which only a card read in progress delays."""


class _ReaderError(Exception):
    """The reader cannot be used now; the message is `problem` in plain words."""


class PcscCardReader(CardReader):
    """The first PC/SC reader whose name contains `reader` (case-insensitive; "" = the first reader).

    One card held on the reader is one tap, also across a pcscd restart or a replugged reader (a card
    whose UID was the last tap and that was never seen leaving is not tapped again); a card already on
    the reader when watching starts is a tap. When pcscd or the reader is missing, `problem` says so and
    the worker retries, waiting `retry_min_s` doubling up to `retry_max_s`: a reader plugged in later is
    found within `retry_max_s`. One consumer iterates `taps()`.
    """

    def __init__(self, reader: str = "", retry_min_s: float = 0.5, retry_max_s: float = 5.0) -> None:
        try:
            from smartcard import scard
        except ImportError as e:
            raise ImportError("the PC/SC card reader needs pyscard: pip install 'evsed[pcsc]'") from e
        self._scard = scard
        self._name = reader
        self._retry_min_s = retry_min_s
        self._retry_max_s = retry_max_s
        self._retry_s = retry_min_s
        self._problem: str | None = None
        self._watchers = Watchers()
        self._held: str | None = None
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards _context between the worker and aclose()
        self._context: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def problem(self) -> str | None:
        return self._problem

    def watch_problem(self, changed: Callable[[], None]) -> bool:
        return self._watchers.add(changed)

    async def taps(self) -> AsyncIterator[str]:
        """Start watching the reader (on first use) and yield UIDs until `aclose()`."""
        if self._stop.is_set():
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(asyncio.get_running_loop(),),
                                            name="pcsc-reader", daemon=True)
            self._thread.start()
        while (uid := await self._queue.get()) is not None:
            yield uid

    async def aclose(self) -> None:
        """Stop the worker thread, cancelling its wait on pcscd, and end `taps()`."""
        self._stop.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_S
        while self._thread is not None and self._thread.is_alive():
            if loop.time() > deadline:
                log.warning("card reader thread still busy after close reader=%r", self._name)
                break
            with self._lock:
                if self._context is not None:  # cancel again: a cancel between two waits is lost
                    self._scard.SCardCancel(self._context)
            await asyncio.sleep(0.01)
        self._queue.put_nowait(None)

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        """Worker thread: watch the reader; on any failure report it, back off and start over."""
        while not self._stop.is_set():
            try:
                self._watch(loop)
            except _ReaderError as e:
                self._back_off(str(e))
            except Exception as e:  # an unexpected pyscard error must not end the watcher silently
                log.exception("card reader failed reader=%r", self._name)
                self._back_off(f"PC/SC card reader failed: {e}")

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Follow card events on the reader until `aclose()`; raises _ReaderError when that fails."""
        scard = self._scard
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise _ReaderError(f"cannot reach pcscd: {self._error(hresult)} (is pcscd running?)")
        with self._lock:
            self._context = context
        try:
            reader = self._find(context)
            if self._problem is not None:
                self._problem = None
                self._watchers()
            log.info("card reader ready reader=%r", reader)
            self._retry_s = self._retry_min_s
            state, seen = scard.SCARD_STATE_UNAWARE, None
            while not self._stop.is_set():
                hresult, states = scard.SCardGetStatusChange(context, scard.INFINITE, [(reader, state)])
                if self._stop.is_set():
                    return
                if hresult != scard.SCARD_S_SUCCESS:
                    raise _ReaderError(f"lost PC/SC reader {reader!r}: {self._error(hresult)}"
                                       " (did pcscd stop? was the reader unplugged?)")
                state = states[0][1]
                if state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                    raise _ReaderError(f"PC/SC reader {reader!r} went away (unplugged?)")
                if not state & scard.SCARD_STATE_PRESENT:
                    seen = self._held = None
                elif state >> 16 != seen:  # a new card event: pcsc-lite counts them in the high 16 bits
                    if seen is not None:  # the card left and came back between two looks
                        self._held = None
                    seen = state >> 16
                    self._read(context, reader, loop)
        finally:
            with self._lock:
                self._context = None
            scard.SCardReleaseContext(context)

    def _find(self, context: int) -> str:
        scard = self._scard
        hresult, readers = scard.SCardListReaders(context, [])
        if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_NO_READERS_AVAILABLE):
            raise _ReaderError(f"cannot list PC/SC readers: {self._error(hresult)} (is pcscd running?)")
        for name in readers:
            if self._name.lower() in name.lower():
                return name
        wanted = f"matching {self._name!r}" if self._name else "found"
        raise _ReaderError(f"no PC/SC reader {wanted} (is pcscd running? is the reader plugged in?)")

    def _read(self, context: int, reader: str, loop: asyncio.AbstractEventLoop) -> None:
        """Read the UID of the card now on the reader and deliver it, unless it is unreadable or still held."""
        scard = self._scard
        hresult, card, protocol = scard.SCardConnect(context, reader, scard.SCARD_SHARE_SHARED,
                                                     scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if hresult != scard.SCARD_S_SUCCESS:
            log.warning("card not read reader=%r error=%r", reader, self._error(hresult))
            return
        try:
            hresult, response = scard.SCardTransmit(card, protocol, GET_UID)
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        if hresult != scard.SCARD_S_SUCCESS:
            log.warning("card not read reader=%r error=%r", reader, self._error(hresult))
            return
        log.debug("card GET DATA reader=%r response=%s", reader, bytes(response).hex().upper())
        if response[-2:] != SW_OK:
            log.warning("card ignored: GET DATA refused reader=%r sw=%s", reader, bytes(response[-2:]).hex().upper())
            return
        try:
            uid = normalise_uid(bytes(response[:-2]))
        except ValueError as e:
            log.warning("card ignored reader=%r reason=%r", reader, str(e))
            return
        if uid == self._held:
            log.info("card still on the reader, not a new tap reader=%r uid=%s", reader, mask_uid(uid))
            return
        self._held = uid
        log.info("card presented reader=%r uid=%s", reader, mask_uid(uid))
        log.debug("card presented reader=%r uid=%s", reader, uid)
        try:
            loop.call_soon_threadsafe(self._queue.put_nowait, uid)
        except RuntimeError:  # the event loop is closed: nobody will read taps any more
            self._stop.set()

    def _error(self, hresult: int) -> str:
        return f"{self._scard.SCardGetErrorMessage(hresult).rstrip('.')} (0x{hresult & 0xFFFFFFFF:08X})"

    def _back_off(self, problem: str) -> None:
        if problem != self._problem:  # each retry repeats it: log it once
            log.warning("card reader problem reader=%r problem=%r", self._name, problem)
            self._problem = problem
            self._watchers()
        log.debug("card reader retry reader=%r in_s=%s", self._name, self._retry_s)
        self._stop.wait(self._retry_s)
        self._retry_s = min(self._retry_s * 2, self._retry_max_s)
