"""DataTransfer (OCPP 1.6 §5.6, CSMS → charge point; §4.3 says how it is answered): the vendor extension
registered for the vendorId answers (`protocol.vendors`); a vendorId with none gets UnknownVendorId, without
data (§4.3: "the data element SHALL not be present"); a known vendor answers UnknownMessageId for a messageId
it does not know."""

from ocpp.v16 import call_result
from ocpp.v16.enums import DataTransferStatus

from firmware.core.services import Services
from firmware.protocol.vendors import VENDORS


def handle(services: Services, vendor_id: str, message_id: str | None = None,
           data: str | None = None) -> call_result.DataTransfer:
    answer = VENDORS.transfer(vendor_id, message_id, data)
    return call_result.DataTransfer(status=DataTransferStatus(answer.status.value), data=answer.data)
