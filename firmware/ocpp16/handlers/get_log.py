"""GetLog (OCPP 1.6 Security Whitepaper ed. 3 §5, use case N01): the DiagnosticsLog (what GetDiagnostics sends) or
the SecurityLog (the security events' log) between oldestTimestamp and latestTimestamp, answered with the file name
at once, then uploaded to log.remoteLocation (http(s) PUT, POST as fallback, ftp) with `retries` more attempts
`retryInterval` apart; LogStatusNotification with the requestId reports Uploading, then Uploaded or UploadFailure.
See `firmware_management.diagnostics`.
"""

from typing import Any

from ocpp.v16 import call_result

from firmware.clock import parse_time
from firmware.core.services import Services
from firmware.ocpp16.handlers.get_diagnostics import RETRY_INTERVAL_S


def handle(services: Services, log_type: str, request_id: int, log: dict[str, Any], retries: int | None = None,
           retry_interval: int | None = None) -> call_result.GetLog:
    oldest, latest = log.get("oldest_timestamp"), log.get("latest_timestamp")
    name = services.diagnostics.request(
        log["remote_location"], retries or 0, RETRY_INTERVAL_S if retry_interval is None else retry_interval,
        parse_time(oldest) if oldest else None, parse_time(latest) if latest else None,
        security=log_type == "SecurityLog", request_id=request_id)
    return call_result.GetLog(status="Accepted", filename=name)
