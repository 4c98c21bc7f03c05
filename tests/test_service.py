"""The daemon as systemd runs it: sd_notify READY, WATCHDOG and STATUS on a real notify socket, and
SIGTERM during a session (contactor open, transaction ended, database consistent)."""

import asyncio
import signal
import socket
import sqlite3

from tests.conftest import Daemon


async def test_notify_ready_watchdog_and_status(tmp_path, csms):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    d = Daemon(tmp_path, csms.url)
    d.env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "1000000"}
    await d.start()
    loop = asyncio.get_running_loop()
    received: list[str] = []
    try:
        async with asyncio.timeout(15):
            while not (sum(m == "WATCHDOG=1" for m in received) >= 3
                       and any(m.startswith("STATUS=CSMS connected") for m in received)):
                received += (await loop.sock_recv(sock, 4096)).decode().splitlines()
        assert received.index("READY=1") < received.index("WATCHDOG=1"), "ready once storage and devices are up"
        status = next(m for m in received if m.startswith("STATUS=CSMS connected"))
        assert "connectors 1 Available, 2 Available" in status
        assert await d.stop() == 0
        async with asyncio.timeout(5):
            while "STOPPING=1" not in received:
                received += (await loop.sock_recv(sock, 4096)).decode().splitlines()
    finally:
        sock.close()
        if d.proc.returncode is None:
            d.proc.kill()


async def test_sigterm_in_a_session_opens_the_contactor_and_leaves_a_consistent_database(make_daemon, csms, tmp_path):
    d = await make_daemon(ocpp={"MeterValueSampleInterval": 1})
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="tap", uid="04A1B2C3", connector=1)
    await d.wait_state(1, contactor_closed=True)
    assert await d.stop(signal.SIGTERM) == 0
    assert "contactor opened connector=1 why=shutdown" in d.log()
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "Reboot"
    with sqlite3.connect(tmp_path / "state" / "evsed.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM transactions WHERE stopped_at IS NULL").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,), "the stop reached the CSMS in time"


async def test_the_csms_password_never_reaches_the_log_or_the_status(make_daemon, csms):
    secret = "s3cret-pw"
    d = await make_daemon(url=csms.url.replace("ws://", f"ws://CP_TEST:{secret}@"))
    state = await d.state()
    assert state["link"]["url"].startswith("ws://CP_TEST:***@127.0.0.1") and state["link"]["connected"]
    await d.set_link(False)
    await d.set_link(True)
    assert await d.stop() == 0
    assert "CSMS connected url=ws://CP_TEST:***@" in d.log() and secret not in d.log()
