"""The QR flow's CSMS half, for the demo (`evsed demo --serve`): what a driver with no card sees after scanning the
sticker, on top of the loopback CSMS (the `ocpp` library, OCPP 1.6).

A session: the driver picks a budget; the backend makes a fresh idTag (18 characters: "QR" and 16 hex digits, never
reused), sends RemoteStartTransaction with a TxProfile capping the connector at the tariff's current, waits for the
plug (the charger's ConnectionTimeOut; past it the wait ends with a message), follows the charger's MeterValues
(energy, power, cost, duration) and sends RemoteStopTransaction when the cost reaches the budget or the driver taps
Stop; the StopTransaction makes the receipt. Every change is pushed to the pages watching that connector
(`subscribe`). The page and its websocket are `qr_server`'s.
"""

import asyncio
import itertools
import logging
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ocpp.v16 import call

from firmware.clock import parse_time
from firmware.demo.loopback_csms import LoopbackCsms, Received

log = logging.getLogger(__name__)

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"


@dataclass(frozen=True)
class Tariff:
    """The demo's price, shown before any commitment."""

    price_per_kwh: float = 0.40
    currency: str = "EUR"
    budgets: tuple[float, ...] = (2.0, 5.0, 10.0)
    max_current_a: float = 10.0
    """The power cap of a QR session: its TxProfile's limit, amperes per phase."""


@dataclass
class Session:
    id_tag: str
    charge_point: str
    connector: int
    budget: float
    state: str = "waiting"
    """waiting (for the plug) → charging → stopping → done; or timeout (no plug in time), rejected (the charger
    refused the start)."""
    reason: str = ""
    started_at: str | None = None
    stopped_at: str | None = None
    meter_start: int | None = None
    energy_wh: float = 0.0
    power_w: float = 0.0
    cost: float = 0.0
    transaction_id: int | None = None
    stop_reason: str | None = None

    def view(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ConnectorView:
    status: str = "Unknown"
    session: Session | None = None
    subscribers: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)


