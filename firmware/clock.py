"""Wall-clock timestamps for messages (UTC, millisecond precision, 'Z' suffix)."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """OCPP dateTime: RFC 3339 in UTC, e.g. 2026-11-23T10:00:00.123Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(utc_now())
