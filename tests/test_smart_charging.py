"""Smart Charging (OCPP 1.6 §3.13, §5.5, §5.7, §5.11, §5.16) end to end: the real daemon on simulated hardware
against a real CSMS (the `ocpp` library) on 127.0.0.1. The simulated EV draws what the pilot offers it (current times
230 V times 3 phases, at most its 11 kW), so a limit shows in `evsed sim state` (offered_current_a, power_w) and in the
MeterValues the CSMS receives. TxDefaultProfile, a RemoteStart's TxProfile, a schedule boundary, a
ChargePointMaxProfile over two sessions, W limits, GetCompositeSchedule, ClearChargingProfile, the refusals, a
limit below 6 A (SuspendedEVSE) and profiles kept across a SIGKILL."""

import signal
from typing import Any

import pytest
from ocpp.v16 import call

from tests.conftest import CHARGE_POINT

OCPP = {"MeterValueSampleInterval": 1, "ConnectionTimeOut": 5,
        "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import"}
VOLTS_3P = 230.0 * 3


def profile(profile_id: int, purpose: str, limits: list[tuple[int, float]], *, stack_level: int = 0,
            unit: str = "A", kind: str = "Relative", **extra: Any) -> dict[str, Any]:
    """A ChargingProfile (snake_case, as the library's `call` takes it); `limits`: (startPeriod, limit) pairs."""
    return {"charging_profile_id": profile_id, "stack_level": stack_level, "charging_profile_purpose": purpose,
            "charging_profile_kind": kind, **extra,
            "charging_schedule": {"charging_rate_unit": unit, "charging_schedule_period": [
                {"start_period": start, "limit": limit} for start, limit in limits]}}


async def set_profile(csms, connector_id: int, body: dict[str, Any]) -> str:
    answer = await csms.call(CHARGE_POINT, call.SetChargingProfile(connector_id=connector_id,
                                                                   cs_charging_profiles=body))
    return answer.status


async def clear(csms, **criteria: Any) -> str:
    return (await csms.call(CHARGE_POINT, call.ClearChargingProfile(**criteria))).status


async def composite(csms, connector_id: int, duration: int, unit: str | None = None):
    return await csms.call(CHARGE_POINT, call.GetCompositeSchedule(connector_id=connector_id, duration=duration,
                                                                   charging_rate_unit=unit))


@pytest.fixture
async def charger(make_daemon):
    return await make_daemon(ocpp=OCPP)


async def power_sampled(csms, connector_id: int, watts: float, after: int, within: float = 10.0) -> float:
    """The first MeterValues of `connector_id` from index `after` whose Power.Active.Import is `watts` (±1 %)."""
    def power(payload: dict[str, Any]) -> float | None:
        for value in payload["meterValue"][0]["sampledValue"]:
            if value.get("measurand") == "Power.Active.Import":
                return float(value["value"])
        return None

    found = await csms.wait_for("MeterValues", within=within, after=after, where=lambda p: (
        p["connectorId"] == connector_id and (w := power(p)) is not None and abs(w - watts) <= watts * 0.01 + 1))
    return power(found.payload)


async def test_a_tx_default_profile_sets_what_the_ev_is_offered_and_draws(charger, csms):
    assert await set_profile(csms, 0, profile(1, "TxDefaultProfile", [(0, 10)])) == "Accepted"
    mark = len(csms.received)
    await charger.card_start(1)
    c = await charger.wait_state(1, offered_current_a=10.0)
    assert c["power_w"] == pytest.approx(10 * VOLTS_3P)
    assert await power_sampled(csms, 1, 10 * VOLTS_3P, mark) == pytest.approx(6900, rel=0.01)
    await charger.card_stop(1)
    c = await charger.connector(1)
    assert c["offered_current_a"] is None and c["power_w"] == 0


async def test_a_remote_start_with_a_tx_profile_charges_at_its_limit_and_the_profile_ends_with_it(charger, csms):
    request = call.RemoteStartTransaction(id_tag="QR-6A", connector_id=2,
                                          charging_profile=profile(7, "TxProfile", [(0, 6)], stack_level=1))
    assert (await csms.call(CHARGE_POINT, request)).status == "Accepted"
    await charger.cmd(cmd="plug", connector=2)
    c = await charger.wait_state(2, status="Charging", offered_current_a=6.0)
    assert c["power_w"] == pytest.approx(6 * VOLTS_3P)
    schedule = (await composite(csms, 2, 60)).charging_schedule
    assert schedule["charging_schedule_period"][0]["limit"] == 6.0
    tx = await charger.transaction_id(2)
    assert (await csms.call(CHARGE_POINT, call.RemoteStopTransaction(transaction_id=tx))).status == "Accepted"
    await charger.wait_state(2, transaction_id=None, offered_current_a=None)
    assert await clear(csms, id=7) == "Unknown"  # §3.13.1: a TxProfile ends with its transaction


