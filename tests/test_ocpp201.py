"""The 1.6 end-to-end scenarios again, in OCPP 2.0.1: the real daemon on simulated hardware against the loopback CSMS
speaking 2.0.1 (the `ocpp` library's v201 side) over 127.0.0.1.

Boot, card session, refused card, the QR flow's RequestStartTransaction with a Central token (and its charging
profile), an offline session replayed with offline=true and gap-free seqNo after SIGKILL, the Local List, the device
model (Get/SetVariables, GetBaseReport), remote control, hostile frames, and a charger switched from 1.6.
"""

import asyncio
import base64
import json
import signal
import sqlite3
from typing import Any

from ocpp.v16 import call as call16
from ocpp.v201 import call

from firmware.demo.loopback_csms import LoopbackCsms
from tests.conftest import CHARGE_POINT, STARTUP_S
from tests.ocpp_steps import logged

CARD = "04A1B2C3"
LISTED = "0A0B0C0D"
QR_TOKEN = "qr-" + "7f3a9c" * 5 + "b21"
"""A QR flow's token as long as 2.0.1 allows (36 characters; 1.6's idTag stops at 20)."""
CSMS_PROTOCOL = "ocpp2.0.1"
"""The `csms` fixture speaks 2.0.1 in this module."""


def events(csms: LoopbackCsms, after: int = 0) -> list[dict[str, Any]]:
    return [m.payload for m in csms.received[after:] if m.action == "TransactionEvent"]


def of_transaction(csms: LoopbackCsms, transaction_id: str) -> list[dict[str, Any]]:
    return [e for e in events(csms) if e["transactionInfo"]["transactionId"] == transaction_id]


async def ended(csms: LoopbackCsms, after: int = 0, within: float = 10.0) -> dict[str, Any]:
    message = await csms.wait_for("TransactionEvent", within=within, after=after,
                                  where=lambda p: p["eventType"] == "Ended")
    return message.payload


