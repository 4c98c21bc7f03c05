"""DataTransfer both ways (OCPP 1.6 §4.3, §5.6): the vendor registry and its example extension, the CSMS's
requests answered by the daemon, and the adapter's own DataTransfer to the loopback CSMS."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ocpp.v16 import call

from firmware import __version__
from firmware.clock import Clock, Trust
from firmware.config_file import parse_config
from firmware.core.services import Services
from firmware.demo.loopback_csms import LoopbackCsms, sim_config_text
from firmware.ocpp16.adapter import Ocpp16Adapter
from firmware.ocpp16.handlers import data_transfer
from firmware.persistence.db import Store
from firmware.protocol.vendors import (
    EVSED_VENDOR_ID,
    VENDORS,
    TransferAnswer,
    TransferStatus,
    Vendors,
    evsed_vendor,
)
from firmware.settings import Settings
from firmware.transactions.outbox import Outbox
from tests.conftest import CHARGE_POINT

# --- the registry ----------------------------------------------------------------------------------


def test_a_vendor_id_with_no_extension_is_unknown_without_data():
    answer = Vendors().transfer("com.example", "Ping", "x")
    assert answer == TransferAnswer(TransferStatus.UNKNOWN_VENDOR_ID, None)


def test_a_plugged_in_vendor_answers_its_messages_in_any_case_of_its_vendor_id():
    calls: list[tuple[str | None, str | None]] = []

    def acme(message_id: str | None, data: str | None) -> TransferAnswer:
        calls.append((message_id, data))
        if message_id == "Ping":
            return TransferAnswer(TransferStatus.ACCEPTED, f"pong:{data}")
        return TransferAnswer(TransferStatus.REJECTED)

    vendors = Vendors()
    vendors.register("com.acme", acme)
    assert vendors.transfer("COM.Acme", "Ping", "7") == TransferAnswer(TransferStatus.ACCEPTED, "pong:7")
    assert vendors.transfer("com.acme", "Other", None).status is TransferStatus.REJECTED
    assert calls == [("Ping", "7"), ("Other", None)]
    with pytest.raises(ValueError, match="registered already"):
        vendors.register("com.ACME", acme)
    vendors.unregister("com.acme")
    assert vendors.transfer("com.acme", "Ping", "7").status is TransferStatus.UNKNOWN_VENDOR_ID


def test_the_example_vendor_answers_its_version_and_no_other_message():
    assert evsed_vendor("Version", None) == TransferAnswer(TransferStatus.ACCEPTED, __version__)
    assert evsed_vendor("VERSION", "ignored") == TransferAnswer(TransferStatus.ACCEPTED, __version__)
    assert evsed_vendor("Reboot", None) == TransferAnswer(TransferStatus.UNKNOWN_MESSAGE_ID)
    assert evsed_vendor(None, "x") == TransferAnswer(TransferStatus.UNKNOWN_MESSAGE_ID)
    assert VENDORS.transfer(EVSED_VENDOR_ID, "Version", None).data == __version__, "registered by default"


def test_the_handler_answers_with_the_registered_vendor(tmp_path):
    services = Services(Settings(Store(tmp_path / "evsed.db"), {}, {}), *[None] * 8)  # type: ignore[arg-type]
    VENDORS.register("com.test.handler", lambda message_id, data: TransferAnswer(TransferStatus.REJECTED, data))
    try:
        answer = data_transfer.handle(services, vendor_id="com.test.handler", message_id="M", data="d")
    finally:
        VENDORS.unregister("com.test.handler")
    assert (answer.status, answer.data) == ("Rejected", "d")
    answer = data_transfer.handle(services, vendor_id="com.test.handler")
    assert (answer.status, answer.data) == ("UnknownVendorId", None)


# --- the CSMS asks the daemon ----------------------------------------------------------------------


@pytest.mark.parametrize(("vendor_id", "message_id", "status", "data"), [
    ("org.evsed", "Version", "Accepted", __version__),
    ("org.evsed", "Reboot", "UnknownMessageId", None),
    ("com.example", "Version", "UnknownVendorId", None),
])
async def test_the_daemon_answers_a_csms_data_transfer(daemon, csms, vendor_id, message_id, status, data):
    answer = await csms.call(CHARGE_POINT, call.DataTransfer(vendor_id=vendor_id, message_id=message_id))
    assert (answer.status, answer.data) == (status, data)


# --- the charge point asks the CSMS ----------------------------------------------------------------


def adapter_for(url: str, tmp_path: Path) -> Ocpp16Adapter:
    """The 1.6 adapter alone (no connectors), talking to the CSMS at `url`."""
    config = parse_config(sim_config_text(url, tmp_path / "evsed.db", "CP_DT"))
    store = Store(config.storage.path)
    settings = Settings(store, {}, {})
    clock = Clock(Trust.RTC, "boot")
    adapter = Ocpp16Adapter(config, settings, Outbox(store, clock), clock)
    adapter.attach(Services(settings, *[None] * 8))  # type: ignore[arg-type]
    return adapter


@pytest.fixture
async def adapter(tmp_path, csms) -> AsyncIterator[Ocpp16Adapter]:
    adapter = adapter_for(csms.url, tmp_path)
    running = asyncio.create_task(adapter.run())
    try:
        async with asyncio.timeout(10):
            while not adapter.online:
                await asyncio.sleep(0.05)
        yield adapter
    finally:
        await adapter.close()
        async with asyncio.timeout(5):
            await running


@pytest.mark.parametrize(("vendor_id", "message_id", "data", "expected"), [
    ("org.evsed.loopback", "Echo", "hello", TransferAnswer(TransferStatus.ACCEPTED, "hello")),
    ("org.evsed.loopback", "Refuse", "x", TransferAnswer(TransferStatus.REJECTED)),
    ("org.evsed.loopback", "Nope", None, TransferAnswer(TransferStatus.UNKNOWN_MESSAGE_ID)),
    ("com.example", "Echo", "x", TransferAnswer(TransferStatus.UNKNOWN_VENDOR_ID)),
])
async def test_the_adapter_sends_a_data_transfer_and_returns_the_csms_answer(adapter, csms: LoopbackCsms,
                                                                             vendor_id, message_id, data, expected):
    assert await adapter.data_transfer(vendor_id, message_id, data) == expected
    [sent] = csms.of("DataTransfer")
    assert sent.payload == {k: v for k, v in {"vendorId": vendor_id, "messageId": message_id, "data": data}.items()
                            if v is not None}


async def test_no_data_transfer_while_the_boot_is_pending(tmp_path, csms):
    """§4.2: while Pending the charge point sends nothing of its own: the call is refused at once."""
    csms.behaviour.boot_status = "Pending"
    adapter = adapter_for(csms.url, tmp_path)
    with pytest.raises(ConnectionError):
        await adapter.data_transfer("org.evsed.loopback", "Echo", "x")  # not connected at all
    running = asyncio.create_task(adapter.run())
    try:
        await csms.wait_for("BootNotification")
        async with asyncio.timeout(5):
            while adapter.registration != "Pending":
                await asyncio.sleep(0.05)
        with pytest.raises(ConnectionError):
            await adapter.data_transfer("org.evsed.loopback", "Echo", "x")
    finally:
        await adapter.close()
        async with asyncio.timeout(5):
            await running
    assert csms.of("DataTransfer") == []
