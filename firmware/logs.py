"""Logging for an installer reading `journalctl -u evsed`: one line per event, `key=value` fields."""

import logging
import os
import sys

from hal import mask_uid


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


def masked(id_tag: str | None) -> str | None:
    """An idTag as a log line may show it: in full at debug level, else only its last four characters.

    A card UID is a credential (a copy of the card charges on its owner's account), so logs an
    installer may share never carry it whole.
    """
    if id_tag is None or logging.getLogger().isEnabledFor(logging.DEBUG):
        return id_tag
    return mask_uid(id_tag)
