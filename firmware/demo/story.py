"""`evsed demo`: the whole story on one machine, printed as a timeline; `evsed demo --serve`: the QR backend's driver
pages with a simulated charger, until stopped.

A local CSMS (the loopback CSMS, accepting everything), the daemon on simulated hardware, a card tap
on connector 1 and a QR-code remote start on connector 2, driven through the control socket exactly
as `evsed sim` drives it.
"""

import asyncio
import logging
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import segno
from ocpp.v16 import call

from firmware.app import App
from firmware.config_file import parse_config
from firmware.daemon.control_socket import request
from firmware.demo.loopback_csms import LoopbackCsms, Received, sim_config_text
from firmware.demo.qr_backend import QrBackend, Tariff
from firmware.demo.qr_server import QrServer
from firmware.logs import setup_logging

CARD = "04A2B3C4D5E6F7"
STEP_TIMEOUT_S = 20.0


class Timeline:
    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def say(self, who: str, text: str) -> None:
        print(f"{time.monotonic() - self._t0:7.2f}s  {who:<9} {text}", flush=True)

    def message(self, m: Received) -> None:
        self.say("CP→CSMS", f"{m.action} {_summary(m.action, m.payload)}")


def _summary(action: str, p: dict[str, Any]) -> str:
    if action == "StatusNotification":
        return f"connector {p['connectorId']}: {p['status']}"
    if action == "StartTransaction":
        return f"connector {p['connectorId']}, idTag {p['idTag']}, meterStart {p['meterStart']} Wh"
    if action == "StopTransaction":
        return f"transaction {p['transactionId']}, meterStop {p['meterStop']} Wh, reason {p.get('reason')}"
    if action == "MeterValues":
        values = p["meterValue"][0]["sampledValue"]
        text = ", ".join(f"{v['measurand']}={v['value']} {v['unit']}" for v in values)
        return f"connector {p['connectorId']}, {values[0].get('context')}: {text}"
    if action == "Authorize":
        return f"idTag {p['idTag']}"
    return ""