class QrBackend:
    def __init__(self, csms: LoopbackCsms, connectors: dict[str, int], tariff: Tariff,
                 plug_timeout_s: float) -> None:
        """`connectors`: charge point id → how many connectors it has (the pages for anything else say so)."""
        self.csms = csms
        self.tariff = tariff
        self.plug_timeout_s = plug_timeout_s
        self._known = connectors
        self._views: dict[tuple[str, int], ConnectorView] = {
            (cp, n): ConnectorView() for cp, count in connectors.items() for n in range(1, count + 1)}
        self._used: set[str] = set()
        self._start_keys: dict[str, tuple[Any, ...]] = {}
        """idTag → its StartTransaction, as the loopback CSMS files the transactionId it gave (`started`)."""
        self._profile_ids = itertools.count(1000)
        self.sessions: dict[str, Session] = {}
        """Every session by idTag, for the receipts."""

    def knows(self, charge_point: str, connector: int) -> bool:
        return (charge_point, connector) in self._views

    def describe(self, charge_point: str, connector: int) -> dict[str, Any]:
        """What a page shows: the charger, the connector's status, the tariff and its session (a running one is
        found again when the page is reopened)."""
        view = self._views[(charge_point, connector)]
        return {"charge_point": charge_point, "connector": connector, "status": view.status,
                "tariff": asdict(self.tariff), "session": view.session.view() if view.session else None}

    # --- pages ----------------------------------------------------------------------------------

    def subscribe(self, charge_point: str, connector: int) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._views[(charge_point, connector)].subscribers.add(queue)
        queue.put_nowait(self.describe(charge_point, connector))
        return queue

    def unsubscribe(self, charge_point: str, connector: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._views[(charge_point, connector)].subscribers.discard(queue)

    def _push(self, charge_point: str, connector: int) -> None:
        described = self.describe(charge_point, connector)
        for queue in self._views[(charge_point, connector)].subscribers:
            queue.put_nowait(described)

    # --- the driver's taps --------------------------------------------------------------------------

    def new_id_tag(self) -> str:
        """One idTag per session, never reused: "QR" and 16 hex digits (18 characters, within 1.6's 20)."""
        while (id_tag := "QR" + secrets.token_hex(8).upper()) in self._used:
            pass
        self._used.add(id_tag)
        return id_tag

    async def start(self, charge_point: str, connector: int, budget: float) -> Session:
        """RemoteStartTransaction with the session's TxProfile; the session waits for the plug."""
        view = self._views[(charge_point, connector)]
        if view.session is not None and view.session.state in ("waiting", "charging", "stopping"):
            return view.session
        if not 0 < budget <= 1000:
            raise ValueError("the budget must be more than 0 and at most 1000")
        session = Session(self.new_id_tag(), charge_point, connector, round(budget, 2))
        self.sessions[session.id_tag] = view.session = session
        profile = {"charging_profile_id": next(self._profile_ids), "stack_level": 0,
                   "charging_profile_purpose": "TxProfile", "charging_profile_kind": "Relative",
                   "charging_schedule": {"charging_rate_unit": "A", "charging_schedule_period": [
                       {"start_period": 0, "limit": self.tariff.max_current_a}]}}
        answer = await self.csms.call(charge_point, call.RemoteStartTransaction(
            id_tag=session.id_tag, connector_id=connector, charging_profile=profile))
        log.info("QR session requested charge_point=%s connector=%d budget=%.2f status=%s", charge_point, connector,
                 budget, answer.status)
        if answer.status != "Accepted":
            self._end(session, "rejected", "the charger did not accept the start")
        else:
            asyncio.get_running_loop().call_later(self.plug_timeout_s, self._plug_timeout, session)
            self._push(charge_point, connector)
        return session

    async def stop(self, charge_point: str, connector: int, why: str = "stopped by the driver") -> None:
        session = self._views[(charge_point, connector)].session
        if session is None:
            return
        if session.state == "waiting":
            self._end(session, "done", "cancelled before the plug")
        elif session.state == "charging" and self._transaction_id(session) is not None:
            session.state, session.reason = "stopping", why
            self._push(charge_point, connector)
            await self.csms.call(charge_point, call.RemoteStopTransaction(transaction_id=self._transaction_id(session)))

    def _plug_timeout(self, session: Session) -> None:
        if session.state == "waiting":
            self._end(session, "timeout", f"no EV was plugged in within {self.plug_timeout_s:.0f} s; nothing was "
                                          "charged")

    def _end(self, session: Session, state: str, reason: str) -> None:
        session.state, session.reason = state, reason
        self._push(session.charge_point, session.connector)

    # --- what the charger says ------------------------------------------------------------------------

    def observe(self, message: Received) -> None:
        """Every CALL the charger sends (the loopback CSMS's `on_message`)."""
        p = message.payload
        if message.action == "StatusNotification" and (message.charge_point, p["connectorId"]) in self._views:
            self._views[(message.charge_point, p["connectorId"])].status = p["status"]
            self._push(message.charge_point, p["connectorId"])
        elif message.action == "StartTransaction" and (session := self.sessions.get(p["idTag"])) is not None:
            session.state, session.reason = "charging", ""
            session.started_at, session.meter_start = p["timestamp"], p["meterStart"]
            self._start_keys[session.id_tag] = (message.charge_point, p["connectorId"], p["idTag"], p["meterStart"],
                                                p["timestamp"])
            self._push(session.charge_point, session.connector)
        elif message.action == "MeterValues" and (session := self._charging(message)) is not None:
            self._sampled(session, p["meterValue"])
        elif message.action == "StopTransaction" and (session := self._by_transaction(p["transactionId"])):
            self._sampled(session, [{"timestamp": p["timestamp"], "sampledValue": [
                {"value": str(p["meterStop"]), "measurand": ENERGY, "unit": "Wh"}]}])
            session.stopped_at, session.stop_reason = p["timestamp"], p.get("reason", "Local")
            self._end(session, "done", session.reason or "the session ended at the charger")

    def _transaction_id(self, session: Session) -> int | None:
        """The transactionId the CSMS gave the session's start (it answers after `observe` was told of it)."""
        if session.transaction_id is None and session.id_tag in self._start_keys:
            session.transaction_id = self.csms.started.get(self._start_keys[session.id_tag])
        return session.transaction_id

    def _charging(self, message: Received) -> Session | None:
        view = self._views.get((message.charge_point, message.payload["connectorId"]))
        session = view.session if view else None
        return session if session is not None and session.state in ("charging", "stopping") else None

    def _by_transaction(self, transaction_id: int) -> Session | None:
        return next((s for s in self.sessions.values() if self._transaction_id(s) == transaction_id), None)

    def _sampled(self, session: Session, values: list[dict[str, Any]]) -> None:
        """Energy, power and cost from the charger's samples; the budget stops the session once reached."""
        for value in values:
            for sampled in value["sampledValue"]:
                measurand = sampled.get("measurand", ENERGY)
                amount = float(sampled["value"]) * (1000 if sampled.get("unit") in ("kWh", "kW") else 1)
                if measurand == ENERGY and session.meter_start is not None:
                    session.energy_wh = max(amount - session.meter_start, 0.0)
                elif measurand == POWER:
                    session.power_w = amount
        session.cost = round(session.energy_wh / 1000 * self.tariff.price_per_kwh, 2)
        self._push(session.charge_point, session.connector)
        if session.state == "charging" and session.cost >= session.budget:
            log.info("QR session budget reached idTag=%s cost=%.2f", session.id_tag, session.cost)
            asyncio.get_running_loop().create_task(
                self.stop(session.charge_point, session.connector, "the budget was reached"))

    # --- the receipt ------------------------------------------------------------------------------------

    def receipt(self, id_tag: str) -> str | None:
        """The receipt of a finished session, as a text file, the same each time it is asked for (None: no such
        finished session)."""
        session = self.sessions.get(id_tag)
        if session is None or session.state != "done" or session.started_at is None:
            return None
        minutes = _minutes(session.started_at, session.stopped_at)
        lines = [f"Receipt - charger {session.charge_point}, connector {session.connector}",
                 f"Session: {session.id_tag}",
                 f"Start: {session.started_at}", f"Stop: {session.stopped_at}", f"Duration: {minutes:.1f} min",
                 f"Energy: {session.energy_wh / 1000:.3f} kWh",
                 f"Price: {self.tariff.price_per_kwh:.2f} {self.tariff.currency}/kWh",
                 f"Cost: {session.cost:.2f} {self.tariff.currency} (budget {session.budget:.2f})",
                 f"Ended: {session.reason}"]
        return "\n".join(lines) + "\n"


def _minutes(start: str, stop: str | None) -> float:
    began, ended = parse_time(start), parse_time(stop) if stop else None
    if began is None:
        return 0.0
    return ((ended or datetime.now(began.tzinfo)) - began).total_seconds() / 60

