"""Which CALLERROR a payload that breaks its message's JSON schema gets, by the first broken schema keyword: the same
rule in both versions (OCPP-J 1.6 §4.2.3, 2.0.1 §4.3), each with its own name for a malformed payload (1.6
FormationViolation, 2.0.1 FormatViolation) and for a missing field (1.6 OccurenceConstraintViolation as misspelled
there, 2.0.1 OccurrenceConstraintViolation). The `ocpp` library answers FormatViolation for nearly everything."""

from dataclasses import dataclass

from jsonschema.exceptions import best_match
from ocpp.exceptions import OCPPError, PropertyConstraintViolationError, TypeConstraintViolationError
from ocpp.messages import Call, MessageType, get_validator

_KINDS: dict[str, str] = {
    "type": "type", "maxLength": "type",  # CiStringNType: the length is part of the data type
    "required": "occurrence", "minItems": "occurrence", "maxItems": "occurrence",
    "enum": "property", "format": "property", "minimum": "property", "maximum": "property",
    "multipleOf": "property", "pattern": "property",
}
"""Schema keyword → what kind of violation it is; any other keyword (additionalProperties) is a malformed payload."""


@dataclass(frozen=True)
class Violations:
    version: str
    """The library's name of the OCPP version whose schemas apply ("1.6", "2.0.1")."""
    malformed: type[OCPPError]
    occurrence: type[OCPPError]

    def violation(self, keyword: str, cause: str) -> OCPPError:
        """The error for a payload that breaks its schema's `keyword` (maxLength, required, ...)."""
        kinds = {"type": TypeConstraintViolationError, "occurrence": self.occurrence,
                 "property": PropertyConstraintViolationError}
        return kinds.get(_KINDS.get(keyword, ""), self.malformed)(details={"cause": cause[:200]})

    def not_an_object(self, call: Call) -> OCPPError | None:
        """A CALL's payload must be a JSON object before any schema keyword applies."""
        if isinstance(call.payload, dict):
            return None
        return self.malformed(details={"cause": "payload is not a JSON object"})

    def schema_error(self, call: Call) -> OCPPError | None:
        """Classify the first schema violation of a CALL's payload, or None if the payload is valid."""
        if (error := self.not_an_object(call)) is not None:
            return error
        validator = get_validator(MessageType.Call, call.action, self.version)
        try:
            first = best_match(validator.iter_errors(call.payload))
        except ArithmeticError as e:  # decimal's DivisionImpossible: a number multipleOf 0.1 cannot divide (1e30)
            return self.malformed(details={"cause": f"a number the schema check cannot divide: {type(e).__name__}"})
        if first is None:
            return None
        where = "/".join(str(p) for p in first.absolute_path) or "payload"
        return self.violation(str(first.validator), f"{where}: {first.message}")
