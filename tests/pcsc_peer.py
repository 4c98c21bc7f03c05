"""A real PC/SC stack for tests: a private pcscd with vsmartcard's vpcd reader driver, and a virtual
contactless card of our own that vpcd sees as a card on its `Virtual PCD 00 00` reader.

The tests' pcscd never meets a pcscd the machine runs (a charger's, a developer's, the one a package manager
starts in CI), so the tests stop and restart only their own, by its pid:
- pcscd (1.9.9 in Debian 12, 2.3.3 in Debian 13) hard-codes its socket and pid file, /run/pcscd/pcscd.comm
  and pcscd.pid: only `-c` (the reader.conf.d folder) can be moved, and only the client library reads
  PCSCLITE_CSOCK_NAME. So pcscd runs in a private mount namespace (`unshare --mount`; with `--user` too when
  not root) in which a tmpfs covers /run and a folder of ours is mounted on /run/pcscd. This process reaches
  it through PCSCLITE_CSOCK_NAME, the socket's path in that folder (`pcsc_stack` sets it before pyscard's
  first call: libpcsclite reads it once per process).
- Its one reader is vpcd, from a reader.conf.d of ours, on two free ports instead of Debian's fixed
  /etc/reader.conf.d/vpcd (`DEVICENAME /dev/null:0x8C7B`: TCP 35963 and 35964, which the machine's pcscd holds
  when it runs). vpcd listens on PORT (slot 0, reader `Virtual PCD 00 00`) and PORT+1 (slot 1) on all
  interfaces, its own choice; the card connects over 127.0.0.1. vpcd's other mode (DEVICENAME host:port, the
  card listening) would need no listening socket, but Debian's vpcd 3.3 aborts in it while no card is there
  (it polls with FD_SET(-1)).
- The USB reader drivers are hidden (a tmpfs over /usr/lib/pcsc/drivers; vpcd loads from a copy of its
  library), so the machine's own readers stay with the machine's pcscd and never appear in the tests.
- pcsc-lite 2 (Debian 13) asks polkit about every client; the tests' pcscd runs with --disable-polkit there.

A card is "on" the reader while a client is connected to its port. Debian's own `vicc` card is broken (it dies
on GET DATA), hence `VirtualCard`.

vpcd's protocol, both ways: a 2-byte big-endian length, then the payload. vpcd sends 1-byte control
payloads (0 power off, 1 power on, 2 reset, 4 = send the ATR; only 4 wants an answer) and longer payloads
that are command APDUs to answer with a response APDU. vpcd asks for the ATR on every presence poll
(about every 0.4 s): a card that stops answering is removed.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.prerequisites import unavailable

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
USB_DRIVERS = Path("/usr/lib/pcsc/drivers")
"""pcscd's usbdropdir on Debian (`pcscd --version` names it): hidden from the tests' pcscd."""
READER = "Virtual PCD 00 00"
CONTACTLESS_ATR = bytes.fromhex("3B8F8001804F0CA0000003060300030000000068")
"""A PC/SC part 3 ATR for a contactless storage card (ISO 14443 A part 3, MIFARE Ultralight)."""
GET_UID = bytes.fromhex("FFCA000000")
"""PC/SC part 3 §3.2.2.1.3 GET DATA: the card's UID."""
START_S = 10.0
STOP_S = 5.0
SOCKET_PATH_MAX = 107
"""sockaddr_un holds 108 bytes with the terminating NUL."""

PRIVATE_RUN = r"""
set -eu
run=$1
shift
# pcscd's /run/pcscd (socket and pid file) becomes $run, and nothing of the machine's /run is in sight.
mount -t tmpfs -o mode=0755 evsed-test-run /run
mkdir /run/pcscd
mount --bind "$run" /run/pcscd
# No USB reader drivers: the machine's readers stay with the machine's pcscd.
if [ -d "$USB_DRIVERS" ]; then mount -t tmpfs -o mode=0755 evsed-test-drivers "$USB_DRIVERS"; fi
exec "$@"
"""
"""Run in `unshare --mount`: arguments RUN_DIR COMMAND...; environment USB_DRIVERS."""


def _namespace_env() -> dict[str, str]:
    return {**os.environ, "USB_DRIVERS": str(USB_DRIVERS)}


def _namespace_command(unshare: str, run_dir: Path, *command: str) -> list[str]:
    # Root may make a mount namespace; anyone else needs a user namespace (as root of which it may mount).
    user = ["--user", "--map-root-user"] if os.geteuid() != 0 else []
    return [unshare, "--mount", "--propagation", "private", *user, "sh", "-c", PRIVATE_RUN, "evsed-test-pcscd",
            str(run_dir), *command]


def polkit_off(pcscd: str) -> list[str]:
    """pcsc-lite 2 (Debian 13) asks polkit whether each client may connect, and rejects all when no polkitd
    answers (CI, a chroot, the tests' namespace). The tests' pcscd serves only the tests: polkit is off
    where this pcscd can turn it off (Debian 12's pcsc-lite 1.9.9 is built without polkit and has no such
    option)."""
    usage = subprocess.run([pcscd, "--help"], capture_output=True, text=True, timeout=30)
    return ["--disable-polkit"] if "--disable-polkit" in usage.stdout + usage.stderr else []


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("", port))  # as vpcd binds: all interfaces
        except OSError:
            return False
    return True


