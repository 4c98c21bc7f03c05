"""The control socket's commands: the daemon's state, what it knows about a card, the self-test, and (on the
simulated backend) the buttons a driver or an electrician would press: tap, plug, unplug, pause, resume,
link down/up, device faults."""

import logging
from dataclasses import asdict
from typing import Any, Protocol

from firmware.auth.authorizer import Authorizer
from firmware.core.chargepoint import ChargePoint
from firmware.daemon.control_socket import ControlError, Handler, argument, optional_argument
from firmware.daemon.hardware import Hardware
from firmware.daemon.state import AuthorizationView, ConnectorView, DaemonState, LinkView, OutboxView
from firmware.protocol.connection import Connection
from firmware.transactions.outbox import Outbox
from hal import MeterError, MeterReading
from hal.sim import SimConnector, SimStation

log = logging.getLogger(__name__)


class Link(Protocol):
    """What the commands read of the protocol adapter."""

    connection: Connection

    @property
    def url(self) -> str: ...

    @property
    def online(self) -> bool: ...

    @property
    def registration(self) -> str: ...

    def transaction_id(self, remote_id: str) -> int | str: ...


class ControlCommands:
    def __init__(self, charge_point_id: str, charge_point: ChargePoint, hardware: Hardware, authorizer: Authorizer,
                 outbox: Outbox, link: Link) -> None:
        self._id = charge_point_id
        self._charge_point = charge_point
        self._hardware = hardware
        self._authorizer = authorizer
        self._outbox = outbox
        self._link = link

    def handlers(self) -> dict[str, Handler]:
        return {"state": self._state, "card": self._card, "tap": self._tap, "plug": self._plug, "unplug": self._unplug,
                "pause": self._pause, "resume": self._resume, "link": self._set_link, "fault": self._fault,
                "selftest": self._selftest}

    async def state(self) -> DaemonState:
        connectors = []
        for c in self._charge_point.connectors.values():
            try:
                reading: MeterReading | None = await c.devices.meter.read()
            except MeterError:
                reading = None
            energy_wh = reading.energy_wh if reading else None
            plug = c.devices.plug.state
            sim = self._hardware.sim
            connectors.append(ConnectorView(
                id=c.id, status=c.state.value, contactor_closed=c.devices.contactor.commanded_closed,
                energy_wh=None if energy_wh is None else round(energy_wh, 3),
                transaction_id=self._link.transaction_id(c.tx.remote_id) if c.tx and c.tx.remote_id else None,
                tx_ref=c.tx.ref if c.tx else None, id_tag=c.tx.id_tag if c.tx else None, plugged=plug.plugged,
                ev_requesting=plug.requesting, locked=c.devices.lock.locked,
                error_code=c.fault.error_code.value if c.fault else "NoError",
                fault_info=c.fault.info if c.fault else None,
                vendor_error_code=c.fault.vendor_error_code if c.fault else None,
                awaiting_start=c.pending is not None,
                contactor_changed_at=sim.connectors[c.id].contactor.changed_at if sim else None,
                reservation_id=c.held_by.id if c.held_by is not None else None, offered_current_a=c.limit_a,
                power_w=reading.power_w if reading else None))
        link, connection = self._link, self._link.connection
        return DaemonState(
            charge_point=self._id, connectors=connectors,
            reader_problem=self._hardware.shared_reader.problem if self._hardware.shared_reader else None,
            link=LinkView(url=link.url, connected=connection.connected, wanted=connection.wanted,
                          registration=str(link.registration)),
            outbox=OutboxView(depth=self._outbox.depth(), oldest_unsent=self._outbox.oldest(),
                              dead_letters=self._outbox.dead_letter_count()),
            authorization=AuthorizationView(local_list_version=self._authorizer.local_list_version(),
                                            local_list_entries=self._authorizer.local_list.count(),
                                            cache_entries=self._authorizer.cache.count()))

    async def _state(self, request: dict[str, Any]) -> dict[str, Any]:
        return (await self.state()).to_json()

    async def _card(self, request: dict[str, Any]) -> dict[str, Any]:
        """What the charger knows about an idTag: its Local List and cache entries, and which one
        a local decision would use now (expiry applied)."""
        id_tag = optional_argument(request, "id_tag", str) or ""
        if not id_tag:
            raise ControlError("give the card's idTag")
        listed, cached = self._authorizer.local_list.lookup(id_tag), self._authorizer.cache.lookup(id_tag)
        stored = self._authorizer.stored(id_tag)
        return {"id_tag": id_tag, "local_list": asdict(listed) if listed else None,
                "cache": asdict(cached) if cached else None,
                "now": {"source": stored[1].value, "status": stored[0].status.value} if stored else None}

    async def _selftest(self, request: dict[str, Any]) -> dict[str, Any]:
        """`evsed selftest` while the daemon runs: it owns the devices, so it checks them."""
        from firmware.daemon.selftest import Check, check_devices  # an installer's command: loaded when asked

        in_use = {c.id for c in self._charge_point.connectors.values() if c.tx is not None}
        checks = await check_devices(self._hardware, in_use, readers_running=True)
        link = self._link
        state = "connected" if link.connection.connected else "not connected"
        csms = Check("CSMS", link.online, f"{link.url}: {state}, registration {link.registration}",
                     "" if link.online else "check the network, [csms] url and the journal for the link's errors")
        return {"checks": [c.to_json() for c in [*checks, csms]]}

    async def _set_link(self, request: dict[str, Any]) -> dict[str, Any]:
        state = argument(request, "state", str)
        if state not in ("up", "down"):
            raise ControlError("link state must be 'up' or 'down'")
        self._link.connection.set_wanted(state == "up")
        return {}

    # --- the simulated devices ------------------------------------------------------------------

    def _sim_station(self) -> SimStation:
        if self._hardware.sim is None:
            raise ControlError("not a simulated charge point (hardware backend is not 'sim')")
        return self._hardware.sim

    def _sim_connector(self, request: dict[str, Any]) -> SimConnector:
        """The simulated connector the request's `connector` (an integer) names."""
        station = self._sim_station()
        number = argument(request, "connector", int)
        connector = station.connectors.get(number)
        if connector is None:
            raise ControlError(f"no connector {number}; this charge point has "
                               f"{', '.join(str(n) for n in station.connectors)}")
        return connector

    async def _tap(self, request: dict[str, Any]) -> dict[str, Any]:
        uid = argument(request, "uid", str)
        shared = optional_argument(request, "connector", int) is None
        reader = self._sim_station().reader if shared else self._sim_connector(request).reader
        try:
            return {"uid": reader.present(uid)}
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

    async def _fault(self, request: dict[str, Any]) -> dict[str, Any]:
        """Fault injection on the simulated devices: meter N, weld N, reader N (0: the shared one)."""
        on = optional_argument(request, "on", bool) or False
        device = optional_argument(request, "device", str)
        if device == "reader" and argument(request, "connector", int) == 0:
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
