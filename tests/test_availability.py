"""ChangeAvailability (OCPP 1.6 §5.2) end to end: the real daemon on simulated hardware against a real CSMS on
127.0.0.1. Inoperative/Operative per connector and for the whole charge point (connector 0), Scheduled while a
transaction runs, Unavailable reported (§4.9), nothing starting on an unavailable connector, and the setting kept
through a SIGKILL (§4.9: "MUST be persistent across reboots")."""

import asyncio
import signal

from ocpp.v16 import call
from ocpp.v16.enums import AvailabilityType

from firmware.core.connector_state import ConnectorState as Status
from firmware.ocpp16.status import StatusMachine
from tests.conftest import CHARGE_POINT
from tests.ocpp_steps import change, logged, status_reported, statuses

CARD = "04A1B2C3"
INOPERATIVE, OPERATIVE = AvailabilityType.inoperative, AvailabilityType.operative










async def test_inoperative_connector_is_unavailable_and_refuses_cards_and_remote_starts(daemon, csms):
    mark = len(csms.received)
    assert await change(csms, 1, INOPERATIVE) == "Accepted"
    await status_reported(csms, 1, "Unavailable", after=mark)
    c = await daemon.wait_state(1, status="Unavailable")
    assert c["reservation_id"] is None, "no reservations yet: null, never a made-up id"
    assert (await daemon.connector(2))["status"] == "Available"

    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=1)
    await logged(daemon, "card refused, connector unavailable connector=1")
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QR0001", connector_id=1))
    assert result.status == "Rejected"
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)  # the shared reader picks connector 2, not the EV at 1
    await daemon.wait_state(2, awaiting_start=True)
    await daemon.cmd(cmd="plug", connector=2)
    start = await csms.wait_for("StartTransaction")
    assert start.payload["connectorId"] == 2
    c = await daemon.wait_state(1, status="Unavailable", contactor_closed=False, transaction_id=None)
    assert c["plugged"] is True and len(csms.of("StartTransaction")) == 1

    mark = len(csms.received)
    assert await change(csms, 1, OPERATIVE) == "Accepted"
    await status_reported(csms, 1, "Preparing", after=mark)  # H2: the EV is still plugged in
    await daemon.cmd(cmd="tap", uid=CARD, connector=1)
    start = await csms.wait_for("StartTransaction", after=mark)
    assert start.payload["connectorId"] == 1, "operative again: it charges"


async def test_a_change_to_the_state_it_is_already_in_is_accepted(daemon, csms):
    assert await change(csms, 2, OPERATIVE) == "Accepted"
    assert await change(csms, 2, INOPERATIVE) == "Accepted"
    await status_reported(csms, 2, "Unavailable")
    assert await change(csms, 2, INOPERATIVE) == "Accepted"
    assert await change(csms, 0, OPERATIVE) == "Accepted"
    await daemon.wait_state(2, status="Unavailable")
    assert statuses(csms, 2) == ["Available", "Unavailable"], "told once, not again for the repeat"


async def test_unknown_connector_is_rejected(daemon, csms):
    assert await change(csms, 3, INOPERATIVE) == "Rejected"
    assert await change(csms, 3, OPERATIVE) == "Rejected"
    for n in (1, 2):
        assert (await daemon.connector(n))["status"] == "Available"


async def test_scheduled_while_charging_then_unavailable_when_the_transaction_ends(daemon, csms):
    await daemon.card_start(1)
    assert await change(csms, 1, INOPERATIVE) == "Scheduled"
    mark = len(csms.received)
    await csms.wait_for("MeterValues", within=5, after=mark)  # a sample later, it still charges
    c = await daemon.connector(1)
    assert c["status"] == "Charging" and c["contactor_closed"] is True
    assert statuses(csms, 1, after=mark) == []

    await daemon.cmd(cmd="tap", uid=CARD, connector=1)  # the driver still ends the session with the card
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "Local"
    await status_reported(csms, 1, "Unavailable", after=mark)
    assert statuses(csms, 1, after=mark) == ["Unavailable"], "C8: straight from Charging, no Finishing"
    c = await daemon.wait_state(1, status="Unavailable", contactor_closed=False)
    assert c["plugged"] is True and c["locked"] is False

    await daemon.cmd(cmd="tap", uid=CARD, connector=1)
    await logged(daemon, "card refused, connector unavailable connector=1")
    assert len(csms.of("StartTransaction")) == 1, "nothing new starts once the change applied"


