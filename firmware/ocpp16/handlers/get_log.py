"""GetLog (OCPP 1.6 Security Whitepaper ed. 3 §5, use case N01): the DiagnosticsLog (what GetDiagnostics sends) or
the SecurityLog (the security events' log) between oldestTimestamp and latestTimestamp, answered with the file name
at once, then uploaded to log.remoteLocation (http(s) PUT, POST as fallback, ftp) with `retries` more attempts
`retryInterval` apart; LogStatusNotification with the requestId reports Uploading, then Uploaded or UploadFailure.
See `protocol.transfers.get_log` and `firmware_management.diagnostics`.
"""

from typing import Any

from ocpp.v16 import call_result

from firmware.core.services import Services
from firmware.protocol import transfers


def handle(services: Services, log_type: str, request_id: int, log: dict[str, Any], retries: int | None = None,
           retry_interval: int | None = None) -> call_result.GetLog:
    name = transfers.get_log(services, log_type, request_id, log, retries, retry_interval)
    return call_result.GetLog(status="Accepted", filename=name)
