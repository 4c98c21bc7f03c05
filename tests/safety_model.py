"""The harness and the model of the safety property test (issue 15, `tests/test_safety_property.py`).

The harness: the real daemon (`python -m firmware run`, `tests.conftest.Daemon`) on the simulated backend,
talking to the real loopback CSMS on 127.0.0.1, both driven from an event loop in a background thread
(`LoopThread`) so that Hypothesis's synchronous rules can wait on them. Every checked value comes from the
daemon's control socket (`state`: the simulated contactor's `contactor_closed`, the transaction, the EV, the
fault, the meter's register) and from the CSMS's side of the link.

The model: what the test knows without asking the charger — which cards the CSMS and the Local List know
and how, the configuration keys it set, whether the link is held down, which devices it broke — and from that
which idTags the configured authorization rules (`firmware.auth.authorizer`, OCPP 1.6 §3.5 and §9.1) let
start a transaction, and whether a refused idTag may keep energy (StopTransactionOnInvalidId false with a
MaxEnergyOnInvalidId above 0). `violations` turns one settled state into the list of broken rules; it is a
pure function, so a test can show it failing on a made-up state.
"""

import asyncio
import json
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ocpp.v16 import call

from firmware.demo.loopback_csms import LoopbackCsms
from tests.conftest import CHARGE_POINT, STARTUP_S, Daemon

T = TypeVar("T")
Value = bool | int
Settings = dict[str, Value]

CONNECTORS = (1, 2)
PAST = "2020-01-01T00:00:00Z"

QUIET_S = 0.12
"""A state is settled when nothing the test watches changed for this long (and nothing it must wait for is
still due): the daemon reacts to an event within milliseconds."""
POLL_S = 0.02
SETTLE_MAX_S = 8.0
"""The longest a step may take to settle; what is still due then is reported (a fault not detected, ...)."""
FLOW_WH = 0.01
"""Energy counted by the meter over a quiet window (≥ 0.12 s, the EV draws 11 kW: ≥ 0.36 Wh) beyond this
means energy flows."""
SAMPLE_INTERVAL_S = 1
"""MeterValueSampleInterval: a running transaction reads its meter this often, so a meter failure is seen."""


@dataclass(frozen=True)
class Card:
    """A card the test taps: what the CSMS answers for it (Authorize, StartTransaction.conf) and its Local
    List entry, if any."""

    tag: str
    csms: dict[str, str]
    listed: dict[str, str] | None
    what: str


CARDS = (
    Card("0A000001", {"status": "Accepted"}, None, "known"),
    Card("0E000001", {"status": "Invalid"}, None, "unknown"),
    Card("0D000001", {"status": "Expired"}, None, "expired at the CSMS"),
    Card("0C000001", {"status": "Accepted", "expiryDate": PAST}, None, "accepted, cached already past expiry"),
    Card("1A000001", {"status": "Accepted"}, {"status": "Accepted"}, "in the Local List"),
    Card("1D000001", {"status": "Expired"}, {"status": "Accepted", "expiryDate": PAST}, "listed, past expiry"),
    Card("1B000001", {"status": "Blocked"}, {"status": "Accepted"}, "listed, but blocked by the CSMS"),
)
BY_TAG = {card.tag: card for card in CARDS}
UNKNOWN_CARD_INFO = {"status": "Invalid"}

DEFAULTS: Settings = {
    "AllowOfflineTxForUnknownId": False,
    "StopTransactionOnInvalidId": True,
    "MaxEnergyOnInvalidId": 0,
    "LocalAuthorizeOffline": True,
    "LocalPreAuthorize": False,
    "AuthorizationCacheEnabled": True,
    "LocalAuthListEnabled": True,
    "AuthorizeRemoteTxRequests": False,
    "StopTransactionOnEVSideDisconnect": True,
}
"""The 1.6 keys the test varies, with evsed's defaults (`firmware.settings.SETTINGS`)."""
BOOLEAN_KEYS = tuple(k for k, v in DEFAULTS.items() if isinstance(v, bool))
MAX_ENERGY_VALUES = (0, 100_000)
"""MaxEnergyOnInvalidId: energy withheld at once, or never within a test (100 kWh at 11 kW: 9 hours)."""
FIXED_PRESETS: dict[str, Value] = {"MeterValueSampleInterval": SAMPLE_INTERVAL_S, "ConnectionTimeOut": 60}


