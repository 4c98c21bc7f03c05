"""The daemon: builds every part from the config, runs them, and opens the contactors on every way out."""

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import asdict
from typing import Any

import sdnotify

from firmware.auth_cache import AuthCache
from firmware.authorization import Authorizer
from firmware.chargepoint import ChargePoint
from firmware.clock import Clock, Trust, current_boot_id
from firmware.config import Config
from firmware.configuration import Configuration
from firmware.connector import Connector
from firmware.control import ControlError, ControlServer, Handler
from firmware.hardware import build_hardware
from firmware.local_list import LocalList
from firmware.ocpp16.link import Ocpp16Link
from firmware.outbox import Outbox
from firmware.records import StopReason
from firmware.recovery import RESUMABLE, close_interrupted, note_reset, stop_reason_after_restart
from firmware.safety import EnergyGate
from firmware.selftest import Check, check_devices
from firmware.status_report import StatusReporter
from firmware.store import Store
from firmware.timestamps import resolve_stored
from firmware.transactions import TransactionStore
from hal import MeterError
from hal.sim import SimConnector, SimStation

log = logging.getLogger(__name__)

HARDWARE_STALE_S = 5.0
"""Hardware polling silent this long means the daemon is stuck: the service watchdog is not fed."""
SHUTDOWN_FLUSH_S = 3.0
"""On SIGTERM, how long to let queued StopTransactions reach the CSMS before exiting."""


