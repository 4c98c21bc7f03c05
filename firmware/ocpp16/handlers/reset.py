"""Reset (OCPP 1.6 §5.14): accepted unless the charge point is stopping already; once the answer is written,
transactions end with reason SoftReset/HardReset and the charge point restarts (`Lifecycle.reset`)."""

from ocpp.v16 import call_result
from ocpp.v16.enums import ResetStatus, ResetType

from firmware.core.services import Services


def handle(services: Services, type: str) -> call_result.Reset:
    return call_result.Reset(status=ResetStatus.accepted if services.lifecycle.can_reset() else ResetStatus.rejected)


def then(services: Services, answer: call_result.Reset, type: str) -> None:
    if answer.status == ResetStatus.accepted:
        services.lifecycle.reset(type == ResetType.hard)
