"""Diagnostics (OCPP 1.6 §5.9 GetDiagnostics, §4.4 DiagnosticsStatusNotification): what an operator needs when a
driver complains, in one archive uploaded where the CSMS says.

The archive (`diagnostics-<charge point>-<time>.tar.gz`) holds:

- `evsed.log`: the daemon's log between startTime and stopTime: from the journal when it runs under systemd
  (`journalctl --unit evsed.service`), else the latest lines it kept in memory (`logs.RECENT`). Info-level lines
  show idTags by their last four characters only (`logs.masked`).
- `evsed.toml`: the configuration file with every secret masked (URL passwords, keys named like a password, key,
  secret or token).
- `status.txt`: what `evsed status` prints.
- `database.txt`: schema version, row counts per table, outbox depth and dead letters; no idTag.

The answer names the file at once; the upload follows (`transfer.upload`: HTTP PUT, POST as fallback, or FTP) with
`retries` more attempts `retryInterval` apart: Uploading, then Uploaded or UploadFailed, queued in the outbox like
the firmware's statuses. §4.4: Idle only answers a TriggerMessage when nothing is being uploaded (`status`). A new
request replaces an upload in progress.
"""

import asyncio
import contextlib
import io
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from firmware.clock import iso
from firmware.firmware_management.retries import Retries
from firmware.logs import RECENT, masked_url
from firmware.persistence.db import Store
from firmware.transactions.outbox import Outbox

log = logging.getLogger(__name__)

DIAGNOSTICS_STATUS = "DiagnosticsStatusNotification"
"""The outbox kind of a diagnostics status (body: {"status": …})."""
LOG_STATUS = "LogStatusNotification"
"""The outbox kind of a GetLog upload's status (Security Whitepaper ed. 3; body: {"status": …, "request_id": …})."""

LOG_STATUSES = {"Idle": "Idle", "Uploading": "Uploading", "Uploaded": "Uploaded", "UploadFailed": "UploadFailure"}
"""DiagnosticsStatus → the whitepaper's UploadLogStatusEnumType."""

JOURNAL_LINES = 50_000
"""The most journal lines an archive takes (the newest of the time window)."""

_URL_PASSWORD = re.compile(r"(\w+://[^:/@\s\"']+:)[^@\s\"']+@")
_SECRET_LINE = re.compile(r"(?im)^(\s*[\w.-]*(?:password|passphrase|secret|token|key)[\w.-]*\s*=\s*).+$")


class Status(StrEnum):
    """OCPP 1.6 §7.24 DiagnosticsStatus."""

    IDLE = "Idle"
    UPLOADING = "Uploading"
    UPLOADED = "Uploaded"
    UPLOAD_FAILED = "UploadFailed"


def masked_config(text: str) -> str:
    """The configuration file as an archive may carry it: URL passwords and secret-looking values as ***."""
    return _SECRET_LINE.sub(r'\1"***"', _URL_PASSWORD.sub(r"\1***@", text))


