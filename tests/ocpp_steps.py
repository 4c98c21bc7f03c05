"""Steps a test takes against the loopback CSMS and the daemon: change availability or a configuration key, read
the statuses the CSMS was told, wait for a status or a log line (all bounded)."""

import asyncio

from ocpp.v16 import call
from ocpp.v16.enums import AvailabilityType

from tests.conftest import CHARGE_POINT


async def change(csms, connector_id: int, kind: AvailabilityType) -> str:
    """ChangeAvailability; its status."""
    return (await csms.call(CHARGE_POINT, call.ChangeAvailability(connector_id=connector_id, type=kind))).status


def statuses(csms, connector_id: int, after: int = 0) -> list[str]:
    """The statuses the CSMS was told for `connector_id`, from message index `after` on."""
    return [m.payload["status"] for m in csms.received[after:]
            if m.action == "StatusNotification" and m.payload["connectorId"] == connector_id]


async def status_reported(csms, connector_id: int, status: str, after: int = 0, within: float = 10.0):
    """The first StatusNotification of `status` for `connector_id` at index ≥ `after` (TimeoutError)."""
    return await csms.wait_for("StatusNotification", within=within, after=after,
                               where=lambda p: p["connectorId"] == connector_id and p["status"] == status)


async def logged(daemon, text: str, within: float = 5.0) -> None:
    """Wait (bounded) until the daemon's log holds `text`: the proof that a refused request was handled."""
    async with asyncio.timeout(within):
        while text not in daemon.log():
            await asyncio.sleep(0.05)


async def configure(csms, key: str, value: str) -> str:
    """ChangeConfiguration; its status."""
    return (await csms.call(CHARGE_POINT, call.ChangeConfiguration(key=key, value=value))).status
