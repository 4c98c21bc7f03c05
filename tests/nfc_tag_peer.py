"""The tag side of nfcpy's `udp` driver: one ISO/IEC 14443-3 Type A card, NFC Forum Type 2, on 127.0.0.1.

nfcpy cannot emulate a Type 2 tag, so tests play it here. nfcpy's udp reader (`udp:127.0.0.1:PORT`) sends
each frame as one datagram `b"106A <hex>"` from an ephemeral port and expects the answer in the same form
(no CRC, no parity); `b"RFOFF"` means it switched its field off. A silent card is simply no datagram.

The card follows ISO/IEC 14443-3, Type A initialisation and anticollision (UID contents and cascade levels):
REQA/WUPA -> ATQA; then per cascade level (SEL 0x93, 0x95, 0x97) ANTICOLLISION (NVB 0x20) -> UID CLn + BCC
and SELECT (NVB 0x70) -> SAK, whose cascade bit 0x04 says another level follows. A 4-byte (single size)
UID takes one level; a 7-byte (double) UID two and a 10-byte (triple) UID three, every level but the last
being the cascade tag 0x88 plus the next three UID bytes. Once selected it answers the Type 2 commands
nfcpy's activation and presence check send: GET_VERSION (0x60, answered as an NTAG215) and READ of
pages 0-3 (0x30 0x00, 16 bytes). Any other command sends it back to IDLE without an answer, as a real NTAG does.

    with Type2TagPeer() as peer:
        peer.present(bytes.fromhex("04A1B2C3D4E5F6"))   # reader path: f"udp:127.0.0.1:{peer.port}"
        ...
        peer.remove()
"""

import socket
import threading
from functools import reduce
from operator import xor
from types import TracebackType

CASCADE_TAG = 0x88
SEL_CMDS = (0x93, 0x95, 0x97)  # SEL code of cascade levels 1, 2, 3
NTAG215_VERSION = bytes.fromhex("0004040201001103")
RECV_POLL_S = 0.05  # how often the serving thread looks at its stop flag


def cascade_levels(uid: bytes) -> list[bytes]:
    """The 5-byte UID CLn answers (4 UID bytes or CT + 3, then BCC) for each cascade level of `uid`."""
    if len(uid) not in (4, 7, 10) or uid[0] == CASCADE_TAG:
        raise ValueError(f"not an ISO 14443-3 UID: {uid.hex()}")
    parts = []
    while len(uid) > 4:
        parts.append(bytes([CASCADE_TAG]) + uid[:3])
        uid = uid[3:]
    parts.append(uid)
    return [part + bytes([reduce(xor, part)]) for part in parts]


class Type2TagPeer:
    """A Type 2 card that a test places on (`present`) and takes off (`remove`) nfcpy's udp reader."""

    def __init__(self, readable: bool = True) -> None:
        """`readable=False` plays a card that stays silent to READ, as a MIFARE Classic does before
        authentication, so nfcpy's presence check loses it at once although it stays on the reader."""
        self.readable = readable
        self._sock = self._bind()
        self._lock = threading.Lock()
        self._levels: list[bytes] = []  # the card's cascade levels; empty while no card is on the reader
        self._uid = b""
        self._state = "IDLE"  # IDLE, READY (anticollision at cascade level self._level) or ACTIVE
        self._level = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="nfc-tag-peer", daemon=True)

    @staticmethod
    def _bind() -> socket.socket:
        """A socket on a free loopback port that /etc/services does not name: nfcpy's udp driver turns the
        port into a service name and back and fails on a named one (`udp:127.0.0.1:9` -> 'discard')."""
        for _ in range(10):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            try:
                socket.getservbyport(sock.getsockname()[1])
            except OSError:
                sock.settimeout(RECV_POLL_S)
                return sock
            sock.close()
        raise OSError("no unnamed free UDP port on 127.0.0.1")

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def present(self, uid: bytes) -> None:
        """Put a card with `uid` into the field; it powers up in IDLE."""
        levels = cascade_levels(uid)
        with self._lock:
            self._uid, self._levels, self._state = uid, levels, "IDLE"

    def remove(self) -> None:
        """Take the card out of the field: from now on it answers nothing."""
        with self._lock:
            self._levels, self._state = [], "IDLE"

    def __enter__(self) -> "Type2TagPeer":
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                datagram, addr = self._sock.recvfrom(1024)
            except TimeoutError:
                continue
            if datagram == b"RFOFF":
                with self._lock:
                    self._state = "IDLE"  # field off: the card loses power
                continue
            brty, _, payload = datagram.partition(b" ")
            if brty != b"106A":
                continue  # Type B/F polling: this card is Type A only and stays silent
            with self._lock:
                answer = self._answer(bytes.fromhex(payload.decode()))
            if answer is not None:
                self._sock.sendto(b"106A " + answer.hex().encode(), addr)

    def _answer(self, cmd: bytes) -> bytes | None:
        """The card's response to one command frame, or None for silence (ISO/IEC 14443-3 Type A PICC states).

        One card, so no collision: nfcpy only sends whole-UID ANTICOLLISION (NVB 0x20) and SELECT (NVB 0x70)."""
        if not self._levels:
            return None
        if cmd in (b"\x26", b"\x52"):  # REQA / WUPA
            self._state, self._level = "READY", 0
            return bytes([0x04 | (len(self._levels) - 1) << 6, 0x00])  # ATQA: UID size bits, bit frame AC
        if self._state == "READY" and len(cmd) >= 2 and cmd[0] == SEL_CMDS[self._level]:
            level = self._levels[self._level]
            if cmd[1] == 0x20:  # ANTICOLLISION with no UID bits known: the whole UID CLn
                return level
            if cmd[1] == 0x70 and cmd[2:] == level:  # SELECT
                self._level += 1
                if self._level < len(self._levels):
                    return b"\x04"  # SAK: UID not complete, next cascade level
                self._state = "ACTIVE"
                return b"\x00"  # SAK: complete, Type 2 (no ISO/IEC 14443-4)
        if self._state == "ACTIVE":
            if cmd == b"\x60":
                return NTAG215_VERSION
            if cmd == b"\x30\x00" and self.readable:  # READ pages 0-3, nfcpy's presence check
                return (self._uid + bytes(16))[:16]  # nfcpy checks only the length of the answer
        self._state = "IDLE"
        return None
