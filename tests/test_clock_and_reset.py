"""Wall-clock trust (events dated only once the clock is good) and Reset.req stop reasons."""

import asyncio
import signal
import sqlite3
import time
from datetime import datetime

import pytest
from ocpp.v16 import call

from firmware.clock import Clock, Trust, current_boot_id
from firmware.core.recovery import note_reset, stop_reason_after_restart
from firmware.persistence.db import Store
from firmware.transactions.store import StopReason
from tests.conftest import CHARGE_POINT, Daemon

TX_MESSAGES = ("StartTransaction", "MeterValues", "StopTransaction")
THREE_DAYS_S = 3 * 86400


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def event_stamps(csms) -> list[tuple[str, float]]:
    """(action, date) of every transaction event the CSMS received, in arrival order."""
    out = []
    for m in csms.received:
        if m.action == "MeterValues":
            out += [(m.action, seconds(v["timestamp"])) for v in m.payload["meterValue"]]
        elif m.action in ("StartTransaction", "StopTransaction"):
            out.append((m.action, seconds(m.payload["timestamp"])))
    return out


def stored_bodies(db_path) -> list[str]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT body FROM outbox ORDER BY id")]


async def untrusted_offline_daemon(make_daemon, csms) -> tuple[Daemon, int]:
    """A one-connector daemon that trusts only the CSMS's clock, started while the CSMS is down;
    returns it and the CSMS's port, to start the CSMS on later."""
    url = csms.url
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    await csms.stop()
    d = await make_daemon(connectors=1, boot=False, clock_trust="csms", url=url,
                          ocpp={"MeterValueSampleInterval": 1, "AllowOfflineTxForUnknownId": True})
    return d, port


async def test_events_before_the_clock_is_trusted_get_the_csms_time_and_nothing_leaves_earlier(
        make_daemon, csms, tmp_path):
    """The charger's clock is stale (the CSMS's is 3 days ahead) and NTP is not trusted: a session run
    before the CSMS answers is recorded against CLOCK_BOOTTIME and dated from BootNotification's
    currentTime; no message carries the stale clock's time."""
    d, port = await untrusted_offline_daemon(make_daemon, csms)
    began = time.time()
    await d.card_start(1)
    await asyncio.sleep(2.5)
    await d.card_stop(1)
    ended = time.time()
    bodies = stored_bodies(tmp_path / "state" / "evsed.db")
    assert len(bodies) >= 5 and all('"boot:' in body for body in bodies), "undated while the clock is untrusted"
    assert not any(f'"{time.gmtime().tm_year}-' in body for body in bodies), "no date from the stale clock"

    csms.behaviour.time_offset_s = THREE_DAYS_S
    await csms.start(port)
    await csms.wait_for("StopTransaction", within=20)
    stamps = event_stamps(csms)
    assert stamps[0][0] == "StartTransaction" and stamps[-1][0] == "StopTransaction"
    dates = [t for _, t in stamps]
    assert dates == sorted(dates), "in order"
    lo, hi = began + THREE_DAYS_S - 1, ended + THREE_DAYS_S + 1
    assert all(lo <= t <= hi for t in dates), f"every event dated on the CSMS's clock: {dates} not in [{lo}, {hi}]"
    assert 2.0 <= dates[-1] - dates[0] <= ended - began + 0.5, "the session's length is kept"
    for m in csms.of("StatusNotification"):
        assert "timestamp" not in m.payload or seconds(m.payload["timestamp"]) >= lo, \
            "a status is dated only by the trusted clock"
    assert "wall clock trusted source=csms" in d.log()


async def test_tokens_of_a_boot_that_never_trusted_its_clock_get_ordered_upper_bounds(make_daemon, csms, tmp_path):
    """Power lost before the clock was ever trusted: that boot's events keep their spacing and end no
    later than this boot began; the interrupted transaction is closed with PowerLoss after them."""
    d, port = await untrusted_offline_daemon(make_daemon, csms)
    await d.card_start(1)
    await asyncio.sleep(2.2)
    await d.stop(signal.SIGKILL)
    db_path = tmp_path / "state" / "evsed.db"
    with sqlite3.connect(db_path) as db:  # as if the board had rebooted: another boot id everywhere
        boot = current_boot_id()
        db.execute("UPDATE outbox SET body = replace(body, ?, 'an-earlier-boot')", [boot])
        db.execute("UPDATE transactions SET started_at = replace(started_at, ?, 'an-earlier-boot')", [boot])
        db.execute("UPDATE meta SET value = 'an-earlier-boot' WHERE name = 'boot_id'")
    await csms.start(port)
    restarted = time.time()
    await make_daemon(connectors=1, boot=False, clock_trust="csms", workdir=tmp_path, url=csms.url)
    stop = await csms.wait_for("StopTransaction", within=20)
    assert stop.payload["reason"] == "PowerLoss"
    stamps = event_stamps(csms)
    earlier = [t for a, t in stamps if a != "StopTransaction"]
    assert len(earlier) >= 3 and earlier == sorted(earlier)
    assert earlier[-1] <= restarted, "an upper bound: no later than this boot began"
    assert 1.5 <= earlier[-1] - earlier[0] <= 4, "that boot's spacing is kept"
    assert seconds(stop.payload["timestamp"]) >= earlier[-1]
    assert not any('"boot:' in body for body in stored_bodies(db_path))


