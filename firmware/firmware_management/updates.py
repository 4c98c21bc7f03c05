"""Firmware updates (OCPP 1.6 §5.19 UpdateFirmware, §4.5 FirmwareStatusNotification): never at the cost of a session.

The request is stored before it is answered, and every step after, so an update survives a restart or a power cut
mid-way (`firmware_update`, migration 9):

    Scheduled --retrieveDate--> Downloading --complete--> Downloaded --no transaction running--> Installing
    Downloading --1 + retries attempts failed--> DownloadFailed;   Installing --> Installed | InstallationFailed

- The download streams to `<storage>/firmware/` (`transfer.download`): bounded memory, retried `retries` times
  `retryInterval` apart, and resumed from what is on disk (a restart mid-download goes on where it stopped).
- Installing starts only when no transaction runs on any connector (and none is about to); meanwhile every
  connector is Unavailable (`ChargePoint.hold_for_install`). The installer is `[firmware] install_command` with the
  file's path: exit 0 Installed, 10 Installed and evsed restarts (and boots again), anything else (a timeout too)
  InstallationFailed. Without a command the simulated backend's built-in installer accepts a non-empty file.
- An install cut off by a restart (the installer restarted evsed, say a .deb's postinst) is judged at the next
  start by evsed's version: changed, Installed; unchanged, InstallationFailed. Never left half-way.
- Each status goes to the CSMS through the outbox (durable, in order, after the boot is Accepted), written in the
  same database transaction as the step it reports. §4.5: Idle only answers a TriggerMessage (`status`).
- A new UpdateFirmware replaces one that has not started installing; one that is installing goes on.
"""

import asyncio
import logging
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from firmware import __version__
from firmware.clock import Clock, iso, parse_time
from firmware.firmware_management.retries import Retries
from firmware.logs import masked_url
from firmware.persistence.db import Store
from firmware.transactions.outbox import Outbox

log = logging.getLogger(__name__)

FIRMWARE_STATUS = "FirmwareStatusNotification"
"""The outbox kind of a firmware status (body: {"status": …})."""
SIGNED_FIRMWARE_STATUS = "SignedFirmwareStatusNotification"
"""The outbox kind of a signed update's status (Security Whitepaper ed. 3; body: {"status": …, "request_id": …})."""

FILE_NAME_CHARS = 100
"""The longest name a downloaded firmware file keeps (file systems allow 255 bytes)."""
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

RESTART_EXIT = 10
"""An installer's exit status meaning: installed, restart evsed."""

WAIT_FOR_SESSIONS_S = 5.0
"""How often a downloaded update looks whether the sessions have ended (only while one waits)."""

RECHECK_S = 300.0
"""The longest wait for a retrieveDate before the clock is looked at again (it may have been corrected)."""


class Status(StrEnum):
    """OCPP 1.6 §7.25 FirmwareStatus."""

    IDLE = "Idle"
    DOWNLOADING = "Downloading"
    DOWNLOADED = "Downloaded"
    DOWNLOAD_FAILED = "DownloadFailed"
    INSTALLING = "Installing"
    INSTALLED = "Installed"
    INSTALLATION_FAILED = "InstallationFailed"
    SIGNATURE_VERIFIED = "SignatureVerified"
    """Signed updates only, as the next two."""
    INVALID_SIGNATURE = "InvalidSignature"


class Step(StrEnum):
    """Where a stored update stands."""

    SCHEDULED = "Scheduled"
    DOWNLOADING = "Downloading"
    DOWNLOADED = "Downloaded"
    INSTALLING = "Installing"


@dataclass(frozen=True)
class Update:
    location: str
    retrieve_date: datetime
    retries: int
    retry_interval_s: int
    step: Step
    attempts: int
    version_before: str
    signed: "Signature | None" = None


@dataclass(frozen=True)
class Signature:
    """What a SignedUpdateFirmware adds (Security Whitepaper ed. 3, use case L01), or a 2.0.1 UpdateFirmware (L01, L02):
    the requestId its statuses carry, and the file's signing certificate and signature unless it is unsigned (2.0.1
    makes them optional; an unsigned file is installed unchecked, as 1.6's UpdateFirmware's is)."""

    request_id: int
    signing_certificate: str | None = None
    signature: str | None = None


