"""Authorization end to end (OCPP 1.6 §3.5): Local List, cache, offline rules, parentIdTag and the
StartTransaction.conf verdict, with the real daemon on simulated hardware and a real CSMS on 127.0.0.1."""

import asyncio
import json
import random
import re
import signal
import sqlite3
import uuid
from typing import Any

import pytest
from ocpp.v16 import call

from firmware.settings import LOCAL_LIST_MAX_UPDATE as SEND_LOCAL_LIST_MAX_LENGTH
from tests.conftest import CHARGE_POINT, Daemon

PAST = "2020-01-01T00:00:00Z"
FUTURE = "2099-01-01T00:00:00Z"
DECISION = re.compile(r"authorization idTag=(\S+) status=(\S+) source=(\S+) granted=(True|False)")


def entry(id_tag: str, status: str | None = "Accepted", **info: str) -> dict[str, Any]:
    """An AuthorizationData; status None leaves out idTagInfo (a Differential removal)."""
    return {"idTag": id_tag} if status is None else {"idTag": id_tag, "idTagInfo": {"status": status, **info}}


async def send_list(csms, version: int, update_type: str, entries: list[dict[str, Any]]) -> list[Any]:
    """SendLocalList as a raw frame (the library's own validation would dominate for big lists)."""
    unique_id = str(uuid.uuid4())
    payload = {"listVersion": version, "updateType": update_type, "localAuthorizationList": entries}
    return await csms.send_raw(CHARGE_POINT, json.dumps([2, unique_id, "SendLocalList", payload]), unique_id)


async def list_status(csms, version: int, update_type: str, entries: list[dict[str, Any]]) -> str:
    frame = await send_list(csms, version, update_type, entries)
    assert frame[0] == 3, frame
    return frame[2]["status"]


async def list_version(csms) -> int:
    return (await csms.call(CHARGE_POINT, call.GetLocalListVersion())).list_version


async def card(daemon: Daemon, id_tag: str) -> dict[str, Any]:
    return await daemon.cmd(cmd="card", id_tag=id_tag)


async def decision(daemon: Daemon, id_tag: str, nth: int = 1) -> tuple[str, str, bool]:
    """The daemon's nth authorization decision for `id_tag` (status, source, granted), from its log."""
    async with asyncio.timeout(10):
        while len(found := [m for m in DECISION.finditer(daemon.log()) if m[1] == id_tag]) < nth:
            await asyncio.sleep(0.05)
    m = found[nth - 1]
    return m[2], m[3], m[4] == "True"


async def charge_and_stop(daemon: Daemon, id_tag: str, connector: int = 1) -> None:
    """Tap `id_tag` on a plugged connector, see it charge, tap again to stop."""
    await daemon.cmd(cmd="tap", uid=id_tag, connector=connector)
    await daemon.wait_state(connector, status="Charging", contactor_closed=True)
    await daemon.cmd(cmd="tap", uid=id_tag, connector=connector)
    await daemon.wait_state(connector, status="Finishing", contactor_closed=False)


# --- Local List management ------------------------------------------------------------------------


async def test_full_then_differential_updates_and_versions(daemon, csms):
    assert await list_version(csms) == 0, "an empty list has version 0"
    assert await list_status(csms, 5, "Full", [entry("AAAA0001"), entry("BBBB0002", "Blocked")]) == "Accepted"
    assert await list_version(csms) == 5
    assert await list_status(csms, 5, "Differential", [entry("CCCC0003")]) == "VersionMismatch"
    assert await list_status(csms, 4, "Differential", [entry("CCCC0003")]) == "VersionMismatch"
    assert (await card(daemon, "CCCC0003"))["local_list"] is None, "a refused update changes nothing"
    assert await list_status(csms, 6, "Differential", [entry("cccc0003"), entry("aaaa0001", None)]) == "Accepted"
    assert await list_version(csms) == 6
    assert (await card(daemon, "AAAA0001"))["local_list"] is None, "no idTagInfo removes the idTag"
    assert (await card(daemon, "CCCC0003"))["local_list"]["status"] == "Accepted", "idTags match in any case"
    assert (await card(daemon, "BBBB0002"))["local_list"]["status"] == "Blocked"
    assert await list_status(csms, 2, "Full", [entry("DDDD0004")]) == "Accepted", "Full replaces any version"
    assert await list_version(csms) == 2
    assert (await card(daemon, "CCCC0003"))["local_list"] is None
    assert await list_status(csms, 3, "Full", [entry("EEEE0005"), entry("FFFF0006", None)]) == "Failed"
    too_long = [entry(f"{i:08X}") for i in range(SEND_LOCAL_LIST_MAX_LENGTH + 1)]
    assert await list_status(csms, 9, "Differential", too_long) == "Failed"
    assert await list_version(csms) == 2 and (await card(daemon, "EEEE0005"))["local_list"] is None
    assert await list_status(csms, 7, "Full", []) == "Accepted"
    assert await list_version(csms) == 0, "an emptied list is version 0 again"
    assert (await daemon.state())["authorization"]["local_list_entries"] == 0


