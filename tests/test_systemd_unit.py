"""The systemd units: `systemd-analyze verify` passes, the sandbox stays tight, and the directives issue #6
requires (notify + watchdog, restart, directories, user and groups, force-open before and after) are there.

verify and security run with --root on a throwaway tree holding a copy of the system's own units (for
the targets the units name), the units under test, and an executable stand-in at the ExecStart path:
verify refuses a unit whose command does not exist, and nothing is installed on this machine.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.prerequisites import require

REPO = Path(__file__).resolve().parent.parent
UNITS = REPO / "systemd"
EVSED = "/opt/evsed/venv/bin/evsed"
FORCE_OPEN = f"{EVSED} force-open -c /etc/evsed/evsed.toml"




def directives(path: Path) -> dict[str, dict[str, list[str]]]:
    """section -> key -> every value given (unit files may repeat a key), comments dropped."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "min": 60}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(ms|s|min)?", value):
        total += float(number) * units[unit or "s"]
    return total


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    require("systemd-analyze", "systemd")
    tree = tmp_path_factory.mktemp("root")
    system_units = Path("/lib/systemd/system").resolve()
    shutil.copytree(system_units, tree / str(system_units).lstrip("/"), symlinks=True)
    stand_in = tree / EVSED.lstrip("/")
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    local = tree / "etc/systemd/system"
    local.mkdir(parents=True)
    for unit in UNITS.glob("*.service"):
        shutil.copy(unit, local)
    return tree


def analyze(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require("systemd-analyze", "systemd"), *args, f"--root={root}"], capture_output=True,
                          text=True, timeout=60)


def test_units_pass_systemd_analyze_verify(root):
    result = analyze(root, "verify", "evsed.service", "evsed-provision.service")
    # verify exits 0 on unknown keys and bad values too; it only warns, so any output is a failure.
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def test_verify_would_catch_a_broken_unit(root):
    broken = (UNITS / "evsed.service").read_text().replace("ProtectSystem=strict", "ProtectSytem=strict")
    (root / "etc/systemd/system/broken.service").write_text(broken)
    result = analyze(root, "verify", "broken.service")
    assert "Unknown key 'ProtectSytem'" in result.stderr


def test_sandbox_exposure_stays_low(root):
    # systemd's own 0-10 rating ("2.4 OK" when written); --threshold counts tenths of it.
    for unit, threshold in (("evsed.service", 30), ("evsed-provision.service", 40)):
        result = analyze(root, "security", "--offline=yes", f"--threshold={threshold}", unit)
        assert result.returncode == 0, result.stdout[-600:] + result.stderr


def test_daemon_unit_has_what_the_issue_requires():
    unit = directives(UNITS / "evsed.service")
    service = unit["Service"]

    def one(key: str) -> str:
        assert len(service.get(key, [])) == 1, f"{key}: {service.get(key)}"
        return service[key][0]

    assert one("Type") == "notify" and one("NotifyAccess") == "main"
    assert 10 <= seconds(one("WatchdogSec")) <= 60
    assert one("Restart") == "always"
    assert one("StateDirectory") == "evsed" and one("ConfigurationDirectory") == "evsed"
    assert one("User") == "evsed"
    assert set(one("SupplementaryGroups").split()) == {"gpio", "dialout", "plugdev", "systemd-journal"}
    assert one("ExecStart") == f"{EVSED} run -c /etc/evsed/evsed.toml"
    assert one("ExecStartPre") == FORCE_OPEN
    # After every stop, crash and kill included, as root outside the sandbox, failures visible.
    assert one("ExecStopPost") == "+" + FORCE_OPEN
    # The daemon's shutdown flushes queued messages for up to 3 s; ExecStopPost gets the same timeout.
    assert seconds(one("TimeoutStopSec")) >= 10
    assert unit["Unit"]["StartLimitIntervalSec"] == ["0"]
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "NoNewPrivileges": "yes",
                       "PrivateTmp": "yes", "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes",
                       "CapabilityBoundingSet": ""}.items():
        assert one(key) == value, key
    assert {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"} <= set(one("RestrictAddressFamilies").split())
    assert "adjtimex" in one("SystemCallFilter").split()  # the NTP-synchronised check
    # These would hide the GPIO chips, serial ports and USB readers, or break pcscd's polkit check.
    for forbidden in ("PrivateDevices", "PrivateUsers", "ProtectClock", "DevicePolicy", "DeviceAllow",
                      "DynamicUser", "MemoryDenyWriteExecute"):
        assert forbidden not in service, forbidden
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_provisioning_unit_runs_first_and_only_with_a_file():
    unit = directives(UNITS / "evsed-provision.service")
    assert sorted(unit["Unit"]["ConditionPathExists"]) == ["|/boot/evsed.toml", "|/boot/firmware/evsed.toml"]
    assert unit["Unit"]["Before"] == ["evsed.service"]
    assert unit["Service"]["Type"] == ["oneshot"]
    assert unit["Service"]["ExecStart"] == [f"{EVSED} provision"]
    assert "User" not in unit["Service"]  # root: it hands the file to the evsed user


def test_watchdog_polkit_and_sysusers_files():
    watchdog = directives(UNITS / "system.conf.d/evsed-watchdog.conf")["Manager"]
    assert 0 < seconds(watchdog["RuntimeWatchdogSec"][0]) <= 15  # the Pi's bcm2835 watchdog maximum
    rule = (UNITS / "50-evsed-pcscd.rules").read_text()
    assert 'subject.user == "evsed"' in rule
    assert "org.debian.pcsc-lite.access_pcsc" in rule and "org.debian.pcsc-lite.access_card" in rule
    firmware = (UNITS / "50-evsed-firmware.rules").read_text()
    assert 'subject.user == "evsed"' in firmware and '"evsed-firmware-install.service"' in firmware
    assert 'action.lookup("verb") == "start"' in firmware


def test_sysusers_creates_the_user_in_its_groups(tmp_path):
    sysusers = require("systemd-sysusers", "systemd")
    etc = tmp_path / "etc"
    etc.mkdir()
    # A plain Debian group file: dialout and plugdev exist, gpio (Raspberry Pi OS) does not.
    (etc / "group").write_text("root:x:0:\ndialout:x:20:\nplugdev:x:46:\n")
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    for name in ("shadow", "gshadow"):
        (etc / name).write_text("")
    subprocess.run([sysusers, f"--root={tmp_path}", str(UNITS / "evsed.sysusers")], check=True,
                   capture_output=True, timeout=30)
    passwd = {line.split(":")[0]: line.split(":") for line in (etc / "passwd").read_text().splitlines()}
    assert passwd["evsed"][5:] == ["/var/lib/evsed", "/usr/sbin/nologin"]
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in (etc / "group").read_text().splitlines()}
    for group in ("gpio", "dialout", "plugdev", "systemd-journal"):
        assert "evsed" in groups[group], group
    assert "evsed" in groups  # its own primary group
