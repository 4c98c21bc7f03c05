"""Unit tests of pieces with no peer to talk to: the status table, the energy gate, UIDs, the sim meter."""

import asyncio
import logging
import time

import pytest

from firmware.core.connector_state import ConnectorFacts, ErrorCode, Fault
from firmware.core.connector_state import ConnectorState as Status
from firmware.core.connector_state import derive_state as derive_status
from firmware.core.safety import EnergyGate, SafetyError
from firmware.logs import masked as shown
from firmware.ocpp16.status import CONNECTOR_TRANSITIONS, StatusMachine, StatusReport, StatusReporter
from firmware.persistence.db import Store
from firmware.settings import Settings
from hal import normalise_uid
from hal.sim import SimContactor, SimEV, SimMeter
from tests.clocks import RTC_CLOCK


def test_status_table_matches_ocpp16_cells():
    cells = sorted(cell for row in CONNECTOR_TRANSITIONS.values() for cell in row.values())
    assert len(cells) == 53 and len(set(cells)) == 53  # A7 B6 C6 D6 E6 F4 G4 H6 I8
    assert Status.UNAVAILABLE not in CONNECTOR_TRANSITIONS[Status.PREPARING]  # B8 is empty in the spec
    assert CONNECTOR_TRANSITIONS[Status.FINISHING][Status.PREPARING] == "F2"


def test_machine_refuses_moves_the_table_forbids():
    seen = []
    machine = StatusMachine(1, Status.CHARGING, lambda old, new, cell: seen.append(cell))
    assert machine.move_to(Status.FINISHING) is True and seen == ["C6"]
    assert machine.move_to(Status.CHARGING) is True and seen == ["C6", "F2", "B3"], "no F→C cell: via Preparing"
    main = StatusMachine(0, Status.AVAILABLE, lambda *a: None)
    assert main.move_to(Status.CHARGING) is False and main.move_to(Status.UNAVAILABLE) is True


def test_suspended_evse_takes_precedence_over_suspended_ev():
    facts = ConnectorFacts(plugged=True, ev_requesting=False, transaction=True, evse_offers_energy=False)
    assert derive_status(facts) is Status.SUSPENDED_EVSE
    assert derive_status(ConnectorFacts(plugged=True, transaction=True)) is Status.SUSPENDED_EV
    assert derive_status(ConnectorFacts(plugged=True, ev_requesting=True, transaction=True)) is Status.CHARGING
    assert derive_status(ConnectorFacts(plugged=True, transaction=True, fault=Fault(ErrorCode.OTHER_ERROR))) \
        is Status.FAULTED
    assert derive_status(ConnectorFacts(plugged=True, finishing=True)) is Status.FINISHING
    assert derive_status(ConnectorFacts(awaiting_start=True)) is Status.PREPARING


def test_energy_gate_refuses_without_authorized_transaction_and_plug():
    contactor = SimContactor()
    gate = EnergyGate({1: contactor})
    for authorized, plugged in ((False, True), (True, False), (False, False)):
        with pytest.raises(SafetyError):
            gate.close(1, authorized_transaction=authorized, plugged=plugged)
        assert contactor.commanded_closed is False
    gate.close(1, authorized_transaction=True, plugged=True)
    assert contactor.commanded_closed and contactor.feedback_closed
    gate.open_all("test")
    assert not contactor.commanded_closed


@pytest.mark.parametrize(("raw", "tag"), [
    (bytes.fromhex("04a1b2c3"), "04A1B2C3"),
    ("04:a1:b2:c3:d4:e5:f6", "04A1B2C3D4E5F6"),
    ("0102030405060708090a", "0102030405060708090A"),
])
def test_uid_normalisation(raw, tag):
    assert normalise_uid(raw) == tag


@pytest.mark.parametrize("raw", ["04a1b2", "04a1b2c3d4", "zz112233", b"\x01" * 11])
def test_uid_normalisation_rejects_garbage(raw):
    with pytest.raises(ValueError):
        normalise_uid(raw)


async def test_minimum_status_duration_debounces(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    config = Settings(store, {"minimum_status_duration_s": 1}, {})
    sent: list[Status] = []
    reporter = StatusReporter(config, RTC_CLOCK, sink=lambda report: sent.append(report.status))

    def report(status):
        reporter.changed(StatusReport(1, status, ErrorCode.NO_ERROR))

    report(Status.AVAILABLE)
    await asyncio.sleep(1.2)
    report(Status.PREPARING)
    await asyncio.sleep(0.3)
    report(Status.AVAILABLE)  # back within the window: nothing to tell
    await asyncio.sleep(1.2)
    report(Status.PREPARING)
    await asyncio.sleep(1.2)
    assert sent == [Status.AVAILABLE, Status.PREPARING]


async def test_sim_meter_integrates_only_while_energy_flows_and_keeps_its_register(tmp_path):
    contactor = SimContactor(on_change=lambda: meter.settle())
    ev = SimEV(36_000.0, tmp_path / "ev.json", on_change=lambda: meter.settle())
    meter = SimMeter(lambda: ev.draw_w(contactor.commanded_closed), tmp_path / "register.json")
    ev.plug()
    await asyncio.sleep(0.2)
    assert (await meter.read()).energy_wh == 0, "no energy while the contactor is open"
    contactor.close()
    started = time.monotonic()
    await asyncio.sleep(0.5)
    contactor.open()
    elapsed = time.monotonic() - started
    energy = (await meter.read()).energy_wh
    assert energy == pytest.approx(36_000 * elapsed / 3600, rel=0.05)
    await asyncio.sleep(0.2)
    reading = await meter.read()
    assert reading.energy_wh == energy and reading.power_w == 0
    again = SimMeter(lambda: 0.0, tmp_path / "register.json")
    assert (await again.read()).energy_wh == pytest.approx(energy)


def test_id_tags_are_masked_in_logs_except_at_debug_level():
    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.INFO)
        assert shown("04A1B2C3D4E5F6") == "**********E5F6" and shown(None) is None
        root.setLevel(logging.DEBUG)
        assert shown("04A1B2C3D4E5F6") == "04A1B2C3D4E5F6"
    finally:
        root.setLevel(level)
