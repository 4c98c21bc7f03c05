"""Smart Charging in OCPP 2.0.1 (Part 2 chapter K) end to end: the real daemon on simulated hardware against the
loopback CSMS speaking 2.0.1 over 127.0.0.1. The simulated EV draws what the pilot offers it, so a limit shows in
`evsed sim state` (offered_current_a).

K01 SetChargingProfile: a TxDefaultProfile on evseId 0, a TxProfile for the running transaction named by the
transactionId the charging station made (also before the CSMS confirmed its Started event), and the refusals (an
unknown transaction, no transactionId, a ChargingStationMaxProfile on an EVSE or Relative); K08 GetCompositeSchedule
(A and W, the station's total, an unknown EVSE); K10 ClearChargingProfile by id and by criteria.
"""

from typing import Any

from ocpp.v201 import call

from firmware.demo.loopback_csms import LoopbackCsms
from tests.conftest import CHARGE_POINT

CSMS_PROTOCOL = "ocpp2.0.1"
"""The `csms` fixture speaks 2.0.1 in this module."""
VOLTS_3P = 230.0 * 3
RATING_A = 32.0
"""What the simulated charger offers where no profile limits it."""


def profile(profile_id: int, purpose: str, limit: float, *, stack_level: int = 0, kind: str = "Relative",
            **extra: Any) -> dict[str, Any]:
    """A ChargingProfileType (snake_case, as the library's `call` takes it) of one period from 0 s, in A."""
    return {"id": profile_id, "stack_level": stack_level, "charging_profile_purpose": purpose,
            "charging_profile_kind": kind, **extra,
            "charging_schedule": [{"id": 1, "charging_rate_unit": "A",
                                   "charging_schedule_period": [{"start_period": 0, "limit": limit}]}]}


async def set_profile(csms: LoopbackCsms, evse_id: int, body: dict[str, Any]) -> Any:
    return await csms.call(CHARGE_POINT, call.SetChargingProfile(evse_id=evse_id, charging_profile=body))


async def clear(csms: LoopbackCsms, profile_id: int | None = None, **criteria: Any) -> str:
    request = call.ClearChargingProfile(charging_profile_id=profile_id, charging_profile_criteria=criteria or None)
    return (await csms.call(CHARGE_POINT, request)).status


async def composite(csms: LoopbackCsms, evse_id: int, duration: int, unit: str | None = None) -> Any:
    return await csms.call(CHARGE_POINT, call.GetCompositeSchedule(duration=duration, evse_id=evse_id,
                                                                   charging_rate_unit=unit))


def limits(reply: Any) -> list[float]:
    return [p["limit"] for p in reply.schedule["charging_schedule_period"]]


async def started_transaction(csms: LoopbackCsms, evse_id: int, after: int) -> str:
    """The transactionId of the first Started TransactionEvent on `evse_id` from index `after`."""
    message = await csms.wait_for("TransactionEvent", after=after,
                                  where=lambda p: p["eventType"] == "Started" and p["evse"]["id"] == evse_id)
    return message.payload["transactionInfo"]["transactionId"]


async def test_a_tx_default_profile_on_evse_0_limits_a_new_session_and_the_composite_shows_it(csms, start201):
    charger = await start201()
    assert (await set_profile(csms, 0, profile(1, "TxDefaultProfile", 10.0))).status == "Accepted"
    await charger.card_start(1)
    await charger.wait_state(1, offered_current_a=10.0)
    reply = await composite(csms, 1, 300)
    assert reply.status == "Accepted"
    schedule = reply.schedule
    assert (schedule["evse_id"], schedule["duration"], schedule["charging_rate_unit"]) == (1, 300, "A")
    assert schedule["schedule_start"] and schedule["charging_schedule_period"][0]["start_period"] == 0
    assert limits(reply) == [10.0]
    assert limits(await composite(csms, 1, 300, "W")) == [10 * VOLTS_3P]
    unknown = await composite(csms, 9, 300)
    assert unknown.status == "Rejected" and unknown.status_info["reason_code"] == "UnknownEvse"
    assert unknown.schedule is None
    # K10 by criteria: the station's TxDefaultProfile goes, the rating applies again
    assert await clear(csms, evse_id=0, charging_profile_purpose="TxDefaultProfile") == "Accepted"
    await charger.wait_state(1, offered_current_a=None)
    assert limits(await composite(csms, 1, 60)) == [RATING_A]
    assert await clear(csms, evse_id=0, charging_profile_purpose="TxDefaultProfile") == "Unknown"


