"""SignedUpdateFirmware (OCPP 1.6 Security Whitepaper ed. 3 §5, use case L01): UpdateFirmware whose file is signed.
The signing certificate is checked first: not chaining to an installed ManufacturerRootCertificate (or unreadable,
or expired) is InvalidCertificate and nothing is scheduled. Otherwise the update runs as UpdateFirmware's does
(`firmware_management.updates`), with the file's signature verified after the download and before anything is
installed (SignatureVerified, or InvalidSignature and the update ends), each step reported by
SignedFirmwareStatusNotification with the requestId. Accepted, or AcceptedCanceled when it replaced an update
under way; Rejected while another update is installing. See `protocol.transfers.update_firmware`.
"""

from typing import Any

from ocpp.v16 import call_result

from firmware.core.services import Services
from firmware.protocol import transfers


def handle(services: Services, request_id: int, firmware: dict[str, Any], retries: int | None = None,
           retry_interval: int | None = None) -> call_result.SignedUpdateFirmware:
    status = transfers.update_firmware(services, request_id, firmware, retries, retry_interval)
    return call_result.SignedUpdateFirmware(status=status)