def assert_gap_free(sequence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One transaction's events: Started first, Ended last, seqNo 0, 1, 2, ... without a gap. An event in flight when
    the link went is sent again after the reconnect, verbatim (same seqNo: the CSMS knows it by that); such repeats
    are dropped from what is returned."""
    once: list[dict[str, Any]] = []
    for event in sequence:
        if once and event["seqNo"] == once[-1]["seqNo"]:
            assert event == once[-1], "a resend is verbatim"
            continue
        once.append(event)
    sequence = once
    assert [e["seqNo"] for e in sequence] == list(range(len(sequence)))
    assert sequence[0]["eventType"] == "Started" and sequence[-1]["eventType"] == "Ended"
    assert {e["eventType"] for e in sequence[1:-1]} <= {"Updated"}
    return sequence


async def test_boot_status_and_subprotocol(csms, start201):
    await start201()
    boot = csms.of("BootNotification")[0].payload
    assert boot["reason"] == "PowerUp"
    assert boot["chargingStation"]["model"] and boot["chargingStation"]["vendorName"]
    statuses = {(m.payload["evseId"], m.payload["connectorId"]): m.payload["connectorStatus"]
                for m in csms.of("StatusNotification")}
    assert statuses == {(1, 1): "Available", (2, 1): "Available"}
    assert csms.peers[CHARGE_POINT].connection.subprotocol == "ocpp2.0.1"


async def test_pending_boot_refuses_remote_start_until_accepted(csms, start201):
    """B02: while Pending the station answers the CSMS but takes no RequestStartTransaction and sends nothing of its
    own."""
    csms.behaviour.boot_status, csms.behaviour.boot_interval = "Pending", 2
    await start201(boot=False)
    await csms.wait_for("BootNotification", within=STARTUP_S)
    request = call.RequestStartTransaction(id_token={"id_token": "QR1", "type": "Central"}, remote_start_id=1)
    assert (await csms.call(CHARGE_POINT, request)).status == "Rejected"
    got = await csms.call(CHARGE_POINT, call.GetVariables(get_variable_data=[
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]))
    assert got.get_variable_result[0]["attribute_status"] == "Accepted"
    assert csms.of("StatusNotification") == []
    csms.behaviour.boot_status = "Accepted"
    await csms.wait_for("StatusNotification", within=10)
    assert len(csms.of("BootNotification")) >= 2


async def test_card_session(csms, start201):
    """C01 Authorize with an ISO14443 IdToken, then E01-E07: Started, Updated (periodic samples), Ended, one
    transactionId made by the station, seqNo gap-free; the EVSE Occupied, then Available when the EV leaves."""
    charger = await start201()
    mark = len(csms.received)
    await charger.card_start(1)
    await asyncio.sleep(2.5)
    await charger.card_stop(1)
    end = await ended(csms, mark)
    authorize = csms.of("Authorize")[0].payload
    assert authorize == {"idToken": {"idToken": CARD, "type": "ISO14443"}}
    transaction_id = end["transactionInfo"]["transactionId"]
    sequence = of_transaction(csms, transaction_id)
    assert_gap_free(sequence)
    started = sequence[0]
    assert started["triggerReason"] == "Authorized" and started["evse"] == {"id": 1, "connectorId": 1}
    assert started["idToken"] == {"idToken": CARD, "type": "ISO14443"}
    assert sum(e["triggerReason"] == "MeterValuePeriodic" for e in sequence) >= 2
    assert end["transactionInfo"]["stoppedReason"] == "Local" and end["triggerReason"] == "StopAuthorized"
    energies = [v["sampledValue"][0]["value"] for v in end["meterValue"]]
    assert energies[-1] > energies[0] >= 0 and not any(e.get("offline") for e in sequence)
    await charger.cmd(cmd="unplug", connector=1)
    await csms.wait_for("StatusNotification", after=mark,
                        where=lambda p: p["evseId"] == 1 and p["connectorStatus"] == "Available")
    statuses = [m.payload["connectorStatus"] for m in csms.received[mark:]
                if m.action == "StatusNotification" and m.payload["evseId"] == 1]
    assert statuses == ["Occupied", "Available"]


async def test_a_refused_token_starts_nothing(csms, start201):
    """2.0.1's own IdTokenInfo statuses refuse like 1.6's: NoCredit closes no contactor and starts no transaction."""
    csms.behaviour.authorize = lambda token: "NoCredit"
    charger = await start201()
    await charger.cmd(cmd="plug", connector=1)
    await charger.cmd(cmd="tap", uid=CARD, connector=1)
    await csms.wait_for("Authorize")
    await asyncio.sleep(0.5)
    connector = await charger.connector(1)
    assert connector["contactor_closed"] is False and connector["tx_ref"] is None
    assert events(csms) == [] and "status=NoCredit" in charger.log()


async def test_qr_request_start_with_a_central_token_and_its_budget(csms, start201):
    """F01/F02, the QR flow: a Central token, remoteStartId returned in Started (F01.FR.25), its TxProfile's limit
    offered to the EV; RequestStopTransaction by the station's transactionId ends it (F03)."""
    charger = await start201()
    profile = {"id": 5, "stack_level": 0, "charging_profile_purpose": "TxProfile",
               "charging_profile_kind": "Relative",
               "charging_schedule": [{"id": 1, "charging_rate_unit": "A",
                                      "charging_schedule_period": [{"start_period": 0, "limit": 10.0}]}]}
    request = call.RequestStartTransaction(id_token={"id_token": QR_TOKEN, "type": "Central"}, remote_start_id=77,
                                           evse_id=2, charging_profile=profile)
    assert (await csms.call(CHARGE_POINT, request)).status == "Accepted"
    await charger.cmd(cmd="plug", connector=2)
    started = (await csms.wait_for("TransactionEvent", where=lambda p: p["eventType"] == "Started")).payload
    assert started["triggerReason"] == "RemoteStart" and started["transactionInfo"]["remoteStartId"] == 77
    assert started["idToken"] == {"idToken": QR_TOKEN, "type": "Central"} and started["evse"]["id"] == 2
    await charger.wait_state(2, status="Charging", offered_current_a=10.0)
    transaction_id = started["transactionInfo"]["transactionId"]
    await charger.wait_state(2, transaction_id=transaction_id)
    unknown = await csms.call(CHARGE_POINT, call.RequestStopTransaction(transaction_id="no-such-id"))
    assert unknown.status == "Rejected"
    stop = await csms.call(CHARGE_POINT, call.RequestStopTransaction(transaction_id=transaction_id))
    assert stop.status == "Accepted"
    end = await ended(csms)
    assert end["transactionInfo"] == {"transactionId": transaction_id, "stoppedReason": "Remote",
                                      "chargingState": "EVConnected"}
    assert end["triggerReason"] == "RemoteStop"
    assert_gap_free(of_transaction(csms, transaction_id))


async def test_offline_events_keep_their_order_and_numbers_across_sigkill(csms, start201, make_daemon, tmp_path):
    """E04, E01.FR.16: a session begun online goes on while the link is down, then the daemon is killed (a power
    cut). After the restart the CSMS gets every event, in order, seqNo gap-free, the ones queued while offline
    marked offline=true, and the transaction Ended at the restart (stoppedReason Reboot: the machine itself did not
    restart, `core.recovery`)."""
    charger = await start201(ocpp={"LocalAuthorizeOffline": True})
    await charger.card_start(1)
    online = await csms.wait_for("TransactionEvent", where=lambda p: p["eventType"] == "Updated" and p["seqNo"] >= 2)
    transaction_id = online.payload["transactionInfo"]["transactionId"]
    await charger.set_link(False)
    await asyncio.sleep(2.5)  # offline samples
    await charger.stop(signal.SIGKILL)
    await charger.start()
    end = await ended(csms, within=20)
    assert end["transactionInfo"]["transactionId"] == transaction_id
    assert end["transactionInfo"]["stoppedReason"] == "Reboot"
    sequence = assert_gap_free(of_transaction(csms, transaction_id))
    flags = [bool(e.get("offline")) for e in sequence]
    assert flags[0] is False and flags[-1] is True
    assert flags == sorted(flags), "online events first, then the offline ones"
    assert sum(flags) >= 3


async def test_an_offline_session_is_sent_later_with_offline_true(csms, start201):
    """E04: a whole session while the link is down (a token the Local List allows): Started..Ended reach the CSMS
    once it is back, all offline=true, numbered from 0."""
    charger = await start201()
    update = call.SendLocalList(version_number=3, update_type="Full", local_authorization_list=[
        {"id_token": {"id_token": CARD, "type": "ISO14443"}, "id_token_info": {"status": "Accepted"}},
        {"id_token": {"id_token": "QR-OLD-1", "type": "Central"}, "id_token_info": {"status": "Blocked"}}])
    assert (await csms.call(CHARGE_POINT, update)).status == "Accepted"
    assert (await csms.call(CHARGE_POINT, call.GetLocalListVersion())).version_number == 3
    await charger.set_link(False)
    mark = len(csms.received)
    await charger.card_start(1)
    await asyncio.sleep(1.5)
    await charger.card_stop(1)
    assert events(csms, mark) == []
    await charger.set_link(True)
    end = await ended(csms, mark)
    sequence = of_transaction(csms, end["transactionInfo"]["transactionId"])
    assert_gap_free(sequence)
    assert all(e.get("offline") is True for e in sequence)
    assert csms.of("Authorize") == [], "the Local List decided, offline"
    with sqlite3.connect(charger.workdir / "state" / "evsed.db") as db:
        kept = dict(db.execute("SELECT id_tag, token_type FROM local_list").fetchall())
    assert kept == {CARD: "ISO14443", "QR-OLD-1": "Central"}


async def test_device_model_over_the_stored_settings(csms, start201):
    """B05/B06: variables read and written through the same settings as 1.6's keys; ReadOnly and WriteOnly held."""
    await start201()

    async def get(component: str, variable: str) -> dict[str, Any]:
        answer = await csms.call(CHARGE_POINT, call.GetVariables(get_variable_data=[
            {"component": {"name": component}, "variable": {"name": variable}}]))
        return answer.get_variable_result[0]

    async def set_(component: str, variable: str, value: str) -> str:
        answer = await csms.call(CHARGE_POINT, call.SetVariables(set_variable_data=[
            {"component": {"name": component}, "variable": {"name": variable}, "attribute_value": value}]))
        return answer.set_variable_result[0]["attribute_status"]

    assert (await get("TxCtrlr", "TxStartPoint"))["attribute_value"] == "PowerPathClosed"
    assert (await get("TxCtrlr", "TxStopPoint"))["attribute_value"] == "EVConnected,Authorized"
    assert (await get("LocalAuthListCtrlr", "Enabled"))["attribute_value"] == "true"
    assert (await get("AuthCtrlr", "LocalAuthorizeOffline"))["attribute_value"] == "true"
    assert await set_("TxCtrlr", "EVConnectionTimeOut", "45") == "Accepted"
    assert (await get("TxCtrlr", "EVConnectionTimeOut"))["attribute_value"] == "45"
    assert await set_("TxCtrlr", "EVConnectionTimeOut", "forty") == "Rejected"
    assert await set_("SecurityCtrlr", "SecurityProfile", "1") == "Rejected"
    assert await set_("SecurityCtrlr", "BasicAuthPassword", "short") == "Rejected"
    assert await set_("SecurityCtrlr", "BasicAuthPassword", "a-2.0.1-password-of-24ch") == "Accepted"
    assert (await get("SecurityCtrlr", "BasicAuthPassword"))["attribute_status"] == "Rejected"
    assert (await get("SecurityCtrlr", "Identity"))["attribute_value"] == CHARGE_POINT
    assert (await get("NoSuchCtrlr", "Enabled"))["attribute_status"] == "UnknownComponent"


async def test_get_base_report_arrives_as_numbered_notify_reports(csms, start201):
    """B07: Accepted, then NotifyReport messages of the requestId, seqNo from 0, tbc on all but the last."""
    charger = await start201()
    answer = await csms.call(CHARGE_POINT, call.GetBaseReport(request_id=9, report_base="FullInventory"))
    assert answer.status == "Accepted"
    await csms.wait_until(lambda: any(not m.payload.get("tbc", False) for m in csms.of("NotifyReport")))
    reports = [m.payload for m in csms.of("NotifyReport")]
    assert [r["seqNo"] for r in reports] == list(range(len(reports)))
    assert all(r["requestId"] == 9 for r in reports) and [r.get("tbc", False) for r in reports][-1] is False
    items = {(d["component"]["name"], d["variable"]["name"]) for r in reports for d in r["reportData"]}
    assert {("OCPPCommCtrlr", "HeartbeatInterval"), ("TxCtrlr", "TxStopPoint"),
            ("SecurityCtrlr", "BasicAuthPassword")} <= items
    assert "BasicAuthPassword" not in json.dumps([r for r in reports]).replace('"BasicAuthPassword"', "")
    await logged(charger, "report sent request_id=9")


async def test_remote_control(csms, start201):
    """F05 UnlockConnector refuses a running transaction; G03/G04 ChangeAvailability; F06 TriggerMessage;
    C11 ClearCache; P01 DataTransfer; B11 Reset Immediate ends the session (ImmediateReset) and boots RemoteReset."""
    charger = await start201()
    await charger.card_start(1)
    unlock = await csms.call(CHARGE_POINT, call.UnlockConnector(evse_id=1, connector_id=1))
    assert unlock.status == "OngoingAuthorizedTransaction"
    assert (await csms.call(CHARGE_POINT, call.UnlockConnector(evse_id=9, connector_id=1))).status == \
        "UnknownConnector"
    inoperative = call.ChangeAvailability(operational_status="Inoperative", evse={"id": 2})
    assert (await csms.call(CHARGE_POINT, inoperative)).status == "Accepted"
    await csms.wait_for("StatusNotification", where=lambda p: p["evseId"] == 2
                        and p["connectorStatus"] == "Unavailable")
    scheduled = call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1})
    assert (await csms.call(CHARGE_POINT, scheduled)).status == "Scheduled"
    mark = len(csms.received)
    trigger = call.TriggerMessage(requested_message="TransactionEvent", evse={"id": 1})
    assert (await csms.call(CHARGE_POINT, trigger)).status == "Accepted"
    triggered = await csms.wait_for("TransactionEvent", after=mark, where=lambda p: p["triggerReason"] == "Trigger")
    assert triggered.payload["eventType"] == "Updated"
    assert (await csms.call(CHARGE_POINT, call.TriggerMessage(requested_message="SignV2GCertificate"))).status == \
        "NotImplemented"
    trigger = call.TriggerMessage(requested_message="StatusNotification", evse={"id": 2})
    assert (await csms.call(CHARGE_POINT, trigger)).status == "Accepted"
    await csms.wait_for("StatusNotification", after=mark, where=lambda p: p["evseId"] == 2)
    assert (await csms.call(CHARGE_POINT, call.ClearCache())).status == "Accepted"
    transfer = await csms.call(CHARGE_POINT, call.DataTransfer(vendor_id="com.example.none"))
    assert transfer.status == "UnknownVendorId"
    mark = len(csms.received)
    assert (await csms.call(CHARGE_POINT, call.Reset(type="Immediate"))).status == "Accepted"
    end = await ended(csms, mark, within=15)
    assert end["transactionInfo"]["stoppedReason"] == "ImmediateReset" and end["triggerReason"] == "ResetCommand"
    boot = await csms.wait_for("BootNotification", after=mark, within=STARTUP_S)  # the daemon starts again itself
    assert boot.payload["reason"] == "RemoteReset"