def csms_verdict(id_tag: str) -> dict[str, str]:
    """The loopback CSMS's idTagInfo for `id_tag` (its `Behaviour.authorize`)."""
    card = BY_TAG.get(id_tag.upper())
    return dict(card.csms) if card else dict(UNKNOWN_CARD_INFO)


def valid(info: dict[str, str]) -> bool:
    """An idTagInfo that may start a session when stored locally (`IdTagInfo.at(now).valid`)."""
    if info["status"] not in ("Accepted", "ConcurrentTx"):
        return False
    expiry = info.get("expiryDate")
    return expiry is None or datetime.fromisoformat(expiry) > datetime.now(UTC)


def csms_accepts(id_tag: str) -> bool:
    """StartTransaction.conf accepts the idTag (only Accepted keeps a transaction, `IdTagInfo.accepted`)."""
    return csms_verdict(id_tag)["status"] == "Accepted"


def local_list_entries() -> list[dict[str, Any]]:
    """The SendLocalList (Full) the test sends at each boot."""
    return [{"idTag": c.tag, "idTagInfo": c.listed} for c in CARDS if c.listed is not None]


def keeps_energy_after_refusal(settings: Settings) -> bool:
    """StopTransactionOnInvalidId false and MaxEnergyOnInvalidId above 0: a refused idTag's transaction may
    go on drawing energy (OCPP 1.6 §9.1)."""
    return not settings["StopTransactionOnInvalidId"] and int(settings["MaxEnergyOnInvalidId"]) > 0