def database_facts(store: Store) -> str:
    """Schema version and row counts per table (no contents)."""
    lines = [f"schema version {store.schema_version}"]
    tables = [row[0] for row in store.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for name in tables:
        count = store.db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
        lines.append(f"{name}: {count} rows")
    return "\n".join(lines) + "\n"


def log_lines(since: datetime | None, until: datetime | None) -> str:
    """The daemon's log in the window: the journal under systemd, else the lines kept in memory."""
    import shutil
    import subprocess

    if os.environ.get("INVOCATION_ID") and shutil.which("journalctl"):
        argv = ["journalctl", "--unit", "evsed.service", "--output", "short-iso", "--no-pager", "--lines",
                str(JOURNAL_LINES)]
        argv += [f"--since=@{since.timestamp():.0f}"] if since else []
        argv += [f"--until=@{until.timestamp():.0f}"] if until else []
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout
        except (OSError, subprocess.SubprocessError) as e:
            log.warning("journal not readable, sending the lines kept in memory error=%s", e)
    low = since.timestamp() if since else float("-inf")
    high = until.timestamp() if until else float("inf")
    return "".join(f"{line}\n" for at, line in list(RECENT.lines) if low <= at <= high)


def build_archive(path: Path, members: dict[str, str]) -> None:
    """A gzipped tar of text members, written to `path`."""
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        for name, text in members.items():
            data = text.encode(errors="backslashreplace")  # a log line may quote a CSMS's lone surrogate
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            archive.addfile(info, io.BytesIO(data))


class Diagnostics:
    def __init__(self, store: Store, outbox: Outbox, charge_point_id: str, config_path: Path | None,
                 directory: Path, status_text: Callable[[], Awaitable[str]], security_log: Path | None = None) -> None:
        """`status_text()`: what `evsed status` prints now; `security_log`: the security events' log (GetLog)."""
        self._security_log = security_log
        self._request_id: int | None = None
        self._store = store
        self._outbox = outbox
        self._id = charge_point_id
        self._config_path = config_path
        self._dir = directory
        self._status_text = status_text
        self._task: asyncio.Task[None] | None = None

    def request(self, location: str, retries: int, retry_interval_s: int, since: datetime | None,
                until: datetime | None, *, security: bool = False, request_id: int | None = None) -> str:
        """GetDiagnostics (§5.9), or GetLog (Security Whitepaper ed. 3: `request_id`; `security`: the SecurityLog
        instead of the diagnostics): the name of the file that will be uploaded; the upload runs in a task, its
        statuses go as DiagnosticsStatusNotification, or LogStatusNotification with the requestId."""
        if self._task is not None and not self._task.done():
            log.warning("diagnostics upload replaced by a new request")
            self._task.cancel()
        kind = "security-log" if security else "diagnostics"
        name = f"{kind}-{self._id}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"
        bounded = Retries.bounded(retries, retry_interval_s)
        self._request_id = request_id
        self._task = asyncio.create_task(self._collect_and_upload(name, location, bounded.retries,
                                                                  bounded.interval_s, since, until, security),
                                         name="diagnostics")
        log.info("diagnostics requested file=%s location=%s retries=%d", name, masked_url(location), retries)
        return name

    def status(self) -> Status:
        """What a triggered DiagnosticsStatusNotification says (§5.17): Uploading while one runs, else Idle."""
        return Status.UPLOADING if self._task is not None and not self._task.done() else Status.IDLE

    def log_status(self) -> tuple[str, int | None]:
        """What a triggered LogStatusNotification says: Uploading and the requestId while a GetLog upload runs, else
        Idle."""
        if self.status() is Status.UPLOADING and self._request_id is not None:
            return LOG_STATUSES[Status.UPLOADING], self._request_id
        return LOG_STATUSES[Status.IDLE], None

    async def _collect_and_upload(self, name: str, location: str, retries: int, retry_interval_s: int,
                                  since: datetime | None, until: datetime | None, security: bool) -> None:
        from firmware.firmware_management.transfer import TransferError, upload  # http.client, ftplib: when used

        path = self._dir / name
        self._tell(Status.UPLOADING)
        try:
            if security:
                members = {"security.log": await asyncio.to_thread(self._security_lines, since, until)}
            else:
                members = {"evsed.log": await asyncio.to_thread(log_lines, since, until),
                           "evsed.toml": masked_config(self._config_text()),
                           "status.txt": await self._status_text() + "\n",
                           "database.txt": database_facts(self._store)}
            self._dir.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(build_archive, path, members)
            for attempt in range(1, retries + 2):
                try:
                    target = await asyncio.to_thread(upload, location, path)
                except TransferError as e:
                    log.warning("diagnostics upload failed attempt=%d of=%d error=%s", attempt, retries + 1, e)
                    if attempt <= retries:
                        await asyncio.sleep(retry_interval_s)
                    continue
                log.info("diagnostics uploaded to=%s bytes=%d", target, path.stat().st_size)
                self._tell(Status.UPLOADED)
                return
            self._tell(Status.UPLOAD_FAILED)
        except asyncio.CancelledError:
            raise
        except Exception:  # whatever went wrong collecting: the CSMS hears it failed, the charger goes on
            log.exception("diagnostics not collected")
            self._tell(Status.UPLOAD_FAILED)
        finally:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    def _config_text(self) -> str:
        if self._config_path is None:
            return "# not read from a file\n"
        try:
            return self._config_path.read_text(errors="replace")
        except OSError as e:
            return f"# not readable: {e}\n"

    def _security_lines(self, since: datetime | None, until: datetime | None) -> str:
        """The security log's lines in the window (each starts with its time), the rotated half first."""
        low, high = (iso(since) if since else ""), (iso(until) if until else "~")
        lines: list[str] = []
        if self._security_log is not None:
            for path in (self._security_log.with_name(self._security_log.name + ".1"), self._security_log):
                with contextlib.suppress(FileNotFoundError):
                    lines += [ln for ln in path.read_text(errors="replace").splitlines(keepends=True)
                              if low <= ln[:24] <= high]
        return "".join(lines)

    def _tell(self, status: Status) -> None:
        if self._request_id is None:
            self._outbox.put(DIAGNOSTICS_STATUS, None, {"status": status})
        else:
            self._outbox.put(LOG_STATUS, None, {"status": LOG_STATUSES[status], "request_id": self._request_id})
        log.info("diagnostics status=%s request_id=%s", status, self._request_id)
