"""The file-transfer requests both versions word alike: GetLog (Security Whitepaper ed. 3 N01 = OCPP 2.0.1 N01) and
the signed UpdateFirmware (the whitepaper's SignedUpdateFirmware = 2.0.1's UpdateFirmware, L01), from the request's
fields (snake_case) to `Diagnostics` and `FirmwareUpdates`. Each version's handler wraps the answer in its message."""

from typing import Any

from firmware.clock import parse_time
from firmware.core.services import Services
from firmware.firmware_management.updates import Signature

RETRY_INTERVAL_S = 60
"""retryInterval when the CSMS gives none (both versions leave it to the charge point)."""


def retry_interval(given: int | None) -> int:
    return RETRY_INTERVAL_S if given is None else given


def get_log(services: Services, log_type: str, request_id: int, log: dict[str, Any], retries: int | None = None,
            retry_interval_s: int | None = None) -> str:
    """The DiagnosticsLog (what 1.6's GetDiagnostics sends) or the SecurityLog between oldestTimestamp and
    latestTimestamp, uploaded to log.remoteLocation with `retries` more attempts; the file name it will have."""
    oldest, latest = log.get("oldest_timestamp"), log.get("latest_timestamp")
    return services.diagnostics.request(
        log["remote_location"], retries or 0, retry_interval(retry_interval_s),
        parse_time(oldest) if oldest else None, parse_time(latest) if latest else None,
        security=log_type == "SecurityLog", request_id=request_id)


def update_firmware(services: Services, request_id: int, firmware: dict[str, Any], retries: int | None = None,
                    retry_interval_s: int | None = None) -> str:
    """An update whose statuses carry `request_id`: a signing certificate given is checked first (not chaining to an
    installed ManufacturerRootCertificate, unreadable or expired: InvalidCertificate, nothing is scheduled), the file's
    signature after the download. Accepted, AcceptedCanceled when it replaced an update under way, Rejected while
    another one is installing."""
    certificate = firmware.get("signing_certificate")
    if certificate is not None and services.certificates.signing_certificate_problem(certificate) is not None:
        return "InvalidCertificate"
    when = parse_time(firmware["retrieve_date_time"]) or services.firmware_updates.now()
    replaced = services.firmware_updates.request(
        firmware["location"], when, retries or 0, retry_interval(retry_interval_s),
        Signature(request_id, certificate, firmware.get("signature")))
    return "Rejected" if replaced is None else "AcceptedCanceled" if replaced else "Accepted"
