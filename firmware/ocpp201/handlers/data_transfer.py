"""DataTransfer (OCPP 2.0.1 P01, CSMS → charging station): the vendor extension registered for the vendorId answers
(`protocol.vendors`, shared with 1.6); UnknownVendorId without data for a vendorId with none."""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services
from firmware.protocol.vendors import VENDORS


def handle(services: Ocpp201Services, vendor_id: str, message_id: str | None = None,
           data: Any = None) -> call_result.DataTransfer:
    answer = VENDORS.transfer(vendor_id, message_id, data if data is None or isinstance(data, str) else str(data))
    return call_result.DataTransfer(status=answer.status.value, data=answer.data)
