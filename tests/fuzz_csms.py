"""A raw-websocket CSMS that fuzzes the charger's OCPP 1.6J link, and the run that drives it (issue 15).

Shared by `tests/test_fuzz_link.py` (a bounded CI slice) and `bench/fuzz_link.py` (the long run): the
bench script imports this module from `tests/` (as `bench.charger`'s callers import `firmware`), so the
generator, the CSMS and the counting live in one place.

The CSMS (`FuzzCsms`) is not the `ocpp` library: it reads and writes frames as text, so it can send
anything. By default it answers the charger's own CALLs correctly (BootNotification Accepted, Heartbeat,
StatusNotification, Authorize Accepted for the test cards, StartTransaction with increasing
transactionIds, MeterValues, StopTransaction) and records every StartTransaction and StopTransaction.
While fuzzing it also mis-answers some of the charger's CALLs (schema-invalid CALLRESULTs, CALLERRORs,
silence past the call timeout, answers under ids the charger never sent, late and duplicate answers).

The generator (`FrameGenerator`) draws, with a seeded `random.Random`, from a pool of payloads built
once per run by hypothesis-jsonschema's `from_schema` over the `ocpp` package's 1.6 schemas (a seeded
`@given(st.data())` run, `build_pool`): (a) well-formed CALLs of every CSMS→charge point action,
(b) mutations of them (wrong types, missing and unknown fields, huge and non-finite numbers, huge and
deeply nested values, odd unicode, broken JSON, wrong message type ids and arities, duplicate, odd and
unknown ids, CALLRESULTs and CALLERRORs under ids the charger never sent, binary frames), and
(c) the mis-answers above (`Misanswers`, its own seeded RNG). Every run starts with `known_batches` and
the first mis-answers of each kind are `KNOWN_MISANSWERS`: the crash classes issue 15 names. The same
seed sends the same frames; what they meet in the charger depends on its timing.

`FuzzRun.run` is the fuzz run (`run_fuzz`); `FuzzRun.known_verdicts` (`run_known`, `python -m
bench.fuzz_link --known`) tries each known crash class alone against a fresh daemon and says what it did.

Destructive commands are defused rather than avoided, so the two sessions keep running and "every
StartTransaction has its StopTransaction" stays checkable: a schema-valid Reset is turned invalid (the
run sends real Resets on purpose instead, `FuzzOptions.resets`, and restarts the sessions after the
daemon's in-process restart); a valid RemoteStopTransaction never names a transaction the CSMS issued;
a valid UnlockConnector never names connector 1 or 2, nor a valid ChangeAvailability Inoperative or a
valid ReserveNow connector 0-2; a valid ChangeConfiguration of a real key carries junk, a 400-digit number or a harmless
value (`SAFE_VALUES`), never one that would change how transactions are delivered.
"""

import asyncio
import contextlib
import itertools
import json
import logging
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ocpp
import websockets
from ocpp.messages import MessageType, get_validator

from firmware.clock import iso, utc_now
from firmware.daemon.control_socket import request
from firmware.ocpp16.keys import KEYS
from firmware.settings import SETTINGS
from tests.conftest import Daemon

log = logging.getLogger(__name__)

SCHEMAS = Path(ocpp.__file__).parent / "v16" / "schemas"
CSMS_ACTIONS: tuple[str, ...] = (
    "CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache", "ClearChargingProfile",
    "DataTransfer", "GetCompositeSchedule", "GetConfiguration", "GetDiagnostics", "GetLocalListVersion",
    "RemoteStartTransaction", "RemoteStopTransaction", "ReserveNow", "Reset", "SendLocalList",
    "SetChargingProfile", "TriggerMessage", "UnlockConnector", "UpdateFirmware",
    # the 1.6 security extension's CSMS→charge point messages (schemas shipped with the library)
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage", "GetInstalledCertificateIds", "GetLog",
    "InstallCertificate", "SignedUpdateFirmware",
)
"""Every CSMS→charge point action of OCPP 1.6 (and its security extension)."""
CHARGER_ACTIONS: tuple[str, ...] = ("Authorize", "BootNotification", "Heartbeat", "MeterValues", "StartTransaction",
                                    "StatusNotification", "StopTransaction")
"""The charger's own CALLs this CSMS answers (and mis-answers)."""
TRANSACTION_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})
"""Outbox messages: each is mis-answered at most once, so its retry gets through and no transaction is lost."""
CARDS: dict[int, str] = {1: "04A1B2C3", 2: "04D5E6F7"}
"""connector → the test card that starts (and ends) its session."""
STRANGER = "04BADBAD"
"""A card the CSMS does not know: tapped on a busy connector, it makes the charger send Authorize."""
PROBE = ("GetConfiguration", {"key": ["HeartbeatInterval"]})
"""The CALL after every batch that the charger must answer within `FuzzOptions.probe_timeout_s`."""
TRANSACTION_ID_BASE = 700_000_001
"""The first transactionId this CSMS issues: far from the small integers the generator favours."""
PRESETS: dict[str, bool | int | str] = {"MeterValueSampleInterval": 1, "TransactionMessageRetryInterval": 1}
"""[ocpp] presets of the fuzzed daemon: a meter sample a second (MeterValues to mis-answer) and fast retries."""
ERROR_CODES = ("NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError",
               "FormationViolation", "PropertyConstraintViolation", "OccurenceConstraintViolation",
               "TypeConstraintViolation", "GenericError")
INT_KEYS = tuple(k for k, setting in KEYS.items() if SETTINGS[setting].kind is int)
"""The integer configuration keys (a 400-digit value for each is one of the known frames)."""
_KEYS_ANY_CASE = {k.lower(): k for k in KEYS}
SAFE_VALUES: dict[str, tuple[str, ...]] = {
    "HeartbeatInterval": ("1", "5", "30"), "MeterValueSampleInterval": ("0", "1", "5"),
    "WebSocketPingInterval": ("0", "5", "30"), "ClockAlignedDataInterval": ("0", "60", "900"),
    "MinimumStatusDuration": ("0", "1"),
}
"""Valid values of real configuration keys the fuzzer may set: they change nothing the final checks read."""
BIG = "1" * 400
"""A 400-digit integer (issue 15: in ChangeConfiguration values and BootNotification.conf interval)."""
HUGE = "9" * 5000
"""Longer than Python's default int↔str limit (4300 digits): `json.loads` refuses it with a ValueError."""
WEIRD_TEXT = ("\u0000", "\ud800", "\udfff", "\U0001f600", "\u202e", "e\u0301", "\uffff", "\U0010ffff", "İ", "ß",
              "\n", '"', "\\", "\u2028", "\ufeff", "١٢٣", "Ⅻ")
"""Unicode the generator mixes into strings (lone surrogates go out as \\u escapes)."""
DEEP = 1000
"""Nesting depth of the deep-JSON frames (issue 15: ~1000 levels)."""
SILENCE = object()
"""A forced answer that is no answer at all."""


# --- payload pool from the 1.6 schemas ------------------------------------------------------------

