"""What the core tells a protocol adapter (core → adapter), besides the outbox.

Transaction messages do not pass here: they are queued in the outbox and the adapter's pump sends them.
The authorization block declares its own port (`auth.authorizer.CsmsAuthorize`).
"""

from dataclasses import dataclass
from typing import Protocol

from firmware.core.connector_state import ConnectorState, ErrorCode


@dataclass(frozen=True)
class ConnectorReport:
    """A connector's state as the core sees it now; connector 0 is the charge point as a whole."""

    connector_id: int
    state: ConnectorState
    error_code: ErrorCode = ErrorCode.NO_ERROR
    info: str | None = None
    vendor_error_code: str | None = None


class StatusPort(Protocol):
    def connector_changed(self, report: ConnectorReport) -> None:
        """A connector's state or error changed (also called once per connector at start). Never blocks: the
        adapter decides when and how the CSMS hears of it, and resends the current state after a reconnect."""
        ...
