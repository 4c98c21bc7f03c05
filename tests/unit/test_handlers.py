"""In-process unit tests of the OCPP 1.6 handlers and their routing, with a fake `Services`.

The end-to-end tests (a daemon and a loopback CSMS) cover the same messages over a real websocket; these
pin each handler's mapping from payload to core call to answer, and what the registry decides for the
router: refusals before an Accepted boot, the compiled-schema path, and CALLERRORs for what is not here.
The settings are real (SQLite in tmp_path); the charge point, authorizer and lifecycle are recording fakes.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call_result

from firmware.auth.local_list import ListUpdate, UpdateStatus, UpdateType
from firmware.clock import Clock, Trust
from firmware.config_file import parse_config
from firmware.core.services import Services
from firmware.demo.loopback_csms import sim_config_text
from firmware.ocpp16.adapter import Ocpp16Adapter
from firmware.ocpp16.handlers import (
    HANDLERS,
    change_configuration,
    clear_cache,
    data_transfer,
    get_configuration,
    get_local_list_version,
    remote_start_transaction,
    remote_stop_transaction,
    reset,
    send_local_list,
)
from firmware.ocpp16.peer import Ocpp16Peer
from firmware.persistence.db import Store
from firmware.protocol.registry import Handler, Registry
from firmware.settings import Settings
from firmware.transactions.outbox import Outbox


@dataclass
class FakeChargePoint:
    accept: bool = True
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def remote_start(self, connector_id: int | None, id_tag: str, tx_profile: object = None,
                     origin: object = None) -> bool:
        self.calls.append(("start", (connector_id, id_tag)))
        return self.accept

    def remote_stop(self, remote_id: str) -> bool:
        self.calls.append(("stop", remote_id))
        return self.accept


@dataclass
class FakeCache:
    cleared: int = 0

    def clear(self) -> None:
        self.cleared += 1


@dataclass
class FakeAuthorizer:
    version: int = 7
    cache: FakeCache = field(default_factory=FakeCache)
    updates: list[ListUpdate] = field(default_factory=list)

    def local_list_version(self) -> int:
        return self.version

    def update_local_list(self, update: ListUpdate) -> UpdateStatus:
        self.updates.append(update)
        return UpdateStatus.VERSION_MISMATCH if update.version <= self.version else UpdateStatus.ACCEPTED


@dataclass
class FakeLifecycle:
    resets: list[bool] = field(default_factory=list)
    stopping: bool = False

    def can_reset(self) -> bool:
        return not self.stopping

    def reset(self, hard: bool) -> bool:
        self.resets.append(hard)
        return not self.stopping


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = Settings(Store(tmp_path / "evsed.db"), {}, fixed={"connectors": 2})
    return Services(settings, FakeAuthorizer(), FakeChargePoint(), None, FakeLifecycle(), None, None, None, None)  # type: ignore[arg-type]


def test_remote_start_passes_connector_and_idtag_and_answers_the_core_verdict(services):
    answer = remote_start_transaction.handle(services, id_tag="QR1234", connector_id=2)
    assert answer.status == "Accepted" and services.charge_point.calls == [("start", (2, "QR1234"))]
    services.charge_point.accept = False
    assert remote_start_transaction.handle(services, id_tag="QR1234").status == "Rejected"
    assert services.charge_point.calls[-1] == ("start", (None, "QR1234"))


@pytest.mark.parametrize("id_tag", ["", "   "])
def test_remote_start_with_an_empty_id_tag_is_rejected_without_asking_the_core(services, id_tag):
    assert remote_start_transaction.handle(services, id_tag=id_tag, connector_id=1).status == "Rejected"
    assert services.charge_point.calls == []


def test_remote_stop_looks_the_transaction_up_by_the_csms_id_as_text(services):
    assert remote_stop_transaction.handle(services, transaction_id=1001).status == "Accepted"
    assert services.charge_point.calls == [("stop", "1001")]
    services.charge_point.accept = False
    assert remote_stop_transaction.handle(services, transaction_id=5).status == "Rejected"


def test_get_and_change_configuration_speak_16_key_names_over_neutral_settings(services):
    answer = get_configuration.handle(services, key=["ConnectionTimeOut", "NumberOfConnectors", "NoSuchKey"])
    assert answer.configuration_key == [{"key": "ConnectionTimeOut", "readonly": False, "value": "60"},
                                        {"key": "NumberOfConnectors", "readonly": True, "value": "2"}]
    assert answer.unknown_key == ["NoSuchKey"]
    assert change_configuration.handle(services, key="ConnectionTimeOut", value="45").status == "Accepted"
    assert services.settings.integer("connection_timeout_s") == 45
    assert change_configuration.handle(services, key="ConnectionTimeOut", value="0").status == "Rejected"
    assert change_configuration.handle(services, key="NumberOfConnectors", value="3").status == "Rejected"
    assert change_configuration.handle(services, key="NoSuchKey", value="1").status == "NotSupported"
    assert services.settings.integer("connection_timeout_s") == 45 and services.settings.integer("connectors") == 2


def test_local_list_handlers_reach_the_authorizer(services):
    assert get_local_list_version.handle(services).list_version == 7
    assert clear_cache.handle(services).status == "Accepted" and services.authorizer.cache.cleared == 1
    payload = {"listVersion": 8, "updateType": "Differential",
               "localAuthorizationList": [{"idTag": "04A1B2C3", "idTagInfo": {"status": "Blocked"}},
                                          {"idTag": "04C0FFEE"}]}
    assert send_local_list.handle(services, payload).status == "Accepted"
    update = services.authorizer.updates[-1]
    assert (update.version, update.update_type) == (8, UpdateType.DIFFERENTIAL)
    entries = [(e.id_tag, e.info and e.info.status) for e in update.entries]
    assert entries == [("04A1B2C3", "Blocked"), ("04C0FFEE", None)]
    assert send_local_list.handle(services, {"listVersion": 3, "updateType": "Full"}).status == "VersionMismatch"


def test_data_transfer_knows_no_vendor(services):
    answer = data_transfer.handle(services, vendor_id="com.example", message_id="Ping", data="x")
    assert (answer.status, answer.data) == ("UnknownVendorId", None)


def test_reset_is_answered_first_and_carried_out_after(services):
    answer = reset.handle(services, type="Hard")
    assert answer.status == "Accepted" and services.lifecycle.resets == [], "nothing happens before the answer"
    reset.then(services, answer, type="Hard")
    assert services.lifecycle.resets == [True]
    services.lifecycle.stopping = True
    refused = reset.handle(services, type="Soft")
    reset.then(services, refused, type="Soft")
    assert refused.status == "Rejected" and services.lifecycle.resets == [True]


class Wire:
    """The peer's side of a websocket: what it sent, as parsed frames."""

    def __init__(self) -> None:
        self.sent: list[list[Any]] = []

    async def send(self, frame: str) -> None:
        self.sent.append(json.loads(frame))


