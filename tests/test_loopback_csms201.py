"""The loopback CSMS speaking OCPP 2.0.1 (`LoopbackCsms(protocol="ocpp2.0.1")`, `CsmsPeer201`) to a raw websocket
client on 127.0.0.1: the answers of OCPP 2.0.1 Part 2 BootNotification, Authorize, TransactionEvent, DataTransfer
and the notifications, the records (`received`, `transactions`, `events`), a CSMS-initiated GetVariables, raw
answers and raw frames, and HTTP Basic, all as under 1.6."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import websockets
from ocpp.v201 import call

from firmware.clock import parse_time, utc_now
from firmware.demo.loopback_csms import OCPP16, OCPP201, Behaviour, LoopbackCsms

STATION = "CS201"
WAIT_S = 5.0
"""The bound on every wait for a frame or a record."""
T = "2026-03-01T10:00:00.000Z"
FLEET_CARD = "04A1B2C3"
GROUP = {"idToken": "FLEET-1", "type": "Central"}


def verdict(id_token: str) -> str | dict[str, Any]:
    """The fleet card gets a whole IdTokenInfo, any other token a bare status."""
    return {"status": "Accepted", "groupIdToken": GROUP} if id_token == FLEET_CARD else "Invalid"


@pytest.fixture
async def csms() -> AsyncIterator[LoopbackCsms]:
    server = LoopbackCsms(Behaviour(boot_interval=120, authorize=verdict, time_offset_s=3600), protocol=OCPP201)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def station(csms: LoopbackCsms) -> AsyncIterator[websockets.ClientConnection]:
    """A station offering 1.6 first and 2.0.1 second: the CSMS offers only 2.0.1, so that is what is spoken."""
    async with websockets.connect(f"{csms.url}/{STATION}", subprotocols=[OCPP16, OCPP201], open_timeout=WAIT_S,
                                  close_timeout=WAIT_S) as connection:
        yield connection


async def receive(station: websockets.ClientConnection) -> list[Any]:
    async with asyncio.timeout(WAIT_S):
        return json.loads(await station.recv())


async def exchange(station: websockets.ClientConnection, unique_id: str, action: str,
                   payload: dict[str, Any]) -> list[Any]:
    """Send a CALL and read the frame that comes back."""
    await station.send(json.dumps([2, unique_id, action, payload]))
    return await receive(station)


async def test_boot_is_answered_by_the_behaviour_over_the_2_0_1_subprotocol(csms, station):
    assert station.subprotocol == OCPP201
    boot = {"reason": "PowerUp", "chargingStation": {"model": "sim", "vendorName": "evsed"}}
    kind, unique_id, answer = await exchange(station, "b-1", "BootNotification", boot)
    assert (kind, unique_id, answer["interval"], answer["status"]) == (3, "b-1", 120, "Accepted")
    clock = parse_time(answer["currentTime"])
    assert clock is not None and abs(clock - (utc_now() + timedelta(hours=1))) < timedelta(seconds=30)
    record = await csms.wait_for("BootNotification", within=WAIT_S)
    assert (record.charge_point, record.payload) == (STATION, boot)
    assert list(csms.peers) == [STATION] and csms.connections == 1


async def test_authorize_answers_a_whole_id_token_info_or_a_bare_status(csms, station):
    card = {"idToken": {"idToken": FLEET_CARD, "type": "ISO14443"}}
    assert await exchange(station, "a-1", "Authorize", card) == \
        [3, "a-1", {"idTokenInfo": {"status": "Accepted", "groupIdToken": GROUP}}]
    stranger = {"idToken": {"idToken": "DEADBEEF", "type": "ISO14443"}}
    assert await exchange(station, "a-2", "Authorize", stranger) == [3, "a-2", {"idTokenInfo": {"status": "Invalid"}}]
    assert [m.payload for m in csms.of("Authorize")] == [card, stranger]


async def test_transaction_events_are_answered_and_recorded_by_transaction_id(csms, station):
    info = {"transactionId": "tx-1"}
    started = {"eventType": "Started", "timestamp": T, "triggerReason": "Authorized", "seqNo": 0,
               "transactionInfo": {**info, "chargingState": "EVConnected"}, "evse": {"id": 1, "connectorId": 1},
               "idToken": {"idToken": FLEET_CARD, "type": "ISO14443"}}
    other = {"eventType": "Started", "timestamp": T, "triggerReason": "CablePluggedIn", "seqNo": 0,
             "transactionInfo": {"transactionId": "tx-2"}, "evse": {"id": 2, "connectorId": 1}}
    ended = {"eventType": "Ended", "timestamp": T, "triggerReason": "EVCommunicationLost", "seqNo": 1,
             "transactionInfo": {**info, "stoppedReason": "EVDisconnected"},
             "meterValue": [{"timestamp": T, "sampledValue": [{"value": 1234.5}]}]}
    assert await exchange(station, "t-1", "TransactionEvent", started) == \
        [3, "t-1", {"idTokenInfo": {"status": "Accepted", "groupIdToken": GROUP}}]
    assert await exchange(station, "t-2", "TransactionEvent", other) == [3, "t-2", {}]
    assert await exchange(station, "t-3", "TransactionEvent", ended) == [3, "t-3", {}], "no idToken: no idTokenInfo"

    broken = {"eventType": "Updated", "timestamp": T, "triggerReason": "MeterValuePeriodic", "seqNo": 2}
    kind, unique_id, *_ = await exchange(station, "t-4", "TransactionEvent", broken)
    assert (kind, unique_id) == (4, "t-4"), "no transactionInfo: the library's schema check refuses it"

    assert csms.transactions == {"tx-1": [started, ended], "tx-2": [other]}
    assert [(e["seqNo"], e["eventType"]) for e in csms.events("tx-1")] == [(0, "Started"), (1, "Ended")]
    assert csms.events("tx-9") == []
    assert [m.payload for m in csms.of("TransactionEvent")][-1] == broken, "received records it all the same"


@pytest.mark.parametrize(("message_id", "data", "vendor_id", "expected"), [
    ("Echo", {"meterSerial": "M-1", "phases": [1, 2, 3]}, "org.evsed.loopback",
     {"status": "Accepted", "data": {"meterSerial": "M-1", "phases": [1, 2, 3]}}),
    ("Refuse", "x", "org.evsed.loopback", {"status": "Rejected"}),
    ("Other", "x", "org.evsed.loopback", {"status": "UnknownMessageId"}),
    ("Echo", "x", "com.example", {"status": "UnknownVendorId"}),
])
async def test_data_transfer_follows_the_1_6_peers_rule(station, message_id, data, vendor_id, expected):
    payload = {"vendorId": vendor_id, "messageId": message_id, "data": data}
    assert await exchange(station, "d-1", "DataTransfer", payload) == [3, "d-1", expected]


@pytest.mark.parametrize(("action", "payload", "expected"), [
    ("StatusNotification", {"timestamp": T, "connectorStatus": "Available", "evseId": 1, "connectorId": 1}, {}),
    ("MeterValues", {"evseId": 1, "meterValue": [{"timestamp": T, "sampledValue": [{"value": 12.5}]}]}, {}),
    ("NotifyReport", {"requestId": 7, "generatedAt": T, "seqNo": 0}, {}),
    ("NotifyEvent", {"generatedAt": T, "seqNo": 0, "eventData": [
        {"eventId": 1, "timestamp": T, "trigger": "Alerting", "actualValue": "true",
         "eventNotificationType": "HardWiredNotification", "component": {"name": "EVSE"},
         "variable": {"name": "Problem"}}]}, {}),
    ("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS"}}, {}),
    ("SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": T}, {}),
    ("FirmwareStatusNotification", {"status": "Installed", "requestId": 3}, {}),
    ("LogStatusNotification", {"status": "Uploaded", "requestId": 4}, {}),
    ("ReservationStatusUpdate", {"reservationId": 5, "reservationUpdateStatus": "Expired"}, {}),
    ("SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----"}, {"status": "Accepted"}),
])
async def test_each_notification_gets_its_answer_and_is_recorded(csms, station, action, payload, expected):
    assert await exchange(station, "n-1", action, payload) == [3, "n-1", expected]
    assert [m.payload for m in csms.of(action)] == [payload]


async def test_a_call_of_the_csms_reaches_the_station_as_a_2_0_1_call(csms, station):
    wanted = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    asked = asyncio.create_task(csms.call(STATION, call.GetVariables(get_variable_data=[wanted])))
    kind, unique_id, action, payload = await receive(station)
    assert (kind, action, payload) == (2, "GetVariables", {"getVariableData": [wanted]})
    result = {"attributeStatus": "Accepted", "attributeValue": "120", **wanted}
    await station.send(json.dumps([3, unique_id, {"getVariableResult": [result]}]))
    async with asyncio.timeout(WAIT_S):
        answer = await asked
    assert answer.get_variable_result == [
        {"attribute_status": "Accepted", "attribute_value": "120", **wanted}]


async def test_raw_answers_and_raw_frames_work_as_under_1_6(csms, station):
    assert (await exchange(station, "h-1", "Heartbeat", {}))[2].keys() == {"currentTime"}
    stale = json.dumps([3, "h-2", {"currentTime": "2001-01-01T00:00:00.000Z"}])
    csms.behaviour.raw_answers["Heartbeat"] = lambda unique_id, payload: stale if unique_id == "h-2" else None
    assert await exchange(station, "h-2", "Heartbeat", {}) == json.loads(stale)
    assert len(csms.of("Heartbeat")) == 2

    sent = asyncio.create_task(csms.send_raw(STATION, '[2,"r-1","Reset",{"type":"Bogus"}]', "r-1"))
    assert await receive(station) == [2, "r-1", "Reset", {"type": "Bogus"}], "not checked against the schema"
    await station.send(json.dumps([4, "r-1", "FormationViolation", "type", {}]))
    async with asyncio.timeout(WAIT_S):
        assert await sent == [4, "r-1", "FormationViolation", "type", {}]
    assert len(csms.received) == 2, "answers are not CALLs: not recorded"


async def test_http_basic_is_checked_for_2_0_1_stations_too(csms):
    csms.behaviour.password = b"s3cret"
    url = f"{csms.url}/{STATION}"
    with pytest.raises(websockets.InvalidStatus, match="401"):
        await websockets.connect(url, subprotocols=[OCPP201], open_timeout=WAIT_S,
                                 additional_headers={"Authorization": "Basic " + base64.b64encode(
                                     f"{STATION}:wrong".encode()).decode()})
    header = "Basic " + base64.b64encode(f"{STATION}:s3cret".encode()).decode()
    async with websockets.connect(url, subprotocols=[OCPP201], open_timeout=WAIT_S,
                                  additional_headers={"Authorization": header}) as connection:
        assert connection.subprotocol == OCPP201
        await csms.wait_until(lambda: csms.peers.get(STATION), within=WAIT_S)
    assert csms.authorizations[-1] == header and csms.connections == 1