async def test_list_holds_100000_entries_and_refuses_more(daemon, csms):
    per_update = SEND_LOCAL_LIST_MAX_LENGTH
    for n in range(10):
        entries = [entry(f"{n:02d}{i:012X}", "Accepted", expiryDate=FUTURE, parentIdTag="FLEET")
                   for i in range(per_update)]
        assert await list_status(csms, n + 1, "Full" if n == 0 else "Differential", entries) == "Accepted"
    assert (await daemon.state())["authorization"]["local_list_entries"] == 100_000
    assert await list_status(csms, 11, "Differential", [entry("NEW00001")]) == "Failed"
    assert await list_version(csms) == 10
    assert await list_status(csms, 11, "Differential", [entry("00000000000000", "Blocked")]) == "Accepted"
    assert (await card(daemon, "00000000000000"))["local_list"]["status"] == "Blocked"
    assert (await card(daemon, "NEW00001"))["local_list"] is None


async def test_list_disabled_reports_minus_one(daemon, csms):
    assert await list_status(csms, 1, "Full", [entry("AAAA0001")]) == "Accepted"
    result = await csms.call(CHARGE_POINT, call.ChangeConfiguration(key="LocalAuthListEnabled", value="false"))
    assert result.status == "Accepted"
    assert await list_version(csms) == -1
    assert await list_status(csms, 2, "Full", [entry("BBBB0002")]) == "NotSupported"


