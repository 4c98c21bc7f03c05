"""Wall-clock timestamps for messages, and when the wall clock can be trusted.

Most Pis have no real-time clock and Raspberry Pi OS restores a stale time at boot (fake-hwclock),
so a timestamp read before NTP synchronised the clock can be hours or days wrong. Until the clock
is known good, an event is stamped with a *boot-relative token* (`boot:<boot id>+<seconds since
boot>`, CLOCK_BOOTTIME) instead of a date. When the clock becomes trusted — the kernel reports NTP
synchronisation, or BootNotification.conf brings the CSMS's currentTime — every stored token is
rewritten to its date (see `transactions.timestamps.resolve_stored`), and no message leaves with a token in it.

A token from an earlier boot that never got a trusted clock (power lost before NTP or the CSMS were
reached) cannot be placed exactly: it gets an upper bound that keeps the intervals between that
boot's events, ending at the moment this boot began (`resolve_tokens`).
"""

import asyncio
import ctypes
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
TOKEN = re.compile(r"boot:([^+\"]+)\+([0-9]+\.[0-9]{6})")
"""A boot-relative timestamp as stored before the clock was trusted."""

TIME_ERROR = 5
"""adjtimex(2) return value: the clock is not synchronised (STA_UNSYNC set)."""


PLAUSIBLE_YEARS = range(2000, 2200)
"""The years a CSMS's currentTime may fall in."""


class Trust(StrEnum):
    """`[clock] trust`: what makes the system clock good enough to stamp messages with."""

    NTP = "ntp"
    """The kernel says NTP synchronised it (timesyncd, chrony, ntpd), or the CSMS's currentTime."""
    RTC = "rtc"
    """A battery-backed real-time clock: trusted from boot."""
    CSMS = "csms"
    """Only the CSMS's BootNotification.conf currentTime (no NTP server reachable)."""


def current_boot_id() -> str:
    try:
        return BOOT_ID_PATH.read_text().strip()
    except OSError:
        return "unknown"


def since_boot() -> float:
    """Seconds since this boot, suspend included (CLOCK_BOOTTIME)."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """OCPP dateTime: RFC 3339 in UTC, e.g. 2026-11-23T10:00:00.123Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime | None:
    """An OCPP dateTime as an aware UTC datetime; None when unreadable (a date without a zone is UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or one that leaves datetime's range in UTC (year 9999+14:00)
        return None


def now_iso() -> str:
    """The system clock's time, for what is never sent as an event time (log and record keeping)."""
    return iso(utc_now())


_LIBC = ctypes.CDLL(None)
"""The C library the interpreter is linked with."""


def ntp_synchronised() -> bool:
    """Whether the kernel reports the clock synchronised (adjtimex(2) in read-only mode)."""
    timex = ctypes.create_string_buffer(512)  # struct timex; modes = 0 (first field) only reads
    return _LIBC.adjtimex(timex) not in (-1, TIME_ERROR)


class Clock:
    """Stamps events with a date once the wall clock is trusted, with a boot-relative token before."""

    NTP_POLL_S = 5.0

    def __init__(self, trust: Trust, boot_id: str, ntp_check: Callable[[], bool] = ntp_synchronised) -> None:
        self.trust = trust
        self.boot_id = boot_id
        self._ntp_check = ntp_check
        self._csms_offset: float | None = None
        """CSMS time minus CLOCK_BOOTTIME, once BootNotification.conf's currentTime arrived."""
        self.on_trusted: Callable[[], None] = lambda: None
        """Called once, when the clock becomes trusted: rewrite the stored tokens."""
        self._trusted = asyncio.Event()
        self._boot_began = 0.0
        """When this boot began on the trusted clock, taken once when it became trusted: a token resolves to
        the same date every time (two clock reads per resolution would differ by a rounding)."""

    @property
    def trusted(self) -> bool:
        return self._trusted.is_set()

    async def wait_trusted(self) -> None:
        await self._trusted.wait()

    def refresh(self) -> None:
        """Look at the clock's sources; the first time one is good, resolve what waited for it."""
        if self._trusted.is_set():
            return
        system = self._system_trusted()
        if not (system or self._csms_offset is not None):
            return
        log.info("wall clock trusted source=%s now=%s", "system" if system else "csms", iso(self.now()))
        self._boot_began = self.now().timestamp() - since_boot()
        self._trusted.set()
        self.on_trusted()

    async def watch(self) -> None:
        """Poll the kernel's NTP state until the clock is trusted."""
        while not self.trusted:
            self.refresh()
            await asyncio.sleep(self.NTP_POLL_S)

    def _system_trusted(self) -> bool:
        return self.trust is Trust.RTC or (self.trust is Trust.NTP and self._ntp_check())

    def set_from_csms(self, current_time: str) -> None:
        """BootNotification.conf or Heartbeat.conf currentTime (OCPP 1.6 §4.2, §4.6): the CSMS's clock, used
        while the system's is not trusted. A value that is unreadable, or a date outside PLAUSIBLE_YEARS (it
        would stamp every message with it, or overflow the date type), is logged and ignored."""
        try:
            csms_now = datetime.fromisoformat(current_time.replace("Z", "+00:00"))
            if csms_now.tzinfo is None:
                csms_now = csms_now.replace(tzinfo=UTC)
            if csms_now.astimezone(UTC).year not in PLAUSIBLE_YEARS:
                raise ValueError("implausible year")
        except (ValueError, OverflowError):
            log.warning("CSMS currentTime unreadable, ignored currentTime=%r", current_time[:40])
            return
        self._csms_offset = csms_now.timestamp() - since_boot()
        skew = csms_now.timestamp() - time.time()
        if abs(skew) > 60:
            log.warning("system clock differs from the CSMS's skew_s=%.0f", skew)
        self.refresh()

    def now(self) -> datetime:
        """The best wall time known: trusted when `trusted` is true, else the system clock's guess."""
        if self._csms_offset is not None and not self._system_trusted():
            return datetime.fromtimestamp(since_boot() + self._csms_offset, UTC)
        return utc_now()

    def stamp(self) -> str:
        """An event time: an OCPP dateTime when trusted, else a boot-relative token."""
        if self.trusted:
            return iso(self.now())
        return f"boot:{self.boot_id}+{since_boot():.6f}"

    def date(self, stamp: str) -> str | None:
        """A `stamp()` as a date: a token is resolved once the clock is trusted; None while it is not."""
        if not TOKEN.fullmatch(stamp):
            return stamp
        return self.resolve_tokens([stamp])[0] if self.trusted else None

    def resolve_tokens(self, texts: list[str]) -> list[str]:
        """Replace every boot-relative token in `texts` by its date; needs a trusted clock.

        A token of this boot is exact. Tokens of an earlier boot get upper bounds: that boot's last
        token is placed at the moment this boot began, the others keep their distance from it.
        """
        assert self.trusted, "tokens can only be resolved once the clock is trusted"
        boot_began = self._boot_began
        last_of_boot: dict[str, float] = {}
        for text in texts:
            for boot, seconds in TOKEN.findall(text):
                last_of_boot[boot] = max(last_of_boot.get(boot, 0.0), float(seconds))

        def date(match: re.Match[str]) -> str:
            boot, seconds = match.group(1), float(match.group(2))
            shift = boot_began if boot == self.boot_id else boot_began - last_of_boot[boot]
            return iso(datetime.fromtimestamp(0, UTC) + timedelta(seconds=shift + seconds))

        return [TOKEN.sub(date, text) for text in texts]