def free_port_pair(attempts: int = 50) -> int:
    """A TCP port P with P and P+1 free: vpcd listens on both (slots 0 and 1)."""
    for _ in range(attempts):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65535 and _bindable(port) and _bindable(port + 1):
            return port
    raise RuntimeError(f"no two adjacent free TCP ports in {attempts} tries")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("vpcd closed the connection")
        data += chunk
    return data


class VirtualCard:
    """A contactless card on vpcd's slot 0, listening on `port` (the tests' pcscd's `Pcscd.port`):
    `insert()` puts it on the reader, `remove()` takes it off."""

    def __init__(self, port: int) -> None:
        self.port = port
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



def pcscd_readers() -> list[str] | None:
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
    """The tests' own pcscd (see the module docstring), reached at `socket`, with vpcd on `port`. Only this
    process (by its pid) is ever stopped; `start()` and `stop()` may repeat, with the same socket and port."""

    def __init__(self, workdir: Path, pcscd: str, unshare: str) -> None:
        self.program = pcscd
        self.polkit_off = polkit_off(pcscd)
        self.run_dir = workdir / "run"
        self.socket = self.run_dir / "pcscd.comm"
        self.log_path = workdir / "pcscd.log"
        self.port = free_port_pair()
        self.proc: subprocess.Popen[bytes] | None = None
        if len(os.fsencode(self.socket)) > SOCKET_PATH_MAX:
            raise ValueError(f"{self.socket}: longer than a unix socket path may be")
        if self.run_dir.resolve().is_relative_to("/run"):
            raise ValueError(f"{self.run_dir}: under /run, which the private mount namespace covers")
        config = workdir / "reader.conf.d"
        for folder in (self.run_dir, config):
            folder.mkdir(parents=True, exist_ok=True)
        driver = workdir / VPCD_DRIVER.name
        shutil.copy(VPCD_DRIVER, driver)  # outside the hidden driver folder
        (config / "vpcd").write_text(f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:{self.port}\n'
                                     f"LIBPATH {driver}\n")
        self.command = _namespace_command(unshare, self.run_dir, pcscd, "--foreground", *self.polkit_off,
                                          "--config", str(config))

    def start(self) -> None:
        """Start pcscd; wait (bounded) until this process sees vpcd's reader through it."""
        if self.proc is not None:
            raise RuntimeError("pcscd is already running")
        if pcscd_readers() is not None:
            raise RuntimeError("a pcscd answers before ours started: this process's PC/SC library was used "
                               f"before PCSCLITE_CSOCK_NAME={self.socket} was set (see pcsc_stack)")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=_namespace_env())
        deadline = time.monotonic() + START_S
        while READER not in (pcscd_readers() or []):
            if self.proc.poll() is not None:
                code, self.proc = self.proc.returncode, None
                raise RuntimeError(f"pcscd exited with {code}: {self.log_path.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"no {READER!r} reader after {START_S} s: {self.log_path.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop our pcscd (SIGTERM, then SIGKILL) and wait (bounded) for it to go; its namespace goes with it."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_S)
        self.proc = None


def _private_namespace_problem(unshare: str) -> str | None:
    """Why pcscd cannot get a private /run/pcscd here (no mount namespace for us), or None."""
    with tempfile.TemporaryDirectory() as run_dir:
        probe = subprocess.run(_namespace_command(unshare, Path(run_dir), "true"), capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=30, env=_namespace_env())
    return None if probe.returncode == 0 else probe.stderr.strip() or f"exit code {probe.returncode}"


@contextlib.contextmanager
def pcsc_stack(workdir: Path) -> Iterator[Pcscd]:
    """For a session fixture: the tests' own pcscd with vpcd's reader, running, and this process's PC/SC
    library bound to it; or a skip (a failure under CI) saying what is missing. Stops it afterwards."""
    try:
        import smartcard.scard  # noqa: F401 - only checking that pyscard is installed
    except ImportError:
        unavailable("pyscard is not installed (it compiles: apt-get install libpcsclite-dev gcc python3-dev, "
                    "then pip install -e '.[test,pcsc]'; see the README's set-up)")
    pcscd = shutil.which("pcscd") or ("/usr/sbin/pcscd" if Path("/usr/sbin/pcscd").exists() else None)
    if pcscd is None:
        unavailable("pcscd is not installed (apt-get install pcscd)")
    if not VPCD_DRIVER.exists():
        unavailable("vpcd is not installed (apt-get install vsmartcard-vpcd)")
    unshare = shutil.which("unshare") or unavailable("unshare is not installed (Debian package util-linux)")
    problem = _private_namespace_problem(unshare)
    if problem:
        unavailable(f"cannot give the tests' pcscd a private /run/pcscd (a mount namespace: root, or user "
                    f"namespaces): {problem}")
    daemon = Pcscd(workdir, pcscd, unshare)
    previous = os.environ.get("PCSCLITE_CSOCK_NAME")
    os.environ["PCSCLITE_CSOCK_NAME"] = str(daemon.socket)  # for libpcsclite here and in child processes
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
        if previous is None:
            os.environ.pop("PCSCLITE_CSOCK_NAME", None)
        else:
            os.environ["PCSCLITE_CSOCK_NAME"] = previous
