"""TriggerMessage (OCPP 1.6 §5.17): each trigger produces exactly its message, for the right connector, after
the Accepted answer; Rejected for a connector this charge point does not have; NotImplemented for a message
the adapter cannot send; a value outside the schema's enum is a CALLERROR.

The handler's decisions are pinned in-process with a recording trigger port; everything else runs the daemon
on simulated hardware against the loopback CSMS.
"""

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call

from firmware.demo.loopback_csms import LoopbackCsms, Received
from firmware.ocpp16.adapter import TRIGGERABLE
from firmware.ocpp16.handlers import HANDLERS, trigger_message
from firmware.ocpp16.peer import Ocpp16Peer, Ocpp16Services
from firmware.persistence.db import Store
from firmware.settings import Settings
from tests.conftest import CHARGE_POINT

SETTLE_S = 0.5
"""How long to go on listening once the expected messages arrived, to see that nothing else comes."""

NO_PERIODIC_SAMPLES = {"MeterValueSampleInterval": 0}
"""Only triggered MeterValues reach the CSMS."""


# --- the handler, in-process ----------------------------------------------------------------------


@dataclass
class RecordingTriggers:
    """The adapter's trigger port, recording what it was asked to send."""

    triggerable: frozenset[str] = TRIGGERABLE
    sent: list[tuple[str, int | None]] = field(default_factory=list)
    wire: list[list[Any]] | None = None
    frames_when_triggered: list[int] = field(default_factory=list)

    def trigger(self, message: str, connector_id: int | None) -> None:
        self.sent.append((message, connector_id))
        if self.wire is not None:
            self.frames_when_triggered.append(len(self.wire))


@pytest.fixture
def services(tmp_path: Path) -> Ocpp16Services:
    settings = Settings(Store(tmp_path / "evsed.db"), {}, fixed={"connectors": 2})
    return Ocpp16Services(settings, None, None, None, None, None, None, None, None, triggers=RecordingTriggers())  # type: ignore[arg-type]


@pytest.mark.parametrize(("message", "connector_id", "status"), [
    ("StatusNotification", None, "Accepted"),
    ("StatusNotification", 0, "Accepted"),
    ("StatusNotification", 2, "Accepted"),
    ("StatusNotification", 3, "Rejected"),
    ("StatusNotification", -1, "Rejected"),
    ("MeterValues", 1, "Accepted"),
    ("MeterValues", None, "Accepted"),
    ("MeterValues", 0, "Rejected"),
    ("BootNotification", 1, "Accepted"),
    ("BootNotification", 5, "Rejected"),
    ("Heartbeat", None, "Accepted"),
    ("DiagnosticsStatusNotification", 0, "Accepted"),
    ("FirmwareStatusNotification", None, "Accepted"),
])
def test_the_handler_accepts_what_it_can_send_for_a_connector_here(services, message, connector_id, status):
    answer = trigger_message.handle(services, requested_message=message, connector_id=connector_id)
    assert answer.status == status
    trigger_message.then(services, answer, requested_message=message, connector_id=connector_id)
    assert services.triggers.sent == ([(message, connector_id)] if status == "Accepted" else [])


def test_a_message_the_adapter_cannot_send_is_not_implemented(services):
    services.triggers.triggerable = TRIGGERABLE - {"FirmwareStatusNotification"}
    answer = trigger_message.handle(services, requested_message="FirmwareStatusNotification")
    assert answer.status == "NotImplemented"
    trigger_message.then(services, answer, requested_message="FirmwareStatusNotification")
    assert services.triggers.sent == []
    assert trigger_message.handle(services, requested_message="Heartbeat").status == "Accepted"
    without_port = Ocpp16Services(services.settings, None, None, None, None, None, None, None, None)  # type: ignore[arg-type]
    assert trigger_message.handle(without_port, requested_message="Heartbeat").status == "NotImplemented"


class Wire:
    def __init__(self) -> None:
        self.sent: list[list[Any]] = []

    async def send(self, frame: str) -> None:
        self.sent.append(json.loads(frame))


async def test_the_router_writes_the_answer_before_the_message_is_asked_for(services):
    wire = Wire()
    services.triggers.wire = wire.sent
    peer = Ocpp16Peer("CP", wire, HANDLERS, services, lambda: True, response_timeout=1)
    await peer.route_message(json.dumps([2, "t1", "TriggerMessage", {"requestedMessage": "Heartbeat"}]))
    assert wire.sent == [[3, "t1", {"status": "Accepted"}]]
    assert services.triggers.sent == [("Heartbeat", None)] and services.triggers.frames_when_triggered == [1]
    await peer.route_message(json.dumps([2, "t2", "TriggerMessage", {"requestedMessage": "MeterValues",
                                                                     "connectorId": 0}]))
    assert wire.sent[-1] == [3, "t2", {"status": "Rejected"}] and len(services.triggers.sent) == 1


