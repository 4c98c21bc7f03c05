"""The safety invariant in one place: energy flows only inside an authorized transaction on a
connector whose EV is plugged, and every path out of a session opens the contactor.

OCPP 1.6 §3.3 (Authorization): "The Charge Point SHALL only supply energy after authorization."
This class is the only code in evsed that closes a contactor.
"""

import logging

from hal import Contactor

log = logging.getLogger(__name__)


class SafetyError(Exception):
    """Something asked for energy where the invariant forbids it."""


class EnergyGate:
    def __init__(self, contactors: dict[int, Contactor]) -> None:
        self._contactors = contactors
        self.open_all("start-up")

    def close(self, connector_id: int, *, authorized_transaction: bool, plugged: bool) -> None:
        """Close a contactor, only for an authorized transaction with the EV plugged in."""
        if not (authorized_transaction and plugged):
            self.open(connector_id, "refused close")
            raise SafetyError(f"connector {connector_id}: no energy without an authorized transaction "
                              f"and a plugged EV (authorized={authorized_transaction}, plugged={plugged})")
        self._contactors[connector_id].close()
        log.info("contactor closed connector=%d", connector_id)

    def open(self, connector_id: int, why: str) -> None:
        contactor = self._contactors[connector_id]
        was_closed = contactor.commanded_closed
        contactor.open()
        if was_closed:
            log.info("contactor opened connector=%d why=%s", connector_id, why)

    def open_all(self, why: str) -> None:
        """Open every contactor; never raises, so it can run on any exit path."""
        for connector_id in self._contactors:
            try:
                self.open(connector_id, why)
            except Exception:
                log.exception("could not open contactor connector=%d why=%s", connector_id, why)
