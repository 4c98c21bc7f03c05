"""DataTransfer's vendor extensions (OCPP 1.6 §4.3 and §5.6; 2.0.1 has the same message): which vendorIds this
charge point answers, and how.

A vendor extension is one function `handler(message_id, data) -> TransferAnswer`, plugged in under its vendorId
with `VENDORS.register`. The registry answers the rest as §4.3 says: "If the recipient of the request has no
implementation for the specific vendorId it SHALL return a status 'UnknownVendor' and the data element SHALL
not be present"; a handler answers UnknownMessageId itself "in case of a messageId mismatch"; Accepted,
Rejected and the data are "part of the vendor-specific agreement between the parties involved". vendorId is a
CiString255Type (compared in any case); a handler compares its messageIds (CiString50Type) the same way.

`evsed_vendor` is the documented example, registered by default under `EVSED_VENDOR_ID`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from firmware import __version__

log = logging.getLogger(__name__)


class TransferStatus(StrEnum):
    """DataTransfer's answer status, the same names in OCPP 1.6 (DataTransferStatus) and 2.0.1."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_MESSAGE_ID = "UnknownMessageId"
    UNKNOWN_VENDOR_ID = "UnknownVendorId"


@dataclass(frozen=True)
class TransferAnswer:
    """A DataTransfer's answer, either direction: its status and the optional data (1.6: text)."""

    status: TransferStatus
    data: str | None = None


VendorHandler = Callable[[str | None, str | None], TransferAnswer]
"""`handler(message_id, data)`: one vendor extension's answer to a DataTransfer the CSMS sent."""


class Vendors:
    """vendorId → its handler. A handler that raises is the caller's to contain (the 1.6 peer answers
    InternalError)."""

    def __init__(self) -> None:
        self._handlers: dict[str, VendorHandler] = {}

    def register(self, vendor_id: str, handler: VendorHandler) -> None:
        """Plug in a vendor extension; a vendorId (in any case) can be registered once."""
        key = vendor_id.casefold()
        if key in self._handlers:
            raise ValueError(f"vendorId {vendor_id!r} is registered already")
        self._handlers[key] = handler

    def unregister(self, vendor_id: str) -> None:
        self._handlers.pop(vendor_id.casefold(), None)

    def transfer(self, vendor_id: str, message_id: str | None, data: str | None) -> TransferAnswer:
        """The answer to a DataTransfer from the CSMS: the vendor's, or UnknownVendorId without data."""
        handler = self._handlers.get(vendor_id.casefold())
        answer = TransferAnswer(TransferStatus.UNKNOWN_VENDOR_ID) if handler is None else handler(message_id, data)
        log.info("DataTransfer from CSMS vendorId=%.60s messageId=%.60s status=%s", vendor_id, message_id,
                 answer.status)
        return answer


EVSED_VENDOR_ID = "org.evsed"
"""The example extension's vendorId (reversed DNS, as §4.3 recommends)."""


def evsed_vendor(message_id: str | None, data: str | None) -> TransferAnswer:
    """The example vendor extension, vendorId "org.evsed": messageId "Version" is answered Accepted with the
    firmware version as data (any data sent along is ignored); any other messageId, or none, is
    UnknownMessageId without data. A new extension is a function like this one and one `VENDORS.register`
    line (here, or by whoever builds the charge point before the link starts)."""
    if message_id is not None and message_id.casefold() == "version":
        return TransferAnswer(TransferStatus.ACCEPTED, __version__)
    return TransferAnswer(TransferStatus.UNKNOWN_MESSAGE_ID)


VENDORS = Vendors()
"""The vendor extensions this charge point answers DataTransfer for."""
VENDORS.register(EVSED_VENDOR_ID, evsed_vendor)