class App:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.storage.path)
        self.clock = Clock(Trust(config.clock.trust), current_boot_id())
        self.clock.on_trusted = lambda: resolve_stored(self.store, self.clock)
        self.configuration = Configuration(self.store, config.ocpp,
                                           fixed={"NumberOfConnectors": config.charge_point.connectors})
        self.reporter = StatusReporter(self.configuration, self.clock)
        self.outbox = Outbox(self.store, self.clock)
        self.txs = TransactionStore(self.store, self.outbox)
        self.hardware = build_hardware(config)
        self.gate = EnergyGate({n: d.contactor for n, d in self.hardware.connectors.items()})
        self.authorizer = Authorizer(
            LocalList(self.store, max_entries=self.configuration.integer("LocalAuthListMaxLength"),
                      max_update=self.configuration.integer("SendLocalListMaxLength")),
            AuthCache(self.store), self.configuration)
        self.link = Ocpp16Link(config, self.configuration, self.store, self.outbox, self.txs, self.reporter,
                               self.authorizer, self.clock)
        self.link.on_reset = self.reset
        self.authorizer.upstream = self.link
        self.reporter.sink = self.link.send_status
        connectors = [Connector(n, d, self.gate, self.txs, self.configuration, self.reporter, self.clock)
                      for n, d in self.hardware.connectors.items()]
        self.charge_point = ChargePoint(connectors, self.hardware.shared_reader, self.authorizer, self.reporter)
        self.link.charge_point = self.charge_point
        self.control = ControlServer(config.control_socket, self._control_handlers())
        self._stopping = asyncio.Event()
        self._stop_reason = StopReason.REBOOT
        self.restart_requested = False
        """A Reset.req was carried out: the caller starts the daemon again."""
        self._notifier = sdnotify.SystemdNotifier()

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT; every exit path opens all contactors first."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        try:
            self.clock.refresh()
            reason = stop_reason_after_restart(self.store, self.clock.boot_id)
            await close_interrupted(self.txs, self.charge_point.connectors, reason, self.clock,
                                    self.config.charge_point.resume_transactions)
            await self.control.start()
            self._notifier.notify(f"READY=1\nSTATUS=running, CSMS {self.link.url}")
            log.info("evsed running charge_point=%s connectors=%d backend=%s", self.config.charge_point.id,
                     self.config.charge_point.connectors, self.config.hardware.backend)
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.charge_point.run()), group.create_task(self.link.run()),
                         group.create_task(self.clock.watch()), group.create_task(self._watchdog())]
                await self._stopping.wait()
                log.info("stopping: opening contactors, ending transactions reason=%s", self._stop_reason)
                self._notifier.notify("STOPPING=1")
                self.gate.open_all("shutdown")
                await self.charge_point.shutdown(self._stop_reason, keep_transactions=(
                    self.config.charge_point.resume_transactions and self._stop_reason in RESUMABLE))
                await self._flush_outbox()
                for task in tasks:
                    task.cancel()
        finally:
            self.gate.open_all("exit")
            await self.hardware.aclose()
            await self.control.close()
            self.store.close()

    async def _watchdog(self) -> None:
        """systemd's watchdog (WatchdogSec): WATCHDOG=1 at half the period, only while the main loop runs
        (this task) and every connector's hardware polling ran within the last HARDWARE_STALE_S; and a
        STATUS line a person can read in `systemctl status evsed`."""
        period_s = int(os.environ.get("WATCHDOG_USEC", "0")) / 1e6
        shown = ""
        while True:
            now = time.monotonic()
            stalled = [n for n, s in self.charge_point.supervisors.items() if now - s.last_round > HARDWARE_STALE_S]
            if stalled:
                log.error("hardware polling stalled connectors=%s; the watchdog is not fed", stalled)
            elif period_s:
                self._notifier.notify("WATCHDOG=1")
            status = self._status_line()
            if status != shown:
                self._notifier.notify(f"STATUS={status}")
                shown = status
            await asyncio.sleep(period_s / 2 if period_s else 5.0)

    def _status_line(self) -> str:
        connectors = ", ".join(f"{c.id} {c.status}" for c in self.charge_point.connectors.values())
        link = "CSMS connected" if self.link.online else "CSMS not connected"
        return f"{link}; connectors {connectors}; {self.outbox.depth()} queued"

    def stop(self) -> None:
        """Ask the daemon to stop, as SIGTERM does."""
        self._stopping.set()

    def reset(self, hard: bool) -> bool:
        """OCPP 1.6 §5.15 Reset: end every transaction (reason SoftReset or HardReset), let the
        StopTransactions reach the CSMS, then start again. Both kinds restart the daemon; evsed does
        not reboot the board (a Hard reset of the computer is the service manager's business)."""
        if self._stopping.is_set():
            return False
        self._stop_reason = StopReason.HARD_RESET if hard else StopReason.SOFT_RESET
        note_reset(self.store, self._stop_reason)
        self.restart_requested = True
        log.warning("reset requested by CSMS kind=%s; restarting", "Hard" if hard else "Soft")
        self.stop()
        return True

    async def _flush_outbox(self) -> None:
        """Give queued transaction messages a moment to reach the CSMS; what is left stays queued."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_FLUSH_S):
                while self.link.online and self.outbox.depth():
                    await self.outbox.wait_removed()

    # --- control socket -----------------------------------------------------------------------

    def _control_handlers(self) -> dict[str, Handler]:
        return {"state": self._state, "card": self._card, "tap": self._tap, "plug": self._plug, "unplug": self._unplug,
                "pause": self._pause, "resume": self._resume, "link": self._link, "fault": self._fault,
                "selftest": self._selftest}

    async def _state(self, request: dict[str, Any]) -> dict[str, Any]:
        connectors = []
        for c in self.charge_point.connectors.values():
            try:
                energy_wh: float | None = (await c.devices.meter.read()).energy_wh
            except MeterError:
                energy_wh = None
            plug = c.devices.plug.state
            connectors.append({
                "id": c.id, "status": c.status.value, "contactor_closed": c.devices.contactor.commanded_closed,
                "energy_wh": None if energy_wh is None else round(energy_wh, 3),
                "transaction_id": c.tx.csms_id if c.tx else None, "tx_ref": c.tx.ref if c.tx else None,
                "id_tag": c.tx.id_tag if c.tx else None, "plugged": plug.plugged, "ev_requesting": plug.requesting,
                "locked": c.devices.lock.locked, "error_code": c.fault.error_code.value if c.fault else "NoError",
                "fault_info": c.fault.info if c.fault else None,
                "vendor_error_code": c.fault.vendor_error_code if c.fault else None,
                "awaiting_start": c.pending is not None,
            })
            if self.hardware.sim is not None:
                connectors[-1]["contactor_changed_at"] = self.hardware.sim.connectors[c.id].contactor.changed_at
        return {
            "charge_point": self.config.charge_point.id,
            "connectors": connectors,
            "reader_problem": self.hardware.shared_reader.problem if self.hardware.shared_reader else None,
            "link": {"url": self.link.url, "connected": self.link.connected, "wanted": self.link.wanted,
                     "registration": self.link.registration.value},
            "outbox": {"depth": self.outbox.depth(), "oldest_unsent": self.outbox.oldest(),
                       "dead_letters": self.outbox.dead_letter_count()},
            "authorization": {"local_list_version": self.authorizer.local_list_version(),
                              "local_list_entries": self.authorizer.local_list.count(),
                              "cache_entries": self.authorizer.cache.count()},
        }

    async def _card(self, request: dict[str, Any]) -> dict[str, Any]:
        """What the charger knows about an idTag: its Local List and cache entries, and which one
        a local decision would use now (expiry applied)."""
        id_tag = str(request.get("id_tag", ""))
        if not id_tag:
            raise ControlError("give the card's idTag")
        listed, cached = self.authorizer.local_list.lookup(id_tag), self.authorizer.cache.lookup(id_tag)
        stored = self.authorizer.stored(id_tag)
        return {"id_tag": id_tag, "local_list": asdict(listed) if listed else None,
                "cache": asdict(cached) if cached else None,
                "now": {"source": stored[1].value, "status": stored[0].status.value} if stored else None}

    def _sim_station(self) -> SimStation:
        if self.hardware.sim is None:
            raise ControlError("not a simulated charge point (hardware backend is not 'sim')")
        return self.hardware.sim

    def _sim_connector(self, request: dict[str, Any]) -> SimConnector:
        station = self._sim_station()
        connector = station.connectors.get(request.get("connector"))  # type: ignore[arg-type]
        if connector is None:
            raise ControlError(f"no connector {request.get('connector')!r}; this charge point has "
                               f"{', '.join(str(n) for n in station.connectors)}")
        return connector

    async def _tap(self, request: dict[str, Any]) -> dict[str, Any]:
        reader = self._sim_station().reader if request.get("connector") is None else self._sim_connector(request).reader
        try:
            return {"uid": reader.present(str(request.get("uid", "")))}
        except ValueError as e:
            raise ControlError(str(e)) from None

    async def _plug(self, request: dict[str, Any]) -> dict[str, Any]:
        self._sim_connector(request).ev.plug()
        return {}

    async def _unplug(self, request: dict[str, Any]) -> dict[str, Any]:
        self._sim_connector(request).ev.unplug()
        return {}

    async def _pause(self, request: dict[str, Any]) -> dict[str, Any]:
        self._sim_connector(request).ev.request(False)
        return {}

    async def _resume(self, request: dict[str, Any]) -> dict[str, Any]:
        self._sim_connector(request).ev.request(True)
        return {}

    async def _selftest(self, request: dict[str, Any]) -> dict[str, Any]:
        """`evsed selftest` while the daemon runs: it owns the devices, so it checks them."""
        in_use = {c.id for c in self.charge_point.connectors.values() if c.tx is not None}
        checks = await check_devices(self.hardware, in_use, readers_running=True)
        state = "connected" if self.link.connected else "not connected"
        link = Check("CSMS", self.link.online, f"{self.link.url}: {state}, registration {self.link.registration}",
                     "" if self.link.online else "check the network, [csms] url and the journal for the link's errors")
        return {"checks": [c.to_json() for c in [*checks, link]]}

    async def _fault(self, request: dict[str, Any]) -> dict[str, Any]:
        """Fault injection on the simulated devices: meter N, weld N, reader N (0: the shared one)."""
        on = bool(request.get("on"))
        device = request.get("device")
        if device == "reader" and request.get("connector") == 0:
            self._sim_station().reader.failing = on
        elif device == "reader":
            self._sim_connector(request).reader.failing = on
        elif device == "meter":
            self._sim_connector(request).meter.failing = on
        elif device == "weld":
            self._sim_connector(request).contactor.weld(on)
        else:
            raise ControlError("device must be 'meter', 'weld' or 'reader'")
        log.warning("simulated fault %s device=%s connector=%s", "injected" if on else "cleared", device,
                    request.get("connector"))
        return {}

    async def _link(self, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("state") not in ("up", "down"):
            raise ControlError("link state must be 'up' or 'down'")
        self.link.set_wanted(request["state"] == "up")
        return {}
