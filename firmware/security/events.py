"""Security events (OCPP 1.6 Security Whitepaper, edition 3: SecurityEventNotification and the security log).

Every event is a line of the security log (`security.log` beside the database, at most LOG_BYTES; the older half is
kept as `security.log.1`), which GetLog's SecurityLog sends. The events the whitepaper's list marks critical also go
to the CSMS as SecurityEventNotification, through the outbox: stored before anything else, in order with the
transaction messages, after a restart or an outage too, dated once the clock is trusted. Which evsed raises:

- critical, sent: StartupOfTheDevice (each start), ResetOrReboot (the start after a Reset the CSMS asked for),
  FirmwareUpdated (an update Installed);
- logged only: FailedToAuthenticateAtCentralSystem (a 401), InvalidCentralSystemCertificate (a TLS certificate
  refused), ReconfigurationOfSecurityParameters (SecurityProfile or AuthorizationKey changed), InvalidFirmwareSignature.

SettingSystemTime, SecurityLogWasCleared, MemoryExhaustion and TamperDetectionActivated are never raised: evsed does
not set the system clock (it keeps the CSMS's time as an offset), never clears the log, and has no tamper sensor or
memory watchdog of its own (systemd's watchdog restarts it).
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from firmware.clock import Clock, now_iso
from firmware.transactions.outbox import Outbox

log = logging.getLogger(__name__)

SECURITY_EVENT = "SecurityEventNotification"
"""The outbox kind of a critical security event (body: type, timestamp, tech_info)."""

LOG_BYTES = 512 * 1024


@dataclass(frozen=True)
class Event:
    name: str
    critical: bool


STARTUP = Event("StartupOfTheDevice", True)
RESET = Event("ResetOrReboot", True)
FIRMWARE_UPDATED = Event("FirmwareUpdated", True)
FAILED_AUTHENTICATION = Event("FailedToAuthenticateAtCentralSystem", False)
INVALID_CSMS_CERTIFICATE = Event("InvalidCentralSystemCertificate", False)
RECONFIGURATION = Event("ReconfigurationOfSecurityParameters", False)
INVALID_FIRMWARE_SIGNATURE = Event("InvalidFirmwareSignature", False)


class SecurityEvents:
    def __init__(self, outbox: Outbox, clock: Clock, log_path: Path) -> None:
        self._outbox = outbox
        self._clock = clock
        self.log_path = log_path

    def record(self, event: Event, tech_info: str | None = None) -> None:
        """Into the security log; a critical event to the CSMS too. `tech_info` must hold no secret."""
        info = (tech_info or "")[:255]
        self._append(f"{now_iso()} {event.name}{' ' + info if info else ''}\n")
        if event.critical:
            self._outbox.put(SECURITY_EVENT, None, {"type": event.name, "timestamp": self._clock.stamp(),
                                                    "tech_info": info or None})
        log.info("security event type=%s critical=%s", event.name, event.critical)

    def _append(self, line: str) -> None:
        try:
            if self.log_path.exists() and self.log_path.stat().st_size > LOG_BYTES:
                self.log_path.replace(self.log_path.with_name(self.log_path.name + ".1"))
            with self.log_path.open("a", encoding="utf-8", errors="backslashreplace") as out:
                out.write(line)
            self.log_path.chmod(0o600)
        except OSError as e:
            log.error("security log not written path=%s error=%s", self.log_path, e)
