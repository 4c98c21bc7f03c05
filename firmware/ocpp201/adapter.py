"""The OCPP 2.0.1 adapter: BootNotification with its reason, Heartbeat, StatusNotification per EVSE, Authorize with
IdTokens, TransactionEvents from the outbox, NotifyReport, and what TriggerMessage asks for; the conversation itself is
`protocol.session.Session`'s, as for 1.6. CSMS requests go to the registered handlers (`ocpp201.handlers`).

EVSE n is the core's connector n, with one connector (id 1). The charging station makes each transactionId (E01):
a prefix made once per database (so a database made anew never repeats an id) and the transaction's local reference;
a transaction whose start a 1.6 CSMS confirmed before the switch keeps the id that CSMS gave it.
"""

import logging
import secrets
from collections import OrderedDict
from typing import Any

import websockets
from ocpp.v201 import call

from firmware import __version__
from firmware.auth.idtag import IdTagInfo
from firmware.clock import Clock, iso
from firmware.config_file import Config
from firmware.core.confirmations import Confirmations
from firmware.core.services import Services
from firmware.ocpp201 import SUBPROTOCOL, convert
from firmware.ocpp201.device_model import ITEMS_PER_MESSAGE, DeviceModel, Facts
from firmware.ocpp201.handlers import HANDLERS
from firmware.ocpp201.outbound import outbound
from firmware.ocpp201.peer import Ocpp201Peer, Ocpp201Services
from firmware.ocpp201.status import StatusReport, StatusReporter
from firmware.persistence.db import Store
from firmware.protocol.peer import Peer
from firmware.protocol.pump import Outbound
from firmware.protocol.security import LinkSecurity
from firmware.protocol.session import Registration, Session, tell
from firmware.settings import Settings
from firmware.transactions.outbox import MessageKind, Outbox

log = logging.getLogger(__name__)

PREFIX_META = "transaction_id_prefix"
"""The meta row holding this database's transactionId prefix."""
TOKEN_TYPES_KEPT = 64
"""RequestStartTransaction tokens whose type Authorize sends (AuthorizeRemoteStart); the oldest are forgotten."""

TRIGGERABLE = frozenset({"BootNotification", "Heartbeat", "StatusNotification", "MeterValues", "TransactionEvent",
                         "FirmwareStatusNotification", "LogStatusNotification", "SignChargingStationCertificate"})
"""MessageTriggerEnumType values evsed sends on request (F06); the rest (the ISO 15118 certificates,
PublishFirmwareStatusNotification) are NotImplemented."""


