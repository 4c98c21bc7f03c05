"""ChangeConfiguration (OCPP 1.6 §5.3): see `keys.change` for Accepted, Rejected and NotSupported."""

from ocpp.v16 import call_result
from ocpp.v16.enums import ConfigurationStatus

from firmware.core.services import Services
from firmware.ocpp16 import keys


def handle(services: Services, key: str, value: str) -> call_result.ChangeConfiguration:
    return call_result.ChangeConfiguration(status=ConfigurationStatus(keys.change(services.settings, key, value)))
