"""Schema migration 4 on a database as evsed 0.1 (schema 3) left it in the field: settings under their OCPP 1.6
key names, the CSMS's transactionId as an integer, queued and dead-lettered messages. Nothing is lost, the
queue keeps its order and its ids keep counting where they were."""

import json
import sqlite3
import time
from datetime import timedelta

import pytest
from sqlite_utils import Database

from firmware.auth.idtag import AuthorizationStatus
from firmware.clock import Clock, Trust, utc_now
from firmware.core.availability import Availability
from firmware.core.reservations import Reservation, Reservations
from firmware.persistence.db import Store
from firmware.persistence.migrations import MIGRATIONS
from firmware.settings import Settings
from firmware.transactions.outbox import MessageKind, Outbox
from firmware.transactions.store import TransactionStore


def schema_3(path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    db = Database(connection)
    for migration in MIGRATIONS[:3]:
        migration(db)
    db.execute("PRAGMA user_version = 3")
    rows = [("ConnectionTimeOut", 45), ("LocalPreAuthorize", True), ("MeterValuesSampledData", "Voltage"),
            ("HeartbeatInterval", 120), ("NoLongerAKey", 1)]
    db.conn.executemany("INSERT INTO config_keys VALUES (?, ?)", [(k, json.dumps(v)) for k, v in rows])
    db.execute("INSERT INTO transactions (connector, id_tag, meter_start, started_at, csms_id, last_energy_wh,"
               " meter_stop, stopped_at, stop_reason, id_tag_status) VALUES (1, 'AA', 0, 'T0', 1001, 10, 10, 'T1',"
               " 'Local', 'Accepted')")
    db.execute("INSERT INTO transactions (connector, id_tag, meter_start, started_at, last_energy_wh)"
               " VALUES (2, 'BB', 5, 'T2', 5)")
    db.execute("""INSERT INTO outbox (kind, tx_ref, body, created_at) VALUES ('TransactionStart', 2,
                  '{"connector": 2, "id_tag": "BB", "meter_start": 5, "timestamp": "T2"}', 'T')""")
    for n in range(2, 32):  # 30 more went out after it (the last one dead-lettered): the sequence stands at 31
        db.execute("INSERT INTO outbox (kind, tx_ref, body, created_at) VALUES ('MeterValues', 1, '{}', 'T')")
        db.execute("DELETE FROM outbox WHERE id = ?", [n])
    db.execute("INSERT INTO dead_letters VALUES (31, 'MeterValues', 1, '{}', 'T', 'T', 'CALLERROR')")
    connection.close()


def test_schema_3_database_migrates_without_losing_anything(tmp_path):
    path = tmp_path / "evsed.db"
    schema_3(path)
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS) >= 4
    settings = Settings(store, {"connection_timeout_s": 99}, {})
    assert settings.integer("connection_timeout_s") == 45, "the stored value wins over a preset, as before"
    assert settings.flag("local_pre_authorize") and settings.csl("sampled_measurands") == ["Voltage"]
    assert settings.integer("heartbeat_interval_s") == 120
    assert {name for name, in store.db.execute("SELECT name FROM settings")} == {
        "connection_timeout_s", "local_pre_authorize", "sampled_measurands", "heartbeat_interval_s"}
    assert store.db.execute("SELECT name FROM sqlite_master WHERE name = 'config_keys'").fetchall() == []

    rows = store.db.execute("SELECT ref, remote_id FROM transactions ORDER BY ref").fetchall()
    assert rows == [(1, "1001"), (2, None)], "the CSMS's id is text now, and still unknown where it was"
    clock = Clock(Trust.RTC, "boot")
    outbox = Outbox(store, clock)
    head = outbox.head()
    assert head is not None and head.id == 1 and head.kind is MessageKind.TRANSACTION_START and head.tx_ref == 2
    assert store.db.execute("SELECT id FROM dead_letters").fetchall() == [(31,)]

    txs = TransactionStore(store, outbox)
    tx, _ = txs.unfinished()[0]
    assert (tx.ref, tx.remote_id) == (2, None)
    with store.atomic():
        outbox.put("SecurityEventNotification", None, {"type": "FirmwareUpdated"})
    ids = [row[0] for row in store.db.execute("SELECT id FROM outbox ORDER BY id")]
    assert ids == [1, 32], "new messages queue behind, with ids no dead letter has, and need no transaction"
    with store.atomic():
        txs.confirm_start(2, "abc-uuid", AuthorizationStatus.ACCEPTED)
    head = outbox.head()
    assert head is not None and head.remote_id == "abc-uuid", "a queued message reads its transaction's id"


