"""Safety under random event sequences (issue 15): a Hypothesis state machine drives the real daemon on
simulated hardware, against the real loopback CSMS on 127.0.0.1, with random interleavings of plug and unplug,
EV pause and resume, taps of known, unknown and expired cards (connector readers and the shared one),
RemoteStart, RemoteStop and UnlockConnector, link down and up, meter and weld faults, ChangeConfiguration of
the authorization and stop keys, ChangeAvailability, SendLocalList, ClearCache, Reset and a SIGTERM restart
(with `resume_transactions` or without). After every step, once
the daemon settled, it checks evsed's safety rule on the simulated contactors (`tests/safety_model.py`,
`violations`): a contactor is closed only inside a transaction the configured authorization rules allow, on a
connector with an EV plugged and no fault, and every stop, fault and reset path leaves it open.

CI runs a bounded, derandomized session (about a minute):

    .venv/bin/python -m pytest tests/test_safety_property.py

The long version draws fresh sequences each run (EVSED_PROPERTY_STEPS sets the steps per example, 30):

    EVSED_PROPERTY_EXAMPLES=500 .venv/bin/python -m pytest tests/test_safety_property.py

Each example starts its own daemon in a fresh directory (~0.5 s); the steps of a failing example, shrunk, are
printed by Hypothesis, with the daemon's log.
"""

import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test
from ocpp.v16 import call

from firmware.demo.loopback_csms import Behaviour, LoopbackCsms
from tests.safety_model import (
    BOOLEAN_KEYS,
    CARDS,
    CONNECTORS,
    DEFAULTS,
    MAX_ENERGY_VALUES,
    SETTLE_MAX_S,
    Expect,
    LoopThread,
    Model,
    Settings,
    Settled,
    Station,
    TxRecord,
    csms_verdict,
    due,
    violations,
    wire,
)

CI_EXAMPLES = 8
EXAMPLES = int(os.environ.get("EVSED_PROPERTY_EXAMPLES") or CI_EXAMPLES)
STEPS = int(os.environ.get("EVSED_PROPERTY_STEPS") or 30)
LONG_RUN = "EVSED_PROPERTY_EXAMPLES" in os.environ

TAGS = st.one_of(st.sampled_from([card.tag for card in CARDS if card.csms["status"] == "Accepted"]),
                 st.sampled_from([card.tag for card in CARDS]))
"""Any card, half the time one the CSMS accepts (so that sessions run)."""
CONNECTOR = st.sampled_from(CONNECTORS)
CSMS_CONFIGURES = st.one_of(st.tuples(st.sampled_from(BOOLEAN_KEYS), st.booleans()),
                            st.tuples(st.just("MaxEnergyOnInvalidId"), st.sampled_from(MAX_ENERGY_VALUES)),
                            st.sampled_from(["SendLocalList", "ClearCache"]))
IN_FLIGHT = st.one_of(st.none(), st.none(), st.tuples(st.just("link"), st.just(0)),
                      st.tuples(st.sampled_from(["plug", "meter"]), CONNECTOR))
"""Most often nothing; else an event sent right after a tap or a RemoteStart, before it is decided: a plug or
unplug, the link going down or up, a meter fault (or its end)."""
PRESETS = st.fixed_dictionaries({**{k: st.booleans() for k in BOOLEAN_KEYS},
                                 "MaxEnergyOnInvalidId": st.sampled_from(MAX_ENERGY_VALUES)})
"""The [ocpp] table each example's daemon starts with."""


class Harness:
    """What lives across examples: the event loop thread and the CSMS; each example gets a fresh directory."""

    def __init__(self, base: Path) -> None:
        self.loop = LoopThread()
        self.csms = self.loop.run(self._start_csms(), 10)
        self.base = base
        self._examples = 0
        self.workdir: Path | None = None

    @staticmethod
    async def _start_csms() -> LoopbackCsms:
        csms = LoopbackCsms(Behaviour(authorize=csms_verdict))
        await csms.start()
        return csms

    def new_workdir(self) -> Path:
        """A fresh directory; the previous example's goes (the last one stays, with the log of a failure)."""
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._examples += 1
        self.workdir = self.base / f"example-{self._examples}"
        self.csms.received.clear()
        return self.workdir

    def close(self) -> None:
        self.loop.run(self.csms.stop(), 15)
        self.loop.close()