async def test_operative_withdraws_a_scheduled_inoperative(daemon, csms):
    await daemon.card_start(1)
    assert await change(csms, 1, INOPERATIVE) == "Scheduled"
    assert await change(csms, 1, OPERATIVE) == "Accepted"
    await daemon.card_stop(1)
    await daemon.wait_state(1, status="Finishing")
    assert "Unavailable" not in statuses(csms, 1)


async def test_connector_0_inoperative_makes_every_connector_unavailable(daemon, csms):
    assert await change(csms, 2, INOPERATIVE) == "Accepted"  # connector 2 on its own, first
    mark = len(csms.received)
    assert await change(csms, 0, INOPERATIVE) == "Accepted"
    for n in (0, 1):
        await status_reported(csms, n, "Unavailable", after=mark)
    assert await change(csms, 1, OPERATIVE) == "Rejected", "a connector cannot be operative in an inoperative CP"
    await daemon.wait_state(1, status="Unavailable")
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QR0002"))
    assert result.status == "Rejected"
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await logged(daemon, "card refused, connector unavailable connector=None")
    assert csms.of("Authorize") == [] and csms.of("StartTransaction") == []

    mark = len(csms.received)
    assert await change(csms, 0, OPERATIVE) == "Accepted"
    await status_reported(csms, 0, "Available", after=mark)
    await status_reported(csms, 1, "Preparing", after=mark)
    await asyncio.sleep(0.3)
    assert (await daemon.connector(2))["status"] == "Unavailable", "its own Inoperative stands"
    assert statuses(csms, 2, after=mark) == []


async def test_connector_0_inoperative_is_scheduled_while_a_transaction_runs(daemon, csms):
    await daemon.card_start(1)
    tx_id = await daemon.transaction_id(1)
    mark = len(csms.received)
    assert await change(csms, 0, INOPERATIVE) == "Scheduled"
    await status_reported(csms, 2, "Unavailable", after=mark)  # the idle connector at once
    c = await daemon.connector(1)
    assert c["status"] == "Charging" and c["contactor_closed"] is True
    assert statuses(csms, 0, after=mark) == [], "connector 0 waits for the transaction"

    result = await csms.call(CHARGE_POINT, call.RemoteStopTransaction(transaction_id=tx_id))
    assert result.status == "Accepted"
    stop = await csms.wait_for("StopTransaction")
    await status_reported(csms, 1, "Unavailable", after=mark)
    zero = await status_reported(csms, 0, "Unavailable", after=mark)
    assert csms.received.index(zero) > csms.received.index(stop)


async def test_inoperative_cancels_a_start_waiting_for_the_ev(daemon, csms):
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QR0003", connector_id=1))
    assert result.status == "Accepted"
    await daemon.wait_state(1, status="Preparing", awaiting_start=True)
    await status_reported(csms, 1, "Preparing")  # the CSMS has it before the mark
    mark = len(csms.received)
    assert await change(csms, 1, INOPERATIVE) == "Accepted", "a waiting start is no transaction"
    await status_reported(csms, 1, "Unavailable", after=mark)
    assert statuses(csms, 1, after=mark) == ["Available", "Unavailable"], "B1 then A8: §4.9 has no B8"
    await daemon.cmd(cmd="plug", connector=1)
    c = await daemon.wait_state(1, plugged=True)
    assert c["status"] == "Unavailable" and c["awaiting_start"] is False
    await asyncio.sleep(0.3)
    assert csms.of("StartTransaction") == [] and (await daemon.connector(1))["contactor_closed"] is False


