"""Reservations: a connector, or with connectorId 0 any connector, kept for one idTag (or its group) until a date.

OCPP 1.6 §5.13 (ReserveNow) and §5.1 (CancelReservation). What is kept here is each reservation as the CSMS gave it
(id, connector, idTag, parentIdTag, expiryDate), written at once (before the answer), so a reservation survives a
restart or a power cut. "A reservation SHALL be terminated on the Charge Point when either (1) a transaction is
started for the reserved idTag or parent idTag and on the reserved connector or any connector when the reserved
connectorId is 0, or (2) when the time specified in expiryDate is reached, or (3) when the Charge Point or connector
are set to Faulted or Unavailable": (1) is `consuming` (the row goes in the database transaction that records the
start), (2) is `run`'s timer, computed from the stored expiryDate against the clock, so it survives a restart (one
whose expiryDate passed while the daemon was down is deleted at start), (3) and CancelReservation are `end`.

Which answer a ReserveNow gets, which connectors a reservation holds and who may start where are the charge
point's decisions (`ChargePoint.reserve_now`): they need every connector's state. Protocol-neutral: the 1.6
adapter's ReserveNow and CancelReservation handlers call the charge point.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from firmware.auth.idtag import same_id_tag
from firmware.clock import Clock, iso, parse_time
from firmware.logs import masked
from firmware.persistence.db import Store

log = logging.getLogger(__name__)

ANY_CONNECTOR = 0
"""The connectorId of a reservation for no particular connector (§5.13: "the Charge Point SHALL NOT reserve a
specific connector, but SHALL make sure that at any time during the validity of the reservation, one connector
remains available for the reserved idTag")."""


class ReservationOutcome(StrEnum):
    """The answer to a reservation request (OCPP 1.6 ReservationStatus, in ReserveNow.conf)."""

    ACCEPTED = "Accepted"
    FAULTED = "Faulted"
    """The connector (connector 0: every connector) is Faulted."""
    OCCUPIED = "Occupied"
    """The connector is in use (Preparing, Charging, SuspendedEV, SuspendedEVSE, Finishing: §4.9's split of the
    old Occupied) or reserved for another reservation; connector 0: the charge point is reserved already, or no
    connector is Available."""
    REJECTED = "Rejected"
    """Not taken at all: an unknown connector, connector 0 where that is not supported, an expiryDate that is
    unreadable or already past."""
    UNAVAILABLE = "Unavailable"
    """The connector, or the whole charge point, is Inoperative (OCPP 1.6 §5.2)."""


@dataclass(frozen=True)
class Reservation:
    """One reservation as the CSMS made it (OCPP 1.6 ReserveNow.req)."""

    id: int
    """The CSMS's reservationId; a new request with the same id replaces this one (§5.13)."""
    connector: int
    """The reserved connector; `ANY_CONNECTOR` (0): one connector is kept free, none in particular."""
    id_tag: str
    expiry: datetime
    """When it ends by itself (aware, UTC)."""
    parent_id_tag: str | None = None

    def admits(self, id_tag: str, parent_id_tag: str | None) -> bool:
        """May `id_tag` (whose group is `parent_id_tag`, if known) charge where this reservation holds?

        §5.13: "it SHALL refuse charging for all incoming idTags on the reserved connector, except when the incoming
        idTag or the parent idTag match the idTag or parent idTag of the reservation": the reserved idTag itself, or
        one of the same group (its parentIdTag equal to the reservation's, both given). idTags compare
        case-insensitively (IdToken).
        """
        return same_id_tag(id_tag, self.id_tag) or same_id_tag(parent_id_tag, self.parent_id_tag)


class Reservations:
    """The reservations in force: stored, read at start (those expired meanwhile deleted), ended by `run` at their
    expiryDate, by a start that uses them (`consuming`) or by `end` (CancelReservation, a Faulted or Unavailable
    connector)."""

    RECHECK_S = 30.0
    """The longest `run` sleeps before looking at the clock again: a wall clock corrected meanwhile (NTP, the
    CSMS's currentTime) moves an expiry by at most this much."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self.on_changed: Callable[[], None] = lambda: None
        """Told after each change (a reservation made, replaced or ended): the charge point re-derives what each
        connector is held for."""
        self._wake = asyncio.Event()
        self._by_id: dict[int, Reservation] = {}
        now = clock.now()
        for row in store.db.execute(
                "SELECT id, connector, id_tag, expiry_date, parent_id_tag FROM reservations ORDER BY id").fetchall():
            expiry = parse_time(row[3])
            reservation = Reservation(row[0], row[1], row[2], expiry or now, row[4])
            if expiry is None or expiry <= now:
                with store.atomic():
                    self._delete(reservation.id)
                log.info("reservation expired while stopped reservation_id=%d connector=%d idTag=%s expiry=%s",
                         reservation.id, reservation.connector, masked(reservation.id_tag), row[3])
                continue
            self._by_id[reservation.id] = reservation
            log.info("reservation restored reservation_id=%d connector=%d idTag=%s expiry=%s", reservation.id,
                     reservation.connector, masked(reservation.id_tag), row[3])

    def all(self) -> list[Reservation]:
        """Every reservation in force, oldest id first."""
        return sorted(self._by_id.values(), key=lambda r: r.id)

    def get(self, reservation_id: int) -> Reservation | None:
        return self._by_id.get(reservation_id)

    def past(self, expiry: datetime) -> bool:
        """`expiry` is not in the future by the charge point's clock."""
        return expiry <= self._clock.now()

    def for_start(self, connector_id: int, id_tag: str, parent_id_tag: str | None) -> Reservation | None:
        """The reservation a transaction of `id_tag` starting on `connector_id` ends (§5.13 (1)): the one on that
        connector when it admits the idTag, else one on connector 0 that does ("or any connector when the
        reserved connectorId is 0"). A reservation on another connector is never ended by it."""
        admitting = [r for r in self.all() if r.admits(id_tag, parent_id_tag)]
        return (next((r for r in admitting if r.connector == connector_id), None)
                or next((r for r in admitting if r.connector == ANY_CONNECTOR), None))

    def put(self, reservation: Reservation) -> None:
        """Store a new reservation, replacing the one with the same id if any (§5.13); durably, before the
        answer."""
        with self._store.atomic() as db:
            db.execute("INSERT INTO reservations (id, connector, id_tag, parent_id_tag, expiry_date)"
                       " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET connector = excluded.connector,"
                       " id_tag = excluded.id_tag, parent_id_tag = excluded.parent_id_tag,"
                       " expiry_date = excluded.expiry_date",
                       [reservation.id, reservation.connector, reservation.id_tag, reservation.parent_id_tag,
                        iso(reservation.expiry)])
        replaced = reservation.id in self._by_id
        self._by_id[reservation.id] = reservation
        log.info("reservation %s reservation_id=%d connector=%d idTag=%s parentIdTag=%s expiry=%s",
                 "replaced" if replaced else "made", reservation.id, reservation.connector,
                 masked(reservation.id_tag), masked(reservation.parent_id_tag), iso(reservation.expiry))
        self._changed()

    def end(self, reservation_id: int, reason: str) -> Reservation | None:
        """End a reservation (`reason`: cancelled, expired, faulted, unavailable, ...); None when there is none
        with that id."""
        reservation = self._by_id.get(reservation_id)
        if reservation is None:
            return None
        with self._store.atomic():
            self._delete(reservation_id)
        del self._by_id[reservation_id]
        log.info("reservation ended reservation_id=%d connector=%d idTag=%s reason=%s", reservation_id,
                 reservation.connector, masked(reservation.id_tag), reason)
        self._changed()
        return reservation

    @contextlib.contextmanager
    def consuming(self, reservation: Reservation | None) -> Iterator[None]:
        """A transaction starts using `reservation` (§5.13 (1)): the block records the start, and the reservation
        is deleted in the same database transaction, so a power cut leaves either both or neither."""
        if reservation is None:
            yield
            return
        with self._store.atomic():
            yield
            self._delete(reservation.id)
        self._by_id.pop(reservation.id, None)
        log.info("reservation used by a transaction reservation_id=%d connector=%d idTag=%s", reservation.id,
                 reservation.connector, masked(reservation.id_tag))
        self._changed()

    def _delete(self, reservation_id: int) -> None:
        self._store.db.execute("DELETE FROM reservations WHERE id = ?", [reservation_id])

    def _changed(self) -> None:
        self._wake.set()
        self.on_changed()

    async def run(self) -> None:
        """End each reservation when its expiryDate is reached (§5.13 (2)), until cancelled. The wait is recomputed
        from the stored dates after every change and at least every RECHECK_S."""
        while True:
            now = self._clock.now()
            for reservation in [r for r in self.all() if r.expiry <= now]:
                self.end(reservation.id, "expired")
            self._wake.clear()  # what changed so far is in the computation below
            upcoming = min((r.expiry for r in self._by_id.values()), default=None)
            wait = None if upcoming is None else min(self.RECHECK_S, (upcoming - now).total_seconds())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