async def test_hostile_frames_get_2_0_1_errors(csms, start201):
    """OCPP-J 2.0.1 §4.3: an action 2.0.1 has but evsed does not answer is NotSupported, an unknown one
    NotImplemented, a payload breaking the schema FormatViolation or its kin, a broken frame with a readable id
    RpcFrameworkError; the link stays up."""
    charger = await start201()
    cases = {
        "a1": ('[2, "a1", "GetDisplayMessages", {"requestId": 1}]', "NotSupported"),
        "a2": ('[2, "a2", "MakeCoffee", {}]', "NotImplemented"),
        "a3": ('[2, "a3", "GetVariables", {"getVariableData": "no"}]', "TypeConstraintViolation"),
        "a4": ('[2, "a4", "Reset", {"type": "Sideways"}]', "PropertyConstraintViolation"),
        "a5": ('[2, "a5", "Reset"]', "RpcFrameworkError"),
    }
    for unique_id, (frame, code) in cases.items():
        answer = await csms.send_raw(CHARGE_POINT, frame, unique_id)
        assert answer[0] == 4 and answer[2] == code, (frame, answer)
    assert (await charger.state())["link"]["connected"] is True


async def test_a_charger_switched_from_1_6_keeps_its_list_cache_and_settings(make_daemon, tmp_path):
    """The same state directory, first under 1.6, then under 2.0.1: the Local List, the cache and the settings
    stay. A 1.6 session ends cleanly in 1.6 first: a daemon stopped with SIGTERM ends it and its StopTransaction
    reaches the 1.6 CSMS, so the 2.0.1 CSMS hears nothing of it (what a 1.6 CSMS never confirmed is sent again
    as TransactionEvents: docs/ARCHITECTURE.md)."""
    old = LoopbackCsms()
    await old.start()
    try:
        charger = await make_daemon(2, {"MeterValueSampleInterval": 1}, url=old.url, boot=False)
        await old.wait_for("StatusNotification", within=STARTUP_S, where=lambda p: p["connectorId"] == 2)
        update = call16.SendLocalList(list_version=4, update_type="Full", local_authorization_list=[
            {"id_tag": LISTED, "id_tag_info": {"status": "Accepted"}}])
        assert (await old.call(CHARGE_POINT, update)).status == "Accepted"
        assert (await old.call(CHARGE_POINT, call16.ChangeConfiguration(key="ConnectionTimeOut",
                                                                        value="44"))).status == "Accepted"
        await charger.card_start(1)  # CARD is authorized online: the cache learns it
        await charger.stop()
        stop = await old.wait_for("StopTransaction")
        assert stop.payload["reason"] == "Reboot"
    finally:
        await old.stop()
    new = LoopbackCsms(protocol="ocpp2.0.1")
    await new.start()
    try:
        charger.config.write_text(charger.config.read_text().replace('[csms]\n', '[csms]\nprotocol = "ocpp2.0.1"\n')
                                  .replace(old.url, new.url))
        await charger.start()
        await new.wait_for("StatusNotification", within=STARTUP_S, where=lambda p: p["evseId"] == 2)
        assert (await new.call(CHARGE_POINT, call.GetLocalListVersion())).version_number == 4
        got = await new.call(CHARGE_POINT, call.GetVariables(get_variable_data=[
            {"component": {"name": "TxCtrlr"}, "variable": {"name": "EVConnectionTimeOut"}}]))
        assert got.get_variable_result[0]["attribute_value"] == "44"
        await asyncio.sleep(0.5)
        assert new.of("TransactionEvent") == []
        await charger.set_link(False)
        await charger.card_start(2)  # the cached CARD starts offline (LocalAuthorizeOffline)
        await charger.card_start(1, uid=LISTED)
        state = await charger.state()
        assert [c["id_tag"] for c in state["connectors"]] == [LISTED, CARD]
    finally:
        await charger.stop()
        await new.stop()


