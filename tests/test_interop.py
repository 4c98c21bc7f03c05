"""Interop: evsed against two third-party CSMS backends from PyPI, ocpp-csms 0.1.0 and ocpp-broker 0.4.

Every scenario runs once per backend (the `backend` fixture); only the adapter in tests/interop/backends.py
differs. evsed is the real daemon on simulated hardware (tests/conftest.py); its control socket plays the
EV and the cards, and is used to wait, but the assertions are about what the backend recorded: the frames
in its own log, and what its own command path returned. The backends live in their own virtual
environments (tests/interop/install.sh); where those are missing the tests skip, and fail under CI.
"""

import asyncio
import itertools
import time
from typing import Any

import pytest

from tests.conftest import CHARGE_POINT, STARTUP_S, Daemon
from tests.interop.backends import BACKENDS, CALL, CALLRESULT, Backend, Frame, until
from tests.prerequisites import unavailable

CARD = "04A1B2C3"
"""Known to the backend (Accepted)."""
UNKNOWN_CARD = "04D5E6F7A8B9C0"
"""Unknown to the backend (Invalid)."""
TX_ACTIONS = ("StartTransaction", "MeterValues", "StopTransaction")
LINK_CUT_S = 20.0
RECONNECT_S = 15.0
"""evsed reconnects within 2-4 s, then 4-5 s apart (conftest: reconnect_max_s=5), after closing within 2 s."""


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request, tmp_path):
    """One backend, started on free 127.0.0.1 ports, knowing CARD; its log is printed after the test."""
    b = BACKENDS[request.param](tmp_path / "backend", CHARGE_POINT, accepted=[CARD])
    if not b.python.exists():
        unavailable(f"{b.name} is not installed ({b.python} is missing): run tests/interop/install.sh")
    await b.start()
    yield b
    await b.stop()
    print(f"--- {b.name} log {b.log_path} ---\n{b.log_tail()}")


async def boot(backend: Backend, make_daemon, **ocpp: Any) -> Daemon:
    """A one-connector evsed with 1 s meter samples (and the `[ocpp]` presets given), connected to
    `backend` and booted: the backend has logged connector 1's first StatusNotification and the start's
    security event (queued at start, sent once registered: a test's later mark must come after it)."""
    d = await make_daemon(connectors=1, boot=False, url=backend.url, ocpp={"MeterValueSampleInterval": 1, **ocpp})
    await backend.wait_call("StatusNotification", where=lambda p: p["connectorId"] == 1, within=STARTUP_S)
    await backend.wait_call("SecurityEventNotification", where=lambda p: p["type"] == "StartupOfTheDevice",
                            within=STARTUP_S)
    return d


@pytest.fixture
async def charger(backend, make_daemon) -> Daemon:
    """evsed booted at the backend, with the default `[ocpp]` presets of `boot`."""
    return await boot(backend, make_daemon)