@pytest.mark.parametrize(("payload", "code"), [
    ({"listVersion": 1}, "OccurenceConstraintViolation"),
    ({"listVersion": "1", "updateType": "Full"}, "TypeConstraintViolation"),
    ({"listVersion": 1, "updateType": "Partial"}, "PropertyConstraintViolation"),
    ({"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("X" * 21)]},
     "TypeConstraintViolation"),
    ({"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("AAAA0001", "Maybe")]},
     "PropertyConstraintViolation"),
    ({"listVersion": 1, "updateType": "Full",
      "localAuthorizationList": [entry("AAAA0001", expiryDate="next tuesday")]}, "PropertyConstraintViolation"),
    ({"listVersion": 1, "updateType": "Full", "localAuthorizationList": [{"idTagInfo": {"status": "Accepted"}}]},
     "OccurenceConstraintViolation"),
    ({"listVersion": 1, "updateType": "Full", "colour": "red"}, "FormationViolation"),
    ([1, 2], "FormationViolation"),
])
async def test_malformed_send_local_list_gets_callerror(daemon, csms, payload, code):
    assert await list_status(csms, 3, "Full", [entry("KEEP0001")]) == "Accepted"
    unique_id = str(uuid.uuid4())
    frame = await csms.send_raw(CHARGE_POINT, json.dumps([2, unique_id, "SendLocalList", payload]), unique_id)
    assert frame[0] == 4 and frame[2] == code, frame
    assert await list_version(csms) == 3
    assert (await card(daemon, "KEEP0001"))["local_list"]["status"] == "Accepted"


async def test_list_survives_restart_and_configuration_keys_persist(make_daemon, csms, tmp_path):
    d = await make_daemon(ocpp={"LocalPreAuthorize": True, "AllowOfflineTxForUnknownId": True})
    assert await list_status(csms, 4, "Full", [entry("AAAA0001")]) == "Accepted"
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=[
        "LocalAuthListMaxLength", "SendLocalListMaxLength", "LocalPreAuthorize", "AllowOfflineTxForUnknownId",
        "AuthorizationCacheEnabled", "LocalAuthListEnabled", "LocalAuthorizeOffline", "MaxEnergyOnInvalidId"]))
    values = {k["key"]: (k["value"], k["readonly"]) for k in conf.configuration_key}
    assert values == {
        "LocalAuthListMaxLength": ("100000", True), "SendLocalListMaxLength": (str(SEND_LOCAL_LIST_MAX_LENGTH), True),
        "LocalPreAuthorize": ("true", False), "AllowOfflineTxForUnknownId": ("true", False),
        "AuthorizationCacheEnabled": ("true", False), "LocalAuthListEnabled": ("true", False),
        "LocalAuthorizeOffline": ("true", False), "MaxEnergyOnInvalidId": ("0", False)}
    readonly = await csms.call(CHARGE_POINT, call.ChangeConfiguration(key="LocalAuthListMaxLength", value="5"))
    assert readonly.status == "Rejected"
    for key, value in (("AuthorizationCacheEnabled", "false"), ("MaxEnergyOnInvalidId", "250")):
        assert (await csms.call(CHARGE_POINT, call.ChangeConfiguration(key=key, value=value))).status == "Accepted"
    await d.stop()
    await make_daemon(workdir=tmp_path, ocpp={"LocalPreAuthorize": True, "AllowOfflineTxForUnknownId": True})
    assert await list_version(csms) == 4
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["AuthorizationCacheEnabled",
                                                                    "MaxEnergyOnInvalidId"]))
    assert {k["key"]: k["value"] for k in conf.configuration_key} == {
        "AuthorizationCacheEnabled": "false", "MaxEnergyOnInvalidId": "250"}


# --- decisions ------------------------------------------------------------------------------------


async def test_local_list_tags_are_never_cached_but_others_are(daemon, csms):
    assert await list_status(csms, 1, "Full", [entry("11110001")]) == "Accepted"
    csms.behaviour.authorize = lambda tag: {"status": "Accepted", "expiryDate": FUTURE}
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.cmd(cmd="plug", connector=2)
    await charge_and_stop(daemon, "11110001", 1)
    await daemon.cmd(cmd="tap", uid="22220002", connector=2)
    await daemon.wait_state(2, status="Charging")
    assert {m.payload["idTag"] for m in csms.of("Authorize")} == {"11110001", "22220002"}
    listed, unlisted = await card(daemon, "11110001"), await card(daemon, "22220002")
    assert listed["cache"] is None and listed["now"]["source"] == "local-list"
    assert unlisted["cache"] == {"status": "Accepted", "expiry_date": FUTURE, "parent_id_tag": None}
    csms.behaviour.authorize = lambda tag: "Blocked"  # the card was blocked while it charged
    await daemon.cmd(cmd="tap", uid="22220002", connector=2)
    await csms.wait_until(lambda: len(csms.of("StopTransaction")) == 2)
    await csms.wait_until(lambda: daemon.log().count("transaction stopped") == 2)
    async with asyncio.timeout(5):
        while (await card(daemon, "22220002"))["cache"]["status"] != "Blocked":
            await asyncio.sleep(0.05)  # StopTransaction.conf's idTagInfo is learned too
    assert (await card(daemon, "11110001"))["cache"] is None
    assert (await csms.call(CHARGE_POINT, call.ClearCache())).status == "Accepted"
    assert (await card(daemon, "22220002"))["cache"] is None
    assert (await card(daemon, "11110001"))["local_list"] is not None, "ClearCache leaves the Local List"


