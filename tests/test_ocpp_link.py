"""OCPP-J 1.6 link behaviour against a real CSMS: boot gating, reconnect, and CALLERRORs."""

import asyncio
import json

import pytest
from ocpp.v16 import call

from tests.conftest import CHARGE_POINT

CARD = "04A1B2C3"


async def test_boot_pending_answers_but_sends_nothing_else(make_daemon, csms):
    csms.behaviour.boot_status, csms.behaviour.boot_interval = "Pending", 1
    await make_daemon(boot=False)
    await csms.wait_for("BootNotification")
    start = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QR1", connector_id=1))
    assert start.status == "Rejected", "RemoteStart is rejected while Pending"
    stop = await csms.call(CHARGE_POINT, call.RemoteStopTransaction(transaction_id=1))
    assert stop.status == "Rejected"
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["ConnectionTimeOut"]))
    assert conf.configuration_key[0]["key"] == "ConnectionTimeOut", "the CSMS's requests are answered"
    await csms.wait_until(lambda: len(csms.of("BootNotification")) >= 2, within=5)
    csms.behaviour.boot_status = "Accepted"
    accepted_at = len(csms.of("BootNotification"))
    await csms.wait_for("StatusNotification", within=5)
    first_other = next(i for i, m in enumerate(csms.received) if m.action != "BootNotification")
    assert [m.action for m in csms.received[:first_other]] == ["BootNotification"] * first_other
    assert first_other >= accepted_at


async def test_boot_rejected_waits_the_interval(make_daemon, csms):
    csms.behaviour.boot_status, csms.behaviour.boot_interval = "Rejected", 2
    await make_daemon(boot=False)
    await csms.wait_until(lambda: len(csms.of("BootNotification")) >= 2, within=6)
    first, second = csms.of("BootNotification")[:2]
    assert second.at - first.at >= 1.9
    assert {m.action for m in csms.received} == {"BootNotification"}
    csms.behaviour.boot_status = "Accepted"
    await csms.wait_for("StatusNotification", within=6)


async def test_reconnect_after_csms_drop_resends_status_not_boot(daemon, csms):
    before = len(csms.of("StatusNotification"))
    csms.peers[CHARGE_POINT].connection.transport.abort()
    await csms.wait_until(lambda: csms.connections == 2, within=6)
    await csms.wait_until(lambda: len(csms.of("StatusNotification")) >= before + 3, within=5)
    assert len(csms.of("BootNotification")) == 1
    resent = {m.payload["connectorId"] for m in csms.of("StatusNotification")[before:]}
    assert resent == {0, 1, 2}


async def test_link_down_queues_transaction_messages_and_delivers_in_order(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    tx_id = await daemon.transaction_id(1)
    await daemon.set_link(False, within=5)
    await asyncio.sleep(1.5)  # a periodic MeterValues is queued while offline
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)  # the owner stops offline, no Authorize
    state = await daemon.wait_state(1, status="Finishing", contactor_closed=False)
    assert state["transaction_id"] is None
    depth = (await daemon.state())["outbox"]["depth"]
    assert depth >= 2, "Transaction.End MeterValues and StopTransaction wait in the outbox"
    seen = len(csms.received)
    await daemon.cmd(cmd="link", state="up")
    stop = await csms.wait_for("StopTransaction", within=8, after=seen)
    assert stop.payload["transactionId"] == tx_id and stop.payload["reason"] == "Local"
    replay = [m for m in csms.received[seen:] if m.action in ("MeterValues", "StopTransaction")]
    assert replay[-1].action == "StopTransaction"
    stamps = [m.payload["meterValue"][0]["timestamp"] for m in replay[:-1]]
    assert stamps == sorted(stamps) and len(stamps) >= 2
    async with asyncio.timeout(5):
        while (await daemon.state())["outbox"]["depth"]:
            await asyncio.sleep(0.05)  # emptied once the StopTransaction.conf is processed
    assert len(csms.of("BootNotification")) == 1


PROFILE = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "Bogus",
           "chargingProfileKind": "Absolute",
           "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1}]}}

BAD_CALLS = [
    ("FooBar", {}, "NotImplemented"),
    ("Heartbeat", {}, "NotSupported"),  # a 1.6 action the charge point sends, not one it answers
    ("RemoteStartTransaction", {}, "OccurenceConstraintViolation"),
    ("RemoteStartTransaction", {"idTag": 5}, "TypeConstraintViolation"),
    ("RemoteStartTransaction", {"idTag": "A" * 21}, "TypeConstraintViolation"),
    ("RemoteStartTransaction", {"idTag": "A", "foo": 1}, "FormationViolation"),
    ("RemoteStartTransaction", "not-an-object", "FormationViolation"),
    ("RemoteStartTransaction", {"idTag": "A", "chargingProfile": PROFILE}, "PropertyConstraintViolation"),
    ("RemoteStopTransaction", {"transactionId": "x"}, "TypeConstraintViolation"),
    ("GetConfiguration", {"key": "ConnectionTimeOut"}, "TypeConstraintViolation"),
]


