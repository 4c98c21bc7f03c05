"""Reset (OCPP 2.0.1 B11, B12): Immediate ends every transaction (stoppedReason ImmediateReset) and restarts at once;
OnIdle restarts once no transaction runs (Scheduled while one does, B12.FR.01; Accepted when none does). After the
restart BootNotification's reason is RemoteReset, or ScheduledReset for one that waited. A reset of one EVSE
(evseId) is not supported: Rejected (B11.FR.10 lets a charging station refuse it). Rejected while the daemon is
stopping already.
"""

import asyncio

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services

IDLE_CHECK_S = 1.0
"""How often an OnIdle reset looks whether the last transaction ended (only while one is scheduled)."""


def handle(services: Ocpp201Services, type: str, evse_id: int | None = None) -> call_result.Reset:
    if evse_id is not None or not services.lifecycle.can_reset():
        return call_result.Reset(status="Rejected")
    scheduled = type == "OnIdle" and services.charge_point.charging_anywhere
    return call_result.Reset(status="Scheduled" if scheduled else "Accepted")


def then(services: Ocpp201Services, answer: call_result.Reset, type: str, evse_id: int | None = None) -> None:
    if answer.status == "Accepted":
        services.lifecycle.reset(hard=False)
    elif answer.status == "Scheduled":
        services.charge_point.spawn(_when_idle(services))


async def _when_idle(services: Ocpp201Services) -> None:
    while services.charge_point.charging_anywhere:  # noqa: ASYNC110 - the core has no "idle" event to wait on
        await asyncio.sleep(IDLE_CHECK_S)
    services.lifecycle.reset(hard=False, scheduled=True)