async def test_a_tx_profile_for_the_running_transaction_applies_and_others_are_rejected(csms, start201):
    charger = await start201()
    mark = len(csms.received)
    await charger.card_start(1)
    transaction_id = await started_transaction(csms, 1, mark)
    await charger.wait_state(1, transaction_id=transaction_id)  # the CSMS confirmed the Started event

    unknown = await set_profile(csms, 1, profile(2, "TxProfile", 8.0, transaction_id="no-such-transaction"))
    assert unknown.status == "Rejected" and "no-such-transaction" in unknown.status_info["additional_info"]
    nameless = await set_profile(csms, 1, profile(2, "TxProfile", 8.0))  # K01.FR.03
    assert nameless.status == "Rejected" and nameless.status_info["reason_code"] == "MissingParam"
    elsewhere = await set_profile(csms, 2, profile(2, "TxProfile", 8.0, transaction_id=transaction_id))
    assert elsewhere.status == "Rejected"  # K01.FR.09: no transaction on EVSE 2
    assert (await charger.connector(1))["offered_current_a"] is None, "nothing refused was applied"

    body = profile(3, "TxProfile", 8.0, stack_level=1, transaction_id=transaction_id)
    assert (await set_profile(csms, 1, body)).status == "Accepted"
    await charger.wait_state(1, offered_current_a=8.0)
    assert limits(await composite(csms, 1, 120)) == [8.0]
    # K10 by id
    assert await clear(csms, 3) == "Accepted"
    await charger.wait_state(1, offered_current_a=None)
    assert await clear(csms, 3) == "Unknown"
    assert limits(await composite(csms, 1, 120)) == [RATING_A]


async def test_a_tx_profile_applies_before_the_csms_confirmed_the_start(csms, start201):
    """The transactionId is the charging station's (E01): a CSMS that has the Started event may use it at once, even
    while its answer has not reached the charging station."""
    charger = await start201(call_timeout_s=2)
    csms.behaviour.raw_answers["TransactionEvent"] = lambda _, p: "" if p["eventType"] == "Started" else None
    mark = len(csms.received)
    await charger.card_start(1)
    transaction_id = await started_transaction(csms, 1, mark)
    assert (await charger.connector(1))["transaction_id"] is None, "the start is not confirmed"

    prefix = transaction_id.rpartition("-")[0]
    other = await set_profile(csms, 1, profile(4, "TxProfile", 7.0, transaction_id=f"{prefix}-999999"))
    assert other.status == "Rejected"  # one of ours, but not the one running
    body = profile(4, "TxProfile", 7.0, transaction_id=transaction_id)
    assert (await set_profile(csms, 1, body)).status == "Accepted"
    await charger.wait_state(1, offered_current_a=7.0, transaction_id=None)

    del csms.behaviour.raw_answers["TransactionEvent"]  # the resent Started event is answered now
    await charger.wait_state(1, offered_current_a=7.0, transaction_id=transaction_id)
    starts = [p for p in csms.events(transaction_id) if p["eventType"] == "Started"]
    assert len(starts) >= 2 and all(p == starts[0] for p in starts), "resent verbatim"


async def test_the_charging_station_max_profile_is_for_evse_0_and_limits_the_total(csms, start201):
    charger = await start201()
    on_evse = await set_profile(csms, 1, profile(5, "ChargingStationMaxProfile", 6.0, kind="Absolute"))
    assert on_evse.status == "Rejected"
    relative = await set_profile(csms, 0, profile(5, "ChargingStationMaxProfile", 6.0))  # K01.FR.38
    assert relative.status == "Rejected" and relative.status_info["reason_code"] == "InvalidProfile"
    external = await set_profile(csms, 0, profile(5, "ChargingStationExternalConstraints", 6.0, kind="Absolute"))
    assert external.status == "Rejected"
    assert await clear(csms) == "Unknown", "nothing was installed"

    assert (await set_profile(csms, 0, profile(6, "ChargingStationMaxProfile", 12.0, kind="Absolute"))).status \
        == "Accepted"
    assert limits(await composite(csms, 0, 60)) == [12.0]  # the station's total
    await charger.card_start(1)
    await charger.wait_state(1, offered_current_a=12.0)
    await charger.card_start(2, uid="04D1D2D3")
    await charger.wait_state(1, offered_current_a=6.0)
    await charger.wait_state(2, offered_current_a=6.0)
    assert await clear(csms, charging_profile_purpose="ChargingStationExternalConstraints") == "Unknown"
    assert await clear(csms, charging_profile_purpose="ChargingStationMaxProfile") == "Accepted"
    await charger.wait_state(1, offered_current_a=None)
    await charger.wait_state(2, offered_current_a=None)
    assert await clear(csms, charging_profile_purpose="ChargingStationMaxProfile") == "Unknown"
