"""End to end: the real daemon on simulated hardware against a real CSMS on 127.0.0.1."""

from ocpp.v16 import call

from tests.conftest import CHARGE_POINT

CARD = "04A1B2C3"
OTHER_CARD = "04D5E6F7A8B9C0"


def context_of(meter_values_payload):
    return meter_values_payload["meterValue"][0]["sampledValue"][0]["context"]


async def test_boot_heartbeat_and_initial_status(make_daemon, csms):
    csms.behaviour.boot_interval = 1  # the heartbeat interval the charge point must adopt
    await make_daemon()
    boot = csms.of("BootNotification")
    assert len(boot) == 1 and boot[0].payload["chargePointVendor"] == "evsed"
    statuses = {m.payload["connectorId"]: m.payload["status"] for m in csms.of("StatusNotification")}
    assert statuses == {0: "Available", 1: "Available", 2: "Available"}
    first = csms.received.index(boot[0])
    assert all(m.action == "BootNotification" for m in csms.received[: first + 1])
    await csms.wait_for("Heartbeat", within=5)


async def test_accepted_card_full_session(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD.lower(), connector=None)
    start = await csms.wait_for("StartTransaction")
    assert start.payload["connectorId"] == 1 and start.payload["idTag"] == CARD
    await daemon.wait_state(1, status="Charging", contactor_closed=True)
    tx_id = await daemon.transaction_id(1)
    periodic = await csms.wait_for("MeterValues", within=5, where=lambda p: context_of(p) == "Sample.Periodic")
    assert periodic.payload["transactionId"] == tx_id
    await csms.wait_for("MeterValues", within=5, after=csms.received.index(periodic) + 1,
                        where=lambda p: context_of(p) == "Sample.Periodic")
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "Local"
    assert stop.payload["idTag"] == CARD
    assert stop.payload["transactionId"] == tx_id
    assert stop.payload["meterStop"] > start.payload["meterStart"]
    contexts = [d["sampledValue"][0]["context"] for d in stop.payload["transactionData"]]
    assert contexts == ["Transaction.Begin", "Transaction.End"]
    assert len(csms.of("Authorize")) == 1, "stopping with the starting tag sends no Authorize"
    after = await daemon.wait_state(1, status="Finishing", contactor_closed=False, transaction_id=None)
    assert after["locked"] is False
    contexts_sent = [context_of(m.payload) for m in csms.of("MeterValues")]
    assert contexts_sent[0] == "Transaction.Begin" and contexts_sent[-1] == "Transaction.End"
    await daemon.cmd(cmd="unplug", connector=1)
    await daemon.wait_state(1, status="Available")


async def test_rejected_card_never_closes_contactor(daemon, csms):
    csms.behaviour.authorize = lambda tag: "Invalid" if tag == CARD else "Accepted"
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await csms.wait_for("Authorize", where=lambda p: p["idTag"] == CARD)
    await daemon.cmd(cmd="tap", uid=OTHER_CARD, connector=None)
    start = await csms.wait_for("StartTransaction")
    assert start.payload["idTag"] == OTHER_CARD, "the rejected card must not have started anything"
    assert len(csms.of("StartTransaction")) == 1


async def test_rejected_card_contactor_stays_open(daemon, csms):
    csms.behaviour.authorize = lambda tag: "Blocked"
    await daemon.cmd(cmd="plug", connector=1)
    for _ in range(3):
        await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await csms.wait_until(lambda: len(csms.of("Authorize")) == 3)
    assert (await daemon.cmd(cmd="card", id_tag=CARD))["cache"]["status"] == "Blocked", \
        "cached, yet each tap asked the CSMS again: a not-valid cache entry is re-checked while online"
    await daemon.cmd(cmd="tap", uid=OTHER_CARD, connector=None)  # a 4th round trip orders the check
    await csms.wait_until(lambda: len(csms.of("Authorize")) == 4)
    c = await daemon.wait_state(1, status="Preparing")
    assert c["contactor_closed"] is False and c["transaction_id"] is None
    assert csms.of("StartTransaction") == []


async def test_remote_start_after_plug(daemon, csms):
    await daemon.cmd(cmd="plug", connector=2)
    await daemon.wait_state(2, status="Preparing")
    id_tag = "QR7F3A9C21B04E5D6A8C"  # 20 characters: used unchanged, never truncated
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag=id_tag, connector_id=2))
    assert result.status == "Accepted"
    start = await csms.wait_for("StartTransaction")
    assert start.payload == {**start.payload, "connectorId": 2, "idTag": id_tag}
    await daemon.wait_state(2, status="Charging", contactor_closed=True)
    assert csms.of("Authorize") == [], "AuthorizeRemoteTxRequests defaults to false"


async def test_remote_start_is_authorized_when_configured(make_daemon, csms):
    csms.behaviour.authorize = lambda tag: "Invalid"
    d = await make_daemon(ocpp={"AuthorizeRemoteTxRequests": True})
    await d.cmd(cmd="plug", connector=1)
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QRTOKEN1", connector_id=1))
    assert result.status == "Accepted"
    await csms.wait_for("Authorize", where=lambda p: p["idTag"] == "QRTOKEN1")
    c = await d.wait_state(1, status="Preparing", awaiting_start=False)
    assert c["contactor_closed"] is False and csms.of("StartTransaction") == []


