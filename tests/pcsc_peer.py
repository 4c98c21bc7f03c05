"""A real PC/SC stack for tests: pcscd with vsmartcard's vpcd reader driver, and a virtual contactless
card of our own that vpcd sees as a card on its `Virtual PCD 00 00` reader.

vpcd (Debian `vsmartcard-vpcd`) is a pcscd reader driver; /etc/reader.conf.d/vpcd gives it
`DEVICENAME /dev/null:0x8C7B`, which makes vpcd *listen* on TCP port 0x8C7B = 35963 (slot 0, reader
`Virtual PCD 00 00`) and 35964 (slot 1, `Virtual PCD 00 01`) on all interfaces. Both readers exist as soon
as pcscd starts; a card is "on" a reader while a client is connected to its port. Debian's own `vicc` card
is broken (it dies on GET DATA), hence `VirtualCard`.

vpcd's protocol, both ways: a 2-byte big-endian length, then the payload. vpcd sends 1-byte control
payloads (0 power off, 1 power on, 2 reset, 4 = send the ATR; only 4 wants an answer) and longer payloads
that are command APDUs to answer with a response APDU. vpcd asks for the ATR on every presence poll
(about every 0.4 s): a card that stops answering is removed.
"""

import contextlib
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.prerequisites import unavailable

VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER = "Virtual PCD 00 00"
CONTACTLESS_ATR = bytes.fromhex("3B8F8001804F0CA0000003060300030000000068")
"""A PC/SC part 3 ATR for a contactless storage card (ISO 14443 A part 3, MIFARE Ultralight)."""
GET_UID = bytes.fromhex("FFCA000000")
"""PC/SC part 3 §3.2.2.1.3 GET DATA: the card's UID."""
START_S = 10.0


def vpcd_port() -> int:
    """Slot 0's TCP port, from the `DEVICENAME host:port` line of Debian's vpcd reader config."""
    match = re.search(r"^DEVICENAME\s+\S+:(\S+)", VPCD_CONF.read_text(), re.MULTILINE)
    return int(match.group(1), 0) if match else 0x8C7B


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("vpcd closed the connection")
        data += chunk
    return data


class VirtualCard:
    """A contactless card on vpcd's slot 0: `insert()` puts it on the reader, `remove()` takes it off."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or vpcd_port()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def insert(self, uid_hex: str, reply: bytes | None = None) -> None:
        """Present a card that answers GET DATA with `uid_hex` + 90 00, or with `reply` verbatim if given."""
        self.remove()
        answer = reply if reply is not None else bytes.fromhex(uid_hex) + b"\x90\x00"
        self._sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._serve, args=(self._sock, answer), daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Take the card off the reader: vpcd sees the connection close on its next poll."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
            self._sock = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @staticmethod
    def _serve(sock: socket.socket, answer: bytes) -> None:
        with contextlib.suppress(OSError):  # ConnectionError too: the card was removed
            while True:
                size = int.from_bytes(_recv_exact(sock, 2), "big")
                payload = _recv_exact(sock, size)
                if payload == b"\x04":
                    response = CONTACTLESS_ATR
                elif len(payload) == 1:  # power off / on / reset: no answer
                    continue
                elif payload == GET_UID:
                    response = answer
                else:
                    response = b"\x6a\x81"  # function not supported
                sock.sendall(len(response).to_bytes(2, "big") + response)



def _pcscd_readers() -> list[str] | None:
    """The readers pcscd offers, or None when pcscd does not answer."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, readers = scard.SCardListReaders(context, [])
        return list(readers) if hresult == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def card_present() -> bool:
    """Whether pcscd itself currently sees a card on `READER`."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hresult)
    try:
        hresult, states = scard.SCardGetStatusChange(context, 0, [(READER, scard.SCARD_STATE_UNAWARE)])
        assert hresult == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hresult)
        return bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(context)


def wait_card(present: bool, within: float = 5.0) -> None:
    """Wait (bounded) until pcscd sees the virtual card on or off the reader."""
    deadline = time.monotonic() + within
    while card_present() is not present:
        assert time.monotonic() < deadline, f"pcscd did not see the card {'on' if present else 'off'}"
        time.sleep(0.05)


class Pcscd:
    """The machine's one pcscd: started here only if none runs, and then only that one is stopped."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def owned(self) -> bool:
        """Whether these tests started pcscd (and so may stop and restart it)."""
        return self.proc is not None

    def start(self) -> None:
        """Start `pcscd --foreground` unless one answers already; wait (bounded) for vpcd's reader."""
        if _pcscd_readers() is None:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen([shutil.which("pcscd") or "/usr/sbin/pcscd", "--foreground"],
                                             stdout=log, stderr=log)
        deadline = time.monotonic() + START_S
        while READER not in (_pcscd_readers() or []):
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"pcscd exited with {self.proc.returncode}: {self.log_path.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {READER!r} reader after {START_S} s; pcscd offers {_pcscd_readers()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the pcscd started here (not someone else's) and wait for it to go."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


@contextlib.contextmanager
def pcsc_stack(log_path: Path) -> Iterator[Pcscd]:
    """For a session fixture: a running pcscd with vpcd's reader, or a skip (a failure under CI) saying
    what is missing. Stops pcscd afterwards only if it started it."""
    try:
        import smartcard.scard  # noqa: F401 - only checking that pyscard is installed
    except ImportError:
        unavailable("pyscard is not installed (pip install 'evsed[pcsc]'; needs libpcsclite-dev)")
    if _pcscd_readers() is None and not (shutil.which("pcscd") or Path("/usr/sbin/pcscd").exists()):
        unavailable("pcscd is not installed (apt-get install pcscd)")
    if not (VPCD_DRIVER.exists() and VPCD_CONF.exists()):
        unavailable("vpcd is not installed (apt-get install vsmartcard-vpcd)")
    daemon = Pcscd(log_path)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()
