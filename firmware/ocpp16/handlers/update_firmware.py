"""UpdateFirmware (OCPP 1.6 §5.19): from retrieveDate on, download the firmware from `location` (http(s) or ftp;
`retries` more attempts `retryInterval` seconds apart, resumed where the server allows), install it once no
transaction runs, reporting each step by FirmwareStatusNotification (§4.5). Stored before the (empty) answer, so it
survives a restart. An unreadable retrieveDate means now. See `firmware_management.updates`.
"""

from ocpp.v16 import call_result

from firmware.clock import parse_time
from firmware.core.services import Services
from firmware.protocol import transfers


def handle(services: Services, location: str, retrieve_date: str, retries: int | None = None,
           retry_interval: int | None = None) -> call_result.UpdateFirmware:
    when = parse_time(retrieve_date) or services.firmware_updates.now()
    services.firmware_updates.request(location, when, retries or 0,
                                      transfers.retry_interval(retry_interval))
    return call_result.UpdateFirmware()
