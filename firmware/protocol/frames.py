"""OCPP-J frames from the CSMS, read defensively: whatever arrives becomes a message or a `BadFrame`.

OCPP-J (1.6 §4.1, 2.0.1 part 4 §4): a frame is a JSON array `[MessageTypeId, UniqueId, ...]`. A hostile or
broken CSMS can send anything, so nothing here raises anything but `BadFrame`: nesting is bounded before the
JSON parser runs (a 2 KB `[[[[…` would exhaust its recursion), and numbers must be numbers JSON allows
(no NaN or Infinity, no number beyond a float's range, no integer the interpreter refuses to convert) and
strings must be Unicode text (no lone surrogate). What a `BadFrame` is answered with is
the adapter's business (its CALLERROR codes); `call_id` reads the id to answer when one can be read.
"""

import json
import math
import re
from typing import Any

from ocpp.messages import Call, CallError, CallResult, MessageType

Message = Call | CallResult | CallError

MAX_NESTING = 16
"""Arrays and objects inside one another, the frame's own array included. OCPP's deepest messages
(1.6 SetChargingProfile, 2.0.1 SetChargingProfile and NotifyEVChargingNeeds) nest fewer than 10."""

_ESCAPE = re.compile(r"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(code for code in range(256) if code not in b'[]{}"')
"""Every byte but brackets and quotes (UTF-8 never puts an ASCII byte inside a multi-byte character)."""
_OPENING = frozenset(b"[{")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_CALL_ID = re.compile(r'\s*\[\s*2\s*,\s*"((?:[^"\\]|\\.){1,64})"')


class BadFrame(Exception):
    """A frame that is not an OCPP-J message. `kind` says how: "format" (not JSON, or JSON OCPP-J cannot
    carry), "structure" (not an array of the right elements for its type), "nesting" (too deep to read)."""

    def __init__(self, kind: str, cause: str) -> None:
        super().__init__(cause)
        self.kind = kind


def too_deep(text: str, limit: int = MAX_NESTING) -> bool:
    """Whether `text` nests arrays and objects more than `limit` deep (brackets inside strings ignored).

    Linear and cheap on a 1.4 MB SendLocalList (a few ms): escapes go first (so `\\"` cannot end a string),
    then everything but brackets and quotes, then what stands between quotes; the brackets left are counted."""
    if text.count("[") + text.count("{") <= limit:
        return False
    if "\\" in text:
        text = _ESCAPE.sub("", text)
    depth = 0
    for byte in b"".join(text.encode(errors="replace").translate(None, _NOT_STRUCTURE).split(b'"')[::2]):
        depth += 1 if byte in _OPENING else -1
        if depth > limit:
            return True
    return False


def _no_constant(name: str) -> Any:
    raise BadFrame("format", f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400: a JSON number no float holds (the library's checks would fail on infinity)
        raise BadFrame("format", f"number {text[:20]} out of range")
    return value


def _lone_surrogate(text: str, frame: Any) -> bool:
    """Whether a string in the frame holds half a UTF-16 surrogate pair (`"\\ud800"`): not Unicode text,
    it cannot be stored or sent on. Looked for only when the frame has such an escape at all."""
    if _SURROGATE_ESCAPE.search(text) is None:
        return False
    try:
        json.dumps(frame, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def parse(raw: str | bytes) -> Message:
    """The message a frame carries; raises BadFrame."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise BadFrame("format", "frame is not UTF-8 text") from None
    if too_deep(text):
        raise BadFrame("nesting", f"nested more than {MAX_NESTING} levels deep")
    try:
        frame = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except ValueError as e:  # JSONDecodeError, and integers with more digits than int() converts
        raise BadFrame("format", f"not JSON: {str(e)[:80]}") from None
    if _lone_surrogate(text, frame):
        raise BadFrame("format", "a string holds a lone UTF-16 surrogate")
    if not isinstance(frame, list) or not frame:
        raise BadFrame("structure", "frame is not a JSON array with a MessageTypeId")
    kinds: dict[object, type[Message]] = {MessageType.Call: Call, MessageType.CallResult: CallResult,
                                          MessageType.CallError: CallError}
    kind = kinds.get(frame[0]) if type(frame[0]) is int else None
    if kind is None:
        raise BadFrame("structure", f"MessageTypeId {str(frame[0])[:20]} is not 2, 3 or 4")
    try:
        message = kind(*frame[1:])
    except TypeError:
        raise BadFrame("structure", f"wrong number of elements ({len(frame)}) for MessageTypeId {frame[0]}") from None
    if not isinstance(message.unique_id, str):
        raise BadFrame("structure", "UniqueId is not a string")
    if isinstance(message, Call) and not isinstance(message.action, str):
        raise BadFrame("structure", "Action is not a string")
    return message


def call_id(raw: str | bytes) -> str | None:
    """The UniqueId of a frame that starts like a CALL, read without parsing it (it may not parse)."""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    match = _CALL_ID.match(text)
    if match is None:
        return None
    try:
        return json.loads(f'"{match.group(1)}"')
    except ValueError:  # a broken escape: not an id that can be answered
        return None