# --- against the loopback CSMS ---------------------------------------------------------------------


async def trigger(csms: LoopbackCsms, message: str, connector_id: int | None = None) -> str:
    answer = await csms.call(CHARGE_POINT, call.TriggerMessage(requested_message=message, connector_id=connector_id))
    return answer.status


async def exactly(csms: LoopbackCsms, after: int, action: str, count: int, within: float = 5.0) -> list[Received]:
    """Wait (bounded) for `count` CALLs of `action` after index `after`, listen SETTLE_S more, and check that
    nothing else came: the messages."""
    await csms.wait_until(lambda: len([m for m in csms.received[after:] if m.action == action]) >= count, within)
    await asyncio.sleep(SETTLE_S)
    new = csms.received[after:]
    assert [m.action for m in new] == [action] * count, [(m.action, m.payload) for m in new]
    return new


async def nothing_new(csms: LoopbackCsms, after: int) -> None:
    await asyncio.sleep(SETTLE_S * 2)
    assert [(m.action, m.payload) for m in csms.received[after:]] == []


async def quiet(daemon: Any, csms: LoopbackCsms, within: float = 5.0) -> int:
    """Wait (bounded) until the outbox is empty and nothing arrived for SETTLE_S: the index to count from."""
    async with asyncio.timeout(within):
        while True:
            seen = len(csms.received)
            await asyncio.sleep(SETTLE_S)
            if len(csms.received) == seen and not (await daemon.state())["outbox"]["depth"]:
                return seen


async def test_a_triggered_boot_notification_applies_its_interval_without_registering_again(make_daemon, csms):
    d = await make_daemon()
    mark = await quiet(d, csms)
    csms.behaviour.boot_interval = 120
    assert await trigger(csms, "BootNotification", connector_id=1) == "Accepted"  # connectorId is not relevant
    await exactly(csms, mark, "BootNotification", 1)
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["HeartbeatInterval"]))
    assert conf.configuration_key[0]["value"] == "120"
    assert (await d.state())["link"]["registration"] == "Accepted"


async def test_a_triggered_heartbeat_is_one_heartbeat(make_daemon, csms):
    d = await make_daemon()
    mark = await quiet(d, csms)
    assert await trigger(csms, "Heartbeat") == "Accepted"
    await exactly(csms, mark, "Heartbeat", 1)


@pytest.mark.parametrize(("connector_id", "expected"), [
    (2, [(2, "Preparing")]),
    (0, [(0, "Available")]),
    (None, [(0, "Available"), (1, "Available"), (2, "Preparing")]),
])
async def test_a_triggered_status_notification_reports_the_connectors_asked_for(make_daemon, csms, connector_id,
                                                                                expected):
    """connectorId n: that connector; 0: the charge point; absent: the charge point and every connector."""
    d = await make_daemon()
    await d.cmd(cmd="plug", connector=2)
    await csms.wait_for("StatusNotification", where=lambda p: p["status"] == "Preparing")
    mark = await quiet(d, csms)
    assert await trigger(csms, "StatusNotification", connector_id) == "Accepted"
    sent = await exactly(csms, mark, "StatusNotification", len(expected))
    assert [(m.payload["connectorId"], m.payload["status"]) for m in sent] == expected
    assert all(m.payload["errorCode"] == "NoError" for m in sent)


def trigger_samples(message: Received) -> list[dict[str, Any]]:
    [meter_value] = message.payload["meterValue"]
    return meter_value["sampledValue"]


async def test_a_triggered_meter_values_reads_the_connector_now_with_its_transaction_id(make_daemon, csms):
    """§5.17: the most recent measurements of MeterValuesSampledData; the transaction's id while charging."""
    d = await make_daemon(ocpp={**NO_PERIODIC_SAMPLES,
                                "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import"})
    await d.card_start(1)
    tx_id = await d.transaction_id(1)
    mark = await quiet(d, csms)
    assert await trigger(csms, "MeterValues", connector_id=1) == "Accepted"
    [sent] = await exactly(csms, mark, "MeterValues", 1)
    assert sent.payload["connectorId"] == 1 and sent.payload["transactionId"] == tx_id
    samples = trigger_samples(sent)
    assert {s["measurand"] for s in samples} == {"Energy.Active.Import.Register", "Power.Active.Import"}
    assert {s["context"] for s in samples} == {"Trigger"}
    energy = next(s for s in samples if s["measurand"] == "Energy.Active.Import.Register")
    assert float(energy["value"]) >= 0 and energy["unit"] == "Wh"
    power = next(s for s in samples if s["measurand"] == "Power.Active.Import")
    assert float(power["value"]) > 0, "the contactor is closed: power flows now"


