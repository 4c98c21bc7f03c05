"""The CSMS→charge point messages an adapter answers: one `Handler` per message, registered in one line.

A handler is a small module's function `handle(services, **payload)`: it gets the core's `Services` and the
request's fields (snake_case, already checked against the message's schema by the `ocpp` library), calls
one core method and returns the library's call_result. The registry is what the adapter's router, its
CALLERRORs and its list of supported features are computed from.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Handler:
    action: str
    handle: Callable[..., Any]
    profile: str
    """The functional block the message belongs to (OCPP 1.6: its feature profile, e.g. "Core")."""
    until_accepted: Any = None
    """The answer sent instead while the boot is not Accepted (OCPP 1.6 §4.2.1: while Pending the charge
    point does not take RemoteStartTransaction or RemoteStopTransaction); None: answered in any state."""
    fast_schema: bool = False
    """Requests too large for the library's validator (`ocpp16.compiled_schemas`): the payload is checked by a
    compiled schema and `handle(services, payload)` gets it as sent (camelCase)."""
    then: Callable[..., None] | None = None
    """`then(services, answer, **payload)`, carried out once the answer is written to the CSMS: for commands
    whose effect ends the link (Reset), so the CSMS always gets its answer first."""


class Registry:
    def __init__(self, handlers: list[Handler]) -> None:
        self._by_action: dict[str, Handler] = {}
        for handler in handlers:
            assert handler.action not in self._by_action, f"{handler.action} registered twice"
            self._by_action[handler.action] = handler

    def get(self, action: str) -> Handler | None:
        return self._by_action.get(action)

    def __iter__(self) -> Iterator[Handler]:
        return iter(self._by_action.values())

    def profiles(self) -> list[str]:
        """The feature profiles the registered handlers cover, in registration order."""
        return list(dict.fromkeys(h.profile for h in self._by_action.values()))
