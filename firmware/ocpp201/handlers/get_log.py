"""GetLog (OCPP 2.0.1 N01): the DiagnosticsLog or the SecurityLog between oldestTimestamp and latestTimestamp,
answered with the file name at once, then uploaded to log.remoteLocation with `retries` more attempts; each step
reported by LogStatusNotification with the requestId (Uploading, then Uploaded or UploadFailure). A request while an
upload runs replaces it: AcceptedCanceled (N01.FR.12). See `protocol.transfers.get_log`."""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services
from firmware.protocol import transfers


def handle(services: Ocpp201Services, log_type: str, request_id: int, log: dict[str, Any],
           retries: int | None = None, retry_interval: int | None = None) -> call_result.GetLog:
    busy = services.diagnostics.log_status()[0] == "Uploading"
    name = transfers.get_log(services, log_type, request_id, log, retries, retry_interval)
    return call_result.GetLog(status="AcceptedCanceled" if busy else "Accepted", filename=name)
