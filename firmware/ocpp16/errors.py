"""CALLERROR codes as OCPP-J 1.6 §4.2.3 names them, corrected in this one place.

The `ocpp` library speaks 2.0.1 in places: it answers FormatViolation (1.6: FormationViolation),
ProtocolError for a missing required field (1.6: OccurenceConstraintViolation), FormatViolation for a
bad enum value (1.6: PropertyConstraintViolation), and swaps NotImplemented ("Requested Action is not
known by receiver") with NotSupported ("recognized but not supported"), descriptions included.
"""

from jsonschema.exceptions import best_match
from ocpp.exceptions import (
    FormationViolationError,
    FormatViolationError,
    NotImplementedError,
    NotSupportedError,
    OccurenceConstraintViolationError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import Call, MessageType, get_validator
from ocpp.v16.enums import Action

_BY_SCHEMA_KEYWORD: dict[str, type[OCPPError]] = {
    "type": TypeConstraintViolationError,
    "maxLength": TypeConstraintViolationError,  # CiStringNType: the length is part of the data type
    "required": OccurenceConstraintViolationError,
    "minItems": OccurenceConstraintViolationError,
    "maxItems": OccurenceConstraintViolationError,
    "additionalProperties": FormationViolationError,
    "enum": PropertyConstraintViolationError,
    "format": PropertyConstraintViolationError,
    "minimum": PropertyConstraintViolationError,
    "maximum": PropertyConstraintViolationError,
    "multipleOf": PropertyConstraintViolationError,
    "pattern": PropertyConstraintViolationError,
}


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


def violation(keyword: str, cause: str) -> OCPPError:
    """The 1.6 error for a payload that breaks its schema's `keyword` (maxLength, required, ...)."""
    return _BY_SCHEMA_KEYWORD.get(keyword, FormationViolationError)(details={"cause": cause[:200]})


def not_an_object(call: Call) -> OCPPError | None:
    """A CALL's payload must be a JSON object before any schema keyword applies."""
    if isinstance(call.payload, dict):
        return None
    return FormationViolationError(details={"cause": "payload is not a JSON object"})


def schema_error(call: Call) -> OCPPError | None:
    """Classify the first schema violation of a CALL's payload, or None if the payload is valid."""
    if (error := not_an_object(call)) is not None:
        return error
    validator = get_validator(MessageType.Call, call.action, "1.6")
    try:
        first = best_match(validator.iter_errors(call.payload))
    except ArithmeticError as e:  # decimal's DivisionImpossible: a number multipleOf 0.1 cannot divide (1e30)
        cause = f"a number the schema check cannot divide: {type(e).__name__}"
        return FormationViolationError(details={"cause": cause})
    if first is None:
        return None
    where = "/".join(str(p) for p in first.absolute_path) or "payload"
    return violation(str(first.validator), f"{where}: {first.message}")


def ocpp16_error(call: Call, error: OCPPError) -> OCPPError:
    """The OCPP-J 1.6 error for what the library raised while handling `call`."""
    if isinstance(error, NotSupportedError | NotImplementedError):
        if _known_action(call.action):
            return NotSupportedError(details={"cause": f"{call.action} is not supported by this charge point"})
        return NotImplementedError(details={"cause": f"unknown action {call.action!r}"})
    if isinstance(error, FormatViolationError | ProtocolError | TypeConstraintViolationError):
        return schema_error(call) or FormationViolationError(details=error.details)
    return error