class SafetyMachine(RuleBasedStateMachine):
    """One example: a daemon booted with random presets, then random steps, each checked once settled."""

    harness: ClassVar[Harness]

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.station: Station | None = None
        self.last: dict[str, Any] = {}
        """The last settled state."""
        self.unavailable: set[int] = set()
        """The connectors unavailable when the last settled state was taken."""

    # --- plumbing ---------------------------------------------------------------------------------------

    def _run(self, work: Any, within: float = 30.0) -> Any:
        return self.harness.loop.run(work, within)

    @property
    def _station(self) -> Station:
        assert self.station is not None
        return self.station

    def _connector(self, n: int) -> dict[str, Any]:
        return next(c for c in self.last["connectors"] if c["id"] == n)

    def _check(self, expect: Expect, settings_before: Settings | None = None,
               problems: list[str] | None = None) -> None:
        """Settle, then assert the safety rule and the step's expectations."""
        settled: Settled = self._run(self._station.settle(lambda state: due(state, self.model, expect)),
                                     SETTLE_MAX_S + 10)
        self.model.observe(settled.state, settings_before or self.model.settings, self.unavailable)
        self.unavailable = {n for n in CONNECTORS if self.model.unavailable(n)}
        found = [*(problems or []), *violations(settled.state, settled.flow_wh, self.model, expect)]
        still_due = [w for w in settled.waiting if w != "outbox"]
        if still_due:
            found.append(f"still due after {SETTLE_MAX_S} s: {', '.join(still_due)}")
        self.last = settled.state
        assert not found, self._report(found, settled)

    def _report(self, found: list[str], settled: Settled) -> str:
        connectors = "\n".join(f"  {c}" for c in settled.state["connectors"])
        txs = "\n".join(f"  {tx}" for tx in self.model.txs.values())
        return ("safety rule broken:\n- " + "\n- ".join(found) + f"\nstate:\n{connectors}"
                f"\nlink {settled.state['link']}\nsettings {self.model.settings}\ntransactions seen:\n{txs}"
                f"\ngrants {self.model.grants}"
                f"\ndaemon log {self._station.daemon.log_path}, last lines:\n{self._station.log_tail()}")

    # --- the example's charger --------------------------------------------------------------------------

    @initialize(presets=PRESETS, resume_transactions=st.booleans(), plugged=st.sets(CONNECTOR))
    def boot(self, presets: Settings, resume_transactions: bool, plugged: set[int]) -> None:
        """A fresh daemon with these [ocpp] presets and `[charge_point] resume_transactions`, the test's Local
        List, and EVs plugged into some connectors."""
        self.model.settings.update(presets)
        self.model.resume_transactions = resume_transactions
        self.station = Station(self.harness.csms, self.harness.new_workdir(), presets, resume_transactions)
        self._run(self._station.start())
        status = self._run(self._station.send_local_list())
        assert status == ("Accepted" if presets["LocalAuthListEnabled"] else "NotSupported"), status
        self.model.list_loaded = status == "Accepted"
        for n in sorted(plugged):
            self._plug_or_unplug(n, Expect())
        self._check(Expect())

    def teardown(self) -> None:
        if self.station is not None:
            self._run(self.station.kill())

    # --- events that need no CSMS, also sent while a card or a RemoteStart is being decided ------------------

    def _plug_or_unplug(self, n: int, expect: Expect) -> None:
        """An EV plugs in (asking for energy), or the one there is unplugged (which ends its transaction
        where StopTransactionOnEVSideDisconnect says so)."""
        if not self.model.plugged[n]:
            self._run(self._station.cmd(cmd="plug", connector=n))
            self.model.plugged[n] = True
            return
        ref = self._connector(n)["tx_ref"]
        if ref is not None and self.model.settings["StopTransactionOnEVSideDisconnect"]:
            expect.ended[n] = ref
        self._run(self._station.cmd(cmd="unplug", connector=n))
        self.model.plugged[n] = False

    def _link_down_or_up(self) -> None:
        """The network to the CSMS goes away, or comes back."""
        self.model.link_up = not self.model.link_up
        self._run(self._station.cmd(cmd="link", state="up" if self.model.link_up else "down"))

    def _device_fails_or_recovers(self, device: str, n: int) -> None:
        """The meter stops answering (or answers again); the contact welds closed (or comes free)."""
        faults = self.model.meter_failing if device == "meter" else self.model.welded
        faults[n] = not faults[n]
        self._run(self._station.cmd(cmd="fault", device=device, connector=n, on=faults[n]))

    def _event(self, event: tuple[str, int], expect: Expect) -> None:
        what, n = event
        if what == "plug":
            self._plug_or_unplug(n, expect)
        elif what == "link":
            self._link_down_or_up()
        else:
            self._device_fails_or_recovers(what, n)

    # --- the EV ---------------------------------------------------------------------------------------------

    @rule(n=CONNECTOR)
    def plug_or_unplug(self, n: int) -> None:
        expect = Expect()
        self._plug_or_unplug(n, expect)
        self._check(expect)

    @rule(n=CONNECTOR)
    def ev_pauses_or_resumes(self, n: int) -> None:
        """The plugged EV stops asking for energy, or asks again (control pilot C ↔ B); with no EV there,
        one plugs in."""
        expect = Expect()
        if not self.model.plugged[n]:
            self._plug_or_unplug(n, expect)
        else:
            requesting = self._connector(n)["ev_requesting"]
            self._run(self._station.cmd(cmd="pause" if requesting else "resume", connector=n))
        self._check(expect)

    # --- cards and the CSMS ---------------------------------------------------------------------------------

    def _tap(self, tag: str, reader: int | None, then: tuple[str, int] | None) -> None:
        """A card: it stops its own transaction, else (cancels its waiting start or) maybe starts one; `then`
        happens at once, while the card is being decided (a link change: either side of it decides)."""
        candidates = [reader] if reader is not None else list(CONNECTORS)
        owner = next((n for n in candidates if (self._connector(n)["id_tag"] or "").upper() == tag), None)
        expect = Expect()
        sides = [self.model.link_up, not self.model.link_up] if then and then[0] == "link" else [self.model.link_up]
        if owner is not None:
            expect.ended[owner] = self._connector(owner)["tx_ref"]
        elif any(self.model.may_grant(tag, online=online) for online in sides):
            self.model.grant(tag, reader)
        self._run(self._station.cmd(cmd="tap", uid=tag, connector=reader))
        if then is not None:
            self._event(then, expect)
        self._check(expect)

    @rule(tag=TAGS, n=CONNECTOR, then=IN_FLIGHT)
    def tap_on_connector_reader(self, tag: str, n: int, then: tuple[str, int] | None) -> None:
        self._tap(tag, n, then)

    @rule(tag=TAGS, then=IN_FLIGHT)
    def tap_on_shared_reader(self, tag: str, then: tuple[str, int] | None) -> None:
        """The charge point's own reader: a start there may follow the EV to either connector."""
        self._tap(tag, None, then)

    @precondition(lambda self: self.model.link_up)
    @rule(tag=TAGS, connector=st.sampled_from([*CONNECTORS, None]), then=IN_FLIGHT)
    def remote_start(self, tag: str, connector: int | None, then: tuple[str, int] | None) -> None:
        """RemoteStartTransaction for a connector, or for none in particular (None); `then` happens at once
        (a link cut while AuthorizeRemoteTxRequests asks the CSMS: the offline rules decide)."""
        answer = self._run(self._station.call(call.RemoteStartTransaction(id_tag=tag, connector_id=connector)))
        offline_too = then is not None and then[0] == "link" and self.model.settings["AuthorizeRemoteTxRequests"]
        if answer.status == "Accepted" and (self.model.may_grant_remote(tag)
                                            or (offline_too and self.model.may_grant(tag, online=False))):
            self.model.grant(tag, connector)
        expect = Expect()
        if then is not None:
            self._event(then, expect)
        self._check(expect)

    @precondition(lambda self: self.model.link_up)
    @rule(n=CONNECTOR, unlock=st.booleans())
    def remote_stop(self, n: int, unlock: bool) -> None:
        """RemoteStopTransaction of connector n's transaction (an unknown transactionId when there is none), or
        UnlockConnector, which ends the transaction there first (OCPP 1.6 §5.18)."""
        c = self._connector(n)
        expect = Expect()
        if unlock:
            answer = self._run(self._station.call(call.UnlockConnector(connector_id=n)))
            stopped = answer.status != "NotSupported"
        else:
            transaction_id = c["transaction_id"] if c["transaction_id"] is not None else 999_999
            answer = self._run(self._station.call(call.RemoteStopTransaction(transaction_id=transaction_id)))
            stopped = answer.status == "Accepted"
        if stopped and c["tx_ref"] is not None:
            expect.ended[n] = c["tx_ref"]
        self._check(expect)

    @precondition(lambda self: self.model.link_up)
    @rule(level=st.sampled_from([0, *CONNECTORS]), operative=st.booleans())
    def change_availability(self, level: int, operative: bool) -> None:
        """ChangeAvailability of the charge point (0) or a connector: an Inoperative connector starts nothing
        new; a running transaction goes on (Scheduled)."""
        kind = "Operative" if operative else "Inoperative"
        answer = self._run(self._station.call(call.ChangeAvailability(connector_id=level, type=kind)))
        if answer.status in ("Accepted", "Scheduled"):
            (self.model.inoperative.discard if operative else self.model.inoperative.add)(level)
        self._check(Expect())

    @precondition(lambda self: self.model.link_up)
    @rule(what=CSMS_CONFIGURES)
    def csms_configures(self, what: tuple[str, bool | int] | str) -> None:
        """ChangeConfiguration of an authorization or stop key, SendLocalList (Full) or ClearCache."""
        before = dict(self.model.settings)
        if what == "SendLocalList":
            status = self._run(self._station.send_local_list())
            assert status == ("Accepted" if self.model.settings["LocalAuthListEnabled"] else "NotSupported"), status
            self.model.list_loaded = self.model.list_loaded or status == "Accepted"
        elif what == "ClearCache":
            assert self._run(self._station.call(call.ClearCache())).status == "Accepted"
        else:
            key, value = what
            answer = self._run(self._station.call(call.ChangeConfiguration(key=key, value=wire(value))))
            assert answer.status == "Accepted", (key, value, answer)
            self.model.settings[key] = value
            self.model.settings_changed()
        self._check(Expect(), before)

    @rule()
    def link_down_or_up(self) -> None:
        self._link_down_or_up()
        self._check(Expect())

    # --- faults and restarts ----------------------------------------------------------------------------

    @rule(device=st.sampled_from(["meter", "weld"]), n=CONNECTOR)
    def device_fails_or_recovers(self, device: str, n: int) -> None:
        self._device_fails_or_recovers(device, n)
        self._check(Expect())

    @rule(how=st.sampled_from(["SIGTERM", "Soft", "Hard"]))
    def restart(self, how: str) -> None:
        """Reset.req Soft or Hard (transactions end, the same process starts afresh), or, while the link is
        down too, the service manager's SIGTERM and a new start: the daemon exits 0 with every contactor open
        (the simulated meter saved no power flowing, unless the contact is welded) and starts idle, but for
        the transactions `resume_transactions` lets go on."""
        problems: list[str] = []
        may_go_on: set[int] = set()
        if how != "SIGTERM" and self.model.link_up:
            assert self._run(self._station.reset(how), 60) == "Accepted"
        else:
            if self.model.resume_transactions:
                may_go_on = {c["tx_ref"] for c in self.last["connectors"] if c["tx_ref"] is not None and c["plugged"]}
            welded = dict(self.model.welded)
            code, power = self._run(self._station.sigterm_and_start(), 60)
            problems += [] if code == 0 else [f"the daemon exited {code} on SIGTERM"]
            problems += [f"connector {n}: {power[n]:.0f} W still flowing once the daemon had exited"
                         for n in CONNECTORS if power[n] > 0 and not welded[n]]
        self.model.restarted()
        self._check(Expect(after_restart=frozenset(may_go_on)), problems=problems)


