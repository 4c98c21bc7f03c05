"""What the running daemon is doing, as one typed record: the control socket's `state` answer (JSON), read
back by `evsed sim state`, `evsed status`, the tests and the benchmarks."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ConnectorView:
    id: int
    status: str
    """The connector's state (Available, Preparing, Charging, …); Unavailable once it or the whole charge point is
    Inoperative (OCPP 1.6 §5.2) and no transaction runs on it."""
    contactor_closed: bool
    energy_wh: float | None
    """The meter's import register; None when it cannot be read."""
    transaction_id: int | str | None
    """The CSMS's id of the running transaction as the protocol types it (1.6: integer), once confirmed."""
    tx_ref: int | None
    """The local reference of the running transaction, known at once, also offline."""
    id_tag: str | None
    plugged: bool
    ev_requesting: bool
    locked: bool
    error_code: str
    fault_info: str | None
    vendor_error_code: str | None
    awaiting_start: bool
    contactor_changed_at: float | None = None
    """Simulated backend only: when the simulated contactor last moved (time.monotonic())."""
    offered_current_a: float | None = None
    """The smart charging limit of the running transaction, amperes per phase (OCPP 1.6 §3.13): what the control
    pilot offers the EV; null when no limit applies (or no transaction runs)."""
    power_w: float | None = None
    """The power the meter measures now; null when it cannot be read or does not say."""
    reservation_id: int | None = None
    """The reservationId of the reservation (OCPP 1.6 §5.13 ReserveNow) holding this connector: one made for it, or
    one made for connector 0 that keeps this connector as the last one free; null when none holds it."""


@dataclass(frozen=True)
class LinkView:
    url: str
    """The CSMS endpoint, password masked."""
    connected: bool
    wanted: bool
    """False while held down by `evsed sim link down`."""
    registration: str


@dataclass(frozen=True)
class OutboxView:
    depth: int
    oldest_unsent: str | None
    dead_letters: int


@dataclass(frozen=True)
class AuthorizationView:
    local_list_version: int
    local_list_entries: int
    cache_entries: int


@dataclass(frozen=True)
class DaemonState:
    charge_point: str
    connectors: list[ConnectorView]
    reader_problem: str | None
    link: LinkView
    outbox: OutboxView
    authorization: AuthorizationView

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DaemonState":
        return cls(data["charge_point"], [ConnectorView(**c) for c in data["connectors"]], data["reader_problem"],
                   LinkView(**data["link"]), OutboxView(**data["outbox"]), AuthorizationView(**data["authorization"]))

    def describe(self) -> str:
        """The state as an installer reads it (`evsed status`)."""
        link, outbox = self.link, self.outbox
        lines = [f"charge point {self.charge_point}: CSMS {link.url} "
                 f"{'connected' if link.connected else 'NOT connected'}, registration {link.registration}"]
        if self.reader_problem:
            lines.append(f"card reader: {self.reader_problem}")
        for c in self.connectors:
            line = f"connector {c.id}: {c.status}"
            if c.error_code != "NoError":
                detail = ", ".join(d for d in (c.fault_info, c.vendor_error_code) if d)
                line += f", {c.error_code} ({detail})"
            if c.tx_ref is not None:
                line += f", transaction {c.transaction_id or 'not yet confirmed'}"
            energy = "meter unreadable" if c.energy_wh is None else f"meter {c.energy_wh / 1000:.3f} kWh"
            lines.append(f"{line}, {energy}, contactor {'closed' if c.contactor_closed else 'open'}")
        lines.append(f"queue: {outbox.depth} message(s) unsent" + (f", oldest from {outbox.oldest_unsent}"
                     if outbox.oldest_unsent else "") + f"; {outbox.dead_letters} dead letter(s)")
        return "\n".join(lines)
