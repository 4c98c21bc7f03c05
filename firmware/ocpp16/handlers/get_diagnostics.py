"""GetDiagnostics (OCPP 1.6 §5.9): collect the daemon's log between startTime and stopTime, its configuration (secrets
masked), its status and database facts into one archive, answer with its fileName, then upload it to `location` (a
directory URI: http(s) by PUT, POST as fallback, or ftp) with `retries` more attempts `retryInterval` seconds apart,
reporting Uploading, then Uploaded or UploadFailed (§4.4). See `firmware_management.diagnostics`.
"""

from ocpp.v16 import call_result

from firmware.clock import parse_time
from firmware.core.services import Services
from firmware.protocol import transfers


def handle(services: Services, location: str, retries: int | None = None, retry_interval: int | None = None,
           start_time: str | None = None, stop_time: str | None = None) -> call_result.GetDiagnostics:
    name = services.diagnostics.request(location, retries or 0, transfers.retry_interval(retry_interval),
                                        parse_time(start_time) if start_time else None,
                                        parse_time(stop_time) if stop_time else None)
    return call_result.GetDiagnostics(file_name=name)