async def test_offline_rules(daemon, csms):
    """Offline: valid list and cache entries charge; not-valid or expired ones never do; unknown
    idTags only with AllowOfflineTxForUnknownId."""
    verdicts = {"CAC00001": {"status": "Accepted", "expiryDate": FUTURE},
                "CAC00002": {"status": "Accepted", "expiryDate": PAST},
                "CAC00003": {"status": "Blocked"}}
    csms.behaviour.authorize = lambda tag: verdicts.get(tag, "Accepted")
    assert await list_status(csms, 1, "Full", [
        entry("AA000001"), entry("AA000002", "Blocked"), entry("AA000003", "Accepted", expiryDate=PAST),
        entry("AA000004", "ConcurrentTx"), entry("AA000005", "Expired"), entry("AA000006", "Invalid")]) == "Accepted"
    for tag in verdicts:  # online, the CSMS's answers are cached; its status decides, the expiryDate bounds the cache
        await daemon.cmd(cmd="tap", uid=tag, connector=2)
        granted = (await decision(daemon, tag))[2]
        assert granted is (tag != "CAC00003")
        if granted:  # tapping again cancels the start waiting for an EV
            await daemon.wait_state(2, awaiting_start=True)
            await daemon.cmd(cmd="tap", uid=tag, connector=2)
            await daemon.wait_state(2, awaiting_start=False)
    assert (await card(daemon, "CAC00002"))["now"] == {"source": "cache", "status": "Expired"}
    await daemon.cmd(cmd="plug", connector=1)
    await daemon.set_link(False)

    for tag, source in (("AA000001", "local-list"), ("AA000004", "local-list"), ("CAC00001", "cache")):
        await charge_and_stop(daemon, tag)
        assert (await decision(daemon, tag, nth=1 if source == "local-list" else 2))[1:] == (source, True)
    refused = ["AA000002", "AA000003", "AA000005", "AA000006", "CAC00002", "CAC00003", "EE000001"]
    for tag in refused:
        await daemon.cmd(cmd="tap", uid=tag, connector=1)
        status, _, granted = await decision(daemon, tag, nth=2 if tag.startswith("CAC") else 1)
        assert not granted, (tag, status)
    assert (await daemon.connector(1))["transaction_id"] is None and not (await daemon.connector(1))["contactor_closed"]

    await daemon.set_link(True)
    assert (await csms.call(CHARGE_POINT, call.ChangeConfiguration(key="AllowOfflineTxForUnknownId",
                                                                   value="true"))).status == "Accepted"
    await daemon.set_link(False)
    await charge_and_stop(daemon, "EE000002")
    assert await decision(daemon, "EE000002") == ("Accepted", "unknown-offline", True)
    await daemon.cmd(cmd="tap", uid="AA000002", connector=1)
    assert (await decision(daemon, "AA000002", nth=2))[2] is False, "a Blocked entry never charges offline"
    await daemon.cmd(cmd="tap", uid="CAC00003", connector=1)
    assert (await decision(daemon, "CAC00003", nth=3))[2] is False, "a Blocked cache entry never charges offline"
    distinct: list[dict] = []  # a link cut mid-send resends a start, identical (at least once)
    for m in await _until_starts(csms, daemon, 4):
        if m.payload not in distinct:
            distinct.append(m.payload)
    assert [p["idTag"] for p in distinct] == ["AA000001", "AA000004", "CAC00001", "EE000002"], \
        "offline sessions reach the CSMS in order"


async def test_cache_disabled_and_local_authorize_offline_false(make_daemon, csms):
    d = await make_daemon(ocpp={"AuthorizationCacheEnabled": False, "LocalAuthorizeOffline": False})
    assert await list_status(csms, 1, "Full", [entry("AB000001")]) == "Accepted"
    await d.cmd(cmd="tap", uid="AB000002", connector=2)
    assert (await decision(d, "AB000002"))[1:] == ("csms", True)
    assert (await card(d, "AB000002"))["cache"] is None, "AuthorizationCacheEnabled false: nothing cached"
    await d.cmd(cmd="tap", uid="AB000002", connector=2)
    await d.cmd(cmd="plug", connector=1)
    await d.set_link(False)
    for tag in ("AB000001", "AB000002"):
        await d.cmd(cmd="tap", uid=tag, connector=1)
    assert await decision(d, "AB000001") == ("Invalid", "unknown-offline", False), \
        "LocalAuthorizeOffline false: a valid list entry does not start a session offline"
    assert (await decision(d, "AB000002", nth=2))[2] is False
    assert (await d.connector(1))["transaction_id"] is None


