"""The port between the charging logic and a protocol adapter (OCPP 1.6 now, 2.0.1 later).

The charging logic calls these; transaction messages do not pass here, they go through the outbox.
"""

from typing import Protocol

from firmware.records import IdTagInfo
from firmware.status_report import StatusReport


class Upstream(Protocol):
    @property
    def online(self) -> bool:
        """Registered with the CSMS and connected: an Authorize.req can be answered."""
        ...

    async def authorize(self, id_tag: str) -> IdTagInfo | None:
        """Ask the CSMS; None when it cannot answer (offline, timeout, CALLERROR)."""
        ...

    def send_status(self, report: StatusReport) -> None:
        """Send a StatusNotification now if online; a reconnect resends the current ones anyway."""
        ...
