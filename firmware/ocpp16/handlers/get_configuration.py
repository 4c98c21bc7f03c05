"""GetConfiguration (OCPP 1.6 §5.8): the requested keys (all without a list), and the names not known here.

A request may name at most GetConfigurationMaxKeys keys (§9.1); more is answered with the CALLERROR
OccurenceConstraintViolation (the field "violates occurrence constraints" of this charge point).
"""

from ocpp.exceptions import OccurenceConstraintViolationError
from ocpp.v16 import call_result

from firmware.core.services import Services
from firmware.ocpp16 import keys


def handle(services: Services, key: list[str] | None = None) -> call_result.GetConfiguration:
    limit = services.settings.integer("max_keys_per_request")
    if key is not None and len(key) > limit:
        raise OccurenceConstraintViolationError(details={"cause": f"{len(key)} keys named, at most {limit}"})
    known, unknown = keys.entries(services.settings, key)
    return call_result.GetConfiguration(
        configuration_key=[{"key": k, "readonly": ro, "value": v} if v is not None else {"key": k, "readonly": ro}
                           for k, ro, v in known],
        unknown_key=unknown or None)
