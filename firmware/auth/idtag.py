"""An idTag and what the CSMS said about it: AuthorizationStatus, IdTagInfo (validity, expiry), comparison.

Values are spelled as in OCPP 1.6 so the 1.6 adapter translates one to one; the 2.0.1 adapter maps them
(IdTokenInfo's statuses).
"""

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

log = logging.getLogger(__name__)


class AuthorizationStatus(StrEnum):
    """OCPP 1.6 AuthorizationStatus (IdTagInfo.status) and the statuses 2.0.1's IdTokenInfo adds
    (AuthorizationStatusEnumType); none of those is valid for a start."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"
    NO_CREDIT = "NoCredit"
    NOT_ALLOWED_TYPE_EVSE = "NotAllowedTypeEVSE"
    NOT_AT_THIS_LOCATION = "NotAtThisLocation"
    NOT_AT_THIS_TIME = "NotAtThisTime"
    UNKNOWN = "Unknown"


VALID_STATUSES = frozenset({AuthorizationStatus.ACCEPTED, AuthorizationStatus.CONCURRENT_TX})
"""Stored idTagInfo that may start a session locally. OCPP 1.6 §3.5: an identifier in the Local
List or the cache is valid when Accepted, or ConcurrentTx (a second transaction is the CSMS's call
to refuse, when StartTransaction reaches it); Blocked, Expired and Invalid are never valid."""


@dataclass(frozen=True)
class IdTagInfo:
    status: AuthorizationStatus
    expiry_date: str | None = None
    parent_id_tag: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is AuthorizationStatus.ACCEPTED

    @property
    def valid(self) -> bool:
        return self.status in VALID_STATUSES

    def at(self, now: datetime) -> "IdTagInfo":
        """This info as it stands at `now`: past its expiryDate it is Expired (OCPP 1.6 IdTagInfo).

        An expiryDate without a UTC offset is read as UTC; one that cannot be read at all counts
        as expired, so a garbled date never lets a card charge.
        """
        if self.expiry_date is None or not self.valid:
            return self
        try:
            expiry = datetime.fromisoformat(self.expiry_date)
        except ValueError:
            log.warning("unreadable expiryDate %r counts as expired", self.expiry_date)
            return replace(self, status=AuthorizationStatus.EXPIRED)
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=UTC)
        return replace(self, status=AuthorizationStatus.EXPIRED) if expiry <= now else self


def same_id_tag(a: str | None, b: str | None) -> bool:
    """idTags compare case-insensitively everywhere (OCPP 1.6 IdToken is a case-insensitive string, as is 2.0.1's
    IdTokenType.idToken, up to 36 characters)."""
    return a is not None and b is not None and a.casefold() == b.casefold()
