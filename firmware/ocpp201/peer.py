"""One websocket conversation in OCPP-J 2.0.1 (`protocol.peer.Peer` in 2.0.1's words): a frame that is no valid RPC
request but whose id can be read is answered with RpcFrameworkError (OCPP-J 2.0.1 §4.3), a CALL with a CALLRESULT or
a 2.0.1 CALLERROR (`ocpp201.errors`).

Handlers get `Ocpp201Services`: the core's `Services`, the device model and the adapter's own ports.
"""

from dataclasses import dataclass, fields
from typing import Any, Protocol

from ocpp.exceptions import OCPPError
from ocpp.messages import Call
from ocpp.v201 import call_result

from firmware.core.services import Services
from firmware.ocpp201.device_model import DeviceModel
from firmware.ocpp201.errors import RpcFrameworkError, described, ocpp201_error
from firmware.protocol.peer import Link, Peer, Triggers


class Reports(Protocol):
    """The adapter's port for GetBaseReport (B07): send the report's data as NotifyReport messages."""

    def notify_report(self, request_id: int, data: list[dict[str, Any]]) -> None: ...


class Transactions(Protocol):
    """The adapter's port for the transaction ids it makes (E01: the charging station generates transactionId)."""

    def event_transaction_id(self, remote_id: str | None, ref: int) -> str: ...

    def transaction_ref(self, transaction_id: str) -> int | None: ...

    def remember_token_type(self, id_token: str, token_type: str) -> None: ...


@dataclass(frozen=True)
class Ocpp201Services(Services):
    """What a 2.0.1 handler gets: the core's services, the device model and the adapter's ports."""

    device_model: DeviceModel | None = None
    """Components and variables over the charger's settings (Get/SetVariables, GetBaseReport)."""
    reports: Reports | None = None
    triggers: Triggers | None = None
    link: Link | None = None
    transactions: Transactions | None = None

    @classmethod
    def of(cls, services: Services, **ports: object) -> "Ocpp201Services":
        """`services` with the device model and the adapter's ports added."""
        return cls(**{f.name: getattr(services, f.name) for f in fields(Services)}, **ports)  # type: ignore[arg-type]


class Ocpp201Peer(Peer):
    _ocpp_version = "2.0.1"
    results = call_result

    def error_for(self, msg: Call, error: OCPPError) -> OCPPError:
        return ocpp201_error(msg, error)

    def described(self, error: OCPPError) -> OCPPError:
        return described(error)

    def malformed(self, cause: str) -> OCPPError:
        return RpcFrameworkError(details={"cause": cause})

    def request_fields(self, payload: dict[str, Any]) -> dict[str, Any]:
        """customData (any request's vendor extension, 2.0.1 Part 2 §2.1) means nothing to evsed: dropped."""
        fields = super().request_fields(payload)
        fields.pop("custom_data", None)
        return fields
