"""First-boot provisioning: install the `evsed.toml` an installer put on the SD card's boot partition.

The boot partition (FAT, mounted at /boot/firmware on Raspberry Pi OS bookworm, /boot before) is the
one place a person writing the card can reach from any computer. At boot, `evsed-provision.service`
runs `evsed provision` before `evsed.service` when such a file exists:

- a valid file (checked by `firmware.config.load_config`, exactly the bytes that get installed) is
  written to /etc/evsed/evsed.toml atomically (temporary file, fsync, rename, fsync of the folder),
  mode 0600, owner `evsed`, because it may hold the CSMS password; only then is the boot-partition copy
  deleted, so a power cut at any moment leaves either the old config with the file still waiting, or
  the new config;
- an invalid file is not installed: it is renamed `evsed.toml.invalid` on the boot partition (where
  the installer can read it back) and the error is logged; the config in /etc stays as it was;
- no file: nothing happens.

The log names files, the charge point id and the outcome, never the file's content.
"""

import enum
import logging
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from firmware.config_file import ConfigError, load_config
from firmware.logs import setup_logging

log = logging.getLogger(__name__)

DEFAULT_SOURCES = (Path("/boot/firmware/evsed.toml"), Path("/boot/evsed.toml"))
"""Where an installer puts the file: Raspberry Pi OS bookworm's boot partition, then the older mount point."""
DEFAULT_TARGET = Path("/etc/evsed/evsed.toml")
DEFAULT_OWNER = "evsed"
INVALID_SUFFIX = ".invalid"
EXIT_INVALID = 2
"""Same code as `evsed config check` for a bad file."""


class Outcome(enum.Enum):
    INSTALLED = "installed"
    """The boot-partition file is now the configuration; the copy there is gone."""
    ABSENT = "absent"
    """No file on the boot partition: nothing to do."""
    INVALID = "invalid"
    """The file was not valid: renamed `*.invalid` beside itself, the old configuration kept."""
    FAILED = "failed"
    """Something outside the file went wrong (unknown owner, I/O error): nothing changed."""


@dataclass(frozen=True)
class ProvisionResult:
    outcome: Outcome
    message: str
    """One line for a person: what happened and, for INVALID, the configuration error."""
    source: Path | None = None

    @property
    def exit_code(self) -> int:
        """0 for INSTALLED and ABSENT, EXIT_INVALID for INVALID, 1 for FAILED."""
        return {Outcome.INSTALLED: 0, Outcome.ABSENT: 0, Outcome.INVALID: EXIT_INVALID}.get(self.outcome, 1)


def provision(sources: list[Path] | None = None, target: Path = DEFAULT_TARGET,
              owner: str | None = DEFAULT_OWNER) -> ProvisionResult:
    """Install the first of `sources` that exists (default: DEFAULT_SOURCES) as `target`.

    `owner`: the user (and that user's primary group) the installed file belongs to; None keeps the
    running user's. The file is always mode 0600.
    """
    candidates = DEFAULT_SOURCES if sources is None else tuple(sources)
    found = [path for path in candidates if path.is_file()]
    if not found:
        log.info("provision_absent searched=%s", ",".join(str(p) for p in candidates))
        return ProvisionResult(Outcome.ABSENT, "no configuration file on the boot partition")
    source = found[0]
    for ignored in found[1:]:
        log.warning("provision_ignored source=%s used=%s", ignored, source)
    ids = None
    if owner is not None:
        try:
            entry = pwd.getpwnam(owner)
        except KeyError:
            return _failed(source, f"cannot provision from {source}: no user {owner!r} to own {target}")
        ids = entry.pw_uid, entry.pw_gid
    try:
        data = source.read_bytes()
    except OSError as e:
        return _failed(source, f"cannot read {source}: {_reason(e)}")
    tmp = target.with_name(f".{target.name}.provision")
    try:
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        _write_private(tmp, data, ids)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        return _failed(source, f"cannot write {tmp}: {_reason(e)}")
    try:
        config = load_config(tmp)
    except (ConfigError, UnicodeDecodeError) as e:
        tmp.unlink(missing_ok=True)
        # The message names the temporary file; the installer knows the file as `source`.
        problem = str(e).replace(str(tmp), str(source)) if isinstance(e, ConfigError) else f"not UTF-8 text: {e}"
        return _reject(source, problem)
    try:
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        return _failed(source, f"cannot install {target}: {_reason(e)}")
    log.info("provision_installed source=%s target=%s charge_point=%s connectors=%d mode=0600 owner=%s",
             source, target, config.charge_point.id, config.charge_point.connectors, owner or "unchanged")
    try:
        source.unlink()
        _fsync_dir(source.parent)
    except OSError as e:
        # The new config is in place; the copy (which may hold the CSMS password) could not be deleted.
        log.error("provision_source_kept source=%s error=%r action='delete it by hand; the next boot installs "
                  "it again'", source, _reason(e))
        return ProvisionResult(Outcome.INSTALLED, f"installed {target}, but could not delete {source}: "
                               f"{_reason(e)}", source)
    return ProvisionResult(Outcome.INSTALLED, f"installed {source} as {target} (charge point "
                           f"{config.charge_point.id}, {config.charge_point.connectors} connector(s))", source)


def main(sources: list[Path] | None = None, target: Path = DEFAULT_TARGET, owner: str | None = DEFAULT_OWNER) -> int:
    """`evsed provision [--source P]... [--target P]`: set up logging, provision, print the outcome.

    Returns the exit code: 0 installed or nothing to do, 2 the file is invalid, 1 any other failure.
    """
    setup_logging("info")
    result = provision(sources, target, owner)
    print(f"evsed provision: {result.outcome.value}: {result.message}")
    return result.exit_code


def _write_private(path: Path, data: bytes, ids: tuple[int, int] | None) -> None:
    """Create `path` (replacing a leftover from an interrupted run) mode 0600, owned by `ids`, fsynced."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        if ids is not None:
            os.fchown(fd, *ids)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reject(source: Path, problem: str) -> ProvisionResult:
    aside = source.with_name(source.name + INVALID_SUFFIX)
    try:
        os.replace(source, aside)
        _fsync_dir(source.parent)
    except OSError as e:
        log.error("provision_invalid source=%s error=%r rename_failed=%r", source, problem, _reason(e))
        return ProvisionResult(Outcome.INVALID, f"{problem} (could not rename it to {aside}: {_reason(e)})", source)
    log.error("provision_invalid source=%s moved_to=%s error=%r action='fix the file, put it back as %s, reboot'",
              source, aside, problem, source.name)
    return ProvisionResult(Outcome.INVALID, f"{problem}; the file is now {aside}, the old configuration is kept",
                           source)


def _failed(source: Path, message: str) -> ProvisionResult:
    log.error("provision_failed source=%s error=%r", source, message)
    return ProvisionResult(Outcome.FAILED, message, source)


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