async def test_set_network_profile_raises_the_security_profile(csms, start201):
    """B09 with A00/A05: the same CSMS url, security profile 1 once a BasicAuthPassword is set; the station connects
    again with HTTP Basic (user SecurityCtrlr.Identity, the password as set), and nothing lowers it again."""
    await start201()
    password = "a-2.0.1-password-of-24ch"

    def profile(level: int, url: str = csms.url) -> call.SetNetworkProfile:
        return call.SetNetworkProfile(configuration_slot=1, connection_data={
            "ocpp_version": "OCPP20", "ocpp_transport": "JSON", "ocpp_csms_url": url, "message_timeout": 30,
            "security_profile": level, "ocpp_interface": "Wired0"})

    assert (await csms.call(CHARGE_POINT, profile(1))).status == "Rejected", "no BasicAuthPassword yet"
    password_set = call.SetVariables(set_variable_data=[{"component": {"name": "SecurityCtrlr"},
                                                         "variable": {"name": "BasicAuthPassword"},
                                                         "attribute_value": password}])
    assert (await csms.call(CHARGE_POINT, password_set)).set_variable_result[0]["attribute_status"] == "Accepted"
    assert (await csms.call(CHARGE_POINT, profile(1, "ws://127.0.0.1:9/elsewhere"))).status == "Rejected"
    assert (await csms.call(CHARGE_POINT, profile(2))).status == "Rejected", "profile 2 needs wss://"
    csms.behaviour.password = password.encode()
    seen = len(csms.authorizations)
    assert (await csms.call(CHARGE_POINT, profile(1))).status == "Accepted"
    expected = "Basic " + base64.b64encode(f"{CHARGE_POINT}:{password}".encode()).decode()
    await csms.wait_until(lambda: expected in csms.authorizations[seen:], within=15)
    await csms.wait_until(lambda: CHARGE_POINT in csms.peers, within=15)
    assert (await csms.call(CHARGE_POINT, profile(0))).status == "Rejected", "never lower"
    got = await csms.call(CHARGE_POINT, call.GetVariables(get_variable_data=[
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}]))
    assert got.get_variable_result[0]["attribute_value"] == "1"


