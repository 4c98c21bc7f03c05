"""The composition root: builds every part from the config, runs them, and opens the contactors on every way out."""

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from firmware.auth.authorizer import Authorizer
from firmware.auth.cache import AuthCache
from firmware.auth.local_list import LocalList
from firmware.clock import Clock, Trust, current_boot_id
from firmware.config_file import Config
from firmware.core.availability import Availability
from firmware.core.chargepoint import ChargePoint
from firmware.core.confirmations import Confirmations
from firmware.core.connector import Connector
from firmware.core.lifecycle import Lifecycle
from firmware.core.recovery import RESUMABLE, close_interrupted, restart_cause, stop_reason_after_restart
from firmware.core.reservations import Reservations
from firmware.core.safety import EnergyGate
from firmware.core.services import Services
from firmware.daemon.control_commands import ControlCommands
from firmware.daemon.control_socket import ControlServer
from firmware.daemon.hardware import build_hardware
from firmware.daemon.systemd import Systemd
from firmware.firmware_management.diagnostics import Diagnostics
from firmware.firmware_management.updates import FirmwareUpdates, Signature
from firmware.ocpp16 import keys
from firmware.persistence.db import Store
from firmware.protocol.security import LinkSecurity
from firmware.security.events import FIRMWARE_UPDATED, INVALID_FIRMWARE_SIGNATURE, RESET, STARTUP, SecurityEvents
from firmware.security.service import Certificates
from firmware.settings import Settings
from firmware.smart_charging.controller import SmartCharging
from firmware.transactions.outbox import Outbox
from firmware.transactions.store import StopReason, TransactionStore
from firmware.transactions.timestamps import resolve_stored

if TYPE_CHECKING:
    from firmware.ocpp16.adapter import Ocpp16Adapter
    from firmware.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

SHUTDOWN_FLUSH_S = 3.0
"""On SIGTERM, how long to let queued StopTransactions reach the CSMS before exiting."""