def test_safety_under_random_event_sequences(tmp_path: Path) -> None:
    harness = Harness(tmp_path)

    class Machine(SafetyMachine):
        pass

    Machine.harness = harness
    try:
        run_state_machine_as_test(Machine, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
            derandomize=not LONG_RUN, suppress_health_check=[HealthCheck.too_slow], print_blob=LONG_RUN))
    finally:
        harness.close()


# --- the check itself can fail -------------------------------------------------------------------------------

def _state(**connector: Any) -> dict[str, Any]:
    one = {"id": 1, "status": "Charging", "contactor_closed": True, "transaction_id": 1001, "tx_ref": 1,
           "id_tag": "0A000001", "plugged": True, "ev_requesting": True, "locked": True, "error_code": "NoError",
           "energy_wh": 10.0, "awaiting_start": False}
    two = {**one, "id": 2, "status": "Available", "contactor_closed": False, "transaction_id": None, "tx_ref": None,
           "id_tag": None, "plugged": False, "ev_requesting": False, "locked": False}
    return {"connectors": [{**one, **connector}, two], "link": {"connected": True, "registration": "Accepted"},
            "outbox": {"depth": 0}}


def _model(id_tag: str = "0A000001", granted: bool = True, **settings: Any) -> Model:
    model = Model(settings={**DEFAULTS, **settings})
    model.txs[1] = TxRecord(1, 1, id_tag, granted, [dict(model.settings)], confirmed=True)
    return model