def energy_wh(meter_values: dict[str, Any]) -> list[float]:
    """The Energy.Active.Import.Register readings of a MeterValues payload, in order."""
    return [float(v["value"]) for mv in meter_values["meterValue"] for v in mv["sampledValue"]
            if v.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"]


def statuses(backend: Backend, connector: int, after: int = 0) -> list[str]:
    """The statuses of `connector` the backend received, in order."""
    return [f.payload["status"] for f in backend.calls("StatusNotification", after)
            if f.payload["connectorId"] == connector]


async def started(backend: Backend, after: int = 0) -> tuple[Frame, int]:
    """The StartTransaction of the known card on connector 1 as the backend logged it, answered Accepted,
    and the transactionId the backend gave it."""
    start = await backend.wait_call("StartTransaction", after=after)
    answer = await backend.answer(start)
    assert (start.payload["idTag"], start.payload["connectorId"]) == (CARD, 1)
    assert answer["idTagInfo"]["status"] == "Accepted", answer
    return start, answer["transactionId"]


async def card_session_start(backend: Backend, charger: Daemon) -> tuple[Frame, int]:
    """Plug in and tap the known card; see `started`."""
    await charger.cmd(cmd="plug", connector=1)
    await charger.cmd(cmd="tap", uid=CARD, connector=1)
    return await started(backend)


async def samples(backend: Backend, transaction_id: int, count: int, after: int = 0,
                  within: float = 5.0) -> list[Frame]:
    """Wait until the backend has logged `count` periodic MeterValues of the transaction (1 s apart), at
    most `count` + `within` seconds."""
    def periodic() -> list[Frame]:
        return [f for f in backend.calls("MeterValues", after) if f.payload.get("transactionId") == transaction_id
                and f.payload["meterValue"][0]["sampledValue"][0].get("context") == "Sample.Periodic"]
    return await until(lambda: len(frames := periodic()) >= count and frames, count + within,
                       f"{backend.name} logs {count} periodic MeterValues of transaction {transaction_id}")


async def test_boot(backend, charger):
    """BootNotification comes first and is Accepted; then every connector is reported Available."""
    calls = backend.calls()
    assert calls[0].action == "BootNotification", [f.action for f in calls]
    assert calls[0].payload["chargePointVendor"] == "evsed"
    assert (await backend.answer(calls[0]))["status"] == "Accepted"
    assert statuses(backend, 0) == ["Available"] and statuses(backend, 1) == ["Available"]


async def test_card_session(backend, charger):
    """Plug in, the known card starts a transaction, energy flows (rising periodic samples), the card
    stops it: the backend records StartTransaction, MeterValues, StopTransaction of one transactionId."""
    start, tx = await card_session_start(backend, charger)
    periodic = await samples(backend, tx, count=2)
    readings = [energy_wh(f.payload)[0] for f in periodic]
    assert readings == sorted(readings) and readings[-1] > start.payload["meterStart"], readings
    await charger.cmd(cmd="tap", uid=CARD, connector=1)
    stop = await backend.wait_call("StopTransaction")
    await backend.answer(stop)
    assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx, "Local")
    assert stop.payload["meterStop"] > start.payload["meterStart"]
    actions = [f.action for f in backend.calls() if f.action in TX_ACTIONS]
    assert actions[0] == "StartTransaction" and actions[-1] == "StopTransaction"
    assert set(actions[1:-1]) == {"MeterValues"}, actions
    assert "Charging" in statuses(backend, 1)


async def test_unknown_card_is_refused(backend, charger):
    """The backend answers Invalid to the unknown card, which starts nothing; the known card then does."""
    await charger.cmd(cmd="plug", connector=1)
    await charger.cmd(cmd="tap", uid=UNKNOWN_CARD, connector=1)
    authorize = await backend.wait_call("Authorize", lambda p: p["idTag"] == UNKNOWN_CARD)
    assert (await backend.answer(authorize))["idTagInfo"]["status"] == "Invalid"
    await charger.cmd(cmd="tap", uid=CARD, connector=1)
    await started(backend)
    assert [f.payload["idTag"] for f in backend.calls("StartTransaction")] == [CARD]


async def test_remote_start_before_plug_in(backend, charger):
    """RemoteStartTransaction is Accepted with no EV; nothing starts until the EV plugs in, then the
    transaction starts for the remote idTag and energy flows."""
    assert await backend.command("RemoteStartTransaction", {"idTag": CARD, "connectorId": 1}) == \
        {"status": "Accepted"}
    assert backend.calls("StartTransaction") == []
    await charger.cmd(cmd="plug", connector=1)
    _, tx = await started(backend)
    await samples(backend, tx, count=1)


async def test_remote_stop(backend, charger):
    """RemoteStopTransaction of the running transaction is Accepted and ends it (reason Remote)."""
    _, tx = await card_session_start(backend, charger)
    assert await backend.command("RemoteStopTransaction", {"transactionId": tx}) == {"status": "Accepted"}
    stop = await backend.wait_call("StopTransaction")
    assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx, "Remote")
    await backend.answer(stop)


async def test_get_and_change_configuration(backend, charger):
    """GetConfiguration names known and unknown keys; ChangeConfiguration is Accepted for a known key
    (and read back), NotSupported for an unknown one."""
    wanted = {"key": ["MeterValueSampleInterval", "NoSuchKey"]}
    got = await backend.command("GetConfiguration", wanted)
    assert got["configurationKey"] == [{"key": "MeterValueSampleInterval", "readonly": False, "value": "1"}]
    assert got["unknownKey"] == ["NoSuchKey"]
    change = await backend.command("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "7"})
    assert change == {"status": "Accepted"}
    unknown = await backend.command("ChangeConfiguration", {"key": "NoSuchKey", "value": "1"})
    assert unknown == {"status": "NotSupported"}
    got = await backend.command("GetConfiguration", wanted)
    assert got["configurationKey"][0]["value"] == "7"


async def test_send_local_list_and_get_its_version(backend, charger):
    """A Full list then a Differential update are Accepted; GetLocalListVersion reports each version."""
    assert await backend.command("GetLocalListVersion", {}) == {"listVersion": 0}
    full = {"listVersion": 5, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "LIST0001", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "LIST0002", "idTagInfo": {"status": "Blocked"}}]}
    assert await backend.command("SendLocalList", full) == {"status": "Accepted"}
    assert await backend.command("GetLocalListVersion", {}) == {"listVersion": 5}
    update = {"listVersion": 6, "updateType": "Differential", "localAuthorizationList": [
        {"idTag": "LIST0003", "idTagInfo": {"status": "Accepted"}}, {"idTag": "LIST0002"}]}
    assert await backend.command("SendLocalList", update) == {"status": "Accepted"}
    assert await backend.command("GetLocalListVersion", {}) == {"listVersion": 6}


