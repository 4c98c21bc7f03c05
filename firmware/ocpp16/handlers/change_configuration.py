"""ChangeConfiguration (OCPP 1.6 §5.3): see `keys.change` for Accepted, Rejected and NotSupported.

A SecurityProfile raised (Security Whitepaper edition 3: only upwards, with its prerequisites) applies by
connecting again, once the answer is written."""

from ocpp.v16 import call_result
from ocpp.v16.enums import ConfigurationStatus

from firmware.core.services import Services
from firmware.ocpp16 import keys
from firmware.ocpp16.peer import Ocpp16Services


def handle(services: Services, key: str, value: str) -> call_result.ChangeConfiguration:
    return call_result.ChangeConfiguration(status=ConfigurationStatus(keys.change(services.settings, key, value)))


def then(services: Ocpp16Services, answer: call_result.ChangeConfiguration, key: str, value: str) -> None:
    if answer.status == ConfigurationStatus.accepted and keys.canonical(key) == "SecurityProfile" and services.link:
        services.link.redial()