def test_the_check_passes_an_accepted_charging_session() -> None:
    assert violations(_state(), {1: 1.0, 2: 0.0}, _model(), Expect()) == []


def test_the_check_sees_each_way_a_contactor_may_not_be_closed() -> None:
    """The invariant check fails on made-up states that break the rule (and the harness's own checks)."""
    cases: list[tuple[dict[str, Any], Model, Expect, dict[int, float | None], str]] = [
        (_state(tx_ref=None, transaction_id=None, id_tag=None), _model(), Expect(), {}, "without a transaction"),
        (_state(plugged=False), _model(), Expect(), {}, "no EV plugged"),
        (_state(error_code="PowerMeterFailure"), _model(), Expect(), {}, "while Faulted"),
        (_state(), _model(granted=False), Expect(), {}, "did not grant"),
        (_state(id_tag="0E000001"), _model("0E000001"), Expect(), {}, "after the CSMS refused"),
        (_state(id_tag="0E000001"), _model("0E000001", StopTransactionOnInvalidId=False), Expect(), {},
         "after the CSMS refused"),
        (_state(contactor_closed=False), _model(), Expect(), {1: 0.5}, "energy flows"),
        (_state(), _model(), Expect(ended={1: 1}), {}, "should have ended"),
        (_state(), _model(), Expect(after_restart=frozenset()), {}, "after a restart"),
    ]
    meter = _model()
    meter.meter_failing[1] = True
    cases.append((_state(), meter, Expect(), {}, "meter fails"))
    welded = _model()
    welded.welded[1] = True
    cases.append((_state(contactor_closed=False), welded, Expect(), {}, "welded contact not reported"))
    inoperative = _model()
    inoperative.txs[1].started_unavailable = True
    cases.append((_state(), inoperative, Expect(), {}, "Inoperative"))
    for state, model, expect, flow, words in cases:
        found = violations(state, flow, model, expect)
        assert any(words in f for f in found), (words, found)
    allowed = _model("0E000001", StopTransactionOnInvalidId=False, MaxEnergyOnInvalidId=100_000)
    assert violations(_state(id_tag="0E000001"), {}, allowed, Expect()) == [], "what the keys explicitly permit"


