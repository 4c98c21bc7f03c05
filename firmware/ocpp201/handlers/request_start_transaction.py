"""RequestStartTransaction (OCPP 2.0.1 F01, F02; the QR flow): a free EVSE takes the start (Accepted), else Rejected.

The idToken's type is kept (a QR flow's token is Central) and the remoteStartId comes back in the Started event
(F01.FR.25). evseId absent: the charging station chooses the EVSE (F01.FR.07 allows it to reject instead; evsed picks
a free one, as 1.6's RemoteStartTransaction without connectorId). A chargingProfile (purpose TxProfile, F01.FR.08)
becomes the transaction's limit when it starts, as in 1.6; one that cannot be installed Rejects the whole start.
An empty idToken names nobody to bill: Rejected (`protocol.remote_start`). While the boot is not Accepted: Rejected
(B02.FR.05).
"""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201 import convert
from firmware.ocpp201.peer import Ocpp201Services
from firmware.protocol.remote_start import remote_start
from firmware.transactions.store import Origin

REJECTED = call_result.RequestStartTransaction(status="Rejected")


def handle(services: Ocpp201Services, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None,
           group_id_token: dict[str, Any] | None = None,
           charging_profile: dict[str, Any] | None = None) -> call_result.RequestStartTransaction:
    token = id_token["id_token"]
    origin = Origin(remote=True, token_type=id_token["type"], remote_start_id=remote_start_id)
    profile = None if charging_profile is None else lambda: convert.charging_profile(evse_id or 0, charging_profile)
    if not remote_start(services, evse_id, token, profile, origin):  # a profile is bound where it starts
        return REJECTED
    if services.transactions is not None:  # before the start's Authorize task runs (AuthorizeRemoteStart)
        services.transactions.remember_token_type(token, id_token["type"])
    return call_result.RequestStartTransaction(status="Accepted")
