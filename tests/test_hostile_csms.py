"""A hostile or broken CSMS never stops the charger (issue 15): frames too deep or with numbers JSON or
Python cannot carry, answers that break the schema, silence, stale answers, a bogus boot answer, an
Authorize answered with an error, a StartTransaction refused on every attempt. The real daemon on
simulated hardware against the loopback CSMS, told (`Behaviour.raw_answers`) to answer frames of its choosing.
"""

import asyncio
import json
from typing import Any

import pytest
from ocpp.v16 import call

from firmware.protocol.frames import MAX_NESTING, too_deep
from tests.conftest import CHARGE_POINT, Daemon

TRACEBACK = "Traceback"


def answering(payload: Any) -> Any:
    """A raw answer: a CALLRESULT carrying `payload` (anything, schema-valid or not)."""
    return lambda unique_id, _: json.dumps([3, unique_id, payload])


def refusing(code: str = "InternalError") -> Any:
    return lambda unique_id, _: json.dumps([4, unique_id, code, "refused by test", {}])


async def probe(csms) -> None:
    """The charger still answers, on the same connection."""
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["HeartbeatInterval"]))
    assert conf.configuration_key[0]["key"] == "HeartbeatInterval"


def assert_healthy(d: Daemon) -> None:
    assert d.proc is not None and d.proc.returncode is None, d.log()[-3000:]
    assert TRACEBACK not in d.log(), d.log()[-5000:]


async def test_frames_nested_too_deep_or_with_unreadable_numbers_are_answered_and_the_link_stays(daemon, csms):
    """OCPP-J 1.6 §4.2.3: FormationViolation with the message id where it can be read; dropped otherwise.
    1000 levels of `[` (2 KB) ended the process with RecursionError; a 5000-digit integer raised
    ValueError from the JSON parser; 1e400 (an infinite float) in a charging profile broke the library's
    multipleOf check and dropped the link; a lone surrogate in an idTag was an InternalError."""
    deep = "[" * 1000 + "]" * 1000
    cases = {
        "deep-payload": f'[2,"deep-payload","DataTransfer",{{"vendorId":"x","data":{deep}}}]',
        "deep-unclosed": '[2,"deep-unclosed","DataTransfer",' + "{" * 2000,
        "big-int": '[2,"big-int","ChangeConfiguration",{"key":"HeartbeatInterval","value":' + "9" * 5000 + "}]",
        "nan": '[2,"nan","GetLocalListVersion",{"x":NaN}]',
        "inf-limit": '[2,"inf-limit","RemoteStartTransaction",{"idTag":"X","chargingProfile":{"chargingSchedule":'
                     '{"chargingSchedulePeriod":[{"limit":1e400}]}}}]',
        "surrogate": '[2,"surrogate","SendLocalList",{"listVersion":3,"updateType":"Full","localAuthorizationList":'
                     '[{"idTag":"\\ud800","idTagInfo":{"status":"Accepted"}}]}]',
    }
    for unique_id, frame in cases.items():
        reply = await csms.send_raw(CHARGE_POINT, frame, unique_id)
        assert reply[:3] == [4, unique_id, "FormationViolation"], (unique_id, reply)
    peer = csms.peers[CHARGE_POINT]
    for garbage in (deep, "[" * 100_000, '"' + "x" * 1000):  # no id to answer: dropped
        await peer._send(garbage)
    await probe(csms)
    assert csms.connections == 1
    assert_healthy(daemon)