async def test_a_two_period_schedule_changes_the_limit_at_its_boundary(charger, csms):
    await charger.card_start(1)
    body = profile(3, "TxProfile", [(0, 16), (2, 8)], kind="Relative")
    assert await set_profile(csms, 1, body) == "Accepted"
    # Relative to the transaction's start: the 8 A period began already or begins within 2 s.
    await charger.wait_state(1, within=5, offered_current_a=8.0)
    absolute = profile(4, "TxProfile", [(0, 12), (2, 20)], kind="Absolute", stack_level=2)
    assert await set_profile(csms, 1, absolute) == "Accepted"  # starts now (no startSchedule)
    await charger.wait_state(1, within=2, offered_current_a=12.0)
    c = await charger.wait_state(1, within=5, offered_current_a=20.0)
    assert c["power_w"] == pytest.approx(min(20 * VOLTS_3P, 11000))


async def test_the_charge_point_max_profile_caps_a_higher_limit_and_is_shared_by_two_sessions(charger, csms):
    await charger.card_start(1)
    assert await set_profile(csms, 1, profile(5, "TxProfile", [(0, 16)])) == "Accepted"
    await charger.wait_state(1, offered_current_a=16.0)
    assert await set_profile(csms, 0, profile(6, "ChargePointMaxProfile", [(0, 20)], kind="Absolute")) == "Accepted"
    await charger.wait_state(1, offered_current_a=16.0)  # alone, it may take all of the 20 A
    await charger.card_start(2, uid="04D1D2D3")
    await charger.wait_state(1, offered_current_a=10.0)
    await charger.wait_state(2, offered_current_a=10.0)
    reply = await composite(csms, 0, 300)
    assert reply.status == "Accepted"
    assert reply.charging_schedule["charging_schedule_period"][0]["limit"] == 20.0
    await charger.card_stop(2, uid="04D1D2D3")
    await charger.wait_state(1, offered_current_a=16.0)


async def test_limits_in_watts_become_amperes_per_phase(charger, csms):
    assert await set_profile(csms, 1, profile(8, "TxDefaultProfile", [(0, 4140)], unit="W")) == "Accepted"
    await charger.card_start(1)
    c = await charger.wait_state(1, offered_current_a=6.0)
    assert c["power_w"] == pytest.approx(4140)
    reply = await composite(csms, 1, 120, "W")
    assert reply.charging_schedule["charging_rate_unit"] == "W"
    assert reply.charging_schedule["charging_schedule_period"][0]["limit"] == pytest.approx(4140, abs=0.1)


async def test_the_composite_schedule_matches_what_the_ev_sees_and_clearing_restores_the_rating(charger, csms):
    assert await set_profile(csms, 0, profile(9, "TxDefaultProfile", [(0, 16), (3600, 8)], stack_level=1,
                                              kind="Relative")) == "Accepted"
    await charger.card_start(1)
    c = await charger.wait_state(1, offered_current_a=16.0)
    reply = await composite(csms, 1, 7200)
    assert reply.status == "Accepted" and reply.connector_id == 1
    periods = reply.charging_schedule["charging_schedule_period"]
    assert periods[0]["limit"] == c["offered_current_a"]
    assert [p["limit"] for p in periods] == [16.0, 8.0]
    assert 3590 <= periods[1]["start_period"] <= 3600
    assert await clear(csms, connector_id=0, charging_profile_purpose="TxDefaultProfile") == "Accepted"
    c = await charger.wait_state(1, offered_current_a=None)
    assert c["power_w"] == pytest.approx(11000)
    reply = await composite(csms, 1, 60)
    assert [p["limit"] for p in reply.charging_schedule["charging_schedule_period"]] == [32.0]  # the rating
    assert await clear(csms) == "Unknown"