async def test_a_triggered_meter_values_without_connector_covers_every_connector(make_daemon, csms):
    d = await make_daemon(ocpp=NO_PERIODIC_SAMPLES)
    await d.card_start(2)
    tx_id = await d.transaction_id(2)
    mark = await quiet(d, csms)
    assert await trigger(csms, "MeterValues") == "Accepted"
    sent = await exactly(csms, mark, "MeterValues", 2)
    assert [(m.payload["connectorId"], m.payload.get("transactionId")) for m in sent] == [(1, None), (2, tx_id)]
    assert all({s["context"] for s in trigger_samples(m)} == {"Trigger"} for m in sent)


async def test_meter_values_for_connector_zero_is_rejected_and_nothing_sent(make_daemon, csms):
    """§4.7: connector 0's energy would come from a main meter; this charge point has none."""
    d = await make_daemon(ocpp=NO_PERIODIC_SAMPLES)
    mark = await quiet(d, csms)
    assert await trigger(csms, "MeterValues", connector_id=0) == "Rejected"
    await nothing_new(csms, mark)


@pytest.mark.parametrize("message", ["DiagnosticsStatusNotification", "FirmwareStatusNotification"])
async def test_triggered_diagnostics_and_firmware_status_are_idle(make_daemon, csms, message):
    """§4.4, §4.5: Idle, sent only on a TriggerMessage, when no upload or update runs."""
    d = await make_daemon()
    mark = await quiet(d, csms)
    assert await trigger(csms, message) == "Accepted"
    [sent] = await exactly(csms, mark, message, 1)
    assert sent.payload == {"status": "Idle"}


@pytest.mark.parametrize("connector_id", [3, -1])
async def test_a_connector_this_charge_point_does_not_have_is_rejected(make_daemon, csms, connector_id):
    d = await make_daemon()
    mark = await quiet(d, csms)
    assert await trigger(csms, "StatusNotification", connector_id) == "Rejected"
    await nothing_new(csms, mark)


async def test_a_message_outside_the_schema_is_a_callerror(make_daemon, csms):
    """StartTransaction is "left out of this mechanism" (§5.17): the schema's enum refuses it."""
    d = await make_daemon()
    mark = await quiet(d, csms)
    frame = json.dumps([2, "t-1", "TriggerMessage", {"requestedMessage": "StartTransaction"}])
    reply = await csms.send_raw(CHARGE_POINT, frame, "t-1")
    assert reply[:3] == [4, "t-1", "PropertyConstraintViolation"], reply
    await nothing_new(csms, mark)


async def test_accepted_reaches_the_csms_before_the_triggered_message(make_daemon, csms):
    """§5.17: "The Charge Point SHALL first send the TriggerMessage response, before sending the requested
    message": every frame the CSMS reads, in order."""
    d = await make_daemon()
    mark = await quiet(d, csms)
    peer = csms.peers[CHARGE_POINT]
    frames: list[list[Any]] = []
    route = peer.route_message

    async def recording(raw: str) -> None:
        frames.append(json.loads(raw))
        await route(raw)

    peer.route_message = recording  # type: ignore[method-assign]
    assert await trigger(csms, "StatusNotification", 1) == "Accepted"
    await exactly(csms, mark, "StatusNotification", 1)
    kinds = [(f[0], f[2] if f[0] == 2 else f[2].get("status")) for f in frames]
    assert kinds == [(3, "Accepted"), (2, "StatusNotification")], frames


async def test_while_pending_a_trigger_is_answered_with_its_message_and_a_boot_goes_at_once(make_daemon, csms):
    """§4.2: while Pending the charge point sends nothing "unless it has been instructed by the Central System
    to do so with a TriggerMessage.req"; a triggered BootNotification does not wait the Pending interval."""
    csms.behaviour.boot_status, csms.behaviour.boot_interval = "Pending", 60
    await make_daemon(boot=False)
    await csms.wait_for("BootNotification")
    mark = len(csms.received)
    assert await trigger(csms, "StatusNotification", 0) == "Accepted"
    [status] = await exactly(csms, mark, "StatusNotification", 1)
    assert status.payload["connectorId"] == 0
    csms.behaviour.boot_status = "Accepted"
    mark = len(csms.received)
    assert await trigger(csms, "BootNotification") == "Accepted"
    await csms.wait_for("BootNotification", after=mark, within=5)  # not after the 60 s interval
    await csms.wait_until(lambda: {m.payload["connectorId"] for m in csms.received[mark:]
                                   if m.action == "StatusNotification"} == {0, 1, 2}, within=5)
    assert len(csms.of("BootNotification")) == 2