class FirmwareUpdates:
    def __init__(self, store: Store, outbox: Outbox, clock: Clock, directory: Path, install_command: list[str],
                 install_timeout_s: float, builtin_installer: bool, sessions_running: Callable[[], bool],
                 hold_for_install: Callable[[bool], None], restart: Callable[[], None],
                 installed: Callable[[], None] | None = None,
                 signature_problem: Callable[[Path, Signature], str | None] | None = None) -> None:
        """`sessions_running()`: a transaction runs or is about to start; `hold_for_install(on)`: connectors
        Unavailable while installing; `restart()`: the daemon starts again (an installer asked); `installed()`: told
        when an update is Installed (the security log's FirmwareUpdated); `signature_problem(file, signature)`: why a
        signed update's file must not be installed, or None (run in a thread)."""
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._dir = directory
        self._command = install_command
        self._timeout_s = install_timeout_s
        self._builtin = builtin_installer
        self._sessions_running = sessions_running
        self._hold = hold_for_install
        self._restart = restart
        self._installed = installed
        self._signature_problem = signature_problem
        self._changed = asyncio.Event()
        row = store.db.execute("SELECT location, retrieve_date, retries, retry_interval_s, step, attempts, "
                               "version_before, request_id, signing_certificate, signature FROM firmware_update"
                               ).fetchone()
        self._update = None if row is None else Update(
            row[0], parse_time(row[1]) or clock.now(), row[2], row[3], Step(row[4]), row[5], row[6],
            None if row[7] is None else Signature(row[7], row[8], row[9]))

    # --- the CSMS's requests --------------------------------------------------------------------

    def request(self, location: str, retrieve_date: datetime, retries: int, retry_interval_s: int,
                signed: Signature | None = None) -> bool | None:
        """UpdateFirmware (§5.19), or SignedUpdateFirmware (`signed`): stored now; `run` carries it out. None when
        ignored (an update installing already goes on); else whether it replaced one under way."""
        if self._update is not None and self._update.step is Step.INSTALLING:
            log.warning("firmware update ignored, another one is installing location=%s", masked_url(location))
            return None
        bounded = Retries.bounded(retries, retry_interval_s)
        update = Update(location, retrieve_date, bounded.retries, bounded.interval_s, Step.SCHEDULED, 0, __version__,
                        signed)
        with self._store.atomic() as db:
            db.execute("DELETE FROM firmware_update")
            db.execute("INSERT INTO firmware_update (id, location, retrieve_date, retries, retry_interval_s, step, "
                       "attempts, version_before, request_id, signing_certificate, signature) "
                       "VALUES (1, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                       [location, iso(retrieve_date), update.retries, update.retry_interval_s, update.step,
                        update.version_before, signed and signed.request_id, signed and signed.signing_certificate,
                        signed and signed.signature])
        replaced = self._update is not None
        if self._update is not None:
            log.warning("firmware update replaced location=%s", masked_url(self._update.location))
        self._discard_file(self._update)
        self._update = update
        log.info("firmware update scheduled location=%s retrieve_date=%s retries=%d retry_interval_s=%d signed=%s",
                 masked_url(location), iso(retrieve_date), update.retries, update.retry_interval_s, signed is not None)
        self._changed.set()
        return replaced

    def now(self) -> datetime:
        """The charge point's time (a retrieveDate that cannot be read means this)."""
        return self._clock.now()

    def signed_status(self) -> tuple[Status, int | None]:
        """What a triggered SignedFirmwareStatusNotification says: the step under way and its requestId, else Idle."""
        update = self._update
        if update is None or update.signed is None:
            return Status.IDLE, None
        return self.status(), update.signed.request_id

    def status(self) -> Status:
        """What a triggered FirmwareStatusNotification says (§5.17): the step under way, else Idle."""
        step = None if self._update is None else self._update.step
        return {Step.DOWNLOADING: Status.DOWNLOADING, Step.DOWNLOADED: Status.DOWNLOADED,
                Step.INSTALLING: Status.INSTALLING}.get(step, Status.IDLE)  # type: ignore[arg-type]

    # --- carrying it out ------------------------------------------------------------------------

    async def run(self) -> None:
        """Carry out the stored update, and each new one; a new request restarts the work (see `request`)."""
        if self._update is not None and self._update.step is Step.INSTALLING:
            self._judge_interrupted_install(self._update)
        while True:
            self._changed.clear()
            update = self._update
            if update is None:
                await self._changed.wait()
                continue
            work = asyncio.create_task(self._carry_out(update), name="firmware-update")
            changed = asyncio.create_task(self._changed.wait())
            try:
                await asyncio.wait({work, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()
            if not work.done() and self._update is not update:  # replaced before it installs
                work.cancel()
            try:
                await work
            except asyncio.CancelledError:
                pass
            except Exception:  # a full disk, say: the update fails, the charger goes on
                log.exception("firmware update failed")
                self._fail()

    async def _carry_out(self, update: Update) -> None:
        if update.step is Step.SCHEDULED:
            await self._until(update.retrieve_date)
            update = self._advance(update, Step.DOWNLOADING, Status.DOWNLOADING)
        if update.step is Step.DOWNLOADING:
            downloaded = await self._download(update)
            if downloaded is None:
                return
            update = downloaded
        while True:  # §4.5: never while a transaction runs
            if not self._sessions_running():
                break
            await asyncio.sleep(WAIT_FOR_SESSIONS_S)
        self._hold(True)
        try:
            update = self._advance(update, Step.INSTALLING, Status.INSTALLING)
            exit_status = await self._install(self._file(update))
        finally:
            self._hold(False)
        self._finish(Status.INSTALLED if exit_status in (0, RESTART_EXIT) else Status.INSTALLATION_FAILED)
        if exit_status == RESTART_EXIT:
            self._restart()

    async def _until(self, moment: datetime) -> None:
        while True:
            left = (moment - self._clock.now()).total_seconds()
            if left <= 0:
                return
            await asyncio.sleep(min(left, RECHECK_S))

    async def _download(self, update: Update) -> Update | None:
        """1 + retries attempts, retryInterval apart (resumed from what is on disk); Downloaded, or None once
        DownloadFailed was reported."""
        from firmware.firmware_management.transfer import TransferError, download  # http.client, ftplib: when used

        path = self._file(update)
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                size = await asyncio.to_thread(download, update.location, path)
            except TransferError as e:
                update = self._attempted(update)
                log.warning("firmware download failed attempt=%d of=%d error=%s", update.attempts,
                            update.retries + 1, e)
                if update.attempts > update.retries:
                    self._finish(Status.DOWNLOAD_FAILED)
                    return None
                await asyncio.sleep(update.retry_interval_s)
                continue
            log.info("firmware downloaded path=%s bytes=%d", path, size)
            downloaded = self._advance(update, Step.DOWNLOADED, Status.DOWNLOADED)
            return await self._verified(downloaded, path)

    async def _verified(self, update: Update, path: Path) -> Update | None:
        """A signed update's file checked against its signature and certificate before anything else (L01):
        SignatureVerified, or InvalidSignature and the update ends (None)."""
        if update.signed is None or update.signed.signature is None:
            return update
        problem = ("no certificate store" if self._signature_problem is None
                   else await asyncio.to_thread(self._signature_problem, path, update.signed))
        if problem is not None:
            log.error("firmware signature refused, not installed reason=%s", problem)
            self._finish(Status.INVALID_SIGNATURE)
            return None
        self._tell(update, Status.SIGNATURE_VERIFIED)
        return update

    async def _install(self, path: Path) -> int:
        """The installer's exit status (-1: it could not run, or ran past the timeout)."""
        if not self._command:
            if self._builtin:
                ok = _not_empty(path)
                log.info("firmware installed by the simulator's built-in installer path=%s accepted=%s", path, ok)
                return 0 if ok else 1
            log.error("firmware not installed: no [firmware] install_command configured path=%s", path)
            return -1
        argv = [*self._command, str(path)]
        log.warning("firmware installing command=%s", shlex.join(argv))
        try:
            process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                           stderr=asyncio.subprocess.STDOUT)
        except OSError as e:
            log.error("firmware installer could not start command=%s error=%s", argv[0], e)
            return -1
        try:
            async with asyncio.timeout(self._timeout_s):
                output, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            log.error("firmware installer timed out after %.0f s", self._timeout_s)
            return -1
        for line in output.decode(errors="replace").splitlines()[-20:]:
            log.info("firmware installer: %s", line)
        log.warning("firmware installer ended exit_status=%d", process.returncode)
        return process.returncode if process.returncode is not None else -1

    def _judge_interrupted_install(self, update: Update) -> None:
        """An install cut off by a restart: Installed when evsed's version changed since, else InstallationFailed."""
        installed = __version__ != update.version_before
        log.warning("firmware install was interrupted by a restart version_before=%s version_now=%s outcome=%s",
                    update.version_before, __version__, "Installed" if installed else "InstallationFailed")
        self._finish(Status.INSTALLED if installed else Status.INSTALLATION_FAILED)

    # --- records ----------------------------------------------------------------------------------

    def _file(self, update: Update) -> Path:
        """Where the download goes: the location's file name, reduced to safe characters and FILE_NAME_CHARS (a
        CSMS's location may be anything)."""
        try:
            path = urlsplit(update.location).path
        except ValueError:  # "Invalid IPv6 URL": the download says so; the file needs a name all the same
            path = ""
        name = _SAFE_NAME.sub("_", os.path.basename(unquote(path)))[-FILE_NAME_CHARS:]
        return self._dir / (name.lstrip(".") or "firmware.bin")

    def _discard_file(self, update: Update | None) -> None:
        if update is None:
            return
        try:
            self._file(update).unlink(missing_ok=True)
        except OSError as e:  # it stays on disk; the next update of that name replaces it
            log.warning("firmware file not removed error=%s", e)

    def _advance(self, update: Update, step: Step, status: Status) -> Update:
        """The update reached `step`: stored with the status for the CSMS, in one database transaction."""
        with self._store.atomic() as db:
            db.execute("UPDATE firmware_update SET step = ?", [step])
            self._tell(update, status)
        advanced = self._update = replace(update, step=step)
        log.info("firmware status=%s", status)
        return advanced

    def _tell(self, update: Update, status: Status) -> None:
        """The status for the CSMS, queued: FirmwareStatusNotification, or SignedFirmwareStatusNotification with the
        requestId for a signed update."""
        if update.signed is None:
            self._outbox.put(FIRMWARE_STATUS, None, {"status": status})
        else:
            self._outbox.put(SIGNED_FIRMWARE_STATUS, None, {"status": status, "request_id": update.signed.request_id})

    def _attempted(self, update: Update) -> Update:
        with self._store.atomic() as db:
            db.execute("UPDATE firmware_update SET attempts = attempts + 1")
        counted = self._update = replace(update, attempts=update.attempts + 1)
        return counted

    def _fail(self) -> None:
        """An update that broke on something unforeseen ends as failed; never raises (the task goes on)."""
        if self._update is None:
            return
        installing = self._update.step in (Step.DOWNLOADED, Step.INSTALLING)
        try:
            self._finish(Status.INSTALLATION_FAILED if installing else Status.DOWNLOAD_FAILED)
        except Exception:
            log.exception("firmware update not closed; dropped")
            self._update = None

    def _finish(self, status: Status) -> None:
        """The update is over: its last status queued and its record gone, together; the file goes too."""
        with self._store.atomic() as db:
            db.execute("DELETE FROM firmware_update")
            if self._update is not None:
                self._tell(self._update, status)
        self._discard_file(self._update)
        self._update = None
        log.warning("firmware update ended status=%s", status)
        if status is Status.INSTALLED and self._installed is not None:
            self._installed()


def _not_empty(path: Path) -> bool:
    """The simulator's built-in installer: any file with something in it installs."""
    return path.exists() and path.stat().st_size > 0
