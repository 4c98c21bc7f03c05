"""Storage stays bounded without dropping anything billable (real SQLite file)."""

import logging

from firmware.persistence.db import Store
from firmware.transactions import metering
from firmware.transactions.outbox import MessageKind, Outbox
from firmware.transactions.store import KEEP_FINISHED, StopReason, TransactionStore
from hal.meter import MeterReading
from tests.clocks import RTC_CLOCK

MEASURANDS = ["Energy.Active.Import.Register"]


def sample(energy_wh: float, context: metering.ReadingContext) -> dict:
    return metering.sample(MeterReading(energy_wh, 0.0, (230.0,), (0.0,)), MEASURANDS, context, f"T{energy_wh:08.0f}")


def test_full_outbox_thins_periodic_values_only(tmp_path, caplog):
    store = Store(tmp_path / "db")
    outbox = Outbox(store, RTC_CLOCK, max_messages=40)
    txs = TransactionStore(store, outbox)
    caplog.set_level(logging.WARNING)
    tx = txs.begin(1, "04A1B2C3", 0, "T0", sample(0, metering.ReadingContext.TRANSACTION_BEGIN), None)
    for wh in range(1, 61):
        txs.sample(tx, sample(wh, metering.ReadingContext.SAMPLE_PERIODIC), wh)
    txs.end(tx, 61, "T61", StopReason.LOCAL, None, sample(61, metering.ReadingContext.TRANSACTION_END), None)
    rows = []
    while (head := outbox.head()) is not None:
        rows.append(head)
        outbox.confirmed(head, lambda: None)
    assert len(rows) <= 42, "bounded"
    assert rows[0].kind is MessageKind.TRANSACTION_START and rows[-1].kind is MessageKind.TRANSACTION_STOP
    contexts = [r.body["values"][0]["sampledValue"][0]["context"] for r in rows[1:-1]]
    assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"
    stamps = [r.body["values"][0]["timestamp"] for r in rows[1:-1]]
    assert stamps == sorted(stamps), "what is left is still in order"
    assert stamps[-2] == "T00000060", "the newest periodic values are kept"
    assert "outbox full, thinned periodic MeterValues" in caplog.text


def test_confirmed_transactions_are_pruned_unsent_ones_kept(tmp_path):
    store = Store(tmp_path / "db")
    outbox = Outbox(store, RTC_CLOCK)
    txs = TransactionStore(store, outbox)
    for n in range(KEEP_FINISHED + 5):
        tx = txs.begin(1, "04A1B2C3", n, f"T{n}", None, None)
        txs.end(tx, n, f"T{n}", StopReason.LOCAL, None, None, None)
        if n >= 3:  # the first three stay unsent
            with store.atomic():
                store.db.execute("DELETE FROM outbox WHERE tx_ref = ?", [tx.ref])
    assert txs.prune() == 2
    refs = [r[0] for r in store.db.execute("SELECT ref FROM transactions ORDER BY ref")]
    assert refs[:3] == [1, 2, 3], "transactions with messages still queued are never pruned"
    assert len(refs) == KEEP_FINISHED + 3