async def route(services: Services, frame: list[Any], accepted: bool = True) -> list[Any]:
    wire = Wire()
    peer = Ocpp16Peer("CP", wire, HANDLERS, services, lambda: accepted, response_timeout=1)
    await peer.route_message(json.dumps(frame))
    assert len(wire.sent) == 1, wire.sent
    return wire.sent[0]


async def test_router_answers_through_the_registered_handler(services):
    answer = await route(services, [2, "m1", "RemoteStartTransaction", {"idTag": "QR1", "connectorId": 1}])
    assert answer == [3, "m1", {"status": "Accepted"}] and services.charge_point.calls == [("start", (1, "QR1"))]


async def test_before_an_accepted_boot_remote_start_and_stop_are_refused_without_reaching_the_core(services):
    for frame in ([2, "m1", "RemoteStartTransaction", {"idTag": "QR1"}],
                  [2, "m2", "RemoteStopTransaction", {"transactionId": 1}]):
        assert (await route(services, frame, accepted=False))[2] == {"status": "Rejected"}
    assert services.charge_point.calls == []
    answer = await route(services, [2, "m3", "GetLocalListVersion", {}], accepted=False)
    assert answer == [3, "m3", {"listVersion": 7}], "other messages are answered while Pending"


async def test_a_reset_is_carried_out_only_once_its_answer_is_written(services):
    resets_when_sending: list[list[bool]] = []

    class Recording(Wire):
        async def send(self, frame: str) -> None:
            resets_when_sending.append(list(services.lifecycle.resets))
            await super().send(frame)

    wire = Recording()
    peer = Ocpp16Peer("CP", wire, HANDLERS, services, lambda: True, response_timeout=1)
    await peer.route_message(json.dumps([2, "r1", "Reset", {"type": "Soft"}]))
    assert wire.sent == [[3, "r1", {"status": "Accepted"}]] and services.lifecycle.resets == [False]
    await peer.route_message(json.dumps([2, "r2", "Reset", {"type": "Bogus"}]))
    assert wire.sent[-1][:3] == [4, "r2", "PropertyConstraintViolation"] and services.lifecycle.resets == [False]
    assert resets_when_sending == [[], [False]], "the reset waited for its answer; a bad request resets nothing"