def schema(name: str, directory: Path = SCHEMAS) -> dict[str, Any]:
    """The `ocpp` library's JSON schema `name` (e.g. "Reset", "HeartbeatResponse"; `directory`: another version's
    schemas), its local `#/definitions/...` references inlined (hypothesis-jsonschema cannot resolve them under a
    urn: `$id`)."""
    loaded = json.loads((directory / f"{name}.json").read_text(encoding="utf-8-sig"))
    definitions = loaded.pop("definitions", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                return inline(definitions[ref.removeprefix("#/definitions/")])
            return {k: inline(v) for k, v in node.items() if k not in ("$schema", "$id", "id")}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(loaded)


@dataclass(frozen=True)
class Pool:
    """Payloads drawn once per run from the 1.6 schemas: requests of CSMS actions, responses to the charger's."""

    requests: dict[str, list[Any]]
    responses: dict[str, list[Any]]


def drawn(schema_: dict[str, Any], seed: int, count: int) -> list[Any]:
    """`count` values valid for `schema_`, drawn by hypothesis-jsonschema in a seeded run (no database, generation
    phase only): the same seed gives the same values."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    values: list[Any] = []
    strategy = from_schema(schema_)

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        values.append(data.draw(strategy))

    collect()
    return values


def build_pool(seed: int, per_action: int) -> Pool:
    """`per_action` schema-valid payloads per action (`drawn`): the same seed gives the same pool."""
    return Pool({a: drawn(schema(a), seed, per_action) for a in CSMS_ACTIONS},
                {a: drawn(schema(f"{a}Response"), seed, per_action) for a in CHARGER_ACTIONS})


def _valid(message_type: int, action: str, payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    try:
        return get_validator(message_type, action, "1.6").is_valid(payload)
    except (ValueError, OverflowError, TypeError, RecursionError):  # jsonschema's multipleOf on NaN, inf, ...
        return False


def valid_call(action: str, payload: Any) -> bool:
    """Whether `payload` is a schema-valid 1.6 request of `action` (a CSMS→charge point action)."""
    return action in CSMS_ACTIONS and _valid(MessageType.Call, action, payload)


def valid_result(action: str, payload: Any) -> bool:
    """Whether `payload` is a schema-valid 1.6 CALLRESULT payload to `action` (one of the charger's)."""
    return action in CHARGER_ACTIONS and _valid(MessageType.CallResult, action, payload)


# --- encoding -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Raw:
    """JSON text spliced in verbatim: what `json.dumps` cannot write (5000-digit numbers, 1000-deep nesting)."""

    text: str


def encode(value: Any, ascii_only: bool = True) -> str:
    """`value` as JSON text, `Raw` parts spliced in; non-ASCII as \\u escapes unless `ascii_only` is False
    (then as UTF-8, except where a lone surrogate forces the escape)."""
    raws: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(v.text)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    swapped = swap(value)
    text = json.dumps(swapped, ensure_ascii=ascii_only)
    if not ascii_only:
        try:
            text.encode()
        except UnicodeEncodeError:
            text = json.dumps(swapped)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{i}\x00"), raw, 1)
    return text


def deep(depth: int = DEEP, kind: str = "[") -> Raw:
    """`depth` nested arrays (or objects)."""
    if kind == "[":
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


def call_frame(uid: Any, action: Any, payload: Any) -> str:
    return encode([MessageType.Call, uid, action, payload])


# --- frames ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """One frame the CSMS sends, with what it is (for the incident list)."""

    data: str | bytes
    kind: str

    def excerpt(self, limit: int = 240) -> str:
        shown = self.data if isinstance(self.data, str) else f"<binary {len(self.data)} B> {self.data[:80]!r}"
        if len(shown) <= limit:
            return shown
        return f"{shown[:limit // 2]}…<{len(shown)} chars>…{shown[-limit // 4:]}"


def known_batches(size: int) -> list[list[Frame]]:
    """The crash classes issue 15 names (and their next of kin), sent at the start of every run: `size` frames
    a batch, the 1000 stale CALLRESULTs as one burst (the charger's next CALL meets all of them)."""
    frames = [
        Frame(call_frame("k-deep-payload", "GetConfiguration", deep()), "known: 1000-deep array as the payload"),
        Frame(encode(deep()), "known: 1000-deep array as the whole frame"),
        Frame(encode(deep(kind="{")), "known: 1000-deep object as the whole frame"),
        Frame(call_frame("k-deep-key", "GetConfiguration", {"key": deep()}), "known: 1000-deep array in a field"),
        Frame(call_frame("k-huge-int", "RemoteStopTransaction", {"transactionId": Raw(HUGE)}),
              "known: 5000-digit integer (beyond the int/str limit)"),
        Frame(encode([Raw(BIG), "k-big-type", "GetLocalListVersion", {}]), "known: 400-digit message type id"),
        Frame(call_frame("k-big-txid", "RemoteStopTransaction", {"transactionId": Raw(BIG)}),
              "known: 400-digit transactionId"),
        Frame(call_frame("k-nan", "RemoteStopTransaction", {"transactionId": Raw("NaN")}), "known: NaN"),
        Frame(call_frame("k-inf", "GetCompositeSchedule", {"connectorId": 1, "duration": Raw("1e400")}),
              "known: 1e400 (infinite float)"),
        Frame(call_frame("k-inf-limit", "RemoteStartTransaction",
                         {"idTag": "X", "chargingProfile": {"chargingSchedule": {
                             "chargingSchedulePeriod": [{"limit": Raw("1e400")}]}}}),
              "known: 1e400 where the schema says multipleOf 0.1 (a charging period's limit)"),
        Frame(call_frame("k-inf-rate", "RemoteStartTransaction",
                         {"idTag": "X", "chargingProfile": {"chargingSchedule": {"minChargingRate": Raw("-1e400")}}}),
              "known: -1e400 where the schema says multipleOf 0.1 (minChargingRate)"),
        Frame(call_frame("k-surrogate", "RemoteStartTransaction", {"idTag": "\ud800"}),
              "known: lone surrogate in an idTag"),
        Frame(call_frame("k-surrogate-list", "SendLocalList",
                         {"listVersion": 1, "updateType": "Differential",
                          "localAuthorizationList": [{"idTag": "\udfff", "idTagInfo": {"status": "Accepted"}}]}),
              "known: lone surrogate in a Local List idTag"),
        Frame(call_frame("k-nul", "DataTransfer", {"vendorId": "\u0000"}), "known: NUL in vendorId"),
        Frame(call_frame("k-wrong-way", "BootNotification", {"chargePointVendor": "x", "chargePointModel": "y"}),
              "known: a charge point's action sent to the charge point"),
        Frame(call_frame("x" * 10_000, "GetLocalListVersion", {}), "known: 10,000-character message id"),
        Frame(call_frame(7, "GetLocalListVersion", {}), "known: numeric message id"),
        Frame(b'[2,"k-binary","GetLocalListVersion",{}]', "known: a CALL as a binary frame"),
        Frame(b"\xff\xfe[\x00", "known: binary frame, not UTF-8"),
        Frame("", "known: empty text frame"),
        Frame("\ufeff[2,\"k-bom\",\"GetLocalListVersion\",{}]", "known: byte order mark before the frame"),
        Frame(encode([4, "k-unknown-error", "GenericError", "", {}]), "known: CALLERROR under an unknown id"),
        Frame(encode([4, "k-bad-error", 1, None, []]), "known: CALLERROR with wrong types"),
        Frame(encode([3]), "known: CALLRESULT without id"),
    ]
    for key in INT_KEYS:
        frames.append(Frame(call_frame(f"k-big-{key}", "ChangeConfiguration", {"key": key, "value": BIG}),
                            f"known: ChangeConfiguration {key} = 400 digits"))
    stale = [Frame(encode([3, f"k-stale-{i}", {}]), "known: 1000 stale CALLRESULTs (unknown ids)")
             for i in range(1000)]
    return [frames[i:i + size] for i in range(0, len(frames), size)] + [stale]


class FrameGenerator:
    """Frames drawn with one seeded RNG from the pool (well-formed, mutated, stray answers), defused."""

    def __init__(self, pool: Pool, rng: random.Random, issued: Callable[[], set[int]],
                 charger_ids: Callable[[], list[str]]) -> None:
        """`issued()`: the transactionIds the CSMS handed out (never stopped remotely); `charger_ids()`: ids of
        the charger's recent CALLs (already answered), for duplicate answers."""
        self._pool = pool
        self._rng = rng
        self._issued = issued
        self._charger_ids = charger_ids
        self._ids = itertools.count(1)
        self._recent_ids: deque[str] = deque(maxlen=32)

    def uid(self) -> str:
        uid = f"f{next(self._ids)}"
        self._recent_ids.append(uid)
        return uid

    def batch(self, size: int) -> list[Frame]:
        """About `size` frames (a burst of stale answers can make it longer)."""
        frames: list[Frame] = []
        while len(frames) < size:
            frames.extend(self.draw())
        return frames

    def draw(self) -> list[Frame]:
        r = self._rng.random()
        if r < 0.30:
            action, payload = self.well_formed()
            return [Frame(call_frame(self.uid(), action, payload), f"call {action}")]
        if r < 0.62:
            action, payload = self.well_formed()
            payload, what = self.mutate(payload)
            payload = self.defuse(action, payload)
            return [Frame(call_frame(self.uid(), action, payload), f"mutated {action}: {what}")]
        if r < 0.87:
            return [self.broken_frame()]
        if r < 0.9997:
            return [self.stray_answer()]
        count = self._rng.choice((10, 100, 1000))
        return [Frame(encode([3, f"s{next(self._ids)}", {}]), f"burst of {count} stale CALLRESULTs")
                for _ in range(count)]

    # --- well-formed --------------------------------------------------------------------------

    def well_formed(self) -> tuple[str, Any]:
        action = self._rng.choice(CSMS_ACTIONS)
        if action == "ChangeConfiguration" and self._rng.random() < 0.5:
            key = self._rng.choice(list(KEYS))
            values = (*SAFE_VALUES.get(key, ()), BIG, f"-{BIG}", "abc", "1e3", "0x10", "NaN", "")
            payload: Any = {"key": key, "value": self._rng.choice(values)}
        else:
            payload = json.loads(json.dumps(self._rng.choice(self._pool.requests[action])))  # a private copy
        return action, self.defuse(action, payload)

    def defuse(self, action: str, payload: Any) -> Any:
        """Make a schema-valid destructive command harmless to the running sessions (see the module doc)."""
        if not valid_call(action, payload):
            return payload
        if action == "Reset":
            return {**payload, "type": payload["type"].lower()}  # "soft"/"hard": not a ResetType
        if action == "RemoteStopTransaction" and payload["transactionId"] in self._issued():
            return {**payload, "transactionId": -payload["transactionId"]}
        if action == "UnlockConnector" and payload["connectorId"] in CARDS:
            return {**payload, "connectorId": payload["connectorId"] + len(CARDS)}
        if action == "ChangeAvailability" and payload["type"] == "Inoperative" and 0 <= payload["connectorId"] <= 2:
            return {**payload, "connectorId": payload["connectorId"] + 3}
        if action == "ReserveNow" and 0 <= payload["connectorId"] <= 2:  # would hold a session's connector
            return {**payload, "connectorId": payload["connectorId"] + 3}
        key = _KEYS_ANY_CASE.get(payload.get("key", "").strip().lower()) if action == "ChangeConfiguration" else None
        if key is not None:  # key names match in any case (CiString50)
            value = payload["value"]
            junk = not re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value) and value.strip().lower() not in ("true", "false")
            if not (junk or value in SAFE_VALUES.get(key, ()) or len(value.strip().lstrip("+-")) >= 400):
                return {**payload, "value": self._rng.choice((BIG, "abc"))}
        return payload

    # --- mutations ----------------------------------------------------------------------------

    def mutate(self, payload: Any) -> tuple[Any, str]:
        """1-3 value mutations of `payload`; returns it and what was done."""
        done = []
        for _ in range(self._rng.choice((1, 1, 2, 3))):
            payload, what = self.mutate_once(payload)
            done.append(what)
        return payload, ", ".join(done)

    def mutate_once(self, payload: Any) -> tuple[Any, str]:
        paths = list(_paths(payload))
        path = self._rng.choice(paths)
        node = _get(payload, path)
        op = self._rng.choice(("type", "drop", "add", "number", "string", "deep", "unicode", "empty", "enum",
                               "null"))
        if op == "drop":
            holders = [p for p in paths if isinstance(_get(payload, p), dict) and _get(payload, p)]
            if holders:
                holder = _get(payload, self._rng.choice(holders))
                key = self._rng.choice(list(holder))
                del holder[key]
                return payload, f"dropped {key}"
            op = "add"
        if op == "add":
            holders = [p for p in paths if isinstance(_get(payload, p), dict)]
            if holders:
                holder = _get(payload, self._rng.choice(holders))
                holder[self.text(12)] = self.junk()
                return payload, "unknown field"
            op = "type"
        replacement: Any
        if op == "type":
            replacement = self.junk()
        elif op == "number":
            replacement = self._rng.choice((Raw(BIG), Raw(f"-{BIG}"), Raw(HUGE), Raw("1e400"), Raw("-1e400"),
                                            Raw("NaN"), Raw("Infinity"), 2**63, -(2**63) - 1, 2**64, -1, 0, 0.5,
                                            1e-300, Raw("-0")))
        elif op == "string":
            replacement = self._rng.choice(("", "A" * 501, "A" * 20_001, self.text(50)))
        elif op == "deep":
            replacement = deep(self._rng.choice((100, DEEP, 3000)), self._rng.choice("[{"))
        elif op == "unicode":
            replacement = self.text(self._rng.randint(1, 30), weird=1.0)
        elif op == "empty":
            replacement = self._rng.choice(({}, [], ""))
        elif op == "enum" and isinstance(node, str) and node:
            replacement = self._rng.choice((node.lower(), node.upper(), node + " ", f" {node}", node[:-1]))
        else:
            replacement = None
        return _set(payload, path, replacement), f"{op} at /{'/'.join(map(str, path))}"

    def junk(self, depth: int = 0) -> Any:
        """A random JSON value of any type."""
        kind = self._rng.randrange(8 if depth < 2 else 6)
        if kind == 0:
            return self._rng.choice((0, 1, -1, 42, 2**31, -(2**31) - 1))
        if kind == 1:
            return self._rng.choice((0.1, -1.5, 1e308, 3.14159))
        if kind == 2:
            return self._rng.random() < 0.5
        if kind == 3:
            return None
        if kind in (4, 5):
            return self.text(self._rng.randint(0, 20))
        if kind == 6:
            return [self.junk(depth + 1) for _ in range(self._rng.randint(0, 3))]
        return {self.text(8): self.junk(depth + 1) for _ in range(self._rng.randint(0, 3))}

    def text(self, length: int, weird: float = 0.2) -> str:
        pieces = [self._rng.choice(WEIRD_TEXT) if self._rng.random() < weird else chr(self._rng.randint(0x20, 0x7e))
                  for _ in range(length)]
        return "".join(pieces)

    def broken_frame(self) -> Frame:
        """A frame whose envelope is wrong: broken JSON, message type, arity, id, action, not a list."""
        action, payload = self.well_formed()
        good = call_frame(self.uid(), action, payload)
        r = self._rng.randrange(10)
        if r == 0:
            cut = self._rng.randrange(1, max(2, len(good)))
            return Frame(good[:cut], f"{action} cut at {cut}")
        if r == 1:
            at = self._rng.randrange(len(good))
            return Frame(good[:at] + self._rng.choice(("}", "]", ",", '"', "\\", "x", "\u0000", "[")) + good[at:],
                         f"{action} with a stray character")
        if r == 2:
            type_id = self._rng.choice((0, 1, 5, -1, "2", 2.0, True, None, 2**64, Raw(BIG), [2], {}))
            return Frame(encode([type_id, self.uid(), action, payload]), f"{action} with message type {type_id!r}")
        if r == 3:
            shape = self._rng.choice(([2], [2, self.uid()], [2, self.uid(), action],
                                      [2, self.uid(), action, payload, "extra"], [3, self.uid()],
                                      [4, self.uid(), "GenericError"], [], [3, self.uid(), {}, {}]))
            return Frame(encode(shape), f"arity {len(shape)}")
        if r == 4:
            uid = self._rng.choice((None, 1, -1, 1.5, [], {}, "", self.text(8, weird=1.0), "y" * 300))
            return Frame(call_frame(uid, action, payload), f"{action} with id {str(uid)[:20]!r}")
        if r == 5:
            uid = self._rng.choice(self._recent_ids) if self._recent_ids else "f1"
            return Frame(call_frame(uid, action, payload), f"{action} reusing id {uid}")
        if r == 6:
            bad = self._rng.choice(("Foo", "", "reset", "RESET", " Reset", 123, None, [], {}, "Heartbeat",
                                    "StartTransaction", "StopTransaction", "a" * 5000, self.text(6, weird=1.0)))
            return Frame(call_frame(self.uid(), bad, payload), f"action {str(bad)[:20]!r}")
        if r == 7:
            whole = self._rng.choice(("null", "42", '"text"', "{}", "true", " ", "[]", encode(payload), "[2,"))
            return Frame(whole, "not a list")
        if r == 8:
            return Frame(good.encode(), f"{action} as a binary frame")
        return Frame(good.replace(",", ", ", 1) + self._rng.choice((" ", "\n", "\t")),
                     f"{action} with whitespace (valid)")

    def stray_answer(self) -> Frame:
        """A CALLRESULT or CALLERROR under an id the charger never sent (or already had answered)."""
        ids = self._charger_ids()
        uid = self._rng.choice(ids) if ids and self._rng.random() < 0.3 else f"u{next(self._ids)}"
        if self._rng.random() < 0.6:
            action = self._rng.choice(CHARGER_ACTIONS)
            payload = self._rng.choice(self._pool.responses[action] or [{}])
            if self._rng.random() < 0.5:
                payload, _ = self.mutate(json.loads(json.dumps(payload)))
            return Frame(encode([3, uid, payload]), f"stray CALLRESULT ({action}-like) id={uid}")
        code = self._rng.choice((*ERROR_CODES, "Bogus", "", 7, None))
        details = self._rng.choice(({}, {"a": 1}, [], None, "x", deep(DEEP)))
        return Frame(encode([4, uid, code, self._rng.choice(("", "desc", 5)), details]),
                     f"stray CALLERROR {code!r} id={uid}")


def _frame_id(frame: Frame) -> str | None:
    """The message id of a frame the generator wrote (None when it cannot be read)."""
    try:
        message = json.loads(frame.data)
    except (ValueError, RecursionError):
        return None
    return message[1] if isinstance(message, list) and len(message) > 1 and isinstance(message[1], str) else None


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every node's path in `value` (the root's is ())."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(value: Any, path: tuple[Any, ...], replacement: Any) -> Any:
    if not path:
        return replacement
    _get(value, path[:-1])[path[-1]] = replacement
    return value