@pytest.mark.parametrize(("text", "deep"), [
    ("[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1), True),
    ("[" * MAX_NESTING + "]" * MAX_NESTING, False),
    ('["' + "[{" * 500 + '"]', False),  # brackets inside a string do not nest
    (r'["\\"' + ",[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 2), True),  # `"\\"` is a whole string
    (r'["\"' + "[" * 40 + '"]', False),  # an escaped quote does not end the string
    ('["é€' + "[" * 40 + r'", "\ud800' + "{" * 40 + '"]', False),  # non-ASCII and escapes inside strings
    ('[{"a":' * 9 + "1" + "}]" * 9, True),
])
def test_the_nesting_check_counts_only_brackets_outside_strings(text: str, deep: bool):
    assert too_deep(text) is deep


async def test_stale_answers_and_answers_that_break_the_schema_end_nothing(make_daemon, csms):
    """Schema-invalid CALLRESULTs to StatusNotification (`{"bogus": 1}`, `[]`) and Heartbeat (`{}`), and 1000
    answers to CALLs never made, ended the daemon (the library's response matching recursed once per stale
    answer). Each is handled like any failed call: logged; the link and the sessions go on."""
    csms.behaviour.raw_answers["StatusNotification"] = answering({"bogus": 1})
    csms.behaviour.raw_answers["Heartbeat"] = answering({})
    csms.behaviour.boot_interval = 1
    d = await make_daemon()
    await csms.wait_for("Heartbeat", within=5)
    csms.behaviour.raw_answers["StatusNotification"] = answering([])
    await d.cmd(cmd="plug", connector=1)
    await csms.wait_for("StatusNotification", where=lambda p: p["status"] == "Preparing")
    peer = csms.peers[CHARGE_POINT]
    for n in range(1000):
        await peer._send(json.dumps([3, f"stale-{n}", {"currentTime": "2026-01-01T00:00:00Z"}]))
    await probe(csms)
    csms.behaviour.raw_answers.clear()
    mark = len(csms.received)
    await d.cmd(cmd="tap", uid="04A1B2C3", connector=1)
    await d.wait_state(1, status="Charging", contactor_closed=True)
    await csms.wait_for("Heartbeat", after=mark, within=5)
    assert csms.connections == 1, "a bad answer is a failed call, not a reason to drop the link"
    assert "StatusNotification not confirmed by CSMS" in d.log() and "Heartbeat not confirmed by CSMS" in d.log()
    assert_healthy(d)


async def test_a_csms_silent_past_the_call_timeout_delays_nothing_for_good(make_daemon, csms):
    """A StatusNotification never answered ended the daemon with TimeoutError once call_timeout_s passed."""
    silent = {"on": True}
    csms.behaviour.raw_answers["StatusNotification"] = lambda *_: "" if silent["on"] else None
    d = await make_daemon(call_timeout_s=1.0, boot=False)
    await csms.wait_for("StatusNotification", within=10, where=lambda p: p["connectorId"] == 2)
    silent["on"] = False
    mark = len(csms.received)
    await d.card_start(1)
    await csms.wait_for("StartTransaction", after=mark, within=10)
    await csms.wait_for("StatusNotification", after=mark, within=10, where=lambda p: p["status"] == "Charging")
    assert_healthy(d)


@pytest.mark.parametrize("current_time", ["not a time", "9999-12-31T23:59:59Z"])
async def test_boot_answers_with_a_bogus_time_or_interval_leave_the_charger_working(make_daemon, csms,
                                                                                   current_time):
    """BootNotification.conf with currentTime "not a time" left a charger whose clock only the CSMS sets
    sending no session; a 400-digit interval overflowed the heartbeat timer. The time is ignored (a Heartbeat
    at once brings one, §4.6), the interval refused, and sessions start and reach the CSMS."""
    csms.behaviour.raw_answers["BootNotification"] = answering(
        {"status": "Accepted", "currentTime": current_time, "interval": int("9" * 400)})
    d = await make_daemon(clock_trust="csms")
    await d.card_start(1)
    await csms.wait_for("StartTransaction", within=10)
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["HeartbeatInterval"]))
    assert conf.configuration_key[0]["value"] == "300", "an interval out of range is not taken"
    assert "CSMS currentTime unreadable" in d.log()
    assert_healthy(d)


async def test_boot_pending_with_a_huge_interval_waits_a_bounded_time(make_daemon, csms):
    csms.behaviour.raw_answers["BootNotification"] = answering(
        {"status": "Pending", "currentTime": "2026-01-01T00:00:00Z", "interval": int("9" * 400)})
    d = await make_daemon(boot=False)
    await csms.wait_for("BootNotification", within=10)
    await probe(csms)  # while Pending the charger answers the CSMS (§4.2.1)
    assert "next attempt in 86400 s" in d.log()
    assert_healthy(d)