async def _demo(tl: Timeline, workdir: Path) -> None:
    csms = LoopbackCsms(on_message=tl.message)
    url = await csms.start()
    tl.say("CSMS", f"listening on {url}")
    text = sim_config_text(url, workdir / "evsed.db", "CP_DEMO", ocpp={
        "MeterValueSampleInterval": 2,
        "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import"})
    config = parse_config(text, "demo")
    app = App(config)
    daemon = asyncio.create_task(app.run())
    sock = config.control_socket

    async def sim(**command: Any) -> None:
        answer = await request(sock, command)
        assert answer["ok"], answer

    async def state(connector: int) -> dict[str, Any]:
        return (await request(sock, {"cmd": "state"}))["connectors"][connector - 1]

    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 2)
            tl.say("driver", "plugs the EV into connector 1")
            await sim(cmd="plug", connector=1)
            tl.say("driver", f"taps card {CARD}")
            mark = len(csms.received)
            await sim(cmd="tap", uid=CARD, connector=None)
            card_start = await csms.wait_for("StartTransaction", after=mark)
            tl.say("charger", f"contactor closed: {(await state(1))['contactor_closed']}")
            await csms.wait_for("MeterValues", after=mark,
                                where=lambda p: p["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic")
            tl.say("driver", "taps the same card again to stop")
            mark = len(csms.received)
            await sim(cmd="tap", uid=CARD, connector=None)
            card_stop = await csms.wait_for("StopTransaction", after=mark)
            tl.say("charger", f"contactor closed: {(await state(1))['contactor_closed']}")
            await sim(cmd="unplug", connector=1)
            tl.say("driver", "unplugs connector 1")
            await csms.wait_for("StatusNotification", after=mark,
                                where=lambda p: p["connectorId"] == 1 and p["status"] == "Available")

            id_tag = "QR" + secrets.token_hex(8).upper()  # 18 characters: fits OCPP 1.6's idTag (20)
            tl.say("driver", "scans the QR code on connector 2 and taps Start on the web page")
            result = await csms.call("CP_DEMO", call.RemoteStartTransaction(id_tag=id_tag, connector_id=2))
            tl.say("CSMS→CP", f"RemoteStartTransaction connector 2, idTag {id_tag}: {result.status}")
            mark, issued = len(csms.received), len(csms.transaction_ids)
            tl.say("driver", "plugs the EV into connector 2")
            await sim(cmd="plug", connector=2)
            start = await csms.wait_for("StartTransaction", after=mark)
            tl.say("charger", f"contactor closed: {(await state(2))['contactor_closed']}")
            transaction_id = await csms.wait_until(lambda: csms.transaction_ids[issued:] and csms.transaction_ids[-1])
            await csms.wait_for("MeterValues", after=mark,
                                where=lambda p: p["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic")
            tl.say("driver", "taps Stop on the web page")
            result = await csms.call("CP_DEMO", call.RemoteStopTransaction(transaction_id=transaction_id))
            tl.say("CSMS→CP", f"RemoteStopTransaction {transaction_id}: {result.status}")
            stop = await csms.wait_for("StopTransaction", after=mark)
            tl.say("charger", f"contactor closed: {(await state(2))['contactor_closed']}")
            await sim(cmd="unplug", connector=2)
            tl.say("driver", "unplugs connector 2")
            await csms.wait_for("StatusNotification", after=mark,
                                where=lambda p: p["connectorId"] == 2 and p["status"] == "Available")
            card_wh = card_stop.payload["meterStop"] - card_start.payload["meterStart"]
            qr_wh = stop.payload["meterStop"] - start.payload["meterStart"]
            tl.say("summary", f"card session {card_wh} Wh + QR session {qr_wh} Wh = {card_wh + qr_wh} Wh delivered; "
                              "both sessions complete")
    finally:
        app.stop()
        await daemon
        await csms.stop()


async def _serve(workdir: Path, port: int, connection_timeout_s: int, tariff: Tariff,
                 ready: asyncio.Event | None = None) -> None:
    """The demo CSMS with the QR backend's web page, and a simulated two-connector charger, until SIGINT/SIGTERM."""
    backend: QrBackend | None = None
    csms = LoopbackCsms(on_message=lambda m: backend.observe(m) if backend else None)
    url = await csms.start()
    config_path = workdir / "evsed.toml"
    config_path.write_text(sim_config_text(url, workdir / "evsed.db", "CP_DEMO", ocpp={
        "MeterValueSampleInterval": 1, "ConnectionTimeOut": connection_timeout_s,
        "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import"}))
    config = parse_config(config_path.read_text(), str(config_path))
    backend = QrBackend(csms, {"CP_DEMO": config.charge_point.connectors}, tariff, connection_timeout_s + 1)
    server = QrServer(backend)
    await server.start(port)
    app = App(config)
    daemon = asyncio.create_task(app.run())
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await csms.wait_for("StatusNotification", where=lambda p: p["connectorId"] == 2)
        print(f"evsed demo: charger CP_DEMO on simulated hardware, CSMS {url}, driver pages on 127.0.0.1:{server.port}")
        for n in range(1, config.charge_point.connectors + 1):
            page = server.page_url("CP_DEMO", n)
            print(f"\nconnector {n}: {page}")
            segno.make_qr(page).terminal(compact=True)
        print(f"\nplug an EV in:  evsed sim -c {config_path} plug N   (unplug N, state)")
        print(f"the stickers:   evsed qr -c {config_path} --base-url http://127.0.0.1:{server.port}/ev")
        print("Ctrl-C ends the demo", flush=True)
        if ready is not None:
            ready.set()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        app.stop()
        await daemon
        await server.stop()
        await csms.stop()


def serve_demo(port: int, connection_timeout_s: int, price_per_kwh: float, state_dir: Path | None) -> int:
    """`evsed demo --serve`: see `_serve`; `state_dir`: where the charger keeps its state (default: a temporary
    directory, removed at the end)."""
    setup_logging("warning")
    tariff = Tariff(price_per_kwh=price_per_kwh)
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(_serve(state_dir, port, connection_timeout_s, tariff))
        return 0
    with tempfile.TemporaryDirectory(prefix="evsed-demo-") as workdir:
        asyncio.run(_serve(Path(workdir), port, connection_timeout_s, tariff))
    return 0


def run_demo() -> int:
    setup_logging("warning")
    logging.getLogger("firmware").setLevel(logging.WARNING)
    tl = Timeline()
    print("evsed demo: a charger on simulated hardware talking OCPP 1.6J to a local CSMS\n")
    with tempfile.TemporaryDirectory(prefix="evsed-demo-") as workdir:
        try:
            asyncio.run(_demo(tl, Path(workdir)))
        except TimeoutError:
            print("\ndemo failed: a step did not happen in time", file=sys.stderr)
            return 1
    print("\ndemo finished: both sessions charged and stopped cleanly")
    return 0
