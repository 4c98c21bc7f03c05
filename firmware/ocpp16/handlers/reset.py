"""Reset (OCPP 1.6 §5.14): accepted, then transactions end with reason SoftReset/HardReset and the charge
point restarts once this answer is on its way (see `core.lifecycle.Lifecycle.reset`)."""

from ocpp.v16 import call_result
from ocpp.v16.enums import ResetStatus, ResetType

from firmware.core.services import Services


def handle(services: Services, type: str) -> call_result.Reset:
    accepted = services.lifecycle.reset(type == ResetType.hard)
    return call_result.Reset(status=ResetStatus.accepted if accepted else ResetStatus.rejected)
