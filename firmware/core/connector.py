"""One connector at run time: its devices, its status machine and its charging session.

Session flow (OCPP 1.6 §3 / §4.8, §4.10): an authorized idTag waits up to ConnectionTimeOut for
the EV; with the EV plugged the start is stored, then the contactor closes; meter values are
sampled every MeterValueSampleInterval; a stop opens the contactor first, then records the end.
A connector made unavailable (§5.2 ChangeAvailability, `firmware.core.availability`) starts nothing new; a
transaction already running goes on until it ends. UnlockConnector (§5.18) ends the energy first, then releases
the cable lock (`cut_energy_for_stop`, `release_lock`). A connector held by a reservation (§5.13, `held_by`, set by
the charge point) shows Reserved and starts only for an idTag the reservation admits; the start that uses a
reservation ends it in the same database transaction and carries its id in StartTransaction.
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Concatenate, ParamSpec

from firmware.clock import Clock
from firmware.core.availability import Availability
from firmware.core.connector_state import ConnectorFacts, ConnectorState, ErrorCode, Fault, derive_state
from firmware.core.ports import ConnectorReport, StatusPort
from firmware.core.reservations import Reservation, Reservations
from firmware.core.safety import EnergyGate
from firmware.logs import masked
from firmware.settings import Settings
from firmware.smart_charging.controller import SmartCharging
from firmware.smart_charging.profiles import Profile
from firmware.transactions import metering
from firmware.transactions.store import Origin, StopReason, Transaction, TransactionStore
from hal import (
    CardReader,
    ConnectorLock,
    Contactor,
    EnergyMeter,
    LedPattern,
    MeterError,
    MeterReading,
    PlugSensor,
    PlugState,
    StatusLed,
    TetheredCable,
)
from hal.pilot import MIN_CURRENT_A, ChargingPilot, UnwiredPilot

log = logging.getLogger(__name__)

LED_PATTERNS: dict[ConnectorState, LedPattern] = {
    ConnectorState.AVAILABLE: LedPattern.READY,
    ConnectorState.PREPARING: LedPattern.BUSY,
    ConnectorState.CHARGING: LedPattern.CHARGING,
    ConnectorState.SUSPENDED_EV: LedPattern.SUSPENDED,
    ConnectorState.SUSPENDED_EVSE: LedPattern.SUSPENDED,
    ConnectorState.FINISHING: LedPattern.BUSY,
    ConnectorState.RESERVED: LedPattern.BUSY,
    ConnectorState.UNAVAILABLE: LedPattern.UNAVAILABLE,
    ConnectorState.FAULTED: LedPattern.FAULT,
}


P = ParamSpec("P")


def guarded(
    method: Callable[Concatenate["Connector", P], Awaitable[None]],
) -> Callable[Concatenate["Connector", P], Awaitable[None]]:
    """Session work: any exception opens the contactor and faults the connector (see `fail`)."""

    @functools.wraps(method)
    async def run(self: "Connector", *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await method(self, *args, **kwargs)
        except Exception as error:
            await self.fail(error)

    return run


@dataclass
class ConnectorDevices:
    contactor: Contactor
    meter: EnergyMeter
    plug: PlugSensor
    lock: ConnectorLock
    led: StatusLed
    reader: CardReader | None = None
    """A reader that belongs to this connector only (besides the charge point's shared one)."""
    feedback_timeout_s: float = 0.5
    """How long the contactor's feedback may disagree with its command (see `firmware.core.supervision`)."""
    pilot: ChargingPilot = field(default_factory=UnwiredPilot)
    """The current offered to the EV (smart charging limits); unwired: shown, not enforced."""


class BackwardsReading(MeterError):
    """The meter's import register read lower than before: the reading is rejected."""


@dataclass
class PendingStart:
    """An idTag waiting for the EV to plug in (or, for a remote start, being authorized)."""

    id_tag: str
    parent_id_tag: str | None
    timer: asyncio.Task[None]
    """Ends the wait after the connection timeout (`Connector._expire_pending`)."""
    authorized: bool
    movable: bool
    """Not tied to this connector: the EV may plug into any free connector (shared reader)."""
    tx_profile: Profile | None = None
    """The TxProfile that came with RemoteStartTransaction (OCPP 1.6 §5.11), installed with the start."""
    origin: Origin | None = None
    """A remote start's marks, kept in the start record."""


class Connector:
    def __init__(self, connector_id: int, devices: ConnectorDevices, gate: EnergyGate, txs: TransactionStore,
                 settings: Settings, port: StatusPort, clock: Clock, availability: Availability | None = None,
                 reservations: Reservations | None = None, limits: SmartCharging | None = None) -> None:
        """`availability`: the charge point's stored availability (None: always Operative); `reservations`: the
        charge point's reservations, which a start may use (None: no reservations); `limits`: smart charging, told
        of each session and telling back its limit (`limit_changed`; None: no limits)."""
        self.id = connector_id
        self._clock = clock
        self.devices = devices
        self._gate = gate
        self._txs = txs
        self._settings = settings
        self._port = port
        self.tx: Transaction | None = None
        self.pending: PendingStart | None = None
        self.finishing = False
        self.fault: Fault | None = None
        self.energy_withheld = False
        """The CSMS refused the transaction's idTag after it started (StartTransaction.conf)."""
        self._limits = limits
        self.limit_a: float | None = None
        """The smart charging limit of the running transaction, amperes per phase (None: none applies)."""
        self.last_energy_wh: float | None = None
        self.reader_problem: str | None = None
        """What is wrong with this connector's own card reader, if anything (reported as ReaderFailure)."""
        self._sampler: asyncio.Task[None] | None = None
        self._energy_limit: asyncio.Task[None] | None = None
        self._session_lock = asyncio.Lock()
        self._availability = availability
        self._reservations = reservations
        self.held_by: Reservation | None = None
        """The reservation holding this connector (OCPP 1.6 §5.13): one made for it, or one for connector 0 that
        keeps it as the last connector free. Set by the charge point (`ChargePoint._hold`), which refreshes after."""
        self._ending = False
        """A stop has opened the contactor and is recording the end: nothing closes it again for this transaction."""
        self.on_state_changed: Callable[[], None] | None = None
        """Told after each change of state (the charge point re-derives connector 0's status)."""
        self._state = derive_state(self.facts())
        self._announce()

    # --- status -------------------------------------------------------------------------------

    def facts(self) -> ConnectorFacts:
        plug = self.devices.plug.state
        return ConnectorFacts(plugged=plug.plugged, ev_requesting=plug.requesting, transaction=self.tx is not None,
                              evse_offers_energy=not self.energy_withheld and not self.paused_by_limit,
                              awaiting_start=self.pending is not None,
                              finishing=self.finishing, reserved=self.held_by is not None,
                              unavailable=self.unavailable, fault=self.fault)

    @property
    def paused_by_limit(self) -> bool:
        """OCPP 1.6 §4.9 SuspendedEVSE "due to a smart charging restriction": the transaction's limit is below
        what the pilot can offer (IEC 61851: 6 A), so the EV may not draw energy now."""
        return self.tx is not None and self.limit_a is not None and self.limit_a < MIN_CURRENT_A

    def limit_changed(self, amps: float | None) -> None:
        """Smart charging's limit for this connector's transaction (None: none applies) goes to the pilot."""
        paused = self.paused_by_limit
        self.limit_a = amps if self.tx is not None else None
        if self.tx is not None:
            self.devices.pilot.offer(self.limit_a)
        if self.paused_by_limit != paused:  # (a start in progress refreshes once it is complete)
            self.refresh()

    @property
    def unavailable(self) -> bool:
        """OCPP 1.6 §5.2: this connector or the whole charge point is Inoperative (also while a Scheduled change
        waits for the running transaction to end): no new session starts here. The query a ReserveNow handler
        answers `Unavailable` from."""
        return self._availability is not None and self._availability.unavailable(self.id)

    @property
    def state(self) -> ConnectorState:
        return self._state

    def refresh(self) -> None:
        """Derive the state from the facts again; a change shows on the LED and goes to the protocol adapter."""
        state = derive_state(self.facts())
        if state is not self._state:
            self._state = state
            self._announce()
            if self.on_state_changed is not None:
                self.on_state_changed()

    def _announce(self) -> None:
        """The LED, and the report to the adapter: the fault's error when Faulted, else ReaderFailure while
        this connector's own reader fails (the status stays: only cards are affected), else NoError."""
        self.devices.led.show(LED_PATTERNS[self._state])
        fault = self.fault if self._state is ConnectorState.FAULTED else None
        if fault is None and self.reader_problem is not None:
            fault = Fault(ErrorCode.READER_FAILURE, info=self.reader_problem[:50])
        self._port.connector_changed(ConnectorReport(
            self.id, self._state, fault.error_code if fault else ErrorCode.NO_ERROR,
            fault.info if fault else None, fault.vendor_error_code if fault else None))

    def reader_problem_changed(self, problem: str | None) -> None:
        self.reader_problem = problem
        self._announce()

    @property
    def is_free(self) -> bool:
        """Free for a new session: no transaction, nobody waiting, not faulted, not unavailable (§5.2).

        A connector in Preparing because only the EV is plugged is free: drivers plug in first and
        tap or scan the QR code second.
        """
        return self.tx is None and self.pending is None and self.fault is None and not self.unavailable

    def admits(self, id_tag: str, parent_id_tag: str | None) -> bool:
        """OCPP 1.6 §5.13: `id_tag` may start here: nothing holds this connector, or the reservation holding it
        admits the idTag or its group (`Reservation.admits`)."""
        return self.held_by is None or self.held_by.admits(id_tag, parent_id_tag)

    # --- starting -----------------------------------------------------------------------------

    def hold(self, id_tag: str, parent_id_tag: str | None = None, *, authorized: bool, movable: bool = False,
             tx_profile: Profile | None = None, origin: Origin | None = None) -> None:
        """Keep `id_tag` waiting for the EV for the connection timeout (OCPP 1.6 §9.1 ConnectionTimeOut)."""
        if self.pending is not None:
            self.pending.timer.cancel()
        timer = asyncio.create_task(self._expire_pending(asyncio.get_running_loop().time()),
                                    name=f"pending-{self.id}")
        self.pending = PendingStart(id_tag, parent_id_tag, timer, authorized, movable, tx_profile, origin)
        self.finishing = False
        self.refresh()

    def clear_pending(self) -> None:
        if self.pending is not None:
            self.pending.timer.cancel()
            self.pending = None
            self.refresh()

    async def _expire_pending(self, since: float) -> None:
        """The connection timeout after `since`, re-read when it changes (a new value applies at once)."""
        loop = asyncio.get_running_loop()
        while (left := since + self._settings.integer("connection_timeout_s") - loop.time()) > 0:
            await self._settings.sleep(left, "connection_timeout_s")
        self._pending_timed_out()

    def _pending_timed_out(self) -> None:
        if self.pending is not None:
            log.info("no EV plugged within the connection timeout connector=%d idTag=%s; start cancelled",
                     self.id, masked(self.pending.id_tag))
            self.pending = None
            self.refresh()

    @guarded
    async def begin(self, id_tag: str, parent_id_tag: str | None = None, *, movable: bool = False) -> None:
        """An authorized idTag: start now if the EV is plugged, else wait ConnectionTimeOut for it."""
        if self.unavailable:
            log.info("start refused, connector unavailable connector=%d idTag=%s", self.id, masked(id_tag))
            return
        if self.devices.plug.state.plugged:
            await self._start(id_tag, parent_id_tag)
        else:
            self.hold(id_tag, parent_id_tag, authorized=True, movable=movable)

    @guarded
    async def start(self, id_tag: str, parent_id_tag: str | None = None, tx_profile: Profile | None = None) -> None:
        """Store the transaction, then close the contactor."""
        await self._start(id_tag, parent_id_tag, tx_profile)

    async def _start(self, id_tag: str, parent_id_tag: str | None, tx_profile: Profile | None = None) -> None:
        """`tx_profile`: a RemoteStartTransaction's TxProfile (else this connector's pending start's, if any)."""
        async with self._session_lock:
            if self.tx is not None or self.fault is not None or not self.devices.plug.state.plugged:
                return
            if self.unavailable:  # §5.2: made Inoperative while the start was waiting
                log.info("start refused, connector unavailable connector=%d idTag=%s", self.id, masked(id_tag))
                self.clear_pending()
                return
            if not self.admits(id_tag, parent_id_tag):  # §5.13: reserved meanwhile for someone else
                log.info("start refused, connector reserved for another idTag connector=%d idTag=%s "
                         "reservation_id=%s", self.id, masked(id_tag), self.held_by and self.held_by.id)
                self.clear_pending()
                return
            origin = None
            if self.pending is not None:
                tx_profile = tx_profile or self.pending.tx_profile
                origin = self.pending.origin
                self.pending.timer.cancel()
                self.pending = None
            try:
                reading = await self.read_meter()
            except MeterError as e:
                await self.meter_failed(e)
                return
            timestamp = self._clock.stamp()
            reservation = (self._reservations.for_start(self.id, id_tag, parent_id_tag)
                           if self._reservations is not None else None)
            with (self._reservations.consuming(reservation) if self._reservations is not None
                  else contextlib.nullcontext()):
                self.tx = self._txs.begin(
                    self.id, id_tag, round(reading.energy_wh), timestamp,
                    self._sample(reading, "sampled_measurands", metering.ReadingContext.TRANSACTION_BEGIN, timestamp),
                    self._sample(reading, "stop_sampled_measurands", metering.ReadingContext.TRANSACTION_BEGIN,
                                 timestamp),
                    parent_id_tag, reservation.id if reservation is not None else None, origin)
                if self._limits is not None:  # the RemoteStart's TxProfile is stored with the start
                    self._limits.session_started(self.id, self.tx, tx_profile)
            self.finishing = False
            self.energy_withheld = False
            self.devices.lock.lock()
            self._energize()
            self._sampler = asyncio.create_task(self._sample_periodically(self.tx), name=f"sampler-{self.id}")
            self.refresh()

    @guarded
    async def resume(self, tx: Transaction, last_energy_wh: float) -> None:
        """A transaction interrupted by a restart goes on: the same records, the contactor closes again. Also on a
        connector made Inoperative meanwhile: that change was Scheduled and applies when this transaction ends."""
        async with self._session_lock:
            self.tx, self.last_energy_wh = tx, last_energy_wh
            if self._limits is not None:
                self._limits.session_started(self.id, tx)
            self.devices.lock.lock()
            self._energize()
            self._sampler = asyncio.create_task(self._sample_periodically(tx), name=f"sampler-{self.id}")
            self.refresh()
        log.warning("interrupted transaction resumed connector=%d tx_ref=%d remote_id=%s",
                    self.id, tx.ref, tx.remote_id)

    def suspend_for_restart(self) -> None:
        """Shutdown with resume configured: energy stops, the transaction stays open in the database."""
        self._gate.open(self.id, "shutdown, transaction kept for resume")
        if self._sampler is not None:
            self._sampler.cancel()
            self._sampler = None

    async def read_meter(self) -> MeterReading:
        """Read the meter; a reading whose import register went backwards is rejected and logged."""
        reading = await self.devices.meter.read()
        if self.last_energy_wh is not None and reading.energy_wh < self.last_energy_wh - 0.5:
            log.error("meter reading went backwards, rejected connector=%d energy_wh=%.1f last_wh=%.1f",
                      self.id, reading.energy_wh, self.last_energy_wh)
            raise BackwardsReading(f"import register went from {self.last_energy_wh} to {reading.energy_wh} Wh")
        self.last_energy_wh = reading.energy_wh
        return reading

    def _energize(self) -> None:
        self.devices.pilot.offer(self.limit_a)
        self._gate.close(self.id, authorized_transaction=self.tx is not None and not self.energy_withheld,
                         plugged=self.devices.plug.state.plugged)

    def _sample(self, reading: MeterReading, setting: str, context: metering.ReadingContext,
                timestamp: str) -> dict | None:
        measurands = self._settings.csl(setting)
        return metering.sample(reading, measurands, context, timestamp) if measurands else None

    @guarded
    async def _sample_periodically(self, tx: Transaction) -> None:
        """MeterValues every sample interval (1.6: MeterValueSampleInterval; 0: none) while the transaction runs;
        a new interval applies at once."""
        async for _ in self._settings.every("sample_interval_s"):
            try:
                reading = await self.read_meter()
            except BackwardsReading:
                continue
            except MeterError as e:
                await self.meter_failed(e)
                return
            self._txs.sample(tx, self._sample(reading, "sampled_measurands",
                                              metering.ReadingContext.SAMPLE_PERIODIC, self._clock.stamp()),
                             reading.energy_wh)

    # --- stopping -----------------------------------------------------------------------------

    @guarded
    async def stop(self, reason: StopReason, id_tag: str | None = None) -> None:
        """Open the contactor first, then record the end and queue StopTransaction."""
        await self._stop(reason, id_tag)

    def cut_energy_for_stop(self, reason: StopReason) -> None:
        """The first, synchronous step of a stop whose end `stop` records next (in a task): the contactor opens
        now and nothing closes it again for this transaction (an EV's pilot change meanwhile does not)."""
        self._ending = True
        self._gate.open(self.id, f"stop {reason}")

    async def _stop(self, reason: StopReason, id_tag: str | None) -> None:
        self._ending = True
        self._gate.open(self.id, f"stop {reason}")
        try:
            await self._end(reason, id_tag)
        finally:
            self._ending = False

    async def _end(self, reason: StopReason, id_tag: str | None) -> None:
        async with self._session_lock:
            tx = self.tx
            if tx is None:
                return
            for task in (self._sampler, self._energy_limit):
                if task is not None and task is not asyncio.current_task():
                    task.cancel()  # (a failing task ends the session itself, uncancelled)
            self._sampler = self._energy_limit = None
            try:
                reading: MeterReading | None = await self.read_meter()
            except Exception as e:  # the end must be recorded whatever the meter does
                log.error("meter unreadable at stop, using last reading connector=%d error=%r", self.id, e)
                reading = None
            energy_wh = reading.energy_wh if reading else (self.last_energy_wh or tx.meter_start)
            timestamp = self._clock.stamp()
            end = metering.ReadingContext.TRANSACTION_END
            self._txs.end(
                tx, max(round(energy_wh), tx.meter_start), timestamp, reason, id_tag,
                self._sample(reading, "sampled_measurands", end, timestamp) if reading else None,
                self._sample(reading, "stop_sampled_measurands", end, timestamp) if reading else None)
            self.tx = None
            self.energy_withheld = False
            self.devices.pilot.offer(0.0)
            if self._limits is not None:
                self._limits.session_ended(self.id)
            self.finishing = self.devices.plug.state.plugged
            keep_locked = (reason is StopReason.EV_DISCONNECTED
                           and not self._settings.flag("unlock_on_ev_disconnect"))
            if not keep_locked and not self._contact_closed():
                self.devices.lock.unlock()
            elif not keep_locked:
                log.error("connector lock kept after stop, the contact reports closed connector=%d", self.id)
            self.refresh()

    # --- the cable lock -----------------------------------------------------------------------

    @property
    def has_lock(self) -> bool:
        """A cable retention lock is fitted (a tethered cable has none: OCPP 1.6 §5.18 NotSupported)."""
        return not isinstance(self.devices.lock, TetheredCable)

    def _contact_closed(self) -> bool:
        """The cable may be live: the contactor is commanded closed or its auxiliary contact reports closed."""
        contactor = self.devices.contactor
        return contactor.commanded_closed or contactor.feedback_closed is True

    def release_lock(self) -> bool:
        """OCPP 1.6 §5.18: release the cable lock; True when the lock reports released.

        Never while the cable may be live: a locked cable stays locked (False) while the contact is closed or
        reports closed (welded). A driver error counts as a failure.
        """
        if self._contact_closed() and self.devices.lock.locked:
            log.error("connector lock kept, the contact is closed connector=%d commanded_closed=%s "
                      "feedback_closed=%s", self.id, self.devices.contactor.commanded_closed,
                      self.devices.contactor.feedback_closed)
            return False
        try:
            self.devices.lock.unlock()
        except Exception as e:
            log.error("connector lock failed to release connector=%d error=%r", self.id, e)
            return False
        if self.devices.lock.locked:
            log.error("connector lock still engaged after unlock connector=%d", self.id)
            return False
        log.info("connector lock released connector=%d", self.id)
        return True

    # --- the CSMS's verdict on a started transaction -------------------------------------------

    @guarded
    async def invalidated(self, tx: Transaction) -> None:
        """StartTransaction.conf refused the idTag of `tx` (still running here).

        OCPP 1.6 §9.1: with StopTransactionOnInvalidId the transaction stops (reason DeAuthorized);
        without it the charger stops offering energy (SuspendedEVSE) once MaxEnergyOnInvalidId Wh
        were delivered in the transaction (0: at once), and the transaction runs on until the EV
        leaves or the CSMS stops it.
        """
        if self.tx is not tx:
            return
        if self._settings.flag("stop_on_invalid_id"):
            await self._stop(StopReason.DE_AUTHORIZED, None)
            return
        limit_wh = self._settings.integer("max_energy_on_invalid_id_wh")
        log.info("idTag refused by CSMS, energy limited connector=%d tx_ref=%d max_energy_wh=%d",
                 self.id, tx.ref, limit_wh)
        self._energy_limit = asyncio.create_task(self._withhold_after(tx, limit_wh), name=f"limit-{self.id}")

    @guarded
    async def _withhold_after(self, tx: Transaction, limit_wh: int) -> None:
        """Poll the meter each second until the transaction delivered `limit_wh`, then withhold energy."""
        while limit_wh > 0 and self.tx is tx:
            try:
                if (await self.devices.meter.read()).energy_wh - tx.meter_start >= limit_wh:
                    break
            except MeterError as e:
                log.warning("meter unreadable, energy withheld now connector=%d error=%s", self.id, e)
                break
            await asyncio.sleep(1)
        if self.tx is tx:
            self.energy_withheld = True
            self._gate.open(self.id, "idTag invalid, energy withheld")
            self.refresh()

    # --- EV events ----------------------------------------------------------------------------

    @guarded
    async def on_plug(self, state: PlugState) -> None:
        """The EV plugged, unplugged or changed its request for energy."""
        if not state.plugged:
            self.finishing = False
            if self.tx is not None:
                await self._ev_side_disconnect()
        elif (self.tx is not None and not self.energy_withheld and not self._ending
              and not self.devices.contactor.commanded_closed):
            log.info("EV plugged back in, transaction resumes connector=%d", self.id)
            self._energize()
        elif self.pending is not None and self.pending.authorized:
            await self._start(self.pending.id_tag, self.pending.parent_id_tag)
        self.refresh()

    async def _ev_side_disconnect(self) -> None:
        """OCPP 1.6 §9.1 StopTransactionOnEVSideDisconnect / UnlockConnectorOnEVSideDisconnect."""
        if self._settings.flag("stop_on_ev_disconnect"):
            await self._stop(StopReason.EV_DISCONNECTED, None)
            return
        self._gate.open(self.id, "EV unplugged, transaction suspended")
        if self._settings.flag("unlock_on_ev_disconnect"):
            self.devices.lock.unlock()

    # --- faults -------------------------------------------------------------------------------

    async def meter_failed(self, error: MeterError) -> None:
        """The meter cannot be read (after the driver's retries): PowerMeterFailure."""
        await self.enter_fault(Fault(ErrorCode.POWER_METER_FAILURE, info=str(error)[:50]))

    async def fail(self, error: Exception) -> None:
        """An error inside the session: InternalError, until the daemon restarts (see `enter_fault`)."""
        log.error("connector failed connector=%d error=%r", self.id, error, exc_info=error)
        await self.enter_fault(Fault(ErrorCode.INTERNAL_ERROR, info=type(error).__name__[:50]))

    async def enter_fault(self, fault: Fault, *, welded: bool = False) -> None:
        """Energy stops first; the connector reports Faulted with the OCPP 1.6 ChargePointErrorCode until
        `clear_fault`, and a running session ends (reason Other). Repeated for the same fault, only the
        contactor is opened again (and a session whose end could not be recorded is tried again).

        A contact welded closed is the dangerous case: the upstream shunt trip is driven and the EV is
        told to stop drawing (control pilot state F), where those outputs are wired.
        """
        self._gate.open(self.id, fault.error_code)
        if self.fault != fault:
            log.error("connector faulted connector=%d error_code=%s info=%s vendor_error_code=%s", self.id,
                      fault.error_code, fault.info, fault.vendor_error_code)
            if welded:
                self.devices.contactor.trip()
                self.devices.plug.signal_fault(True)
            self.fault = fault
            if self.pending is not None:
                self.pending.timer.cancel()
                self.pending = None
            self.refresh()
        if self.tx is not None:
            try:
                await self._stop(StopReason.OTHER, None)
            except Exception:
                log.exception("could not record the end of the transaction connector=%d", self.id)

    def clear_fault(self, error_code: ErrorCode) -> None:
        """The device behind `error_code` works again: the fault clears."""
        if self.fault is None or self.fault.error_code is not error_code:
            return
        self.fault = None
        self.devices.plug.signal_fault(False)
        log.warning("connector fault cleared connector=%d error_code=%s", self.id, error_code)
        self.refresh()
