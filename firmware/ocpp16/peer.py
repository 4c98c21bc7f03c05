"""One websocket conversation in OCPP-J 1.6 (`protocol.peer.Peer` in 1.6's words): a frame that is not OCPP-J is
answered with a FormationViolation when its id can be read (OCPP-J 1.6 §4.2.3), a CALL with a CALLRESULT or a 1.6
CALLERROR (`ocpp16.errors`); SendLocalList's large requests are checked by a compiled schema.

Handlers get `Ocpp16Services`: the core's `Services` and the adapter's own ports (what only the adapter can
do, e.g. send a message on request), so `core` stays free of OCPP.
"""

from dataclasses import dataclass, fields

from ocpp.exceptions import FormationViolationError, OCPPError
from ocpp.messages import Call
from ocpp.v16 import call_result

from firmware.core.services import Services
from firmware.ocpp16 import compiled_schemas
from firmware.ocpp16.errors import described, ocpp16_error
from firmware.protocol.peer import Link, Peer, Triggers


@dataclass(frozen=True)
class Ocpp16Services(Services):
    """What a 1.6 handler gets: the core's services, and the adapter's ports."""

    triggers: Triggers | None = None
    """Messages the charge point sends when the CSMS asks (TriggerMessage); None: none can be."""
    link: Link | None = None
    """The websocket (a raised SecurityProfile applies by connecting again); None: no link to redial."""

    @classmethod
    def of(cls, services: Services, triggers: Triggers | None, link: Link | None = None) -> "Ocpp16Services":
        """`services` with the adapter's ports added."""
        return cls(**{f.name: getattr(services, f.name) for f in fields(Services)}, triggers=triggers, link=link)


class Ocpp16Peer(Peer):
    _ocpp_version = "1.6"
    results = call_result

    def error_for(self, msg: Call, error: OCPPError) -> OCPPError:
        return ocpp16_error(msg, error)

    def described(self, error: OCPPError) -> OCPPError:
        return described(error)

    def malformed(self, cause: str) -> OCPPError:
        """OCPP-J 1.6 §4.2.3: "syntactically incorrect or not conform the PDU structure"."""
        return FormationViolationError(details={"cause": cause})

    def fast_schema_error(self, msg: Call) -> OCPPError | None:
        return compiled_schemas.schema_error(msg)
