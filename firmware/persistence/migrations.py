"""Numbered schema migrations of the one database: version N is reached by running MIGRATIONS[N-1].

Append, never edit a released one: a charger in the field may be at any version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by Store only when the schema moves
    from sqlite_utils import Database


def _v1(db: Database) -> None:
    db.execute("CREATE TABLE config_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE transactions (
            ref INTEGER PRIMARY KEY AUTOINCREMENT,
            connector INTEGER NOT NULL,
            id_tag TEXT NOT NULL,
            meter_start INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            csms_id INTEGER,
            last_energy_wh REAL NOT NULL,
            meter_stop INTEGER,
            stopped_at TEXT,
            stop_reason TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            tx_ref INTEGER NOT NULL REFERENCES transactions(ref),
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """CREATE TABLE dead_letters (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            tx_ref INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            failed_at TEXT NOT NULL,
            error TEXT NOT NULL
        )"""
    )


def _v2(db: Database) -> None:
    """Authorization: the Local Authorization List and the Authorization Cache.

    idTags compare case-insensitively (OCPP 1.6 IdToken), so both keys use NOCASE; idTags are
    printable ASCII (CiString20), the range NOCASE folds.
    """
    db.execute(
        """CREATE TABLE local_list (
            id_tag TEXT PRIMARY KEY COLLATE NOCASE,
            status TEXT NOT NULL,
            expiry_date TEXT,
            parent_id_tag TEXT
        ) WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE auth_cache (
            id_tag TEXT PRIMARY KEY COLLATE NOCASE,
            status TEXT NOT NULL,
            expiry_date TEXT,
            parent_id_tag TEXT,
            seq INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX auth_cache_seq ON auth_cache (seq)")


def _v3(db: Database) -> None:
    # StartTransaction.conf's idTagInfo status, so a resumed transaction knows whether the CSMS refused it.
    db.execute("ALTER TABLE transactions ADD COLUMN id_tag_status TEXT")


V4_SETTING_NAMES = {
    "AllowOfflineTxForUnknownId": "offline_unknown_id_allowed",
    "AuthorizationCacheEnabled": "auth_cache_enabled",
    "AuthorizeRemoteTxRequests": "authorize_remote_starts",
    "ClockAlignedDataInterval": "aligned_sample_interval_s",
    "ConnectionTimeOut": "connection_timeout_s",
    "HeartbeatInterval": "heartbeat_interval_s",
    "LocalAuthListEnabled": "local_list_enabled",
    "LocalAuthorizeOffline": "local_authorize_offline",
    "LocalPreAuthorize": "local_pre_authorize",
    "MaxEnergyOnInvalidId": "max_energy_on_invalid_id_wh",
    "MeterValuesAlignedData": "aligned_measurands",
    "MeterValuesSampledData": "sampled_measurands",
    "MeterValueSampleInterval": "sample_interval_s",
    "MinimumStatusDuration": "minimum_status_duration_s",
    "ResetRetries": "reset_retries",
    "StopTransactionOnEVSideDisconnect": "stop_on_ev_disconnect",
    "StopTransactionOnInvalidId": "stop_on_invalid_id",
    "StopTxnAlignedData": "stop_aligned_measurands",
    "StopTxnSampledData": "stop_sampled_measurands",
    "TransactionMessageAttempts": "transaction_message_attempts",
    "TransactionMessageRetryInterval": "transaction_message_retry_interval_s",
    "UnlockConnectorOnEVSideDisconnect": "unlock_on_ev_disconnect",
    "WebSocketPingInterval": "websocket_ping_interval_s",
}
"""Frozen history: the names schema 3 stored settings under (the OCPP 1.6 key names) and the neutral
names they have from schema 4 on. Never updated: new settings are born with neutral names."""


def _v4(db: Database) -> None:
    """Protocol-neutral storage: settings by neutral names, the CSMS's transaction id as text (1.6 sends an
    integer, 2.0.1 a string), and outbox messages that need not belong to a transaction."""
    db.execute("CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.conn.executemany("INSERT INTO settings (name, value) SELECT ?, value FROM config_keys WHERE name = ?",
                        [(new, old) for old, new in V4_SETTING_NAMES.items()])
    db.execute("DROP TABLE config_keys")
    db.execute("ALTER TABLE transactions ADD COLUMN remote_id TEXT")
    db.execute("UPDATE transactions SET remote_id = CAST(csms_id AS TEXT) WHERE csms_id IS NOT NULL")
    db.execute("ALTER TABLE transactions DROP COLUMN csms_id")
    # outbox and dead_letters: tx_ref becomes nullable (a table rebuild); ids keep counting where they were,
    # since a dead letter keeps its message's id.
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    next_after = row[0] if row else 0
    db.execute(
        """CREATE TABLE outbox_v4 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            tx_ref INTEGER REFERENCES transactions(ref),
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("INSERT INTO outbox_v4 SELECT id, kind, tx_ref, body, created_at, attempts FROM outbox")
    db.execute("DROP TABLE outbox")
    db.execute("ALTER TABLE outbox_v4 RENAME TO outbox")
    db.execute("DELETE FROM sqlite_sequence WHERE name = 'outbox'")
    db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', max(?, (SELECT coalesce(max(id), 0)"
               " FROM outbox)))", [next_after])
    db.execute(
        """CREATE TABLE dead_letters_v4 (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            tx_ref INTEGER,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            failed_at TEXT NOT NULL,
            error TEXT NOT NULL
        )"""
    )
    db.execute("INSERT INTO dead_letters_v4 SELECT * FROM dead_letters")
    db.execute("DROP TABLE dead_letters")
    db.execute("ALTER TABLE dead_letters_v4 RENAME TO dead_letters")


def _v5(db: Database) -> None:
    """What a resumed transaction needs besides its start: the starting idTag's group (parentIdTag) and its
    Transaction.Begin values for StopTransaction.transactionData (JSON)."""
    db.execute("ALTER TABLE transactions ADD COLUMN parent_id_tag TEXT")
    db.execute("ALTER TABLE transactions ADD COLUMN begin_values TEXT")


def _v6(db: Database) -> None:
    """Availability (OCPP 1.6 §5.2 ChangeAvailability): the Operative/Inoperative wish per connector, connector 0
    being the charge point as a whole, so it survives restarts and power loss (§4.9: an Unavailable set by Change
    Availability "MUST be persistent across reboots"). No row: Operative."""
    db.execute("CREATE TABLE availability (connector INTEGER PRIMARY KEY, operative INTEGER NOT NULL"
               " CHECK (operative IN (0, 1)))")


def _v7(db: Database) -> None:
    """Reservations (OCPP 1.6 §5.13 ReserveNow, §5.1 CancelReservation): one row per reservation in force, keyed by
    the CSMS's reservationId, so a reservation survives restarts and power loss; connector 0 is "any connector".
    expiry_date is the request's expiryDate as an RFC 3339 UTC text. No row: nothing reserved."""
    db.execute(
        """CREATE TABLE reservations (
            id INTEGER PRIMARY KEY,
            connector INTEGER NOT NULL CHECK (connector >= 0),
            id_tag TEXT NOT NULL,
            parent_id_tag TEXT,
            expiry_date TEXT NOT NULL
        )"""
    )


def _v8(db: Database) -> None:
    """Charging profiles (OCPP 1.6 §3.13 Smart Charging, §5.16 SetChargingProfile): one row per installed profile,
    keyed by the CSMS's chargingProfileId, so profiles survive restarts and power loss. `body` is the profile as
    JSON (`firmware.smart_charging.store`); connector, purpose and stack level are columns for the replacement and
    ClearChargingProfile rules; `tx_ref` is the local transaction a TxProfile belongs to (it ends with it)."""
    db.execute(
        """CREATE TABLE charging_profiles (
            id INTEGER PRIMARY KEY,
            connector INTEGER NOT NULL CHECK (connector >= 0),
            purpose TEXT NOT NULL,
            stack_level INTEGER NOT NULL CHECK (stack_level >= 0),
            tx_ref INTEGER,
            body TEXT NOT NULL
        )"""
    )


def _v9(db: Database) -> None:
    """Firmware update (OCPP 1.6 §5.19 UpdateFirmware, §4.5): the one update in progress, so it survives a restart or
    a power cut mid-way: where from, when, its retries, the step it reached (`firmware_management.updates.Step`),
    the download attempts made and the evsed version before installing (an install cut off by a restart is judged
    by it). No row: no update in progress."""
    db.execute(
        """CREATE TABLE firmware_update (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            location TEXT NOT NULL,
            retrieve_date TEXT NOT NULL,
            retries INTEGER NOT NULL,
            retry_interval_s INTEGER NOT NULL,
            step TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            version_before TEXT NOT NULL
        )"""
    )


def _v10(db: Database) -> None:
    """Signed firmware updates (Security Whitepaper ed. 3, SignedUpdateFirmware): the CSMS's requestId, the signing
    certificate and the signature, checked before anything is installed. NULL: an unsigned UpdateFirmware."""
    for column in ("request_id INTEGER", "signing_certificate TEXT", "signature TEXT"):
        db.execute(f"ALTER TABLE firmware_update ADD COLUMN {column}")


def _v11(db: Database) -> None:
    """OCPP 2.0.1 beside 1.6: each queued message says whether it was queued while the link was down (2.0.1
    TransactionEvent `offline`, E04), and each transaction counts the messages the CSMS confirmed (2.0.1 `seqNo`,
    E01.FR.16: gap-free, across reconnects, restarts and power loss); a Local List entry keeps its idToken's type
    (2.0.1 IdTokenType.type; NULL: a 1.6 idTag)."""
    db.execute("ALTER TABLE outbox ADD COLUMN offline INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE local_list ADD COLUMN token_type TEXT")
    db.execute("ALTER TABLE transactions ADD COLUMN confirmed_messages INTEGER NOT NULL DEFAULT 0")


MIGRATIONS: list[Callable[[Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11]