async def test_profiles_that_cannot_apply_are_rejected_and_change_nothing(charger, csms):
    assert await set_profile(csms, 1, profile(10, "TxProfile", [(0, 6)])) == "Rejected"  # no transaction
    assert await set_profile(csms, 1, profile(11, "ChargePointMaxProfile", [(0, 6)])) == "Rejected"  # not on 0
    assert await set_profile(csms, 3, profile(12, "TxDefaultProfile", [(0, 6)])) == "Rejected"  # no connector 3
    assert await set_profile(csms, 1, profile(13, "TxDefaultProfile", [(0, 6)], stack_level=11)) == "Rejected"
    assert await set_profile(csms, 1, profile(14, "TxDefaultProfile", [(60, 6)])) == "Rejected"  # not from 0
    too_many = profile(15, "TxDefaultProfile", [(i * 60, 6) for i in range(97)])
    assert await set_profile(csms, 1, too_many) == "Rejected"
    recurring = profile(16, "TxDefaultProfile", [(0, 6)], kind="Recurring")  # no recurrencyKind, no start
    assert await set_profile(csms, 1, recurring) == "Rejected"
    for body in (profile(17, "TxDefaultProfile", [(0, 6)]),  # §5.11: only a TxProfile
                 profile(18, "TxProfile", [(0, 6)], transaction_id=5)):  # no transaction yet
        request = call.RemoteStartTransaction(id_tag="QR-X", connector_id=1, charging_profile=body)
        assert (await csms.call(CHARGE_POINT, request)).status == "Rejected"
    assert (await charger.connector(1))["awaiting_start"] is False
    assert (await composite(csms, 3, 60)).status == "Rejected"
    assert await clear(csms) == "Unknown"  # nothing was installed


async def test_a_limit_below_six_amperes_suspends_the_ev_until_it_rises(charger, csms):
    await charger.card_start(1)
    mark = len(csms.received)
    assert await set_profile(csms, 1, profile(19, "TxProfile", [(0, 0)])) == "Accepted"
    c = await charger.wait_state(1, status="SuspendedEVSE", offered_current_a=0.0)
    assert c["power_w"] == 0 and c["transaction_id"] is not None
    await csms.wait_for("StatusNotification", after=mark, where=lambda p: p["status"] == "SuspendedEVSE")
    assert await set_profile(csms, 1, profile(19, "TxProfile", [(0, 13)])) == "Accepted"  # same id: replaced
    c = await charger.wait_state(1, status="Charging", offered_current_a=13.0)
    assert c["power_w"] == pytest.approx(13 * VOLTS_3P)


async def test_profiles_survive_a_sigkill(make_daemon, csms, tmp_path):
    charger = await make_daemon(ocpp=OCPP)
    assert await set_profile(csms, 2, profile(20, "TxDefaultProfile", [(0, 9)])) == "Accepted"
    assert await set_profile(csms, 0, profile(21, "ChargePointMaxProfile", [(0, 30)], kind="Absolute")) == "Accepted"
    await charger.stop(signal.SIGKILL)
    charger = await make_daemon(ocpp=OCPP, workdir=tmp_path)
    await charger.card_start(2)
    c = await charger.wait_state(2, offered_current_a=9.0)
    assert c["power_w"] == pytest.approx(9 * VOLTS_3P)
    assert await clear(csms, id=21) == "Accepted"
    assert await clear(csms, id=20) == "Accepted"
    await charger.wait_state(2, offered_current_a=None)


async def test_the_smart_charging_keys_are_reported(charger, csms):
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=[
        "ChargeProfileMaxStackLevel", "ChargingScheduleAllowedChargingRateUnit", "ChargingScheduleMaxPeriods",
        "MaxChargingProfilesInstalled", "ConnectorSwitch3to1PhaseSupported", "SupportedFeatureProfiles"]))
    values = {k["key"]: (k["value"], k["readonly"]) for k in conf.configuration_key}
    assert values == {"ChargeProfileMaxStackLevel": ("10", True),
                      "ChargingScheduleAllowedChargingRateUnit": ("Current,Power", True),
                      "ChargingScheduleMaxPeriods": ("96", True), "MaxChargingProfilesInstalled": ("32", True),
                      "ConnectorSwitch3to1PhaseSupported": ("false", True),
                      "SupportedFeatureProfiles": ("Core,LocalAuthListManagement,RemoteTrigger,Reservation,"
                                                   "SmartCharging,FirmwareManagement", True)}


async def test_a_remote_start_tx_profile_stays_with_its_transaction_resumed_after_a_sigkill(make_daemon, csms,
                                                                                            tmp_path):
    """With resume_transactions the transaction goes on after a kill, and so does its TxProfile (stored in the
    database transaction that recorded the start)."""
    charger = await make_daemon(ocpp=OCPP, resume_transactions=True)
    request = call.RemoteStartTransaction(id_tag="QR-7A", connector_id=1,
                                          charging_profile=profile(30, "TxProfile", [(0, 7)]))
    assert (await csms.call(CHARGE_POINT, request)).status == "Accepted"
    await charger.cmd(cmd="plug", connector=1)
    await charger.wait_state(1, status="Charging", offered_current_a=7.0)
    await charger.stop(signal.SIGKILL)
    charger = await make_daemon(ocpp=OCPP, workdir=tmp_path, resume_transactions=True)
    c = await charger.wait_state(1, status="Charging", offered_current_a=7.0)
    assert c["power_w"] == pytest.approx(7 * VOLTS_3P)