def test_schema_6_adds_availability_everything_operative_and_a_setting_survives_reopening(tmp_path):
    """Migration 6 (OCPP 1.6 §5.2 ChangeAvailability): a schema-5 charger in the field starts with every connector
    and the charge point Operative (no rows); what is set is kept across a restart."""
    path = tmp_path / "evsed.db"
    connection = sqlite3.connect(path, isolation_level=None)
    db = Database(connection)
    for migration in MIGRATIONS[:5]:
        migration(db)
    db.execute("PRAGMA user_version = 5")
    db.execute("INSERT INTO transactions (connector, id_tag, meter_start, started_at, last_energy_wh)"
               " VALUES (1, 'AA', 0, 'T0', 0)")
    connection.close()

    store = Store(path)
    assert store.schema_version == len(MIGRATIONS) >= 6
    assert store.db.execute("SELECT count(*) FROM availability").fetchone() == (0,)
    assert store.db.execute("SELECT count(*) FROM transactions").fetchone() == (1,), "nothing else touched"
    availability = Availability(store)
    assert not any(availability.unavailable(n) for n in (0, 1, 2))
    availability.set(2, operative=False)
    availability.set(0, operative=False)
    availability.set(0, operative=True)
    store.close()

    again = Availability(Store(path))
    assert again.inoperative(2) and not again.inoperative(0) and not again.inoperative(1)
    assert again.unavailable(2) and not again.unavailable(1)
    with pytest.raises(sqlite3.IntegrityError):
        Store(path).db.execute("INSERT INTO availability VALUES (3, 2)")


def test_schema_7_adds_reservations_none_at_first_and_they_survive_reopening_until_they_expire(tmp_path):
    """Migration 7 (OCPP 1.6 §5.13 ReserveNow): a schema-6 charger starts with no reservation; one made is kept
    across a restart, replaced by its reservationId, and one whose expiryDate passed while stopped is gone at
    start."""
    path = tmp_path / "evsed.db"
    connection = sqlite3.connect(path, isolation_level=None)
    db = Database(connection)
    for migration in MIGRATIONS[:6]:
        migration(db)
    db.execute("PRAGMA user_version = 6")
    db.execute("INSERT INTO availability VALUES (2, 0)")
    connection.close()

    store = Store(path)
    assert store.schema_version == len(MIGRATIONS) >= 7
    assert store.db.execute("SELECT count(*) FROM reservations").fetchone() == (0,)
    assert Availability(store).inoperative(2), "nothing else touched"
    clock = Clock(Trust.RTC, "boot")
    reservations = Reservations(store, clock)
    assert reservations.all() == []
    later = utc_now().replace(microsecond=0) + timedelta(hours=1)
    reservations.put(Reservation(7, 1, "AA", later, "GROUP"))
    reservations.put(Reservation(8, 0, "BB", later))
    reservations.put(Reservation(7, 2, "CC", later))  # the same id replaces
    reservations.put(Reservation(9, 1, "DD", utc_now() + timedelta(seconds=1)))
    store.close()

    time.sleep(1.5)  # reservation 9's expiryDate passes while "stopped"
    again = Reservations(Store(path), clock)
    assert again.all() == [Reservation(7, 2, "CC", later), Reservation(8, 0, "BB", later)]
    assert Store(path).db.execute("SELECT id FROM reservations ORDER BY id").fetchall() == [(7,), (8,)]
    with pytest.raises(sqlite3.IntegrityError):
        Store(path).db.execute("INSERT INTO reservations VALUES (10, -1, 'EE', NULL, 'T')")