async def test_inoperative_with_an_ev_plugged_never_reports_a_charging_that_did_not_happen(daemon, csms):
    await daemon.cmd(cmd="plug", connector=2)
    await status_reported(csms, 2, "Preparing")
    mark = len(csms.received)
    assert await change(csms, 2, INOPERATIVE) == "Accepted"
    await status_reported(csms, 2, "Unavailable", after=mark)
    assert statuses(csms, 2, after=mark) == ["Finishing", "Unavailable"], "B6 then F8"


def test_status_machine_goes_from_preparing_to_unavailable_only_through_steps_that_are_true():
    """§4.9 has no Preparing → Unavailable cell; the path must not pass Charging (B3, C8), a transaction that
    never ran. It goes through Finishing (B6, F8); from Charging it is direct (C8), and back out of Unavailable
    too (H1, H2, H3)."""
    seen: list[str] = []
    machine = StatusMachine(1, Status.PREPARING, lambda old, new, cell: seen.append(cell))
    assert machine.move_to(Status.UNAVAILABLE) and seen == ["B6", "F8"]
    for goal, cell in ((Status.PREPARING, "H2"), (Status.CHARGING, "B3"), (Status.UNAVAILABLE, "C8"),
                       (Status.CHARGING, "H3"), (Status.FAULTED, "C9"), (Status.UNAVAILABLE, "I8"),
                       (Status.AVAILABLE, "H1")):
        assert machine.move_to(goal) and seen[-1] == cell, (goal, seen)
    main = StatusMachine(0, Status.AVAILABLE, lambda *a: None)
    assert main.move_to(Status.UNAVAILABLE) and main.move_to(Status.AVAILABLE)


async def test_faulted_connector_made_inoperative_stays_faulted_until_the_fault_clears(daemon, csms):
    await daemon.cmd(cmd="fault", device="weld", connector=2, on=True)
    await daemon.wait_state(2, status="Faulted")
    await status_reported(csms, 2, "Faulted")  # the CSMS has it before the mark
    mark = len(csms.received)
    assert await change(csms, 2, INOPERATIVE) == "Accepted"
    await asyncio.sleep(0.3)
    assert (await daemon.connector(2))["status"] == "Faulted" and statuses(csms, 2, after=mark) == []
    await daemon.cmd(cmd="fault", device="weld", connector=2, on=False)
    await status_reported(csms, 2, "Unavailable", after=mark)
    assert statuses(csms, 2, after=mark) == ["Unavailable"], "I8, not Available first"


async def test_availability_survives_a_sigkill_and_restart(daemon, csms):
    assert await change(csms, 1, INOPERATIVE) == "Accepted"
    await status_reported(csms, 1, "Unavailable")
    assert await daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    mark = len(csms.received)
    await daemon.start()
    await csms.wait_for("StatusNotification", within=15, after=mark, where=lambda p: p["connectorId"] == 2)
    assert statuses(csms, 1, after=mark) == ["Unavailable"] and statuses(csms, 2, after=mark) == ["Available"]
    await daemon.wait_state(1, status="Unavailable")
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QR0004", connector_id=1))
    assert result.status == "Rejected"


async def test_charge_point_inoperative_survives_a_sigkill_and_restart(daemon, csms):
    assert await change(csms, 0, INOPERATIVE) == "Accepted"
    await status_reported(csms, 0, "Unavailable")
    await daemon.stop(signal.SIGKILL)
    mark = len(csms.received)
    await daemon.start()
    await csms.wait_for("StatusNotification", within=15, after=mark, where=lambda p: p["connectorId"] == 2)
    assert [statuses(csms, n, after=mark) for n in (0, 1, 2)] == [["Unavailable"]] * 3


async def test_a_scheduled_change_applies_after_a_power_cut_during_the_transaction(daemon, csms):
    await daemon.card_start(1)
    assert await change(csms, 1, INOPERATIVE) == "Scheduled"
    await daemon.stop(signal.SIGKILL)  # the power goes before the transaction ends
    mark = len(csms.received)
    await daemon.start()
    stop = await csms.wait_for("StopTransaction", within=15, after=mark)
    assert stop.payload["reason"] in ("Reboot", "PowerLoss")
    await daemon.wait_state(1, status="Unavailable", transaction_id=None)
    assert statuses(csms, 1, after=mark)[-1:] == ["Unavailable"]