async def test_offline_session_is_replayed_in_order(backend, make_daemon):
    """A card session run during a 20 s link cut reaches the backend once the link is back: StartTransaction,
    its MeterValues, StopTransaction, in that order, each answered before the next arrives, all carrying the
    transactionId the backend gave, dated in order."""
    charger = await boot(backend, make_daemon, LocalAuthorizeOffline=True, AllowOfflineTxForUnknownId=True)
    mark = len(backend.frames())
    cut = time.monotonic()
    await charger.set_link(False)
    await charger.cmd(cmd="plug", connector=1)
    await charger.cmd(cmd="tap", uid=CARD, connector=1)
    await charger.wait_state(1, status="Charging")
    await asyncio.sleep(3.5)  # periodic samples, taken offline
    await charger.card_stop(1, CARD)
    await asyncio.sleep(LINK_CUT_S - (time.monotonic() - cut))
    assert backend.calls(after=mark) == [], "nothing reached the backend while the link was down"
    await charger.set_link(True)
    stop = await backend.wait_call("StopTransaction", after=mark, within=30)
    await backend.answer(stop)

    frames = backend.frames()[mark:]
    tx_calls = [f for f in frames if f.kind == CALL and not f.sent and f.action in TX_ACTIONS]
    actions = [f.action for f in tx_calls]
    assert actions[0] == "StartTransaction" and actions[-1] == "StopTransaction", actions
    assert set(actions[1:-1]) == {"MeterValues"} and len(actions) >= 4, actions
    assert tx_calls[0].payload["idTag"] == CARD
    for call, following in itertools.pairwise(tx_calls):
        answered = next(i for i, f in enumerate(frames) if f.kind == CALLRESULT and f.unique_id == call.unique_id)
        assert answered < frames.index(following), f"{following.action} arrived before {call.action} was answered"
    tx = (await backend.answer(tx_calls[0]))["transactionId"]
    assert all(f.payload["transactionId"] == tx for f in tx_calls[1:]), [f.payload for f in tx_calls]
    stamps = [tx_calls[0].payload["timestamp"], *(mv["timestamp"] for f in tx_calls[1:-1]
                                                  for mv in f.payload["meterValue"]), stop.payload["timestamp"]]
    assert stamps == sorted(stamps), stamps


async def test_csms_restart(backend, charger):
    """The backend process is killed mid-session and started again on the same port: evsed reconnects,
    the running transaction's samples reach the new process, and the card's stop ends that transaction."""
    _, tx = await card_session_start(backend, charger)
    await samples(backend, tx, count=1)
    await backend.kill()
    mark = len(backend.frames())
    await backend.start()
    await samples(backend, tx, count=1, after=mark, within=RECONNECT_S)
    await charger.cmd(cmd="tap", uid=CARD, connector=1)
    stop = await backend.wait_call("StopTransaction", after=mark)
    assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx, "Local")
    await backend.answer(stop)


async def test_reset_without_transaction(backend, charger):
    """Reset (Soft) with no transaction running: the backend's call gets Reset.conf Accepted, and evsed
    boots again (a new BootNotification, Accepted)."""
    mark = len(backend.frames())
    reset, rebooted = await asyncio.gather(
        backend.command("Reset", {"type": "Soft"}),
        backend.wait_call("BootNotification", after=mark, within=30), return_exceptions=True)
    assert reset == {"status": "Accepted"}, f"the backend's Reset call: {reset!r}; evsed booted again: {rebooted!r}"
    assert isinstance(rebooted, Frame), rebooted
    assert (await backend.answer(rebooted))["status"] == "Accepted"