@pytest.mark.parametrize("kind", ["Soft", "Hard"])
async def test_reset_ends_transactions_with_its_reason_and_restarts(make_daemon, csms, kind):
    d = await make_daemon(ocpp={"MeterValueSampleInterval": 1})
    pid = d.proc.pid
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="tap", uid="04A1B2C3", connector=1)
    tx_id = await d.transaction_id(1)
    answer = await csms.call(CHARGE_POINT, call.Reset(type=kind))
    assert answer.status == "Accepted"
    stop = await csms.wait_for("StopTransaction", within=10)
    assert stop.payload["reason"] == f"{kind}Reset" and stop.payload["transactionId"] == tx_id
    await csms.wait_until(lambda: len(csms.of("BootNotification")) == 2, within=20)
    assert d.proc.pid == pid and d.proc.returncode is None, "the same service process, started afresh"
    assert "reset requested by CSMS" in d.log()
    async with asyncio.timeout(10):
        while not d.socket.exists():
            await asyncio.sleep(0.05)
    await d.wait_state(1, contactor_closed=False, transaction_id=None)
    assert len(csms.of("StopTransaction")) == 1


async def test_reset_with_no_transaction_answers_closes_cleanly_and_restarts(make_daemon, csms):
    """OCPP 1.6 §5.14: the CSMS gets Reset.conf before the link ends, the websocket closes with 1001 Going
    Away (not an abnormal close), and the charge point boots again."""
    d = await make_daemon()
    pid = d.proc.pid
    for boots in (2, 3):
        assert (await csms.call(CHARGE_POINT, call.Reset(type="Soft"))).status == "Accepted"
        await csms.wait_until(lambda n=boots: len(csms.of("BootNotification")) == n, within=10)
        assert csms.close_codes[-1] == 1001, csms.close_codes
    assert d.proc.pid == pid and d.proc.returncode is None


async def test_a_csms_that_ignores_the_close_frame_cannot_hold_up_a_reset(make_daemon, csms):
    """The closing handshake gets CLOSE_TIMEOUT_S (2 s): a CSMS that reads nothing more after Reset.conf (it
    never answers the close frame) delays the restart by that, not by websockets' default 10 s."""
    d = await make_daemon()
    async with asyncio.timeout(10):  # StartupOfTheDevice confirmed: no queued message for the shutdown to flush
        while (await d.state())["outbox"]["depth"] or not csms.of("SecurityEventNotification"):
            await asyncio.sleep(0.05)
    peer = csms.peers[CHARGE_POINT]
    route = peer.route_message

    async def deaf_after_the_answer(raw: str) -> None:
        await route(raw)
        if raw.startswith("[3"):  # Reset.conf read: the close frame behind it never will be
            peer.connection.transport.pause_reading()

    peer.route_message = deaf_after_the_answer
    assert (await csms.call(CHARGE_POINT, call.Reset(type="Hard"))).status == "Accepted"
    answered = time.monotonic()
    boot = await csms.wait_for("BootNotification", after=len(csms.received), within=15)
    assert boot.at - answered < 5, f"restarted {boot.at - answered:.1f} s after the answer"
    peer.connection.transport.abort()  # the deaf connection would hold up the CSMS's own shutdown


async def test_sigterm_during_a_reset_stops_the_daemon_without_the_restart(make_daemon, csms):
    """The service manager wins: SIGTERM while a Reset's shutdown waits for the CSMS ends the daemon."""
    d = await make_daemon()
    await d.card_start(1)
    await d.transaction_id(1)
    csms.behaviour.answer_delay_s["StopTransaction"] = 5.0  # the flush keeps the shutdown busy for a while
    assert (await csms.call(CHARGE_POINT, call.Reset(type="Soft"))).status == "Accepted"
    await csms.wait_for("StopTransaction", within=5)
    d.proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(10):
        assert await d.proc.wait() == 0
    assert len(csms.of("BootNotification")) == 1, "no restart"
    assert "SIGTERM during a reset: stopping without the restart" in d.log()


def test_a_reset_cut_short_still_names_itself_at_the_next_start(tmp_path):
    store = Store(tmp_path / "db")
    boot = current_boot_id()
    assert stop_reason_after_restart(store, boot) is StopReason.POWER_LOSS, "first start: no earlier boot known"
    note_reset(store, StopReason.HARD_RESET)
    assert stop_reason_after_restart(store, boot) is StopReason.HARD_RESET
    assert stop_reason_after_restart(store, boot) is StopReason.REBOOT, "the mark is cleared once used"


def test_clock_sources():
    ntp = {"synced": False}
    clock = Clock(Trust.NTP, current_boot_id(), ntp_check=lambda: ntp["synced"])
    clock.refresh()
    assert not clock.trusted and clock.stamp().startswith("boot:") and clock.date(clock.stamp()) is None
    ntp["synced"] = True
    clock.refresh()
    assert clock.trusted and abs(seconds(clock.stamp()) - time.time()) < 1
    csms_only = Clock(Trust.CSMS, current_boot_id(), ntp_check=lambda: True)
    csms_only.refresh()
    assert not csms_only.trusted, "trust = csms ignores NTP"
    csms_only.set_from_csms("not a date")
    assert not csms_only.trusted
    csms_only.set_from_csms("2030-01-01T00:00:00Z")
    assert csms_only.trusted and seconds(csms_only.stamp()) == pytest.approx(seconds("2030-01-01T00:00:00Z"), abs=1)
