"""DataTransfer (OCPP 1.6 §5.6, CSMS → charge point): vendor-specific messages. This charge point implements
no vendor extension, so every vendorId gets UnknownVendorId, without data (§4.3: "If the recipient of the
request has no implementation for the specific vendorId it SHALL return a status UnknownVendorId")."""

from ocpp.v16 import call_result
from ocpp.v16.enums import DataTransferStatus

from firmware.core.services import Services


def handle(services: Services, vendor_id: str, message_id: str | None = None,
           data: str | None = None) -> call_result.DataTransfer:
    return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