@pytest.mark.parametrize(("action", "payload", "code"), BAD_CALLS)
async def test_bad_calls_get_the_ocpp16_callerror(daemon, csms, action, payload, code):
    reply = await csms.send_raw(CHARGE_POINT, json.dumps([2, "bad-1", action, payload]), "bad-1")
    assert reply[:3] == [4, "bad-1", code], reply


async def test_malformed_frames_do_not_break_the_link(daemon, csms):
    reply = await csms.send_raw(CHARGE_POINT, json.dumps([2, "short-1", "RemoteStartTransaction"]), "short-1")
    assert reply[:3] == [4, "short-1", "FormationViolation"]
    reply = await csms.send_raw(CHARGE_POINT, json.dumps([2, "act-1", 42, {}]), "act-1")
    assert reply[:3] == [4, "act-1", "FormationViolation"]
    peer = csms.peers[CHARGE_POINT]
    for garbage in ("garbage{", "{}", "[9, 1]", "[]"):
        await peer._send(garbage)  # nothing to answer: no readable id
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["HeartbeatInterval"]))
    assert conf.configuration_key[0]["value"] == "300"
    assert csms.connections == 1
    assert "unparseable frame from CSMS dropped" in daemon.log()


async def test_data_transfer_for_an_unknown_vendor_is_answered_unknown_vendor_id(daemon, csms):
    """OCPP 1.6 §5.6, §4.3: a vendorId with no extension here is UnknownVendorId, without data; the registered
    handlers' profiles (RemoteTrigger: TriggerMessage) are SupportedFeatureProfiles."""
    answer = await csms.call(CHARGE_POINT, call.DataTransfer(vendor_id="com.example", message_id="Ping", data="x"))
    assert answer.status == "UnknownVendorId" and answer.data is None
    profiles = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["SupportedFeatureProfiles"]))
    assert profiles.configuration_key[0]["value"] == (
        "Core,LocalAuthListManagement,RemoteTrigger,Reservation,SmartCharging,FirmwareManagement")


async def test_minimum_status_duration_preset_starts_and_debounces(make_daemon, csms):
    """OCPP 1.6 §9.1 MinimumStatusDuration set in [ocpp]: the daemon starts (it crashed when the initial
    statuses were debounced before its event loop ran), reports the initial statuses at once, and a status
    that does not last the duration is never sent."""
    d = await make_daemon(ocpp={"MinimumStatusDuration": 2})
    assert [m.payload["status"] for m in csms.of("StatusNotification")] == ["Available"] * 3
    mark = len(csms.received)
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="unplug", connector=1)  # Preparing for a moment, then Available again: nothing to tell
    await d.cmd(cmd="plug", connector=2)
    await csms.wait_for("StatusNotification", after=mark, within=5, where=lambda p: p["status"] == "Preparing")
    assert [(m.payload["connectorId"], m.payload["status"]) for m in csms.received[mark:]
            if m.action == "StatusNotification"] == [(2, "Preparing")]


async def test_boot_carries_the_serial_under_both_names(make_daemon, csms):
    """chargeBoxSerialNumber is deprecated in 1.6 but some CSMSs read only it: both carry the serial."""
    await make_daemon(serial_number="EVSED-0042")
    boot = csms.of("BootNotification")[0].payload
    assert boot["chargePointSerialNumber"] == boot["chargeBoxSerialNumber"] == "EVSED-0042"


@pytest.mark.parametrize(("action", "code", "description"), [
    ("Heartbeat", "NotSupported", "Requested Action is recognized but not supported by the receiver"),
    ("FooBar", "NotImplemented", "Requested Action is not known by receiver"),
])
async def test_callerror_descriptions_match_their_codes(daemon, csms, action, code, description):
    """OCPP-J 1.6 §4.2.3: the library swaps these two descriptions; the charger sends the spec's."""
    reply = await csms.send_raw(CHARGE_POINT, json.dumps([2, "d-1", action, {}]), "d-1")
    assert reply[2:4] == [code, description], reply


