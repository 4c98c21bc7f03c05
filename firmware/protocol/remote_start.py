"""A remote start as both versions word it (1.6 RemoteStartTransaction §5.11, 2.0.1 RequestStartTransaction F01/F02):
the same checks before the core takes it; each version's handler reads its request and wraps the answer."""

from collections.abc import Callable

from firmware.core.chargepoint import REMOTE
from firmware.core.services import Services
from firmware.smart_charging.profiles import Profile
from firmware.transactions.store import Origin


def remote_start(services: Services, connector_id: int | None, id_tag: str,
                 tx_profile: Callable[[], Profile] | None = None, origin: Origin = REMOTE) -> bool:
    """Whether a free connector takes the start (Accepted). An empty idTag names nobody a transaction could be billed
    to or stopped by: refused. `tx_profile()` reads the chargingProfile sent along (the QR flow's budget and power
    cap), which becomes the transaction's TxProfile when it starts: one that cannot be read (ValueError) or installed
    (another purpose, a transactionId, beyond the smart-charging limits) refuses the whole start, so nothing is
    half-applied."""
    if not id_tag.strip():
        return False
    profile = None
    if tx_profile is not None:
        try:
            profile = tx_profile()
        except ValueError:
            return False
        if services.smart_charging.tx_profile_problem(profile) is not None:
            return False
    return services.charge_point.remote_start(connector_id, id_tag, profile, origin)
