"""Protocol-independent records shared by the charging logic and the protocol adapters.

Values are spelled as in OCPP 1.6 so the 1.6 adapter translates one to one; the 2.0.1 adapter maps them.
"""

from dataclasses import dataclass
from enum import StrEnum


class AuthorizationStatus(StrEnum):
    """OCPP 1.6 AuthorizationStatus (IdTagInfo.status)."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


@dataclass(frozen=True)
class IdTagInfo:
    status: AuthorizationStatus
    expiry_date: str | None = None
    parent_id_tag: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is AuthorizationStatus.ACCEPTED


class StopReason(StrEnum):
    """OCPP 1.6 StopTransaction.req reason."""

    EMERGENCY_STOP = "EmergencyStop"
    EV_DISCONNECTED = "EVDisconnected"
    HARD_RESET = "HardReset"
    LOCAL = "Local"
    OTHER = "Other"
    POWER_LOSS = "PowerLoss"
    REBOOT = "Reboot"
    REMOTE = "Remote"
    SOFT_RESET = "SoftReset"
    UNLOCK_COMMAND = "UnlockCommand"
    DE_AUTHORIZED = "DeAuthorized"


def same_id_tag(a: str | None, b: str | None) -> bool:
    """idTags compare case-insensitively everywhere (OCPP 1.6 IdToken is a case-insensitive string)."""
    return a is not None and b is not None and a.casefold() == b.casefold()