async def test_a_token_of_the_same_group_stops_the_session(csms, start201):
    """C01/C09: IdTokenInfo's groupIdToken is the group (1.6's parentIdTag): another card of the group ends the
    transaction (E06: triggerReason StopAuthorized, stoppedReason Local); cacheExpiryDateTime bounds the cache."""
    group = {"status": "Accepted", "groupIdToken": {"idToken": "FLEET-7", "type": "Central"},
             "cacheExpiryDateTime": "2099-01-01T00:00:00Z"}
    csms.behaviour.authorize = lambda token: group if token in (CARD, LISTED) else "Unknown"
    charger = await start201()
    await charger.card_start(1)
    await charger.cmd(cmd="tap", uid=LISTED, connector=1)
    end = await ended(csms)
    assert end["transactionInfo"]["stoppedReason"] == "Local" and end["triggerReason"] == "StopAuthorized"
    assert end["idToken"] == {"idToken": LISTED, "type": "ISO14443"}
    with sqlite3.connect(charger.workdir / "state" / "evsed.db") as db:
        cached = db.execute("SELECT status, expiry_date, parent_id_tag FROM auth_cache WHERE id_tag = ?",
                            [CARD]).fetchone()
    assert cached == ("Accepted", "2099-01-01T00:00:00Z", "FLEET-7")


