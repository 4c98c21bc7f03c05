"""CALLERROR codes as OCPP-J 2.0.1 §4.3 names them.

The `ocpp` library's validator answers in 2.0.1's words but FormatViolation for nearly every schema violation; here
each gets the code of its first broken keyword (`protocol.schemas`), NotImplemented ("Requested Action is not known
by receiver") is told from NotSupported ("recognized but not supported"), a frame that is no valid RPC request but
whose message id can be read gets RpcFrameworkError, and each code its description as the spec words it.
"""

from ocpp.exceptions import (
    FormatViolationError,
    NotImplementedError,
    NotSupportedError,
    OccurrenceConstraintViolationError,
    OCPPError,
    ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import Call
from ocpp.v201.enums import Action

from firmware.protocol.schemas import Violations

VIOLATIONS = Violations("2.0.1", FormatViolationError, OccurrenceConstraintViolationError)
"""2.0.1's names for schema violations (`protocol.schemas`)."""


class RpcFrameworkError(OCPPError):
    """OCPP-J 2.0.1 §4.3: "Content of the call is not a valid RPC Request, for example: MessageId could not be
    read." (the library has no class for it)."""

    code = "RpcFrameworkError"
    default_description = "Content of the call is not a valid RPC Request"


DESCRIPTIONS: dict[str, str] = {
    "FormatViolation": "Payload for Action is syntactically incorrect",
    "GenericError": "Any other error not covered by the more specific error codes in this table",
    "InternalError": "An internal error occurred and the receiver was not able to process the requested Action "
                     "successfully",
    "MessageTypeNotSupported": "A message with an Message Type Number received that is not supported by this "
                               "implementation.",
    "NotImplemented": "Requested Action is not known by receiver",
    "NotSupported": "Requested Action is recognized but not supported by the receiver",
    "OccurrenceConstraintViolation": "Payload for Action is syntactically correct but at least one of the fields "
                                     "violates occurrence constraints",
    "PropertyConstraintViolation": "Payload is syntactically correct but at least one field contains an invalid "
                                   "value",
    "ProtocolError": "Payload for Action is not conform the PDU structure",
    "RpcFrameworkError": "Content of the call is not a valid RPC Request, for example: MessageId could not be read.",
    "SecurityError": "During the processing of Action a security issue occurred preventing receiver from "
                     "completing the Action successfully",
    "TypeConstraintViolation": "Payload for Action is syntactically correct but at least one of the fields "
                               "violates data type constraints (e.g. \"somestring\": 12)",
}
"""OCPP-J 2.0.1 §4.3, table "Valid Error Codes"."""


def described(error: OCPPError) -> OCPPError:
    """`error` with the description 2.0.1 gives its code."""
    error.description = DESCRIPTIONS.get(error.code, error.description)
    return error


def ocpp201_error(call: Call, error: OCPPError) -> OCPPError:
    """The 2.0.1 error for what the library raised while handling `call`: an action 2.0.1 defines but this charging
    station has no handler for is NotSupported, any other NotImplemented; a payload breaking its schema gets the code
    of the first broken keyword (an invalid enum value is PropertyConstraintViolation, not the library's
    FormatViolation)."""
    if isinstance(error, NotSupportedError | NotImplementedError):
        if isinstance(call.action, str) and call.action in Action._value2member_map_:
            return NotSupportedError(details={"cause": f"{call.action} is not supported by this charging station"})
        return NotImplementedError(details={"cause": f"unknown action {str(call.action)[:40]!r}"})
    if isinstance(error, FormatViolationError | ProtocolError | TypeConstraintViolationError):
        return VIOLATIONS.schema_error(call) or error
    return error


def at_most_items(items: list[object], limit: int, variable: str) -> None:
    """A request naming more items than DeviceDataCtrlr's `variable` allows (ItemsPerMessage) is answered with the
    CALLERROR OccurrenceConstraintViolation (B06.FR.16; 2.0.1 spells it with two r, 1.6 with one)."""
    if len(items) > limit:
        raise OccurrenceConstraintViolationError(details={"cause": f"{len(items)} items, at most {limit} ({variable})"})