async def _until_starts(csms, daemon: Daemon, n: int) -> list:
    await daemon.set_link(True)
    await csms.wait_until(lambda: len(csms.transaction_ids) >= n, within=15)
    return csms.of("StartTransaction")


async def test_local_pre_authorize_starts_without_waiting_for_the_csms(make_daemon, csms):
    d = await make_daemon(ocpp={"LocalPreAuthorize": True})
    csms.behaviour.answer_delay_s["Authorize"] = 3.0
    assert await list_status(csms, 1, "Full", [entry("FA000001")]) == "Accepted"
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="plug", connector=2)
    loop = asyncio.get_running_loop()
    tapped = loop.time()
    await d.cmd(cmd="tap", uid="FA000001", connector=1)
    await d.wait_state(1, status="Charging", contactor_closed=True, within=2)
    assert loop.time() - tapped < 1.5, "a local hit does not wait for the CSMS's 3 s Authorize"
    assert csms.of("Authorize") == [], "LocalPreAuthorize sends no Authorize.req for a valid local entry"
    tapped = loop.time()
    await d.cmd(cmd="tap", uid="F0000002", connector=2)
    await d.wait_state(2, status="Charging", contactor_closed=True, within=6)
    assert loop.time() - tapped >= 2.9, "an unknown idTag waits for the CSMS's answer"


async def test_parent_id_tag_stops_but_never_starts(make_daemon, csms):
    d = await make_daemon(ocpp={"LocalPreAuthorize": True})
    csms.behaviour.authorize = lambda tag: {"status": "Accepted", "parentIdTag": "OTHERS" if tag == "BB000009"
                                            else "FLEET"}
    assert await list_status(csms, 1, "Full", [
        entry("PARENT01"), entry("CD000001", "Blocked", parentIdTag="PARENT01")]) == "Accepted"
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="tap", uid="BB000001", connector=1)
    tx_id = await d.transaction_id(1)
    await d.cmd(cmd="tap", uid="BB000009", connector=1)
    assert (await decision(d, "BB000009"))[2] is True
    await d.cmd(cmd="tap", uid="BB000002", connector=1)
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["transactionId"] == tx_id and stop.payload["idTag"] == "BB000002"
    assert stop.payload["reason"] == "Local"
    assert csms.of("StopTransaction")[0] is stop, "a card of another group did not stop it"

    await d.set_link(False)
    await d.cmd(cmd="tap", uid="CD000001", connector=1)
    assert (await decision(d, "CD000001"))[2] is False, "an Accepted parent does not let a Blocked child start"
    assert (await d.connector(1))["transaction_id"] is None


async def test_start_conf_invalid_stops_with_deauthorized(make_daemon, csms):
    d = await make_daemon(ocpp={"AllowOfflineTxForUnknownId": True})
    csms.behaviour.authorize = lambda tag: "Invalid"
    await d.cmd(cmd="plug", connector=1)
    await d.set_link(False)
    await d.cmd(cmd="tap", uid="DEAD0001", connector=1)
    await d.wait_state(1, status="Charging", contactor_closed=True)
    await d.set_link(True)
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "DeAuthorized"
    await d.wait_state(1, contactor_closed=False, transaction_id=None)
    assert (await card(d, "DEAD0001"))["cache"]["status"] == "Invalid", "StartTransaction.conf is learned"


async def test_start_conf_invalid_suspends_after_max_energy(make_daemon, csms):
    d = await make_daemon(ocpp={"AllowOfflineTxForUnknownId": True, "StopTransactionOnInvalidId": False,
                                "MaxEnergyOnInvalidId": 15})
    csms.behaviour.authorize = lambda tag: "Invalid"
    await d.cmd(cmd="plug", connector=1)
    await d.set_link(False)
    await d.cmd(cmd="tap", uid="DEAD0002", connector=1)
    started = await d.wait_state(1, status="Charging", contactor_closed=True)
    await d.set_link(True)
    await csms.wait_for("StartTransaction")
    suspended = await d.wait_state(1, status="SuspendedEVSE", contactor_closed=False, within=15)
    meter_start = csms.of("StartTransaction")[0].payload["meterStart"]
    assert 15 <= suspended["energy_wh"] - meter_start <= 15 + 5, "stops within a second of MaxEnergyOnInvalidId"
    assert started["tx_ref"] == suspended["tx_ref"] and csms.of("StopTransaction") == []
    await d.cmd(cmd="pause", connector=1)
    await d.cmd(cmd="resume", connector=1)
    await asyncio.sleep(0.5)
    assert (await d.connector(1))["contactor_closed"] is False, "the EV asking again gets no energy"
    await d.cmd(cmd="unplug", connector=1)
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "EVDisconnected"


