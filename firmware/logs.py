"""Logging for an installer reading `journalctl -u evsed`: one line per event, `key=value` fields."""

import logging
import os
import sys
from collections import deque

from hal import mask_uid

RECENT_LINES = 2000
RECENT_LINE_CHARS = 400
"""How many of its latest log lines the daemon keeps in memory, each cut to RECENT_LINE_CHARS: at most about 800 KB
(a line quoting what a hostile CSMS sent can be 100 KB long; kept whole, 2,000 of them made the fuzz run's RSS grow
by 28 MB)."""


class RecentLog(logging.Handler):
    """The daemon's latest log lines in memory, (time, line): the log GetDiagnostics sends where no journal keeps
    one (not under systemd)."""

    def __init__(self, capacity: int = RECENT_LINES) -> None:
        super().__init__()
        self.lines: deque[tuple[float, str]] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.created, self.format(record)[:RECENT_LINE_CHARS]))


RECENT = RecentLog()


def setup_logging(level: str) -> None:
    # journald stamps every line itself; elsewhere (a terminal, the demo) add the time.
    under_journald = "JOURNAL_STREAM" in os.environ
    fmt = "%(levelname)s %(name)s: %(message)s" if under_journald else \
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format=fmt, force=True)
    logging.getLogger().addHandler(RECENT)
    # The ocpp library logs every frame at INFO, payloads included: keep it to warnings.
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    # pymodbus logs a multi-line frame dump at ERROR on every timeout; the meter driver reports failures.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def masked(id_tag: str | None) -> str | None:
    """An idTag as a log line may show it: in full at debug level, else only its last four characters.

    A card UID is a credential (a copy of the card charges on its owner's account), so logs an
    installer may share never carry it whole.
    """
    if id_tag is None or logging.getLogger().isEnabledFor(logging.DEBUG):
        return id_tag
    return mask_uid(id_tag)


def masked_url(url: str) -> str:
    """The URL with its password replaced by ***: what logs and errors show."""
    password = url_password(url)
    if password is None:
        return url
    head, _, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    userinfo, _, host = authority.rpartition("@")
    return f"{head}://{userinfo.partition(':')[0]}:***@{host}{slash}{tail}"


def url_password(url: str) -> str | None:
    """The password in `url` as written (percent-encoded), found without trusting the URL to be well formed:
    after the user's ':' up to the last '@' before the first '/' (so a '#' or '?' not encoded in a password is
    still the password's; a query with a '@' and no path before it gets masked too, which is safe)."""
    _, sep, rest = url.partition("://")
    userinfo, at, _ = rest.partition("/")[0].rpartition("@")
    _, colon, password = userinfo.partition(":")
    return password if sep and at and colon else None
