"""SignedUpdateFirmware (OCPP 1.6 Security Whitepaper ed. 3 §5, use case L01): UpdateFirmware whose file is signed.

The signing certificate is checked first: not chaining to an installed ManufacturerRootCertificate (or unreadable,
or expired) is InvalidCertificate and nothing is scheduled. Otherwise the update runs as UpdateFirmware's does
(`firmware_management.updates`), with the file's signature verified after the download and before anything is
installed (SignatureVerified, or InvalidSignature and the update ends), each step reported by
SignedFirmwareStatusNotification with the requestId. Accepted, or AcceptedCanceled when it replaced an update
under way; Rejected while another update is installing.
"""

from typing import Any

from ocpp.v16 import call_result

from firmware.clock import parse_time
from firmware.core.services import Services
from firmware.firmware_management.updates import Signature
from firmware.ocpp16.handlers.update_firmware import RETRY_INTERVAL_S


def handle(services: Services, request_id: int, firmware: dict[str, Any], retries: int | None = None,
           retry_interval: int | None = None) -> call_result.SignedUpdateFirmware:
    certificate = firmware["signing_certificate"]
    if services.certificates.signing_certificate_problem(certificate) is not None:
        return call_result.SignedUpdateFirmware(status="InvalidCertificate")
    when = parse_time(firmware["retrieve_date_time"]) or services.firmware_updates.now()
    replaced = services.firmware_updates.request(
        firmware["location"], when, retries or 0, RETRY_INTERVAL_S if retry_interval is None else retry_interval,
        Signature(request_id, certificate, firmware["signature"]))
    status = "Rejected" if replaced is None else "AcceptedCanceled" if replaced else "Accepted"
    return call_result.SignedUpdateFirmware(status=status)
