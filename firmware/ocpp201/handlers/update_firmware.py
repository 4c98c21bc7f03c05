"""UpdateFirmware (OCPP 2.0.1 L01, L02): download the file from firmware.location at retrieveDateTime, check its
signature when a signingCertificate and signature come with it (the certificate first: InvalidCertificate, nothing
scheduled, when it does not chain to an installed ManufacturerRootCertificate), install it once no transaction runs,
each step reported by FirmwareStatusNotification with the requestId. Accepted, AcceptedCanceled when it replaced an
update under way (L01.FR.24), Rejected while another one is installing. See `protocol.transfers.update_firmware`."""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services
from firmware.protocol import transfers


def handle(services: Ocpp201Services, request_id: int, firmware: dict[str, Any], retries: int | None = None,
           retry_interval: int | None = None) -> call_result.UpdateFirmware:
    return call_result.UpdateFirmware(
        status=transfers.update_firmware(services, request_id, firmware, retries, retry_interval))