async def test_reservations_and_an_on_idle_reset(csms, start201):
    """H01/H02: an EVSE reserved shows Reserved and is Available again once cancelled. B12: Reset OnIdle while a
    transaction runs is Scheduled; the station restarts when it ends (BootNotification reason ScheduledReset)."""
    charger = await start201()
    reserve = call.ReserveNow(id=12, expiry_date_time="2099-01-01T00:00:00Z",
                              id_token={"id_token": LISTED, "type": "ISO14443"}, evse_id=2)
    assert (await csms.call(CHARGE_POINT, reserve)).status == "Accepted"
    await csms.wait_for("StatusNotification", where=lambda p: p["evseId"] == 2 and p["connectorStatus"] == "Reserved")
    assert (await csms.call(CHARGE_POINT, call.CancelReservation(reservation_id=12))).status == "Accepted"
    assert (await csms.call(CHARGE_POINT, call.CancelReservation(reservation_id=12))).status == "Rejected"
    await csms.wait_for("StatusNotification", where=lambda p: p["evseId"] == 2 and p["connectorStatus"] == "Available"
                        and p["timestamp"] > csms.of("StatusNotification")[0].payload["timestamp"])
    await charger.card_start(1)
    mark = len(csms.received)
    assert (await csms.call(CHARGE_POINT, call.Reset(type="OnIdle"))).status == "Scheduled"
    await asyncio.sleep(1.5)
    assert csms.of("BootNotification")[1:] == [] and (await charger.connector(1))["contactor_closed"] is True
    await charger.card_stop(1)
    end = await ended(csms, mark)
    assert end["transactionInfo"]["stoppedReason"] == "Local"
    boot = await csms.wait_for("BootNotification", after=mark, within=STARTUP_S)
    assert boot.payload["reason"] == "ScheduledReset"
