"""Logging for an installer reading `journalctl -u evsed`: one line per event, `key=value` fields."""

import logging
import os
import sys


def setup_logging(level: str) -> None:
    # journald stamps every line itself; elsewhere (a terminal, the demo) add the time.
    under_journald = "JOURNAL_STREAM" in os.environ
    fmt = "%(levelname)s %(name)s: %(message)s" if under_journald else \
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format=fmt, force=True)
    # The ocpp library logs every frame at INFO, payloads included: keep it to warnings.
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    # pymodbus logs a multi-line frame dump at ERROR on every timeout; the meter driver reports failures.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