async def test_what_is_not_registered_gets_the_16_callerror(services):
    # A 1.6 action a charge point sends, not one it answers.
    frame = [2, "m1", "Heartbeat", {}]
    assert (await route(services, frame))[:3] == [4, "m1", "NotSupported"]
    assert (await route(services, [2, "m2", "MakeCoffee", {}]))[:3] == [4, "m2", "NotImplemented"]


async def test_fast_schema_path_checks_the_payload_and_hands_it_over_as_sent(services):
    bad = await route(services, [2, "m1", "SendLocalList", {"listVersion": "8", "updateType": "Full"}])
    assert bad[:3] == [4, "m1", "TypeConstraintViolation"] and services.authorizer.updates == []
    good = await route(services, [2, "m2", "SendLocalList", {"listVersion": 9, "updateType": "Full"}])
    assert good == [3, "m2", {"status": "Accepted"}] and services.authorizer.updates[0].version == 9


def test_supported_feature_profiles_come_from_the_registered_handlers(tmp_path, services):
    config = parse_config(sim_config_text("ws://127.0.0.1:9/ocpp", tmp_path / "evsed.db", "CP"))
    store = Store(config.storage.path)
    settings = Settings(store, {}, {})
    Ocpp16Adapter(config, settings, Outbox(store, Clock(Trust.RTC, "boot")), Clock(Trust.RTC, "boot"))
    answer = get_configuration.handle(Services(settings, *[None] * 8), key=["SupportedFeatureProfiles"])  # type: ignore[arg-type]
    assert answer.configuration_key == [{"key": "SupportedFeatureProfiles", "readonly": True,
                                         "value": "Core,LocalAuthListManagement,RemoteTrigger,Reservation,"
                                                  "SmartCharging,FirmwareManagement"}]
    assert HANDLERS.profiles() == ["Core", "LocalAuthListManagement", "RemoteTrigger", "Reservation", "SmartCharging",
                                   "FirmwareManagement", "Security"], "the Security extension is no feature profile"


async def test_a_fault_after_the_answer_costs_a_log_line_not_the_link(services, caplog):
    """A handler's `then` runs once the answer is written; if it fails, the conversation goes on (the 2.0.1 fuzz
    found one that could)."""
    def then(*_: Any, **__: Any) -> None:
        raise TypeError("then() broke")

    registry = Registry([Handler("GetLocalListVersion", lambda s: call_result.GetLocalListVersion(list_version=3),
                                 "Core", then=then)])
    wire = Wire()
    peer = Ocpp16Peer("CP", wire, registry, services, lambda: True, response_timeout=1)
    await peer.route_message(json.dumps([2, "t1", "GetLocalListVersion", {}]))
    assert wire.sent == [[3, "t1", {"listVersion": 3}]]
    assert "follow-up failed action=GetLocalListVersion" in caplog.text and "then() broke" in caplog.text