def test_the_model_grants_by_the_configured_rules() -> None:
    model = Model()
    model.list_loaded = True
    assert model.may_grant("0A000001", online=True) and not model.may_grant("0E000001", online=True)
    assert not model.may_grant("0D000001", online=True) and model.may_grant("0C000001", online=True)
    assert not model.may_grant("1B000001", online=True), "the CSMS's Blocked decides without LocalPreAuthorize"
    model.settings["LocalPreAuthorize"] = True
    assert model.may_grant("1B000001", online=True), "a valid Local List entry pre-authorizes"
    assert model.may_grant("1A000001", online=False) and not model.may_grant("1D000001", online=False)
    assert model.may_grant("0A000001", online=False), "maybe cached"
    assert not model.may_grant("0E000001", online=False) and not model.may_grant("0C000001", online=False)
    model.settings["AllowOfflineTxForUnknownId"] = True
    assert model.may_grant("0E000001", online=False), "unknown offline, maybe not cached"
    assert not model.may_grant("1D000001", online=False), "known as not valid: never offline"
    model.settings["AuthorizationCacheEnabled"] = False
    assert model.may_grant("0C000001", online=False)
    model.settings.update(LocalAuthorizeOffline=False, AllowOfflineTxForUnknownId=False)
    assert not model.may_grant("1A000001", online=False)
