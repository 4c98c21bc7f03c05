"""First-boot provisioning from a boot-partition fixture: a valid file is installed 0600 and removed from the
boot partition, an invalid one is set aside with the old config untouched, nothing happens without a file."""

import logging
import os
import pwd
import stat
from pathlib import Path

import pytest

from firmware.cli import provision as provision_module
from firmware.cli.provision import INVALID_SUFFIX, Outcome, provision
from firmware.config_file import load_config

SECRET = "s3cret-Basic-Auth-pw"
VALID = f"""
[charge_point]
id = "CP_NEW"
connectors = 2

[csms]
url = "wss://cp:{SECRET}@csms.example.com/ocpp"

[hardware]
backend = "sim"

[storage]
path = "/var/lib/evsed/evsed.db"
"""
OLD = VALID.replace("CP_NEW", "CP_OLD")


@pytest.fixture
def boot(tmp_path: Path) -> dict[str, Path]:
    """A boot partition like Raspberry Pi OS bookworm's (/boot/firmware), the older /boot, and /etc/evsed
    holding the configuration of an earlier installation."""
    firmware, legacy, etc = tmp_path / "boot/firmware", tmp_path / "boot", tmp_path / "etc/evsed"
    for path in (firmware, etc):
        path.mkdir(parents=True)
    (etc / "evsed.toml").write_text(OLD)
    (etc / "evsed.toml").chmod(0o644)
    return {"firmware": firmware / "evsed.toml", "legacy": legacy / "evsed.toml", "target": etc / "evsed.toml"}


def run(boot: dict[str, Path], owner: str | None = None) -> provision_module.ProvisionResult:
    return provision([boot["firmware"], boot["legacy"]], boot["target"], owner=owner)


def test_valid_file_is_installed_owner_only_and_removed_from_boot(boot, caplog):
    boot["firmware"].write_text(VALID)
    with caplog.at_level(logging.INFO):
        result = run(boot)
    assert result.outcome is Outcome.INSTALLED and result.exit_code == 0
    assert result.source == boot["firmware"]
    assert boot["target"].read_text() == VALID
    assert load_config(boot["target"]).charge_point.id == "CP_NEW"
    mode = boot["target"].stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert not boot["firmware"].exists()
    assert sorted(p.name for p in boot["target"].parent.iterdir()) == ["evsed.toml"]  # no temporary left
    assert "provision_installed" in caplog.text and "charge_point=CP_NEW" in caplog.text
    assert SECRET not in caplog.text and SECRET not in result.message


def test_owner_is_set(boot):
    """owner= names the user whose uid and primary gid the file gets (the package passes "evsed")."""
    me = pwd.getpwuid(os.getuid())
    boot["firmware"].write_text(VALID)
    result = run(boot, owner=me.pw_name)
    assert result.outcome is Outcome.INSTALLED
    info = boot["target"].stat()
    assert (info.st_uid, info.st_gid) == (me.pw_uid, me.pw_gid)


def test_legacy_boot_path_is_used_when_firmware_has_none(boot):
    boot["legacy"].write_text(VALID)
    result = run(boot)
    assert result.outcome is Outcome.INSTALLED and result.source == boot["legacy"]
    assert not boot["legacy"].exists()


@pytest.mark.parametrize(("content", "problem"), [
    (VALID.replace('backend = "sim"', 'backend = "gpio-magic"'), "[hardware] backend"),
    (VALID.replace("connectors = 2", "connectors = 99"), "[charge_point] connectors"),
    ("[charge_point\nid = 1", "not valid TOML"),
    (VALID + "\n[surprise]\nx = 1\n", "[surprise]"),
])
def test_invalid_file_is_set_aside_and_old_config_kept(boot, caplog, content, problem):
    boot["firmware"].write_text(content)
    before = boot["target"].stat()
    result = run(boot)
    assert result.outcome is Outcome.INVALID and result.exit_code == 2
    assert problem in result.message and str(boot["firmware"]) in result.message
    aside = boot["firmware"].with_name("evsed.toml" + INVALID_SUFFIX)
    assert aside.read_text() == content
    assert not boot["firmware"].exists()
    assert boot["target"].read_text() == OLD
    after = boot["target"].stat()
    assert (after.st_ino, after.st_mtime_ns, stat.S_IMODE(after.st_mode)) == \
        (before.st_ino, before.st_mtime_ns, 0o644)
    assert sorted(p.name for p in boot["target"].parent.iterdir()) == ["evsed.toml"]
    assert "provision_invalid" in caplog.text and SECRET not in caplog.text


def test_not_utf8_is_invalid(boot):
    boot["firmware"].write_bytes(b"[charge_point]\nid = \"\xff\"\n")
    result = run(boot)
    assert result.outcome is Outcome.INVALID and "UTF-8" in result.message
    assert boot["target"].read_text() == OLD


def test_a_second_invalid_file_replaces_the_first_one_set_aside(boot):
    boot["firmware"].write_text("broken = ")
    run(boot)
    boot["firmware"].write_text("broken again = ")
    assert run(boot).outcome is Outcome.INVALID
    assert boot["firmware"].with_name("evsed.toml.invalid").read_text() == "broken again = "


def test_nothing_happens_without_a_file(boot, caplog):
    with caplog.at_level(logging.INFO):
        result = run(boot)
    assert result.outcome is Outcome.ABSENT and result.exit_code == 0
    assert boot["target"].read_text() == OLD
    assert "provision_absent" in caplog.text


def test_unknown_owner_changes_nothing(boot):
    boot["firmware"].write_text(VALID)
    result = run(boot, owner="no-such-user-evsed-test")
    assert result.outcome is Outcome.FAILED and result.exit_code == 1
    assert "no-such-user-evsed-test" in result.message
    assert boot["firmware"].read_text() == VALID
    assert boot["target"].read_text() == OLD


def test_missing_target_folder_is_created(tmp_path):
    source = tmp_path / "boot/evsed.toml"
    source.parent.mkdir()
    source.write_text(VALID)
    target = tmp_path / "etc/evsed/evsed.toml"
    assert provision([source], target, owner=None).outcome is Outcome.INSTALLED
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_leftover_temporary_from_a_power_cut_is_replaced(boot):
    leftover = boot["target"].with_name(".evsed.toml.provision")
    leftover.write_text("half a file")
    boot["firmware"].write_text(VALID)
    assert run(boot).outcome is Outcome.INSTALLED
    assert not leftover.exists() and boot["target"].read_text() == VALID


def test_main_prints_the_outcome_and_returns_the_exit_code(boot, capsys):
    boot["firmware"].write_text("nope")
    code = provision_module.main([boot["firmware"]], boot["target"], owner=None)
    assert code == 2
    assert capsys.readouterr().out.startswith("evsed provision: invalid: ")


def test_evsed_provision_command(boot):
    import subprocess
    import sys

    boot["firmware"].write_text(VALID)
    result = subprocess.run([sys.executable, "-m", "firmware", "provision", "--source", str(boot["firmware"]),
                             "--target", str(boot["target"]), "--owner", ""], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert "installed" in result.stdout and SECRET not in result.stdout + result.stderr
    assert stat.S_IMODE(boot["target"].stat().st_mode) == 0o600 and not boot["firmware"].exists()
