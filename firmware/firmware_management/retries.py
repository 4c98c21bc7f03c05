"""The retries and retryInterval a CSMS gives GetDiagnostics (OCPP 1.6 §5.9) and UpdateFirmware (§5.19), bounded.

The schemas allow any integer: a hostile or broken CSMS could ask for a billion attempts without a pause (a busy
loop against a dead server) or a pause no timer can hold (a 400-digit number). Outside the bounds the value is
clamped, with a log line: 0 to 10 retries, 1 s to 1 day apart.
"""

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_RETRIES = 10
MIN_INTERVAL_S = 1
MAX_INTERVAL_S = 86_400


@dataclass(frozen=True)
class Retries:
    retries: int
    """Attempts after the first."""
    interval_s: int

    @classmethod
    def bounded(cls, retries: int, interval_s: int) -> "Retries":
        kept = cls(min(max(retries, 0), MAX_RETRIES), min(max(interval_s, MIN_INTERVAL_S), MAX_INTERVAL_S))
        if (kept.retries, kept.interval_s) != (retries, interval_s):
            log.warning("retries bounded asked_retries=%.20s asked_interval_s=%.20s retries=%d interval_s=%d",
                        retries, interval_s, kept.retries, kept.interval_s)
        return kept
