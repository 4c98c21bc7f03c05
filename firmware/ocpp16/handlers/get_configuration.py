"""GetConfiguration (OCPP 1.6 §5.8): the requested keys (all without a list), and the names not known here."""

from ocpp.v16 import call_result

from firmware.core.services import Services
from firmware.ocpp16 import keys


def handle(services: Services, key: list[str] | None = None) -> call_result.GetConfiguration:
    known, unknown = keys.entries(services.settings, key)
    return call_result.GetConfiguration(
        configuration_key=[{"key": k, "readonly": ro, "value": v} for k, ro, v in known],
        unknown_key=unknown or None)