class Ocpp201Adapter(Session):
    """Implements the core's ports (`core.ports.StatusPort`, `auth.authorizer.CsmsAuthorize`) in OCPP 2.0.1."""

    def __init__(self, config: Config, settings: Settings, outbox: Outbox, clock: Clock, store: Store,
                 security: LinkSecurity | None = None) -> None:
        super().__init__(config, settings, outbox, clock, SUBPROTOCOL, security)
        self._store = store
        self._reporter = StatusReporter(clock, self._status_ready, outbox.last_id)
        self._prefix = self._transaction_prefix()
        self._token_types: OrderedDict[str, str] = OrderedDict()
        settings.fix("protocol_features", "")
        self.device_model: DeviceModel | None = None

    def _transaction_prefix(self) -> str:
        prefix = self._store.meta(PREFIX_META)
        if prefix is None:
            prefix = secrets.token_hex(4)
            with self._store.atomic():
                self._store.set_meta(PREFIX_META, prefix)
        return prefix

    def _services_for(self, services: Services) -> Ocpp201Services:
        cp = self._config.charge_point
        self.device_model = DeviceModel(
            self._settings, cp.id, len(services.charge_point.connectors),
            Facts(availability=self._reporter.availability,
                  local_list_entries=services.authorizer.local_list.count,
                  charging_profiles=services.smart_charging.count,
                  certificates=services.certificates.count, now=lambda: iso(self._clock.now())),
            message_timeout_s=round(self._config.csms.call_timeout_s))
        return Ocpp201Services.of(services, device_model=self.device_model, reports=self, triggers=self, link=self,
                                  transactions=self)

    def _outbound(self, confirmations: Confirmations) -> dict[str, Outbound]:
        return outbound(confirmations, self.event_transaction_id)

    def _peer_for(self, connection: websockets.ClientConnection) -> Ocpp201Peer:
        return Ocpp201Peer(self._config.charge_point.id, connection, HANDLERS, self._services,
                           lambda: self.registration is Registration.ACCEPTED, self._config.csms.call_timeout_s)

    # --- transaction ids (E01) --------------------------------------------------------------------

    @staticmethod
    def transaction_id(remote_id: str) -> str:
        """The transaction's id as status output shows it (2.0.1: a string)."""
        return remote_id

    def event_transaction_id(self, remote_id: str | None, ref: int) -> str:
        """The transactionId of the transaction with local reference `ref`: the id a (1.6) CSMS confirmed, else
        this database's prefix and `ref` (at most 36 characters, as the schema wants)."""
        return remote_id if remote_id is not None else f"{self._prefix}-{ref}"

    def transaction_ref(self, transaction_id: str) -> int | None:
        """The local reference of one of our transactionIds (None: not one of ours)."""
        prefix, _, ref = transaction_id.rpartition("-")
        return int(ref) if prefix == self._prefix and ref.isdigit() and len(ref) <= 18 else None

    def remember_token_type(self, id_token: str, token_type: str) -> None:
        """A RequestStartTransaction's idToken type, sent again if that token is authorized (AuthorizeRemoteStart)."""
        self._token_types[id_token.casefold()] = token_type
        self._token_types.move_to_end(id_token.casefold())
        while len(self._token_types) > TOKEN_TYPES_KEPT:
            self._token_types.popitem(last=False)

    # --- ports --------------------------------------------------------------------------------

    async def authorize(self, id_tag: str) -> IdTagInfo | None:
        """Authorize (C01): a card's UID as an ISO14443 IdToken, a token the CSMS started with as the type it gave."""
        token = convert.id_token(id_tag, self._token_types.get(id_tag.casefold()))
        return await self._authorized(id_tag, call.Authorize(id_token=token),
                                      lambda conf: convert.id_token_info(conf.id_token_info))

    def _boot_request(self, reason: str) -> call.BootNotification:
        """BootNotification (B01): the charging station's model, vendor, serial number and firmware version."""
        cp = self._config.charge_point
        station: dict[str, Any] = {"model": cp.model, "vendor_name": cp.vendor, "firmware_version": __version__}
        if cp.serial_number:
            station["serial_number"] = cp.serial_number
        return call.BootNotification(charging_station=station, reason=reason)

    def _heartbeat_request(self) -> call.Heartbeat:
        return call.Heartbeat()

    def _status_request(self, report: StatusReport) -> call.StatusNotification:
        return call.StatusNotification(timestamp=self._clock.date(report.timestamp), connector_status=report.status,
                                       evse_id=report.evse_id, connector_id=1)

    # --- reports (B07) ------------------------------------------------------------------------------

    def notify_report(self, request_id: int, data: list[dict[str, Any]]) -> None:
        """NotifyReport (B07.FR.07): the report in messages of at most ItemsPerMessage items, seqNo from 0, tbc on all
        but the last; sent in a task of this conversation, one after the other."""
        self._in_conversation(self._report(request_id, data), f"report-{request_id}")

    async def _report(self, request_id: int, data: list[dict[str, Any]]) -> None:
        peer = self._peer
        if peer is None:
            return
        generated = iso(self._clock.now())
        chunks = [data[i:i + ITEMS_PER_MESSAGE] for i in range(0, len(data), ITEMS_PER_MESSAGE)] or [[]]
        for seq_no, chunk in enumerate(chunks):
            await tell(peer, call.NotifyReport(request_id=request_id, generated_at=generated, seq_no=seq_no,
                                               report_data=chunk or None, tbc=seq_no < len(chunks) - 1))
        log.info("report sent request_id=%d items=%d messages=%d", request_id, len(data), len(chunks))

    # --- what the CSMS asks for (F06) ---------------------------------------------------------------

    @property
    def triggerable(self) -> frozenset[str]:
        return TRIGGERABLE

    async def _triggered(self, peer: Peer, message: str, evse: dict[str, Any] | None) -> None:
        """What TriggerMessage (F06) asks for; `evse`: the EVSE named (None: all).

        - BootNotification (reason Triggered), Heartbeat.
        - StatusNotification: the EVSE's connector, or every one, on the statuses' ordered path once Accepted.
        - MeterValues: the meters read now, SampledDataCtrlr.TxUpdatedMeasurands, context Trigger (F06.FR.06); sent
          directly, as in 1.6: current information, not transaction data.
        - TransactionEvent: an Updated event, triggerReason Trigger, for each running transaction (F06.FR.07); it is
          queued in the outbox like the other events, so its seqNo follows theirs.
        - FirmwareStatusNotification, LogStatusNotification: what is under way, else Idle (F06.FR.11, .FR.12).
        - SignChargingStationCertificate: a new key pair and its CSR (A02).
        """
        services = self._services
        wanted = None if evse is None else evse.get("id")
        match message:
            case "BootNotification":
                await self._boot_again(peer)
            case "Heartbeat":
                await self._beat(peer)
            case "StatusNotification":
                await self._statuses_now(peer, lambda r: wanted is None or r.evse_id == wanted)
            case "MeterValues":
                await self._meter_values_now(peer, wanted)
            case "TransactionEvent":
                await self._transaction_events_now(wanted)
            case "FirmwareStatusNotification":
                status, request_id = services.firmware_updates.signed_status()
                await tell(peer, call.FirmwareStatusNotification(status=status, request_id=request_id))
            case "LogStatusNotification":
                status, request_id = services.diagnostics.log_status()
                await tell(peer, call.LogStatusNotification(status=status, request_id=request_id))
            case "SignChargingStationCertificate":
                await self._sign_certificate(
                    peer, lambda csr: call.SignCertificate(csr=csr, certificate_type="ChargingStationCertificate"))

    async def _meter_values_now(self, peer: Peer, evse_id: int | None) -> None:
        connectors = self._services.charge_point.connectors
        for number in sorted(connectors) if evse_id is None else [evse_id]:
            if number in connectors and (value := await self._sample_now(connectors[number])) is not None:
                await tell(peer, call.MeterValues(evse_id=number, meter_value=[convert.meter_value(value)]))

    async def _transaction_events_now(self, evse_id: int | None) -> None:
        connectors = self._services.charge_point.connectors
        for number in sorted(connectors) if evse_id is None else [evse_id]:
            connector = connectors.get(number)
            tx = connector.tx if connector is not None else None
            if tx is not None and (value := await self._sample_now(connector)) is not None:
                with self._store.atomic():
                    self._outbox.put(MessageKind.METER_VALUES, tx.ref, {"connector": number, "values": [value]})