class App:
    def __init__(self, config: Config, config_path: Path | None = None) -> None:
        """`config_path`: the file `config` was read from (diagnostics send it, secrets masked)."""
        self.config = config
        self.store = Store(config.storage.path)
        self.clock = Clock(Trust(config.clock.trust), current_boot_id())
        self.clock.on_trusted = lambda: resolve_stored(self.store, self.clock)
        self.settings = Settings(self.store, keys.presets(config.ocpp),
                                 fixed={"connectors": config.charge_point.connectors})
        self.outbox = Outbox(self.store, self.clock)
        self.txs = TransactionStore(self.store, self.outbox)
        cp = config.charge_point
        self.security_events = SecurityEvents(self.outbox, self.clock, config.storage.path.parent / "security.log")
        self.certificates = Certificates(config.storage.path.parent / "certificates", config.csms, self.clock,
                                         self.settings, cp.serial_number or cp.id,
                                         self.settings.integer("certificate_store_max"))
        self.security = LinkSecurity(config.csms, cp.id, self.settings, self.certificates.trusted_roots,
                                     self.certificates.client_identity, self.security_events)
        self.adapter = self._adapter()
        self.outbox.link_up = lambda: self.adapter.online
        self.hardware = build_hardware(config)
        self.gate = EnergyGate({n: d.contactor for n, d in self.hardware.connectors.items()})
        self.authorizer = Authorizer(
            LocalList(self.store, max_entries=self.settings.integer("local_list_max_entries"),
                      max_update=self.settings.integer("local_list_max_update")),
            AuthCache(self.store), self.settings, self.adapter)
        self.availability = Availability(self.store)
        self.reservations = Reservations(self.store, self.clock)
        self.smart_charging = SmartCharging(self.store, self.settings, self.clock, list(self.hardware.connectors),
                                            config.charge_point.max_current_a)
        connectors = [Connector(n, d, self.gate, self.txs, self.settings, self.adapter, self.clock, self.availability,
                                self.reservations, self.smart_charging)
                      for n, d in self.hardware.connectors.items()]
        for c in connectors:
            self.smart_charging.attach(c.id, c.limit_changed)
        self.charge_point = ChargePoint(connectors, self.hardware.shared_reader, self.authorizer, self.settings,
                                        self.adapter, self.availability, self.reservations)
        self.lifecycle = Lifecycle(self.store)
        commands = ControlCommands(config.charge_point.id, self.charge_point, self.hardware, self.authorizer,
                                   self.outbox, self.adapter)
        state_dir = config.storage.path.parent
        self.firmware_updates = FirmwareUpdates(
            self.store, self.outbox, self.clock, state_dir / "firmware", config.firmware.install_command,
            config.firmware.install_timeout_s, builtin_installer=config.hardware.backend == "sim",
            sessions_running=lambda: self.charge_point.charging_anywhere,
            hold_for_install=self.charge_point.hold_for_install, restart=self.lifecycle.restart_after_update,
            installed=lambda: self.security_events.record(FIRMWARE_UPDATED), signature_problem=self._signature_problem)
        self.diagnostics = Diagnostics(self.store, self.outbox, config.charge_point.id, config_path,
                                       state_dir / "diagnostics", lambda: _described(commands),
                                       self.security_events.log_path)
        self.adapter.attach(Services(self.settings, self.authorizer, self.charge_point,
                                     Confirmations(self.txs, self.authorizer, self.charge_point), self.lifecycle,
                                     self.smart_charging, self.firmware_updates, self.diagnostics,
                                     self.certificates))
        self.control = ControlServer(config.control_socket, commands.handlers())
        self.systemd = Systemd()

    def _adapter(self) -> "Ocpp16Adapter | Ocpp201Adapter":
        """The configured protocol's adapter; the other version's package is never imported."""
        if self.config.csms.protocol == "ocpp2.0.1":
            from firmware.ocpp201.adapter import Ocpp201Adapter

            return Ocpp201Adapter(self.config, self.settings, self.outbox, self.clock, self.store, self.security)
        from firmware.ocpp16.adapter import Ocpp16Adapter

        return Ocpp16Adapter(self.config, self.settings, self.outbox, self.clock, self.security)

    def _signature_problem(self, firmware: Path, signed: Signature) -> str | None:
        """Why a signed update's file must not be installed (its signature or certificate), logged as a security
        event; None when it may be."""
        if signed.signature is None or signed.signing_certificate is None:
            problem: str | None = "a signature without its signing certificate"
        else:
            problem = self.certificates.firmware_problem(firmware, signed.signature, signed.signing_certificate)
        if problem is not None:
            self.security_events.record(INVALID_FIRMWARE_SIGNATURE, problem)
        return problem

    @property
    def restart_requested(self) -> bool:
        """A Reset.req was carried out: the caller starts the daemon again."""
        return self.lifecycle.restart_requested

    def stop(self) -> None:
        """Ask the daemon to stop, as SIGTERM does (a pending Reset's restart included)."""
        self.lifecycle.terminate()

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
            self.security.warn_if_open()
            self.security_events.record(STARTUP)
            if reason in (StopReason.SOFT_RESET, StopReason.HARD_RESET):  # back from the CSMS's Reset
                self.security_events.record(RESET, f"{reason} reset")
            if (cause := restart_cause(self.store)) is not None:  # 2.0.1's BootNotification says why
                self.adapter.boot_reason = cause.value
            self.systemd.ready(f"running, CSMS {self.adapter.url}")
            log.info("evsed running charge_point=%s connectors=%d backend=%s", self.config.charge_point.id,
                     self.config.charge_point.connectors, self.config.hardware.backend)
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.charge_point.run()), group.create_task(self.adapter.run()),
                         group.create_task(self.clock.watch()), group.create_task(self.reservations.run()),
                         group.create_task(self.smart_charging.run()),
                         group.create_task(self.firmware_updates.run()),
                         group.create_task(self.systemd.watchdog(self.charge_point, self._status_line))]
                await self.lifecycle.wait_stopping()
                reason = self.lifecycle.stop_reason
                log.info("stopping: opening contactors, ending transactions reason=%s", reason)
                self.systemd.stopping()
                self.gate.open_all("shutdown")
                await self.charge_point.shutdown(reason, keep_transactions=(
                    self.config.charge_point.resume_transactions and reason in RESUMABLE))
                await self._flush_outbox()
                await self.adapter.close()
                for task in tasks:
                    task.cancel()
        finally:
            self.gate.open_all("exit")
            await self.hardware.aclose()
            await self.control.close()
            self.store.close()

    def _status_line(self) -> str:
        connectors = ", ".join(f"{c.id} {c.state}" for c in self.charge_point.connectors.values())
        link = "CSMS connected" if self.adapter.online else "CSMS not connected"
        return f"{link}; connectors {connectors}; {self.outbox.depth()} queued"

    async def _flush_outbox(self) -> None:
        """Give queued transaction messages a moment to reach the CSMS; what is left stays queued."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_FLUSH_S):
                while self.adapter.online and self.outbox.depth():
                    await self.outbox.wait_removed()


async def _described(commands: ControlCommands) -> str:
    """What `evsed status` prints now."""
    return (await commands.state()).describe()