async def test_an_authorize_answered_with_an_error_refuses_the_card_online(make_daemon, csms):
    """A schema-invalid Authorize.conf (`{"idTagInfo": {}}`) was taken as no answer, so
    AllowOfflineTxForUnknownId let an unknown card charge while online. From a connected CSMS, an invalid
    answer or a CALLERROR is a refusal."""
    d = await make_daemon(ocpp={"AllowOfflineTxForUnknownId": True, "LocalAuthorizeOffline": True})
    await d.cmd(cmd="plug", connector=1)
    for tag, answer in (("BAD00001", answering({"idTagInfo": {}})), ("BAD00002", refusing())):
        csms.behaviour.raw_answers["Authorize"] = answer
        await d.cmd(cmd="tap", uid=tag, connector=1)
        async with asyncio.timeout(10):
            while f"refused idTag={tag}" not in d.log() and f"refused idTag={tag[-4:]}" not in d.log():
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        state = await d.connector(1)
        assert not state["contactor_closed"] and state["status"] == "Preparing", state
    csms.behaviour.raw_answers.clear()
    await d.cmd(cmd="tap", uid="BAD00001", connector=1)  # the error was not learned: a real answer decides
    await d.wait_state(1, status="Charging", contactor_closed=True)
    assert not csms.of("StartTransaction")[0].payload["idTag"].startswith("BAD00002")
    assert_healthy(d)


async def test_the_stop_of_a_start_refused_on_every_attempt_is_still_delivered(make_daemon, csms):
    """A StartTransaction the CSMS answers with CALLERROR on every attempt is dead-lettered; its
    StopTransaction used to go with it. It is sent with transactionId -1 (`ocpp16.outbound`)."""
    csms.behaviour.raw_answers["StartTransaction"] = refusing()
    d = await make_daemon(ocpp={"TransactionMessageAttempts": 2, "TransactionMessageRetryInterval": 0})
    await d.card_start(1)
    async with asyncio.timeout(10):
        while len(csms.of("StartTransaction")) < 2:
            await asyncio.sleep(0.05)
    await d.card_stop(1)
    stop = await csms.wait_for("StopTransaction", within=10)
    assert stop.payload["transactionId"] == -1 and stop.payload["idTag"] == "04A1B2C3"
    assert stop.payload["meterStop"] >= csms.of("StartTransaction")[0].payload["meterStart"]
    async with asyncio.timeout(10):
        while (await d.state())["outbox"]["depth"] != 0:
            await asyncio.sleep(0.05)
    assert len(csms.of("StartTransaction")) == 2, "TransactionMessageAttempts bounds the tries"
    assert_healthy(d)


async def test_limits_the_schema_checker_cannot_divide_are_refused_and_the_link_stays(daemon, csms):
    """A charging limit of 1e30 (valid JSON, valid float) makes the schema's multipleOf 0.1 check raise decimal's
    DivisionImpossible instead of a validation error; after another limit that is not a multiple of 0.1 (the
    library's FormatViolation), re-classifying the violation met it and ended the conversation (the long fuzz run
    found it)."""
    profile = ('{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile",'
               '"chargingProfileKind":"Relative","chargingSchedule":{"chargingRateUnit":"A",'
               '"chargingSchedulePeriod":[{"startPeriod":0,"limit":0.30000000000000004},'
               '{"startPeriod":60,"limit":1e30}]}}')
    set_profile = f'[2,"c1","SetChargingProfile",{{"connectorId":0,"csChargingProfiles":{profile}}}]'
    remote_start = f'[2,"c2","RemoteStartTransaction",{{"idTag":"X","chargingProfile":{profile}}}]'
    for unique_id, frame in (("c1", set_profile), ("c2", remote_start)):
        reply = await csms.send_raw(CHARGE_POINT, frame, unique_id)
        assert reply[:3] == [4, unique_id, "FormationViolation"], reply
    await probe(csms)
    await asyncio.sleep(2.5)  # a failed conversation would close within CLOSE_TIMEOUT_S
    await probe(csms)
    assert csms.connections == 1
    assert_healthy(daemon)
