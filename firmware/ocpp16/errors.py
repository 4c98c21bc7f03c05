"""CALLERROR codes as OCPP-J 1.6 §4.2.3 names them, corrected in this one place.

The `ocpp` library speaks 2.0.1 in places: it answers FormatViolation (1.6: FormationViolation),
ProtocolError for a missing required field (1.6: OccurenceConstraintViolation), FormatViolation for a
bad enum value (1.6: PropertyConstraintViolation), and swaps NotImplemented ("Requested Action is not
known by receiver") with NotSupported ("recognized but not supported"), descriptions included.
"""

from ocpp.exceptions import (
    FormationViolationError,
    FormatViolationError,
    NotImplementedError,
    NotSupportedError,
    OccurenceConstraintViolationError,
    OCPPError,
    ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import Call
from ocpp.v16.enums import Action

from firmware.protocol.schemas import Violations

VIOLATIONS = Violations("1.6", FormationViolationError, OccurenceConstraintViolationError)
"""1.6's names for schema violations (`protocol.schemas`)."""
violation = VIOLATIONS.violation
not_an_object = VIOLATIONS.not_an_object
schema_error = VIOLATIONS.schema_error


DESCRIPTIONS: dict[str, str] = {
    "NotImplemented": "Requested Action is not known by receiver",
    "NotSupported": "Requested Action is recognized but not supported by the receiver",
    "InternalError": "An internal error occurred and the receiver was not able to process the requested Action "
                     "successfully",
    "ProtocolError": "Payload for Action is incomplete",
    "SecurityError": "During the processing of Action a security issue occurred preventing receiver from "
                     "completing the Action successfully",
    "FormationViolation": "Payload for Action is syntactically incorrect or not conform the PDU structure for "
                          "Action",
    "PropertyConstraintViolation": "Payload is syntactically correct but at least one field contains an invalid "
                                   "value",
    "OccurenceConstraintViolation": "Payload for Action is syntactically correct but at least one of the fields "
                                    "violates occurence constraints",
    "TypeConstraintViolation": "Payload for Action is syntactically correct but at least one of the fields "
                               "violates data type constraints",
    "GenericError": "Any other error not covered by the previous ones",
}
"""OCPP-J 1.6 §4.2.3, table "Valid Error Codes": each code's description, as the spec words it."""


def described(error: OCPPError) -> OCPPError:
    """`error` with the description the spec gives its code (the library's are swapped or 2.0.1's)."""
    error.description = DESCRIPTIONS.get(error.code, error.description)
    return error


def _known_action(action: object) -> bool:
    return isinstance(action, str) and action in Action._value2member_map_


def ocpp16_error(call: Call, error: OCPPError) -> OCPPError:
    """The OCPP-J 1.6 error for what the library raised while handling `call`."""
    if isinstance(error, NotSupportedError | NotImplementedError):
        if _known_action(call.action):
            return NotSupportedError(details={"cause": f"{call.action} is not supported by this charge point"})
        return NotImplementedError(details={"cause": f"unknown action {call.action!r}"})
    if isinstance(error, FormatViolationError | ProtocolError | TypeConstraintViolationError):
        return schema_error(call) or FormationViolationError(details=error.details)
    return error