async def test_remote_start_then_plug_within_timeout(daemon, csms):
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="qrlower01", connector_id=1))
    assert result.status == "Accepted"
    await daemon.wait_state(1, status="Preparing", contactor_closed=False)
    await daemon.cmd(cmd="plug", connector=1)
    start = await csms.wait_for("StartTransaction")
    assert start.payload["idTag"] == "qrlower01"
    await daemon.wait_state(1, status="Charging", contactor_closed=True)


async def test_remote_start_without_ev_times_out(daemon, csms):
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QRNOEV", connector_id=1))
    assert result.status == "Accepted"
    preparing = await csms.wait_for("StatusNotification",
                                    where=lambda p: p["connectorId"] == 1 and p["status"] == "Preparing")
    back = await csms.wait_for("StatusNotification", within=6, after=csms.received.index(preparing),
                               where=lambda p: p["connectorId"] == 1 and p["status"] == "Available")
    assert back.at - preparing.at >= 2.5, "ConnectionTimeOut is 3 s"
    await daemon.cmd(cmd="plug", connector=1)  # too late: no transaction
    c = await daemon.wait_state(1, status="Preparing")
    assert c["contactor_closed"] is False and csms.of("StartTransaction") == []


async def test_remote_start_rejections(daemon, csms):
    for connector in (0, 3):
        result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QRX", connector_id=connector))
        assert result.status == "Rejected", connector
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await daemon.wait_state(1, status="Charging")
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="QRX", connector_id=1))
    assert result.status == "Rejected", "a connector with a transaction running is busy"


async def test_remote_stop(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    tx_id = await daemon.transaction_id(1)
    unknown = await csms.call(CHARGE_POINT, call.RemoteStopTransaction(transaction_id=tx_id + 99))
    assert unknown.status == "Rejected"
    result = await csms.call(CHARGE_POINT, call.RemoteStopTransaction(transaction_id=tx_id))
    assert result.status == "Accepted"
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "Remote" and stop.payload["transactionId"] == tx_id
    await daemon.wait_state(1, status="Finishing", contactor_closed=False)


async def test_non_owner_card_does_not_stop(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=1)
    await daemon.wait_state(1, status="Charging")
    await daemon.cmd(cmd="tap", uid=OTHER_CARD, connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=1)  # the owner's tap, after the stranger's
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["idTag"] == CARD and len(csms.of("StopTransaction")) == 1


async def test_owner_tag_is_case_insensitive(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    result = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag=CARD.lower(), connector_id=1))
    assert result.status == "Accepted"
    await daemon.wait_state(1, status="Charging")
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "Local" and csms.of("Authorize") == []


async def test_ev_unplug_stops_transaction(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await daemon.wait_state(1, status="Charging")
    await daemon.cmd(cmd="unplug", connector=1)
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "EVDisconnected"
    c = await daemon.wait_state(1, status="Available", contactor_closed=False)
    assert c["locked"] is False, "UnlockConnectorOnEVSideDisconnect defaults to true"


async def test_ev_unplug_suspends_when_configured(make_daemon, csms):
    d = await make_daemon(ocpp={"StopTransactionOnEVSideDisconnect": False,
                                "UnlockConnectorOnEVSideDisconnect": False})
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="tap", uid=CARD, connector=None)
    await d.wait_state(1, status="Charging", contactor_closed=True)
    await d.cmd(cmd="unplug", connector=1)
    c = await d.wait_state(1, status="SuspendedEV", contactor_closed=False)
    assert c["transaction_id"] is not None or c["tx_ref"] is not None
    assert c["locked"] is True
    await d.cmd(cmd="plug", connector=1)
    await d.wait_state(1, status="Charging", contactor_closed=True)
    assert csms.of("StopTransaction") == []


async def test_ev_pause_is_suspended_ev(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await daemon.wait_state(1, status="Charging")
    await daemon.cmd(cmd="pause", connector=1)
    await daemon.wait_state(1, status="SuspendedEV", contactor_closed=True)
    await daemon.cmd(cmd="resume", connector=1)
    await daemon.wait_state(1, status="Charging")


async def test_shared_reader_tap_before_plug_follows_the_ev(daemon, csms):
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await csms.wait_for("Authorize")
    await daemon.cmd(cmd="plug", connector=2)
    start = await csms.wait_for("StartTransaction")
    assert start.payload["connectorId"] == 2
    await daemon.wait_state(2, status="Charging", contactor_closed=True)
    await daemon.wait_state(1, status="Available", contactor_closed=False)


async def test_sigterm_opens_contactor_and_stops(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await daemon.wait_state(1, status="Charging", contactor_closed=True)
    assert await daemon.stop() == 0
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "Reboot"
    assert "contactor opened connector=1" in daemon.log()


async def test_new_session_on_finishing_connector_passes_through_preparing(daemon, csms):
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await daemon.wait_state(1, status="Charging")
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    finishing = await csms.wait_for("StatusNotification", where=lambda p: p["status"] == "Finishing")
    mark = csms.received.index(finishing) + 1
    await daemon.cmd(cmd="tap", uid=CARD, connector=None)
    await csms.wait_for("StatusNotification", after=mark, where=lambda p: p["status"] == "Charging")
    steps = [m.payload["status"] for m in csms.received[mark:]
             if m.action == "StatusNotification" and m.payload["connectorId"] == 1]
    assert steps == ["Preparing", "Charging"], "OCPP 1.6 has no Finishing→Charging cell: F2 then B3"
    assert len(csms.of("StartTransaction")) == 2