async def test_csms_contradicting_the_list_reports_local_list_conflict(make_daemon, csms):
    d = await make_daemon(ocpp={"LocalPreAuthorize": True})
    csms.behaviour.authorize = lambda tag: "Blocked"
    assert await list_status(csms, 1, "Full", [entry("A1110001")]) == "Accepted"
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="tap", uid="A1110001", connector=1)
    conflict = await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 0
                                   and p["errorCode"] == "LocalListConflict")
    assert conflict.payload["status"] == "Available"
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "DeAuthorized", "StopTransactionOnInvalidId defaults to true"
    assert (await card(d, "A1110001"))["cache"] is None, "a listed idTag is not cached, even on a conflict"
    assert await list_status(csms, 2, "Full", [entry("A1110001", "Blocked")]) == "Accepted"
    await csms.wait_for("StatusNotification", after=csms.received.index(conflict) + 1,
                        where=lambda p: p["connectorId"] == 0 and p["errorCode"] == "NoError")


async def test_sigkill_during_full_update_leaves_old_or_new_list(make_daemon, csms, tmp_path):
    """A power cut (SIGKILL) while a 10,000-entry Full update is written leaves one whole list."""
    rng = random.Random(7)
    d = await make_daemon()
    size = SEND_LOCAL_LIST_MAX_LENGTH
    assert await list_status(csms, 1, "Full", [entry(f"G01{i:012X}") for i in range(size)]) == "Accepted"
    version, outcomes = 1, []
    for generation in range(2, 12):
        entries = [entry(f"G{generation:02d}{i:012X}") for i in range(size)]
        unique_id = str(uuid.uuid4())
        frame = json.dumps([2, unique_id, "SendLocalList",
                            {"listVersion": generation, "updateType": "Full", "localAuthorizationList": entries}])
        peer = await csms.wait_until(lambda: csms.peers.get(CHARGE_POINT))
        await peer.connection.send(frame)
        await asyncio.sleep(rng.uniform(0.0, 0.4))
        await d.stop(signal.SIGKILL)
        db = sqlite3.connect(tmp_path / "state" / "evsed.db")
        stored_version = int(db.execute("SELECT value FROM meta WHERE name = 'local_list_version'").fetchone()[0])
        prefixes = db.execute("SELECT substr(id_tag, 1, 3), count(*) FROM local_list GROUP BY 1").fetchall()
        db.close()
        assert stored_version in (version, generation)
        assert prefixes == [(f"G{stored_version:02d}", size)], "one whole list, never a mix"
        outcomes.append(stored_version == generation)
        version = stored_version
        d = await make_daemon(workdir=tmp_path)
        assert await list_version(csms) == version
    print(f"kills that found the new list committed: {sum(outcomes)} of {len(outcomes)}")


async def test_online_accepted_with_an_expiry_date_now_charges_and_only_the_cache_entry_expires(daemon, csms):
    """OCPP 1.6 IdTagInfo.expiryDate says when the idTag must leave the Authorization Cache; the status of an
    online Authorize.conf decides this session, so Accepted charges even when that date is now."""
    csms.behaviour.authorize = lambda id_tag: {"status": "Accepted", "expiryDate": PAST}
    await daemon.cmd(cmd="plug", connector=1)
    await charge_and_stop(daemon, "04ACCE55")
    assert await decision(daemon, "04ACCE55") == ("Accepted", "csms", True)
    cached = await card(daemon, "04ACCE55")
    assert cached["cache"]["expiry_date"] == PAST and cached["now"] == {"source": "cache", "status": "Expired"}