async def test_a_new_heartbeat_interval_applies_at_once(make_daemon, csms):
    """OCPP 1.6 §9.1: HeartbeatInterval changed from 300 s to 1 s brings a Heartbeat within a second or two,
    not after the old interval ran out."""
    await make_daemon()
    assert (await csms.call(CHARGE_POINT, call.ChangeConfiguration(key="HeartbeatInterval", value="1"))).status \
        == "Accepted"
    await csms.wait_until(lambda: len(csms.of("Heartbeat")) >= 2, within=4)


async def test_a_new_sample_interval_applies_at_once(make_daemon, csms):
    d = await make_daemon(ocpp={"MeterValueSampleInterval": 300})
    await d.card_start(1)
    mark = len(csms.received)
    assert (await csms.call(CHARGE_POINT, call.ChangeConfiguration(key="MeterValueSampleInterval", value="1"))) \
        .status == "Accepted"
    await csms.wait_for("MeterValues", after=mark, within=4,
                        where=lambda p: p["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic")


async def test_a_new_connection_timeout_applies_to_the_start_waiting_now(make_daemon, csms):
    d = await make_daemon(ocpp={"ConnectionTimeOut": 300})
    await d.cmd(cmd="tap", uid=CARD, connector=1)
    await d.wait_state(1, awaiting_start=True, status="Preparing")
    assert (await csms.call(CHARGE_POINT, call.ChangeConfiguration(key="ConnectionTimeOut", value="1"))).status \
        == "Accepted"
    await d.wait_state(1, within=3, awaiting_start=False, status="Available")


async def test_a_new_ping_interval_finds_a_dead_link_at_once(make_daemon, csms):
    """WebSocketPingInterval changed to 1 s: a CSMS that stops reading (no pong) is given up within about two
    intervals and the charge point reconnects, instead of keeping the 30 s interval of the connect."""
    await make_daemon()
    assert (await csms.call(CHARGE_POINT, call.ChangeConfiguration(key="WebSocketPingInterval", value="1"))).status \
        == "Accepted"
    dead = csms.peers[CHARGE_POINT].connection
    dead.transport.pause_reading()
    await csms.wait_until(lambda: csms.connections == 2, within=8)
    dead.transport.abort()  # the charge point gave it up: the server need not wait 10 s for its closing handshake


def order_of(csms, connector: int) -> list[str]:
    """What the CSMS received about `connector`, in order: statuses by name, transaction messages by action."""
    out = []
    for m in csms.received:
        if m.payload.get("connectorId") not in (connector, None) or m.action in ("Heartbeat", "BootNotification"):
            continue
        out.append(m.payload["status"] if m.action == "StatusNotification" else m.action)
    return out


async def test_statuses_keep_their_place_among_transaction_messages(make_daemon, csms):
    """A CSMS can rely on Preparing → StartTransaction → Charging and StopTransaction → Finishing: a status is
    sent after the transaction messages queued before it began, even while the link is busy with another
    connector's MeterValues (here each takes the CSMS 0.3 s to answer)."""
    d = await make_daemon(ocpp={"MeterValueSampleInterval": 1})
    await d.card_start(1)
    csms.behaviour.answer_delay_s["MeterValues"] = 0.3
    for _ in range(3):
        await d.card_start(2, uid="04C0FFEE")
        await asyncio.sleep(1.2)
        await d.card_stop(2, uid="04C0FFEE")
        await d.cmd(cmd="unplug", connector=2)
        await csms.wait_until(lambda: order_of(csms, 2)[-1:] == ["Available"], within=10)
    sessions = " ".join(order_of(csms, 2)).split("Available")
    started = [s.split() for s in sessions if "StartTransaction" in s]
    assert len(started) == 3
    for seen in started:
        assert seen.index("Preparing") < seen.index("StartTransaction") < seen.index("Charging"), seen
        assert seen.index("StopTransaction") < seen.index("Finishing"), seen


async def test_boot_statuses_carry_their_time_and_a_resend_keeps_it(make_daemon, csms):
    """StatusNotification.timestamp is when the status began: set at boot (the clock is trusted from the RTC
    here) and kept, not renewed or dropped, when the statuses are sent again after a reconnect."""
    await make_daemon(clock_trust="rtc")
    first = {m.payload["connectorId"]: m.payload.get("timestamp") for m in csms.of("StatusNotification")}
    assert all(first.values()) and len(first) == 3, first
    before = len(csms.of("StatusNotification"))
    csms.peers[CHARGE_POINT].connection.transport.abort()
    await csms.wait_until(lambda: len(csms.of("StatusNotification")) >= before + 3, within=10)
    resent = {m.payload["connectorId"]: m.payload.get("timestamp") for m in csms.of("StatusNotification")[before:]}
    assert resent == first