# --- mis-answers to the charger's CALLs -------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What the CSMS does with one of the charger's CALLs: frames to send (delay in seconds, text), and a label.
    No frames: silence."""

    frames: tuple[tuple[float, str], ...]
    kind: str
    correct: bool = False


KNOWN_MISANSWERS: dict[str, tuple[Any, ...]] = {
    "BootNotification": ({"currentTime": "{now}", "interval": Raw(BIG), "status": "Accepted"},
                         {"currentTime": "not a time", "interval": 2, "status": "Accepted"},
                         {"currentTime": "{now}", "interval": 2, "status": "Bogus"}, {}, []),
    "Heartbeat": ({}, {"currentTime": "not a time"}, {"currentTime": 1}, [], None),
    "StatusNotification": ({"bogus": 1}, [], None, "ok"),
    "Authorize": ({"idTagInfo": {}}, {}, {"idTagInfo": {"status": "Bogus"}},
                  {"idTagInfo": {"status": "Accepted", "expiryDate": "not a time"}}),
    "StartTransaction": ({}, {"transactionId": "x", "idTagInfo": {"status": "Accepted"}},
                         {"transactionId": 1, "idTagInfo": {}}),
    "StopTransaction": ({"idTagInfo": {}}, [], {"bogus": 1}),
    "MeterValues": ({"bogus": 1}, []),
}
"""Wrong CALLRESULT payloads (issue 15 names most), per charger action, sent before any random one ("{now}":
the current time). "not a time" passes the schema, which does not check formats."""


class Misanswers:
    """Chooses how to mis-answer the charger's CALLs (seeded): while fuzzing, and the first answer to each boot."""

    def __init__(self, pool: Pool, generator: FrameGenerator, rng: random.Random, call_timeout_s: float) -> None:
        self._pool = pool
        self._generator = generator
        self._rng = rng
        self._late_s = call_timeout_s + 0.5
        self._known = {action: deque(payloads) for action, payloads in KNOWN_MISANSWERS.items()}
        """Each known mis-answer goes out once first (in order), then the choice is random."""
        self._spent: set[str] = set()
        """Transaction messages (by content) already mis-answered once."""

    def roll(self, rate: float) -> bool:
        return self._rng.random() < rate

    def choose(self, action: str, uid: str, payload: Any, correct: Any) -> Answer | None:
        """A wrong answer to `action`, or None to answer it correctly. A session card's Authorize is always
        answered right: a mis-answered Authorize refuses the card (issue 15, case 8), which would end the
        sessions the run keeps; the stranger's card takes the mis-answers instead."""
        if action == "Authorize" and payload.get("idTag") in CARDS.values():
            return None
        if action in TRANSACTION_ACTIONS:
            key = f"{action}:{json.dumps(payload, sort_keys=True)}"
            if key in self._spent:
                return None
            self._spent.add(key)
        rng = self._rng
        r = rng.random()
        right = encode([3, uid, correct])
        if r < 0.35:
            bad = self.invalid_payload(action)
            return Answer(((0.0, encode([3, uid, bad])),), f"invalid CALLRESULT {encode(bad)[:80]}")
        if r < 0.50:
            code = rng.choice(ERROR_CODES)
            return Answer(((0.0, encode([4, uid, code, "fuzz", {}])),), f"CALLERROR {code}")
        if r < 0.58:
            return Answer(((0.0, encode([4, uid, rng.choice((1, None, "")), None, []])),), "malformed CALLERROR")
        if r < 0.70:
            return Answer((), "silence past the call timeout")
        if r < 0.78:
            return Answer(((0.0, encode([3, f"stale-{uid}", correct])),), "answer under an unknown id only")
        if r < 0.86:
            return Answer(((0.0, encode([3, f"stale-{uid}", correct])), (0.0, right)),
                          "unknown id, then the right answer", correct=True)
        if r < 0.93:
            return Answer(((self._late_s, right),), "the right answer, after the call timeout")
        return Answer(((0.0, right), (0.0, right)), "the right answer twice", correct=True)

    def invalid_payload(self, action: str) -> Any:
        """A schema-invalid CALLRESULT payload to `action`: a known one first, then mutations of the pool's."""
        known = self._known.get(action)
        if known:
            return self._fill(known.popleft())
        for _ in range(5):
            base = json.loads(json.dumps(self._rng.choice(self._pool.responses[action] or [{}])))
            bad, _ = self._generator.mutate(base)
            if any(isinstance(node, Raw) for node in _walk(bad)) or not valid_result(action, bad):
                return bad
        return self._fill(self._rng.choice(KNOWN_MISANSWERS.get(action, ({"bogus": 1},))))

    @staticmethod
    def _fill(payload: Any) -> Any:
        """A known mis-answer with "{now}" replaced by the current time."""
        if isinstance(payload, dict) and payload.get("currentTime") == "{now}":
            return {**payload, "currentTime": iso(utc_now())}
        return payload


