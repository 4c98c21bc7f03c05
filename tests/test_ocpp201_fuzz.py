"""A bounded fuzz of the 2.0.1 link: frames drawn from the `ocpp` library's 2.0.1 request schemas
(hypothesis-jsonschema, seeded) for every action the charging station answers, and mutations of them (a required
field dropped, a value of the wrong type, an unknown field, an unknown action, a broken frame), sent by the
loopback CSMS to the real daemon while a session charges. Every CALL gets exactly one answer, a CALLRESULT or a
CALLERROR with a 2.0.1 code; the link stays up, the session goes on, nothing is logged as a traceback.

Left out, as the 1.6 fuzz defuses them: Reset and SetNetworkProfile (they end the link on purpose), UpdateFirmware and
GetLog (they would dial whatever URL was drawn; network tests stay on 127.0.0.1), RequestStopTransaction (its drawn id
never matches; a real one would end the session this test watches).
"""

import json
import random
from pathlib import Path
from typing import Any

import ocpp

from firmware.ocpp201.errors import DESCRIPTIONS
from firmware.ocpp201.handlers import HANDLERS
from tests.conftest import CHARGE_POINT
from tests.fuzz_csms import drawn, schema

CSMS_PROTOCOL = "ocpp2.0.1"
SCHEMAS = Path(ocpp.__file__).parent / "v201" / "schemas"
LEFT_OUT = {"Reset", "SetNetworkProfile", "UpdateFirmware", "GetLog", "RequestStopTransaction",
            "ReserveNow", "SetChargingProfile"}
"""The destructive ones (above), and two whose schemas hypothesis-jsonschema cannot draw from (every attempt fails its
filters: nested date-times and enums under additionalProperties false); their own tests send them."""
SEED = 201
PER_ACTION = 6


def pool() -> dict[str, list[dict[str, Any]]]:
    """`PER_ACTION` schema-valid requests per action, the same for the same seed."""
    return {h.action: drawn(schema(f"{h.action}Request", SCHEMAS), SEED, PER_ACTION)
            for h in HANDLERS if h.action not in LEFT_OUT}


def mutated(rng: random.Random, payload: dict[str, Any]) -> dict[str, Any]:
    out = dict(payload)
    kind = rng.choice(["drop", "type", "unknown"])
    if kind == "drop" and out:
        out.pop(rng.choice(sorted(out)))
    elif kind == "type" and out:
        out[rng.choice(sorted(out))] = rng.choice([[], {}, "x" * 3, 10**30, None, True])
    else:
        out["noSuchField"] = 1
    return out


def frames(rng: random.Random, drawn: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """(message id, frame): every drawn request, a mutation of each, unknown actions and broken frames, shuffled."""
    out = []
    for action, payloads in sorted(drawn.items()):
        for i, payload in enumerate(payloads):
            out.append((f"{action}-{i}", json.dumps([2, f"{action}-{i}", action, payload])))
            out.append((f"{action}-{i}-m", json.dumps([2, f"{action}-{i}-m", action, mutated(rng, payload)])))
    out += [(f"unknown-{i}", json.dumps([2, f"unknown-{i}", f"Action{i}", {}])) for i in range(5)]
    out += [(f"broken-{i}", f'[2, "broken-{i}", "Reset"') for i in range(3)]
    out += [(f"arity-{i}", json.dumps([2, f"arity-{i}", "GetVariables"])) for i in range(3)]
    rng.shuffle(out)
    return out


async def test_fuzzed_frames_are_each_answered_and_the_session_goes_on(csms, start201):
    charger = await start201()
    await charger.card_start(1)
    tx_ref = (await charger.connector(1))["tx_ref"]
    rng = random.Random(SEED)
    sent = frames(rng, pool())
    answers: dict[str, list[Any]] = {}
    for unique_id, frame in sent:
        if unique_id.startswith("broken-"):
            await csms.peers[CHARGE_POINT]._send(frame)  # no readable id: dropped with a log line, no answer
            continue
        answers[unique_id] = await csms.send_raw(CHARGE_POINT, frame, unique_id)
    assert len(answers) == len([u for u, _ in sent if not u.startswith("broken-")]) > 150
    kinds = {a[0] for a in answers.values()}
    assert kinds <= {3, 4} and kinds == {3, 4}, "results and errors both occur, nothing else"
    codes = {a[2] for a in answers.values() if a[0] == 4}
    assert codes <= set(DESCRIPTIONS), codes
    assert all(answers[u][0] == 4 and answers[u][2] == "NotImplemented" for u in answers if u.startswith("unknown-"))
    assert all(answers[u][2] == "RpcFrameworkError" for u in answers if u.startswith("arity-"))
    state = await charger.state()
    assert state["link"]["connected"] is True
    assert state["connectors"][0]["tx_ref"] == tx_ref, "the session goes on"
    assert "Traceback" not in charger.log()