def wire(value: Value) -> str:
    """A value as ChangeConfiguration carries it."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass
class TxRecord:
    """A transaction the test saw running."""

    ref: int
    connector: int
    id_tag: str
    granted: bool
    """The configured rules let this idTag start here (a tap or RemoteStart the model granted)."""
    confirm_settings: list[Settings]
    """While unconfirmed: the settings in effect since it was last seen unconfirmed; once the CSMS's id is
    known, the settings one of which was in effect when StartTransaction.conf arrived."""
    confirmed: bool = False
    started_unavailable: bool = False
    """It started on a connector that was Inoperative (ChangeAvailability) all through the step that began it."""


@dataclass
class Expect:
    """What one step requires of the settled state, beyond the invariant."""

    ended: dict[int, int] = field(default_factory=dict)
    """connector → the tx_ref that must be over (a card's own stop, RemoteStop, an unplug that stops)."""
    after_restart: frozenset[int] | None = None
    """After Reset, or SIGTERM and a new start: the transactions that may go on (with `resume_transactions`,
    those a SIGTERM interrupted with the EV plugged); every other one ended, its contactor open."""


@dataclass
class Model:
    """What the test did and knows, and what the configured rules allow because of it."""

    settings: Settings = field(default_factory=lambda: dict(DEFAULTS))
    resume_transactions: bool = False
    """`[charge_point] resume_transactions`: a SIGTERM keeps transactions, resumed at the next start."""
    list_loaded: bool = False
    """The Local List the test sent was accepted (LocalAuthListEnabled was true then)."""
    link_up: bool = True
    plugged: dict[int, bool] = field(default_factory=lambda: dict.fromkeys(CONNECTORS, False))
    meter_failing: dict[int, bool] = field(default_factory=lambda: dict.fromkeys(CONNECTORS, False))
    welded: dict[int, bool] = field(default_factory=lambda: dict.fromkeys(CONNECTORS, False))
    grants: list[tuple[str, int | None]] = field(default_factory=list)
    """(idTag, connector or None for any) for each tap or RemoteStart the rules allow; each starts at most one
    transaction. Kept (over-approximating) until used or the daemon restarts."""
    txs: dict[int, TxRecord] = field(default_factory=dict)
    inoperative: set[int] = field(default_factory=set)
    """The levels ChangeAvailability made Inoperative (0: the whole charge point); stored, kept over restarts."""

    def unavailable(self, connector: int) -> bool:
        """No new session may start there (OCPP 1.6 §5.2, `Availability.unavailable`)."""
        return connector in self.inoperative or 0 in self.inoperative

    # --- the authorization rules (firmware.auth.authorizer, OCPP 1.6 §3.5) ----------------------------

    def stored_validity(self, id_tag: str) -> list[bool | None]:
        """What the charger may hold for `id_tag` (`Authorizer.stored`), as validity: its Local List entry
        while the list is enabled, else maybe nothing, maybe the CSMS's last answer in the cache."""
        card = BY_TAG.get(id_tag.upper())
        if self.settings["LocalAuthListEnabled"] and self.list_loaded and card and card.listed:
            return [valid(card.listed)]
        if self.settings["AuthorizationCacheEnabled"]:
            return [None, valid(csms_verdict(id_tag))]
        return [None]

    def may_grant(self, id_tag: str, online: bool) -> bool:
        """The configured rules can grant `id_tag` now (`Authorizer._decide`)."""
        s = self.settings
        for stored in self.stored_validity(id_tag):
            if online:
                if (stored and s["LocalPreAuthorize"]) or csms_accepts(id_tag):
                    return True
            elif stored is not None and (s["LocalAuthorizeOffline"] or not stored):
                if stored:
                    return True
            elif s["AllowOfflineTxForUnknownId"]:
                return True
        return False

    def may_grant_remote(self, id_tag: str) -> bool:
        """RemoteStartTransaction: the CSMS's request authorizes, unless AuthorizeRemoteTxRequests."""
        return not self.settings["AuthorizeRemoteTxRequests"] or self.may_grant(id_tag, online=True)

    def grant(self, id_tag: str, target: int | None) -> None:
        self.grants.append((id_tag.upper(), target))

    def _use_grant(self, id_tag: str, connector: int) -> bool:
        for wanted in (connector, None):  # a connector's own grant first: the other fits any connector
            if (id_tag.upper(), wanted) in self.grants:
                self.grants.remove((id_tag.upper(), wanted))
                return True
        return False

    def restarted(self) -> None:
        """The daemon started afresh: simulated faults are gone with the old process, pending starts too."""
        self.link_up = True
        self.meter_failing = dict.fromkeys(CONNECTORS, False)
        self.welded = dict.fromkeys(CONNECTORS, False)
        self.grants.clear()

    def settings_changed(self) -> None:
        for tx in self.txs.values():
            if not tx.confirmed:
                tx.confirm_settings.append(dict(self.settings))

    # --- reading a settled state -----------------------------------------------------------------------

    def observe(self, state: dict[str, Any], settings_before: Settings, unavailable_before: set[int]) -> None:
        """Take note of new transactions (each uses a grant) and of confirmations. `unavailable_before`: the
        connectors unavailable when the step began."""
        for c in state["connectors"]:
            ref = c["tx_ref"]
            if ref is None:
                continue
            tx = self.txs.get(ref)
            if tx is None:
                tx = self.txs[ref] = TxRecord(ref, c["id"], c["id_tag"], self._use_grant(c["id_tag"], c["id"]),
                                              [dict(settings_before), dict(self.settings)],
                                              started_unavailable=c["id"] in unavailable_before
                                              and self.unavailable(c["id"]))
            if tx.confirmed:
                continue
            if c["transaction_id"] is not None:
                tx.confirmed = True
            else:
                tx.confirm_settings = [dict(self.settings)]


def violations(state: dict[str, Any], flow_wh: dict[int, float | None], model: Model, expect: Expect) -> list[str]:
    """The safety rule and the step's expectations checked on a settled state; [] when all hold.

    For each connector: a closed contactor needs a transaction the rules allowed (and not begun on an
    Inoperative connector), an EV plugged, no fault and a meter that works; a transaction the CSMS refused
    keeps energy only where StopTransactionOnInvalidId false and MaxEnergyOnInvalidId > 0 allow it, and ends
    where StopTransactionOnInvalidId says so; energy flows only through a closed contactor; a welded contact
    is reported; a failing meter ends the session; what the step ends is over.
    """
    found: list[str] = []
    for c in state["connectors"]:
        n, closed, ref = c["id"], c["contactor_closed"], c["tx_ref"]
        tx = model.txs.get(ref) if ref is not None else None

        def bad(what: str, n: int = n) -> None:
            found.append(f"connector {n}: {what}")

        if closed:
            if ref is None:
                bad("contactor closed without a transaction")
            if not c["plugged"]:
                bad("contactor closed with no EV plugged in")
            if c["error_code"] != "NoError":
                bad(f"contactor closed while Faulted ({c['error_code']})")
            if model.meter_failing[n]:
                bad("contactor closed while its meter fails")
            if tx is not None and tx.confirmed and not csms_accepts(tx.id_tag) and not any(
                    keeps_energy_after_refusal(s) for s in tx.confirm_settings):
                bad(f"contactor closed after the CSMS refused idTag {tx.id_tag} (settings when confirmed: "
                    f"{[(s['StopTransactionOnInvalidId'], s['MaxEnergyOnInvalidId']) for s in tx.confirm_settings]})")
        if tx is not None and tx.started_unavailable:
            bad(f"transaction {ref} started although the connector is Inoperative")
        if tx is not None and not tx.granted:
            bad(f"transaction {ref} runs for idTag {tx.id_tag}, which the rules did not grant here "
                f"(contactor {'closed' if closed else 'open'})")
        if tx is not None and tx.confirmed and not csms_accepts(tx.id_tag) and all(
                s["StopTransactionOnInvalidId"] for s in tx.confirm_settings):
            bad(f"transaction {ref} of idTag {tx.id_tag}, refused by the CSMS, still runs although "
                "StopTransactionOnInvalidId is true")
        if (flow := flow_wh.get(n)) is not None and flow > FLOW_WH and not closed:
            bad(f"energy flows ({flow:.3f} Wh in the quiet window) with the contactor commanded open")
        if model.welded[n] and not closed and c["error_code"] != "PowerSwitchFailure":
            bad(f"welded contact not reported (error_code {c['error_code']})")
        if model.meter_failing[n] and ref is not None:
            bad(f"transaction {ref} still runs on a failing meter")
        if expect.ended.get(n) is not None and ref == expect.ended[n]:
            bad(f"transaction {ref} should have ended (contactor {'closed' if closed else 'open'})")
        if expect.after_restart is not None and ref is not None and ref not in expect.after_restart:
            bad(f"after a restart: transaction {ref} runs (contactor {'closed' if closed else 'open'})")
    return found


def due(state: dict[str, Any], model: Model, expect: Expect) -> list[str]:
    """What the daemon still has to do, with some latency, before the state can be judged: reconnect or
    hold the link down, detect a welded contact (0.5 s) or a failing meter (a sample interval), end what the
    step ends, stop or withhold energy where the CSMS refused an idTag, send what it queued while online."""
    waiting: list[str] = []
    link = state["link"]
    if link["connected"] is not model.link_up or (model.link_up and link["registration"] != "Accepted"):
        waiting.append("link")
    elif model.link_up and state["outbox"]["depth"]:
        waiting.append("outbox")
    for c in state["connectors"]:
        n, ref = c["id"], c["tx_ref"]
        if model.welded[n] and not c["contactor_closed"] and c["error_code"] != "PowerSwitchFailure":
            waiting.append(f"connector {n}: weld detection")
        if model.meter_failing[n] and ref is not None:
            waiting.append(f"connector {n}: meter failure detection")
        if ref is not None and expect.ended.get(n) == ref:
            waiting.append(f"connector {n}: end of transaction {ref}")
        if ref is not None and c["transaction_id"] is not None and not csms_accepts(c["id_tag"]):
            tx = model.txs.get(ref)
            candidates = tx.confirm_settings if tx is not None else [model.settings]
            if all(s["StopTransactionOnInvalidId"] for s in candidates) or (
                    c["contactor_closed"] and not any(keeps_energy_after_refusal(s) for s in candidates)):
                waiting.append(f"connector {n}: the CSMS refused transaction {ref}")
        if expect.after_restart is not None and ref is not None and ref not in expect.after_restart:
            waiting.append(f"connector {n}: end of transaction {ref} after the restart")
    return waiting


SIGNATURE_FIELDS = ("status", "contactor_closed", "transaction_id", "tx_ref", "id_tag", "plugged", "ev_requesting",
                    "error_code", "awaiting_start", "locked")


def signature(state: dict[str, Any], csms_messages: int) -> tuple[Any, ...]:
    """What must stop changing for a state to be settled (not the meter's register: it counts on)."""
    return (tuple(tuple(c[f] for f in SIGNATURE_FIELDS) for c in state["connectors"]),
            state["link"]["connected"], state["link"]["registration"], state["outbox"]["depth"], csms_messages)


@dataclass
class Settled:
    state: dict[str, Any]
    flow_wh: dict[int, float | None]
    """Energy the meter counted over the quiet window, per connector (None: unreadable)."""
    waiting: list[str]
    """What was still due when SETTLE_MAX_S ran out ([] when settled)."""


class LoopThread:
    """An event loop in a background thread: Hypothesis's rules are synchronous, the daemon's control socket
    and the CSMS are asyncio."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="safety-property-loop", daemon=True)
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, T], within: float) -> T:
        """Run `work` on the loop, at most `within` seconds (TimeoutError)."""
        return asyncio.run_coroutine_threadsafe(asyncio.wait_for(work, within), self.loop).result(within + 5)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Station:
    """One example's charger: a daemon in a fresh working directory, booted against the shared CSMS."""

    def __init__(self, csms: LoopbackCsms, workdir: Path, presets: Settings, resume_transactions: bool) -> None:
        self.csms = csms
        self.workdir = workdir
        workdir.mkdir(parents=True)
        self.daemon = Daemon(workdir, csms.url, len(CONNECTORS), ocpp={**FIXED_PRESETS, **presets},
                             resume_transactions=resume_transactions)

    def boots(self) -> int:
        return len(self.csms.of("BootNotification"))

    async def start(self) -> None:
        """Start the daemon and wait (bounded) until it booted, registered and reported every connector."""
        boots = self.boots()
        await self.daemon.start()
        await self.csms.wait_until(lambda: self.boots() > boots, within=STARTUP_S)
        await self.wait_answering()

    async def wait_answering(self, within: float = STARTUP_S) -> None:
        """Until the control socket answers (after a restart the socket comes back last)."""
        async with asyncio.timeout(within):
            while True:
                assert self.daemon.proc is not None and self.daemon.proc.returncode is None, "the daemon died"
                try:
                    await self.daemon.state()
                    return
                except OSError:
                    await asyncio.sleep(POLL_S)

    async def send_local_list(self) -> str:
        unique_id = str(uuid.uuid4())
        payload = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": local_list_entries()}
        frame = await self.csms.send_raw(CHARGE_POINT, json.dumps([2, unique_id, "SendLocalList", payload]),
                                         unique_id)
        assert frame[0] == 3, frame
        return frame[2]["status"]

    async def cmd(self, **command: Any) -> dict[str, Any]:
        return await self.daemon.cmd(**command)

    async def call(self, payload: Any) -> Any:
        return await self.csms.call(CHARGE_POINT, payload)

    async def reset(self, kind: str) -> str:
        """Reset.req; once accepted, wait (bounded) until the restarted daemon booted and answers."""
        boots = self.boots()
        status = (await self.call(call.Reset(type=kind))).status
        if status == "Accepted":
            await self.csms.wait_until(lambda: self.boots() > boots, within=20)
            await self.wait_answering()
        return status

    async def sigterm_and_start(self) -> tuple[int, dict[int, float]]:
        """Stop the daemon as the service manager does, then start it again in the same directory. Returns
        its exit code and, per connector, the power the simulated meter saved when the daemon had exited."""
        code = await self.daemon.stop()
        power = {n: float(json.loads((self.workdir / "state" / f"sim-meter-{n}.json").read_text())["power_w"])
                 for n in CONNECTORS}
        await self.start()
        return code, power

    def csms_messages(self) -> int:
        return sum(1 for m in self.csms.received if m.action not in ("MeterValues", "Heartbeat"))

    async def settle(self, due: Callable[[dict[str, Any]], list[str]]) -> Settled:
        """Poll the state until nothing is `due` and it stayed the same for QUIET_S, at most SETTLE_MAX_S."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_MAX_S
        key: tuple[Any, ...] | None = None
        quiet_since, energy_then = loop.time(), {}
        while True:
            state = await self.daemon.state()
            now = loop.time()
            energy = {c["id"]: c["energy_wh"] for c in state["connectors"]}
            waiting = due(state)
            new_key = signature(state, self.csms_messages())
            if new_key != key or waiting:
                key, quiet_since, energy_then = new_key, now, energy
            elif now - quiet_since >= QUIET_S:
                return Settled(state, {n: None if energy[n] is None or energy_then[n] is None
                                       else energy[n] - energy_then[n] for n in energy}, [])
            if now > deadline:
                return Settled(state, dict.fromkeys(energy), waiting or ["a quiet state"])
            await asyncio.sleep(POLL_S)

    async def kill(self) -> None:
        proc = self.daemon.proc
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.daemon.log().splitlines()[-lines:])