def _walk(value: Any) -> Iterator[Any]:
    for path in _paths(value):
        yield _get(value, path)


# --- the CSMS -------------------------------------------------------------------------------------

@dataclass
class Sent:
    """A frame the CSMS sent while fuzzing (fuzz frame or mis-answer), for the incident list."""

    batch: int
    frame: Frame


class FuzzCsms:
    """The raw CSMS on 127.0.0.1: one charger connection at a time (the newest)."""

    def __init__(self, misanswers: Callable[[], Misanswers | None]) -> None:
        self._misanswers = misanswers
        self.fuzzing = False
        """Mis-answer the charger's CALLs now (else only the first answer to a boot is wrong)."""
        self.misanswer_rate = 0.3
        self.url = ""
        self.connection: websockets.ServerConnection | None = None
        self.connections = 0
        self.expect_close = False
        """A close now is asked for (Reset, stop, the harness's own abort): not a link drop."""
        self.expect_boot = True
        """A BootNotification as a connection's first CALL now is a (re)start the harness caused."""
        self.link_drops: list[str] = []
        self.unexpected_boots = 0
        self.registered = False
        """The charger's boot was accepted (it sent something other than BootNotification since)."""
        self.boots = 0
        """Boots accepted so far."""
        self._booting = False
        self.issued: dict[int, tuple[int, str]] = {}
        """transactionId → (connector, idTag) of every StartTransaction answered correctly."""
        self.stopped: dict[int, str] = {}
        """transactionId → reason of every StopTransaction received."""
        self._started: dict[tuple[Any, ...], int] = {}
        self._next_tx = itertools.count(TRANSACTION_ID_BASE)
        self.received: dict[str, int] = {}
        """Count of the charger's CALLs by action."""
        self.answers = 0
        """CALLRESULTs and CALLERRORs the charger sent to the fuzz frames."""
        self.known_answers: dict[str, list[Any]] = {}
        """The charger's answers to the known frames, by their ids ("k-...")."""
        self.bad_charger_frames: list[str] = []
        """Frames from the charger that are not OCPP-J (should stay empty)."""
        self.recent_charger_ids: deque[str] = deque(maxlen=64)
        self.log: list[Sent] = []
        self.batch = 0
        self.misanswered = 0
        self.forced: dict[str, deque[Any]] = {}
        """action → the payloads (SILENCE: none) of its next answers, whatever the mode (`FuzzRun.known_verdicts`)."""
        self._boot_misanswered = False
        self._waiters: dict[str, asyncio.Future[list[Any]]] = {}
        self._probe_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: websockets.Server | None = None

    async def start(self) -> str:
        self._server = await websockets.serve(self._handle, "127.0.0.1", 0, subprotocols=["ocpp1.6"],
                                              max_size=16 * 2**20)
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/ocpp"
        return self.url

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], within: float) -> Any:
        """`predicate()` once truthy, or None after `within` seconds."""
        try:
            async with asyncio.timeout(within), self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result
        except TimeoutError:
            return None

    def new_boot(self) -> None:
        """The harness starts or restarts the daemon: its next BootNotification is expected, and the first
        answer to it is wrong."""
        self.expect_boot = True
        self._boot_misanswered = False

    async def _handle(self, connection: websockets.ServerConnection) -> None:
        if self.connection is not None:
            self.expect_close = True
            await self.connection.close()
            self.expect_close = False
        self.connection = connection
        self.connections += 1
        first = True
        await self._notify()
        try:
            async for message in connection:
                action = self._on_frame(connection, message)
                if first and action is not None:
                    first = False
                    if action == "BootNotification" and self.registered and not self.expect_boot:
                        self.unexpected_boots += 1
                    self.expect_boot = False
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.connection is connection:
                self.connection = None
                if not self.expect_close:
                    self.link_drops.append(f"code={connection.close_code} reason={connection.close_reason!r}")
            await self._notify()

    def _on_frame(self, connection: websockets.ServerConnection, message: str | bytes) -> str | None:
        """Handle one frame from the charger; returns the action of a CALL."""
        try:
            frame = json.loads(message)
            kind, uid = frame[0], frame[1]
            assert isinstance(frame, list) and kind in (2, 3, 4) and isinstance(uid, str)
        except (ValueError, TypeError, IndexError, KeyError, AssertionError):
            self.bad_charger_frames.append(str(message)[:300])
            return None
        if kind != MessageType.Call:
            waiter = self._waiters.pop(uid, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(frame)
            else:
                self.answers += 1
                if uid.startswith("k-"):
                    self.known_answers[uid] = frame
            return None
        action, payload = frame[2], frame[3]
        self.received[action] = self.received.get(action, 0) + 1
        self.recent_charger_ids.append(uid)
        correct = self._correct(action, payload)
        answer = self._choose(action, uid, payload, correct)
        if answer.correct and action == "StartTransaction":
            self._issue(payload, correct)
        if action == "BootNotification":
            self._booting = True
        elif self._booting:  # the charger sends nothing else before its boot was accepted (§4.2)
            self._booting = False
            self.registered = True
            self.boots += 1
        if action == "StopTransaction":
            self.stopped[payload.get("transactionId")] = payload.get("reason", "Local")
        if not answer.correct:
            self.misanswered += 1
            self.log.append(Sent(self.batch, Frame(answer.frames[0][1] if answer.frames else "",
                                                   f"to {action}: {answer.kind}")))
        for delay, text in answer.frames:
            self._send_later(connection, delay, text)
        self.spawn(self._notify())
        return action

    def _choose(self, action: str, uid: str, payload: Any, correct: Any) -> Answer:
        """Right, unless mis-answers are on: while fuzzing at `misanswer_rate`, and the first answer of
        every boot (BootNotification is sent only then)."""
        right = Answer(((0.0, encode([3, uid, correct])),), "right", correct=True)
        forced = self.forced.get(action)
        if forced:
            payload = forced.popleft()
            if payload is SILENCE:
                return Answer((), "silence (forced)")
            return Answer(((0.0, encode([3, uid, payload])),), f"forced {encode(payload)[:80]}")
        misanswers = self._misanswers()
        if misanswers is None or action not in CHARGER_ACTIONS:
            return right
        first_of_boot = action == "BootNotification" and not self._boot_misanswered
        if first_of_boot:
            self._boot_misanswered = True
        if first_of_boot or (self.fuzzing and misanswers.roll(self.misanswer_rate)):
            return misanswers.choose(action, uid, payload, correct) or right
        return right

    def _correct(self, action: str, payload: dict[str, Any]) -> Any:
        """The right answer to the charger's CALL."""
        if action == "BootNotification":
            return {"currentTime": iso(utc_now()), "interval": 2, "status": "Accepted"}
        if action == "Heartbeat":
            return {"currentTime": iso(utc_now())}
        if action == "Authorize":
            return {"idTagInfo": self._info(payload.get("idTag"))}
        if action == "StartTransaction":
            tx = self._started.get(self._start_key(payload)) or next(self._next_tx)
            return {"transactionId": tx, "idTagInfo": self._info(payload.get("idTag"))}
        if action == "StopTransaction":
            return {"idTagInfo": self._info(payload["idTag"])} if payload.get("idTag") else {}
        if action == "DataTransfer":
            return {"status": "UnknownVendorId"}
        return {}

    @staticmethod
    def _start_key(payload: dict[str, Any]) -> tuple[Any, ...]:
        """A resent StartTransaction (verbatim) gets the transactionId it got before."""
        return tuple(payload.get(k) for k in ("connectorId", "idTag", "meterStart", "timestamp"))

    def _issue(self, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        self._started[self._start_key(payload)] = answer["transactionId"]
        self.issued[answer["transactionId"]] = (payload.get("connectorId"), payload.get("idTag"))

    @staticmethod
    def _info(id_tag: Any) -> dict[str, str]:
        return {"status": "Accepted" if id_tag in CARDS.values() else "Invalid"}

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send_later(self, connection: websockets.ServerConnection, delay: float, text: str) -> None:
        async def send() -> None:
            if delay:
                await asyncio.sleep(delay)
            with contextlib.suppress(websockets.ConnectionClosed):
                await connection.send(text)

        self.spawn(send())

    async def send(self, frame: Frame) -> bool:
        """Send a fuzz frame on the current connection; False when there is none (or it closed)."""
        connection = self.connection
        if connection is None:
            return False
        try:
            await connection.send(frame.data)
        except websockets.ConnectionClosed:
            return False
        self.log.append(Sent(self.batch, frame))
        return True

    async def call(self, action: str, payload: Any, within: float) -> list[Any] | None:
        """A well-formed CALL on the current connection; the charger's answer, or None after `within` s."""
        connection = self.connection
        if connection is None:
            return None
        uid = f"probe-{next(self._probe_ids)}"
        waiter: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiters[uid] = waiter
        try:
            async with asyncio.timeout(within):
                await connection.send(call_frame(uid, action, payload))
                return await waiter
        except (TimeoutError, websockets.ConnectionClosed):
            return None
        finally:
            self._waiters.pop(uid, None)

    async def abort(self) -> None:
        """Cut the current connection from this side (after a hang): the charger must reconnect."""
        connection = self.connection
        if connection is not None:
            self.expect_close = True
            connection.transport.abort()
            await self.wait_until(lambda: self.connection is not connection, 5)
            self.expect_close = False


# --- the run --------------------------------------------------------------------------------------

@dataclass
class FuzzOptions:
    frames: int = 3000
    """Stop after this many fuzz frames..."""
    deadline_s: float = 150.0
    """...or after this long fuzzing, whichever comes first."""
    seed: int = 15
    batch: int = 20
    """Frames between two probes."""
    resets: int = 1
    """Deliberate, well-formed Resets during the run (the daemon restarts in-process; sessions restart)."""
    pool_size: int = 20
    """Payloads drawn per action from its schema."""
    misanswer_rate: float = 0.3
    probe_timeout_s: float = 5.0
    call_timeout_s: float = 3.0
    """[csms] call_timeout_s of the daemon: silence past it is one of the mis-answers."""
    log_level: str = "debug"
    known: bool = True
    pace_s: float = 0.2
    """A pause after each batch: the charger's own CALLs (Heartbeat, MeterValues) go on meanwhile, to be
    mis-answered; without it a batch takes a few milliseconds and the charger says little."""
    """Send the known crash classes (`known_batches`) before the random frames."""


@dataclass
class Incident:
    kind: str
    """crash, hang, traceback, link drop, unexpected boot, bad probe answer, session, ..."""
    batch: int
    detail: str
    frames: list[str] = field(default_factory=list)
    """The frames sent (and mis-answers) during the batch, oldest first."""


@dataclass
class FuzzReport:
    seed: int
    frames: int = 0
    misanswers: int = 0
    batches: int = 0
    probes: int = 0
    crashes: int = 0
    hangs: int = 0
    link_drops: int = 0
    unexpected_boots: int = 0
    bad_probe_answers: int = 0
    tracebacks: int = 0
    resets: int = 0
    restarts: int = 0
    """Daemon processes started again after a crash or a hang that no reconnect cured."""
    transactions: int = 0
    lost_transactions: list[int] = field(default_factory=list)
    """transactionIds the CSMS issued that no StopTransaction named."""
    unknown_stops: list[Any] = field(default_factory=list)
    outbox_depth: int | None = None
    dead_letters: int | None = None
    session_failures: int = 0
    sessions_ended: int = 0
    """Times a test session was found ended or its connector faulted, though nothing asked for that."""
    bad_charger_frames: int = 0
    answers: int = 0
    exit_code: int | None = None
    rss_start_kb: int | None = None
    """The daemon's VmRSS once its sessions ran after its last (re)start (a Reset restarts it in-process)..."""
    rss_end_kb: int | None = None
    """...and after the last batch."""
    rss_frames: int = 0
    """Frames sent between the two RSS readings."""
    seconds: float = 0.0
    signatures: dict[str, int] = field(default_factory=dict)
    """Last line of each traceback in the daemon's log → how often."""
    incidents: list[Incident] = field(default_factory=list)

    def failures(self) -> list[str]:
        """What went wrong, one line each (empty: the run passed)."""
        checks = [
            (self.crashes, "daemon crashes (process exited)"), (self.hangs, "hangs (probe unanswered)"),
            (self.tracebacks, "tracebacks in the daemon log"), (len(self.lost_transactions), "lost transactions"),
            (self.link_drops, "link drops (the charger closed the websocket unasked)"),
            (self.unexpected_boots, "unexpected restarts (BootNotification without a Reset)"),
            (self.bad_probe_answers, "wrong answers to the probe"),
            (self.session_failures, "sessions that could not be (re)started or stopped"),
            (self.sessions_ended, "sessions ended or faulted unasked"),
            (self.bad_charger_frames, "frames from the charger that are not OCPP-J"),
            (self.outbox_depth or 0, "messages stuck in the outbox"), (self.dead_letters or 0, "dead letters"),
            (0 if self.exit_code in (0, None) else 1, f"exit code {self.exit_code} after SIGTERM"),
        ]
        return [f"{n} {what}" for n, what in checks if n]

    def describe(self, incidents: int = 20) -> str:
        rss = "unknown"
        if self.rss_start_kb and self.rss_end_kb:
            rss = (f"{self.rss_start_kb / 1024:.1f} MB → {self.rss_end_kb / 1024:.1f} MB "
                   f"({(self.rss_end_kb - self.rss_start_kb) / 1024:+.1f} MB) over the last {self.rss_frames} frames "
                   "(since the daemon's last start)")
        lines = [
            f"seed {self.seed}: {self.frames} frames in {self.batches} batches + {self.misanswers} mis-answers, "
            f"{self.seconds:.0f} s; {self.answers} answers to fuzz frames",
            f"crashes {self.crashes}, hangs {self.hangs}, tracebacks {self.tracebacks}, "
            f"lost transactions {len(self.lost_transactions)} of {self.transactions}, link drops {self.link_drops}, "
            f"unexpected restarts {self.unexpected_boots}, bad probe answers {self.bad_probe_answers}",
            f"resets {self.resets}, daemon restarts {self.restarts}, session failures {self.session_failures}, "
            f"sessions ended unasked {self.sessions_ended}, "
            f"outbox depth {self.outbox_depth}, dead letters {self.dead_letters}, exit code {self.exit_code}",
            f"daemon RSS {rss}",
        ]
        if self.unknown_stops:
            lines.append(f"StopTransactions for ids never issued: {self.unknown_stops[:10]}")
        for signature, n in sorted(self.signatures.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {n:5d} x {signature}")
        for incident in self.incidents[:incidents]:
            lines.append(f"- {incident.kind} after batch {incident.batch}: {incident.detail}")
            frames = incident.frames
            if len(frames) > 25:  # a burst: its ends
                frames = [*frames[:5], f"… {len(frames) - 10} more …", *frames[-5:]]
            lines.extend(f"    {f}" for f in frames)
        if len(self.incidents) > incidents:
            lines.append(f"… {len(self.incidents) - incidents} more incidents")
        return "\n".join(lines)


HEADER = re.compile(r"^[ |+]*(?:Exception Group )?Traceback \(most recent call last\):$")
CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d[ T]")
"""A line the daemon's logging starts (a timestamp): it ends the traceback before it."""


def tracebacks(text: str) -> list[str]:
    """The tracebacks in a stretch of the daemon's log, each by its last exception line (an exception group's
    innermost one); a chained traceback ("During handling of the above exception...") counts once."""
    found: list[str] = []
    block: list[str] | None = None
    previous = ""

    def close() -> None:
        candidates = []
        for line in block or []:
            content = re.sub(r"^\s*(?:[|+][ -]?)", "", line) if re.match(r"^\s*[|+]", line) else line
            if content and not content[0].isspace() and not content.startswith(
                    ("Traceback", "Exception Group Traceback", "File ", *CHAINED, "-", "+", "^", "~")):
                candidates.append(content.strip())
        found.append(candidates[-1][:200] if candidates else "(no exception line)")

    for line in text.splitlines():
        if HEADER.match(line) and not previous.startswith(CHAINED) and not re.match(r"^\s+\|", line):
            if block is not None:
                close()
            block = []
        elif block is not None and (LOG_LINE.match(line) or line.startswith("Call stack:")):
            close()
            block = None
        elif block is not None:
            block.append(line)
        if line.strip():
            previous = line.strip()
    if block is not None:
        close()
    return found


def rss_kb(pid: int) -> int | None:
    """VmRSS of process `pid` (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class FuzzRun:
    """The daemon (simulated hardware) against the fuzz CSMS: two sessions, batches and probes, then the checks."""

    def __init__(self, workdir: Path, options: FuzzOptions, progress: Callable[[str], None] | None = None) -> None:
        self.options = options
        self.base = workdir
        self.workdir = workdir
        self.progress = progress or (lambda line: None)
        self.report = FuzzReport(options.seed)
        self.rng = random.Random(options.seed + 2)
        """The harness's own choices (EV pauses, stranger cards, Reset kinds)."""
        self.pool: Pool | None = None
        self.generator: FrameGenerator | None = None
        self.misanswers: Misanswers | None = None
        self.csms = FuzzCsms(lambda: self.misanswers)
        self.csms.misanswer_rate = options.misanswer_rate
        self.daemon: Daemon | None = None
        self._log_offset = 0
        self._log_tail = ""
        self.recover = True
        self._drops_seen = 0
        self._rss_due = True
        """Read the daemon's RSS after the next batch (it has just (re)started)."""
        self._rss_from = 0
        self._boots_seen = 0
        """After a crash or a hang, restart the daemon and its sessions (not while judging known frames one by one)."""
        self._generation = 0

    # --- the daemon -------------------------------------------------------------------------------

    async def ctl(self, within: float = 10.0, **command: Any) -> dict[str, Any] | None:
        """A control-socket command, retried while the daemon restarts; None if it never answers."""
        assert self.daemon is not None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.daemon.proc is not None and self.daemon.proc.returncode is not None:
                return None
            try:
                answer = await request(self.daemon.socket, command)
            except (OSError, TimeoutError, ValueError):
                await asyncio.sleep(0.1)
                continue
            return answer if answer.pop("ok", False) else None
        return None

    async def start_daemon(self) -> bool:
        """Start the daemon (again) and wait for its boot to be answered; False if it does not come up."""
        self._rss_due = True
        self.csms.new_boot()
        self.csms.registered = False
        if self.daemon is None:
            self.daemon = Daemon(self.workdir, self.csms.url, len(CARDS), PRESETS,
                                 call_timeout_s=self.options.call_timeout_s)
            text = self.daemon.config.read_text()
            text = re.sub(r'(?m)^level = ".*"$', f'level = "{self.options.log_level}"', text)
            self.daemon.config.write_text(text)
        try:
            await self.daemon.start()
        except (AssertionError, TimeoutError):
            return False
        return await self.csms.wait_until(lambda: self.csms.registered and self.csms.connection is not None,
                                          30) is not None

    def alive(self) -> bool:
        return self.daemon is not None and self.daemon.proc is not None and self.daemon.proc.returncode is None

    async def restart_daemon(self, why: str) -> bool:
        """The daemon died or stays unreachable: end it (our own process, by pid) and start it again."""
        assert self.daemon is not None and self.daemon.proc is not None
        self.report.restarts += 1
        self.progress(f"restarting the daemon: {why}")
        self.csms.expect_close = True
        if self.daemon.proc.returncode is None:
            self.daemon.proc.kill()
            await self.daemon.proc.wait()
        await self.csms.abort()
        self.csms.expect_close = False
        return await self.start_daemon()

    # --- sessions ---------------------------------------------------------------------------------

    async def connector(self, n: int, within: float = 10.0) -> dict[str, Any] | None:
        state = await self.ctl(within, cmd="state")
        if state is None:
            return None
        return next((c for c in state["connectors"] if c["id"] == n), None)

    async def ensure_sessions(self) -> None:
        """Both test sessions charging (again): plug in and tap the card where none runs. Bounded."""
        for n, card in CARDS.items():
            if not await self._ensure_session(n, card):
                self.report.session_failures += 1
                self.incident("session", f"connector {n}: could not start its session "
                                         f"(state {await self.connector(n)})")

    async def _ensure_session(self, n: int, card: str) -> bool:
        deadline = time.monotonic() + 40
        tapped_at = 0.0
        faulted_at: float | None = None
        while time.monotonic() < deadline:
            c = await self.connector(n)
            if c is None:
                return False
            if c["tx_ref"] is None and c["error_code"] != "NoError":  # unplugging may clear it; else give up
                if faulted_at is None:
                    faulted_at = time.monotonic()
                    await self.ctl(cmd="unplug", connector=n)
                elif time.monotonic() - faulted_at > 3:
                    return False
                await asyncio.sleep(0.2)
                continue
            if c["tx_ref"] is not None and c["id_tag"] != card:
                if c["transaction_id"] is not None:  # a fuzzed RemoteStart that got through: end it
                    await self.csms.call("RemoteStopTransaction", {"transactionId": c["transaction_id"]}, 5)
                await asyncio.sleep(0.5)
                continue
            if c["tx_ref"] is not None:
                if not c["ev_requesting"]:  # paused by `stimulate` (the simulated EV keeps it across restarts)
                    await self.ctl(cmd="resume", connector=n)
                if c["status"] == "Charging":
                    return True
                await asyncio.sleep(0.1)
                continue
            if not c["plugged"]:
                await self.ctl(cmd="plug", connector=n)
            if time.monotonic() - tapped_at > 8 and not c["awaiting_start"]:
                await self.ctl(cmd="tap", uid=card, connector=n)
                tapped_at = time.monotonic()
            await asyncio.sleep(0.1)
        return False

    async def stop_sessions(self) -> None:
        """End every running transaction normally (the card; another's by RemoteStop), bounded."""
        for n, card in CARDS.items():
            deadline = time.monotonic() + 15
            tapped_at = 0.0
            while time.monotonic() < deadline:
                c = await self.connector(n)
                if c is None or c["tx_ref"] is None:
                    break
                if c["id_tag"] == card and time.monotonic() - tapped_at > 8:
                    await self.ctl(cmd="tap", uid=card, connector=n)
                    tapped_at = time.monotonic()
                elif c["id_tag"] != card and c["transaction_id"] is not None:
                    await self.csms.call("RemoteStopTransaction", {"transactionId": c["transaction_id"]}, 5)
                await asyncio.sleep(0.2)
            else:
                self.report.session_failures += 1
                self.incident("session", f"connector {n}: its transaction did not end ({await self.connector(n)})")

    async def stimulate(self) -> None:
        """Make the charger talk while fuzzing: an EV pauses or resumes (StatusNotification), or a stranger's
        card on a busy connector (Authorize)."""
        r = self.rng.random()
        n = self.rng.choice(list(CARDS))
        if r < 0.25:
            c = await self.connector(n, within=2)
            if c is not None:
                await self.ctl(within=2, cmd="pause" if c["ev_requesting"] else "resume", connector=n)
        elif r < 0.35:
            await self.ctl(within=2, cmd="tap", uid=STRANGER, connector=n)

    # --- incidents --------------------------------------------------------------------------------

    def incident(self, kind: str, detail: str) -> None:
        batch = self.csms.batch
        frames = [s.frame.excerpt() + f"  [{s.frame.kind}]" for s in self.csms.log if s.batch == batch]
        self.report.incidents.append(Incident(kind, batch, detail, frames))
        self.progress(f"{kind} after batch {batch}: {detail}")

    def new_tracebacks(self, final: bool = False) -> list[str]:
        """The tracebacks the daemon logged since the last look (up to its last complete log line, unless
        `final`), by their last lines; counted in the report."""
        assert self.daemon is not None
        try:
            with open(self.daemon.log_path, "rb") as f:
                f.seek(self._log_offset)
                chunk = f.read()
        except OSError:
            chunk = b""
        self._log_offset += len(chunk)
        text = self._log_tail + chunk.decode(errors="replace")
        cut = len(text) if final else max((m.start() for m in re.finditer(r"(?m)^\d{4}-\d\d-\d\d[ T]", text)),
                                          default=0)
        self._log_tail, text = text[cut:], text[:cut]
        found = tracebacks(text)
        for last in found:
            self.report.signatures[last] = self.report.signatures.get(last, 0) + 1
        self.report.tracebacks += len(found)
        return found

    # --- the run ----------------------------------------------------------------------------------

    async def run(self) -> FuzzReport:
        started = time.monotonic()
        options, report, csms = self.options, self.report, self.csms
        self.pool = await asyncio.to_thread(build_pool, options.seed, options.pool_size)
        issued = lambda: set(csms.issued)  # noqa: E731
        self.generator = FrameGenerator(self.pool, random.Random(options.seed), issued,
                                        lambda: list(csms.recent_charger_ids))
        self.misanswers = Misanswers(self.pool, self.generator, random.Random(options.seed + 1), options.call_timeout_s)
        await csms.start()
        try:
            if not await self.start_daemon():
                tail = self.daemon.log()[-3000:] if self.daemon else ""
                self.incident("crash", f"the daemon did not come up:\n{tail}")
                report.crashes += 1
                return report
            await self.ensure_sessions()
            await self.fuzz(time.monotonic() + options.deadline_s)
            assert self.daemon is not None and self.daemon.proc is not None
            report.rss_end_kb = rss_kb(self.daemon.proc.pid)
            report.rss_frames = report.frames - self._rss_from
            await self.finish()
        finally:
            if self.daemon is not None and self.daemon.proc is not None and self.daemon.proc.returncode is None:
                self.daemon.proc.kill()
                await self.daemon.proc.wait()
            await csms.stop()
            report.seconds = time.monotonic() - started
        return report

    async def fuzz(self, deadline: float) -> None:
        options, report, csms = self.options, self.report, self.csms
        assert self.generator is not None
        known = deque(known_batches(options.batch) if options.known else [])
        reset_every = options.frames // (options.resets + 1) if options.resets else 0
        next_reset = reset_every or None
        csms.fuzzing = True
        while report.frames < options.frames and time.monotonic() < deadline:
            csms.batch = report.batches = report.batches + 1
            if len(csms.log) > 4 * options.batch:
                del csms.log[:-2 * options.batch]
            if next_reset is not None and report.frames >= next_reset:
                next_reset = next_reset + reset_every if report.resets + 1 < options.resets else None
                await self.reset()
                continue
            batch = known.popleft() if known else self.generator.batch(options.batch)
            csms.fuzzing = True
            await self.stimulate()
            for frame in batch:
                if await csms.send(frame):
                    report.frames += 1
            await self.probe()
            if self._rss_due and self.alive() and csms.connection is not None:
                assert self.daemon is not None and self.daemon.proc is not None
                self._rss_due, self._rss_from = False, report.frames
                report.rss_start_kb = rss_kb(self.daemon.proc.pid)
            if options.pace_s:
                await asyncio.sleep(options.pace_s)
            if report.batches % 250 == 0:
                pid = self.daemon.proc.pid if self.daemon and self.daemon.proc else 0
                self.progress(f"{report.frames} frames, {csms.misanswered} mis-answers: crashes {report.crashes}, "
                              f"hangs {report.hangs}, tracebacks {report.tracebacks}, link drops {report.link_drops}, "
                              f"RSS {rss_kb(pid) or 0} kB")
        csms.fuzzing = False

    async def probe(self) -> None:
        """The probe after a batch; then what went wrong since the last one, and the repairs (`recover`)."""
        report, csms = self.report, self.csms
        if csms.connection is None:
            await csms.wait_until(lambda: csms.connection is not None or not self.alive(), 15)
        answer = None
        if csms.connection is not None:
            report.probes += 1
            answer = await csms.call(*PROBE, within=self.options.probe_timeout_s)
        traces = self.new_tracebacks()
        if traces:
            self.incident("traceback", "; ".join(traces[:3]))
        drops, self._drops_seen = csms.link_drops[self._drops_seen:], len(csms.link_drops)
        boots, self._boots_seen = csms.unexpected_boots - self._boots_seen, csms.unexpected_boots
        if not self.alive():  # its link dropped with it: one crash, not a link drop as well
            report.crashes += 1
            assert self.daemon is not None and self.daemon.proc is not None
            self.incident("crash", f"exit code {self.daemon.proc.returncode}")
            if self.recover and await self.restart_daemon("it exited"):
                await self.ensure_sessions()
            return
        if drops:
            report.link_drops += len(drops)
            self.incident("link drop", "; ".join(drops[:3]))
        if boots:
            report.unexpected_boots += boots
            self.incident("unexpected boot", "BootNotification on a new connection without a Reset")
        if answer is None:
            report.hangs += 1
            self.incident("hang", f"no answer to the probe within {self.options.probe_timeout_s} s")
            if not self.recover:
                return
            await csms.abort()
            if await csms.wait_until(lambda: csms.connection is not None, 20) is None or \
                    await csms.call(*PROBE, within=self.options.probe_timeout_s) is None:
                if await self.restart_daemon("still no answer after a reconnect"):
                    await self.ensure_sessions()
                return
        elif answer[0] != MessageType.CallResult or not isinstance(answer[2], dict) or \
                "configurationKey" not in answer[2]:
            report.bad_probe_answers += 1
            self.incident("bad probe answer", encode(answer)[:300])
        await self.check_sessions()

    async def check_sessions(self) -> None:
        """Both test sessions still run on healthy connectors; if not, count it and start them again."""
        state = await self.ctl(5, cmd="state")
        if state is None:
            return
        wrong = [c for c in state["connectors"] if c["id"] in CARDS and (
            c["tx_ref"] is None or c["id_tag"] != CARDS[c["id"]] or c["error_code"] != "NoError")]
        if wrong:
            self.report.sessions_ended += 1
            self.incident("session ended", "; ".join(
                f"connector {c['id']} {c['status']} tx_ref={c['tx_ref']} error={c['error_code']} "
                f"info={c['fault_info']}" for c in wrong))
            await self.ensure_sessions()

    async def reset(self) -> None:
        """A well-formed Reset: the daemon ends both transactions, restarts in-process, and the sessions start
        again. The process must be the same one (execv), and its boot is expected."""
        assert self.daemon is not None and self.daemon.proc is not None
        csms, report = self.csms, self.report
        pid = self.daemon.proc.pid
        csms.fuzzing = False
        kind = self.rng.choice(("Soft", "Hard"))
        csms.expect_close = True
        csms.new_boot()
        boots = csms.boots
        answer = await csms.call("Reset", {"type": kind}, self.options.probe_timeout_s)
        csms.fuzzing = True
        self._rss_due = True
        report.resets += 1
        self.progress(f"Reset {kind}: {answer}")
        if answer is None or answer[0] != MessageType.CallResult or answer[2].get("status") != "Accepted":
            csms.expect_close = False
            self.incident("bad probe answer", f"Reset {kind} answered {answer}")
            report.bad_probe_answers += 1
            return
        back = await csms.wait_until(lambda: csms.boots > boots and csms.connection is not None, 60)
        csms.expect_close = False
        if not self.alive() or self.daemon.proc.pid != pid or back is None:
            report.crashes += 1
            self.incident("crash", f"no restart after Reset {kind} (alive={self.alive()})")
            if not await self.restart_daemon("no restart after Reset"):
                return
        await self.ensure_sessions()

    # --- the known crash classes, one at a time -----------------------------------------------------

    async def fresh_daemon(self) -> bool:
        """A new daemon in a new working directory (a fresh database: nothing an earlier item left behind)."""
        if self.daemon is not None and self.daemon.proc is not None and self.daemon.proc.returncode is None:
            self.csms.expect_close = True
            self.daemon.proc.kill()
            await self.daemon.proc.wait()
            await self.csms.abort()
            self.csms.expect_close = False
        self._generation += 1
        self.workdir = self.base / f"daemon-{self._generation}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.daemon = None
        self._log_offset, self._log_tail = 0, ""
        return await self.start_daemon()

    async def verdict(self, label: str, act: Callable[[], Any], settle_s: float) -> str:
        """Do `act` to a fresh daemon with both sessions running, wait `settle_s`, probe and look at the
        sessions: what went wrong."""
        report, csms = self.report, self.csms
        if not await self.fresh_daemon():
            return "the daemon did not start"
        await self.ensure_sessions()
        self._drops_seen, self._boots_seen = len(csms.link_drops), csms.unexpected_boots
        counters = ("crashes", "hangs", "link_drops", "tracebacks", "unexpected_boots", "session_failures",
                    "sessions_ended", "bad_probe_answers")
        before = [getattr(report, c) for c in counters]
        csms.batch += 1
        self.progress(f"{label} ...")
        await act()
        await asyncio.sleep(settle_s)
        await self.probe()
        went_wrong = [f"{after - was} {name.replace('_', ' ')}" for name, was, after
                      in zip(counters, before, (getattr(report, c) for c in counters), strict=True) if after > was]
        return ", ".join(went_wrong) or "ok"

    async def forced(self, action: str, payload: Any, trigger: Callable[[], Any]) -> None:
        """Answer the charger's next `action` with `payload` (SILENCE: not at all); `trigger` makes it send one."""
        queue = self.csms.forced.setdefault(action, deque())
        queue.clear()
        queue.append(payload)
        await trigger()
        await self.csms.wait_until(lambda: not queue, 15)
        queue.clear()

    def triggers(self) -> dict[str, Callable[[], Any]]:
        """What makes the charger send each of its CALLs now."""
        async def nothing() -> None:  # Heartbeat (every 2 s) and MeterValues (every second) come by themselves
            pass

        async def pause() -> None:
            await self.ctl(cmd="pause", connector=1)

        async def stranger() -> None:
            await self.ctl(cmd="tap", uid=STRANGER, connector=1)

        async def stop() -> None:
            await self.ctl(cmd="tap", uid=CARDS[1], connector=1)

        async def restart() -> None:
            await self.stop_then_start()

        async def reset() -> None:
            self.csms.expect_close = True
            self.csms.new_boot()
            await self.csms.call("Reset", {"type": "Soft"}, 5)
            await self.csms.wait_until(lambda: self.csms.connection is None, 15)
            await self.csms.wait_until(lambda: self.csms.connection is not None, 30)
            self.csms.expect_close = False

        return {"Heartbeat": nothing, "MeterValues": nothing, "StatusNotification": pause, "Authorize": stranger,
                "StopTransaction": stop, "StartTransaction": restart, "BootNotification": reset}

    async def exercise(self) -> None:
        """What a frame's harm may wait for: status changes (an EV pauses and resumes), a session ending and
        starting again (StopTransaction, Authorize, StartTransaction), a few meter samples."""
        await self.ctl(cmd="pause", connector=1)
        await asyncio.sleep(0.5)
        await self.ctl(cmd="resume", connector=1)
        await self.stop_then_start()
        await self.ensure_sessions()

    async def stop_then_start(self) -> None:
        """End connector 1's session by its card and start it again (StopTransaction, then StartTransaction)."""
        await self.ctl(cmd="tap", uid=CARDS[1], connector=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (c := await self.connector(1, within=2)) and c["tx_ref"] is not None:
            await asyncio.sleep(0.1)
        await self.ctl(cmd="tap", uid=CARDS[1], connector=1)

    async def known_verdicts(self) -> list[tuple[str, str]]:
        """Each known crash class alone against a fresh daemon (its own database): every
        frame of `known_batches`, the 1000 stale CALLRESULTs as one, and each of `KNOWN_MISANSWERS` and
        silence as the answer to the charger's CALL it belongs to."""
        self.recover = False
        self.misanswers = None
        results: list[tuple[str, str]] = []
        await self.csms.start()
        try:
            batches = known_batches(1)
            for batch in batches:
                label = batch[0].kind.removeprefix("known: ")

                async def send(frames: list[Frame] = batch) -> None:
                    for frame in frames:
                        await self.csms.send(frame)
                        self.report.frames += 1
                    await asyncio.sleep(0.5)
                    await self.exercise()

                verdict = await self.verdict(label, send, 3.0)
                uid = _frame_id(batch[0])
                if uid in self.csms.known_answers:
                    answer = self.csms.known_answers[uid]
                    shown = answer[2].get("status", "") if answer[0] == MessageType.CallResult and \
                        isinstance(answer[2], dict) else f"CALLERROR {answer[2]}"
                    if uid.startswith("k-big-") and shown == "Accepted":  # harmless now, a time bomb later
                        verdict = "accepted a 400-digit value" + ("" if verdict == "ok" else f", {verdict}")
                    verdict += f" (answered {shown or 'CALLRESULT'})"
                results.append((label, verdict))
            triggers = self.triggers()
            for action, payloads in KNOWN_MISANSWERS.items():
                for payload in (*payloads, SILENCE):
                    shown = "silence" if payload is SILENCE else encode(Misanswers._fill(payload))[:90]
                    label = f"{action}.conf {shown}"

                    async def answer(a: str = action, p: Any = payload) -> None:
                        await self.forced(a, p if p is SILENCE else Misanswers._fill(p), triggers[a])
                        if a in ("StopTransaction", "StartTransaction", "BootNotification"):
                            await self.ensure_sessions()  # the trigger ended a session on purpose

                    results.append((label, await self.verdict(label, answer, self.options.call_timeout_s + 1)))
        finally:
            if self.daemon is not None and self.daemon.proc is not None and self.daemon.proc.returncode is None:
                self.daemon.proc.kill()
                await self.daemon.proc.wait()
            await self.csms.stop()
        return results

    async def finish(self) -> None:
        """Stop fuzzing, end both sessions normally, wait for the outbox to drain, SIGTERM, then the checks."""
        report, csms = self.report, self.csms
        assert self.daemon is not None
        csms.fuzzing = False
        self.misanswers = None  # every answer right from now on
        if self.alive() and csms.connection is None:
            await csms.wait_until(lambda: csms.connection is not None, 20)
        await self.stop_sessions()
        deadline = time.monotonic() + 30
        state = None
        while time.monotonic() < deadline:
            state = await self.ctl(cmd="state")
            if state is None or (state["outbox"]["depth"] == 0 and set(csms.issued) <= set(csms.stopped)):
                break
            await asyncio.sleep(0.2)
        if state is not None:
            report.outbox_depth = state["outbox"]["depth"]
            report.dead_letters = state["outbox"]["dead_letters"]
        csms.expect_close = True
        if self.alive():
            try:
                report.exit_code = await self.daemon.stop()
            except TimeoutError:
                report.hangs += 1
                self.incident("hang", "the daemon did not end within 15 s of SIGTERM")
        else:
            report.crashes += 1
            self.incident("crash", "the daemon was gone at the end")
        self.new_tracebacks(final=True)
        report.transactions = len(csms.issued)
        report.lost_transactions = sorted(set(csms.issued) - set(csms.stopped))
        report.unknown_stops = sorted((t for t in csms.stopped if t not in csms.issued), key=str)
        report.bad_charger_frames = len(csms.bad_charger_frames)
        report.answers = csms.answers
        report.misanswers = csms.misanswered


async def run_fuzz(workdir: Path, options: FuzzOptions, progress: Callable[[str], None] | None = None) -> FuzzReport:
    """One fuzz run in `workdir` (config, database, daemon log): the daemon against the fuzz CSMS."""
    return await FuzzRun(workdir, options, progress).run()


async def run_known(workdir: Path, options: FuzzOptions,
                    progress: Callable[[str], None] | None = None) -> tuple[list[tuple[str, str]], FuzzReport]:
    """Each known crash class alone (`FuzzRun.known_verdicts`): (label, what went wrong or "ok") per class."""
    run = FuzzRun(workdir, options, progress)
    return await run.known_verdicts(), run.report
