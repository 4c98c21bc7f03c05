"""Availability: whether the charge point as a whole (connector 0) and each connector may take new sessions.

OCPP 1.6 §5.2 (ChangeAvailability): the CSMS sets a connector, or with connectorId 0 the charge point and all its
connectors, Operative or Inoperative; "a Charge Point is considered unavailable when it does not allow any
charging". §4.9: an Unavailable set this way "MUST be persistent across reboots".

What is kept is each level's own setting, as the CSMS last gave it, written at once (before the answer), also
while a transaction runs: then the change is Scheduled (§5.2: "scheduled to occur after the transaction has
finished"), and since `derive_state` ranks a running transaction above `unavailable`, the connector stays
Charging until its transaction ends and only then shows Unavailable. A power cut in between changes nothing:
the stored wish applies at the next start. A connector is *unavailable* when its own setting or the charge
point's is Inoperative (the two levels are independent, as OCPP 2.0.1 G03/G04 spell out: connector 0 made
Operative again does not undo a connector's own Inoperative).

Protocol-neutral: the 1.6 adapter's ChangeAvailability handler calls `ChargePoint.change_availability`.
"""

import logging
from enum import StrEnum

from firmware.persistence.db import Store

log = logging.getLogger(__name__)

CHARGE_POINT = 0
"""The connector id that stands for the charge point as a whole."""


class AvailabilityChange(StrEnum):
    """The answer to a change of availability (OCPP 1.6 §7.2 AvailabilityStatus)."""

    ACCEPTED = "Accepted"
    """Done now, or already so (§5.2: a change to the status it is already in is Accepted)."""
    REJECTED = "Rejected"
    """Not possible: an unknown connector, or a connector made Operative while the whole charge point is not."""
    SCHEDULED = "Scheduled"
    """Stored now; a transaction runs on an affected connector and the change shows when it ends."""


class Availability:
    """Each level's Operative/Inoperative setting (connector 0: the charge point), read at start, stored on change."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._inoperative = {row[0] for row in store.db.execute(
            "SELECT connector FROM availability WHERE operative = 0")}
        if self._inoperative:
            log.warning("inoperative at start connectors=%s", ",".join(map(str, sorted(self._inoperative))))
        self.installing = False
        """A firmware update is being installed (OCPP 1.6 §4.5): every connector is unavailable meanwhile. Not
        stored: an install cut off by a restart is over."""

    def inoperative(self, connector_id: int) -> bool:
        """That level's own setting (connector 0: the charge point as a whole)."""
        return connector_id in self._inoperative

    def unavailable(self, connector_id: int) -> bool:
        """No new session may start on `connector_id`: it or the whole charge point is Inoperative (a Scheduled
        change counts: it is what the connector becomes once its transaction ends). Connector 0: the charge point
        is Inoperative."""
        return self.installing or connector_id in self._inoperative or CHARGE_POINT in self._inoperative

    def set(self, connector_id: int, operative: bool) -> None:
        """Store a level's setting (durably, before anything acts on it)."""
        with self._store.atomic() as db:
            db.execute("INSERT INTO availability (connector, operative) VALUES (?, ?)"
                       " ON CONFLICT (connector) DO UPDATE SET operative = excluded.operative",
                       [connector_id, int(operative)])
        if operative:
            self._inoperative.discard(connector_id)
        else:
            self._inoperative.add(connector_id)
