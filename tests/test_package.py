"""The Debian package: `packaging/build-deb` builds it here (wheels downloaded from PyPI for the target
platform), its contents and maintainer scripts are inspected, and the amd64 build is installed, upgraded,
removed and purged with dpkg in a throwaway root.

The throwaway root is an overlay of this machine's own file system (all changes go to a temporary upper
folder) mounted in a private mount namespace (`unshare --mount`), so dpkg, the maintainer scripts,
systemd-sysusers, python3 -m venv and pip run as they would on a real system, and nothing on this machine
changes; the mounts vanish with the namespace. No systemd runs in it (/run is empty), so the scripts
enable the units but start nothing. The arm64 and armhf packages cannot be installed here (no emulator):
they differ from amd64 only in their wheels and Depends, both checked.

Offline runs: set EVSED_TEST_WHEELHOUSE to a folder of wheels and sdists (see build-deb --wheelhouse).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firmware import __version__ as VERSION
from tests.prerequisites import require, unavailable

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "packaging/build-deb"
SCRIPTS = ("postinst", "prerm", "postrm")
VALID_CONFIG = """[charge_point]
id = "CP_PROVISIONED"
connectors = 1

[csms]
url = "wss://csms.example.com/ocpp"

[hardware]
backend = "sim"

[storage]
path = "/var/lib/evsed/evsed.db"
"""




def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def pinned() -> dict[str, str]:
    lines = (REPO / "packaging/requirements.txt").read_text().splitlines()
    pins = (line.split("==") for line in lines if line and not line.startswith("#"))
    return {normalize(name): version for name, version in pins}


@pytest.fixture(scope="module")
def debs(tmp_path_factory) -> dict[str, Path]:
    require("dpkg-deb", "dpkg")
    out = tmp_path_factory.mktemp("dist")
    command = [str(BUILD), "--arch", "arm64", "--arch", "armhf", "--arch", "amd64", "--out", str(out)]
    if os.environ.get("EVSED_TEST_WHEELHOUSE"):
        command += ["--wheelhouse", os.environ["EVSED_TEST_WHEELHOUSE"]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr[-3000:]
    built = [Path(line) for line in result.stdout.split()]
    arches = ("arm64", "armhf", "amd64")
    assert [p.name for p in built] == [f"evsed_{VERSION}-1_{arch}.deb" for arch in arches]
    return dict(zip(arches, built, strict=True))


def dpkg_deb(*args: str) -> str:
    return subprocess.run([require("dpkg-deb", "dpkg"), *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def test_build_refuses_an_unknown_architecture(tmp_path):
    result = subprocess.run([str(BUILD), "--arch", "armel", "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2 and "unsupported architecture armel" in result.stderr
    assert not list(tmp_path.iterdir())


def test_arm64_control_fields(debs):
    fields = dict(line.split(": ", 1) for line in dpkg_deb("-f", str(debs["arm64"])).splitlines()
                  if not line.startswith(" ") and ": " in line)
    assert (fields["Package"], fields["Version"], fields["Architecture"]) == ("evsed", f"{VERSION}-1", "arm64")
    depends = [d.strip() for d in fields["Depends"].split(",")]
    # The wheelhouse holds CPython 3.11 wheels: the package says so.
    for needed in ("python3 (>= 3.11)", "python3 (<< 3.12)", "python3-venv", "systemd", "pcscd", "python3-pyscard",
                   "python3-lgpio | python3-rpi.gpio"):
        assert needed in depends, needed
    # Debian bookworm's own websockets and jsonschema are too old for ocpp: they must not be used.
    assert not any(d.startswith(("python3-websockets", "python3-jsonschema")) for d in depends)
    assert fields["Installed-Size"].isdigit()


def test_arm64_contents_and_wheelhouse(debs, tmp_path):
    listing = dpkg_deb("-c", str(debs["arm64"]))
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    for path in ("/lib/systemd/system/evsed.service", "/lib/systemd/system/evsed-provision.service",
                 "/lib/systemd/system.conf.d/evsed-watchdog.conf", "/usr/lib/sysusers.d/evsed.conf",
                 "/usr/share/polkit-1/rules.d/50-evsed-pcscd.rules", "/etc/evsed/evsed.toml",
                 "/usr/share/doc/evsed/copyright", "/usr/bin/evsed"):
        assert path in paths, path
    assert "/usr/bin/evsed -> /opt/evsed/venv/bin/evsed" in listing
    assert not any(p.startswith("/opt/evsed/venv") for p in paths)  # postinst builds it on the device
    wheels = sorted(p.rsplit("/", 1)[1] for p in paths if p.endswith(".whl"))
    assert all(p.startswith("/opt/evsed/wheels/") for p in paths if p.endswith(".whl"))
    # Every pinned dependency is there at its pinned version, plus evsed itself, and nothing else.
    found = {normalize(w.split("-")[0]): w.split("-")[1] for w in wheels}
    assert found == {**pinned(), "evsed": VERSION}
    for wheel in wheels:
        tags = wheel.removesuffix(".whl").split("-")[-3:]
        assert tags[2] == "any" or "aarch64" in tags[2], wheel  # nothing built for this x86_64 machine
        assert tags[1] in ("none", "abi3", "cp311"), wheel
    assert found["rpds_py"] and found["websockets"]
    assert any("rpds_py" in w and "aarch64" in w for w in wheels)

    tree = tmp_path / "tree"
    dpkg_deb("-x", str(debs["arm64"]), str(tree))
    for name in ("evsed.service", "evsed-provision.service", "50-evsed-pcscd.rules"):
        shipped = next(tree.rglob(name))
        assert shipped.read_bytes() == (REPO / "systemd" / name).read_bytes(), name
    assert (tree / "etc/evsed/evsed.toml").read_bytes() == (REPO / "config/evsed.toml").read_bytes()

    control = tmp_path / "control"
    dpkg_deb("-e", str(debs["arm64"]), str(control))
    assert (control / "conffiles").read_text().split() == ["/etc/evsed/evsed.toml"]
    check = subprocess.run(["md5sum", "--check", "--quiet", str(control / "md5sums")], cwd=tree, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"'evsed[nfc]=={VERSION}'" in (control / "postinst").read_text()


def test_armhf_carries_armv7l_wheels(debs):
    """32-bit Raspberry Pi OS on ARMv7 and later: the compiled wheels are manylinux armv7l (PyPI has them)."""
    wheels = [line.split()[5].rsplit("/", 1)[1] for line in dpkg_deb("-c", str(debs["armhf"])).splitlines()
              if line.endswith(".whl")]
    platforms = {wheel.removesuffix(".whl").split("-")[-1] for wheel in wheels} - {"any"}
    assert platforms and all("armv7l" in p and "aarch64" not in p and "x86_64" not in p for p in platforms)
    assert {w.split("-")[0] for w in wheels if not w.endswith("-any.whl")} == {"rpds_py", "websockets"}
    assert dpkg_deb("-f", str(debs["armhf"]), "Architecture").strip() == "armhf"


def test_maintainer_and_build_scripts_are_clean(debs, tmp_path):
    shellcheck = require("shellcheck", "shellcheck")
    control = tmp_path / "control"
    dpkg_deb("-e", str(debs["arm64"]), str(control))
    scripts = [control / name for name in SCRIPTS]
    for script in scripts:
        assert os.access(script, os.X_OK) and script.read_text().startswith("#!/bin/bash\n"), script
        subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
        assert not re.search(r"@[A-Z_]+@", script.read_text()), f"{script.name}: template placeholder left"
    pi_gen = sorted((REPO / "packaging/pi-gen").rglob("*.sh"))
    assert pi_gen, "the pi-gen stage's scripts"
    result = subprocess.run([shellcheck, "--shell=bash", *map(str, scripts), str(BUILD), *map(str, pi_gen)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


class ThrowawayRoot:
    """This machine's file system under a private overlay, for dpkg to install into."""

    def __init__(self, base: Path) -> None:
        self.base = base
        for name in ("upper", "work", "root"):
            (base / name).mkdir(parents=True)

    def put(self, source: Path, path: str) -> None:
        """Place a file at `path` inside the root before the next command."""
        target = self.base / "upper" / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        script = (
            'set -euo pipefail; b=$1; shift\n'
            'mount -t overlay overlay -o "lowerdir=/,upperdir=$b/upper,workdir=$b/work" "$b/root"\n'
            'mount --bind /proc "$b/root/proc"; mount --bind /dev "$b/root/dev"\n'
            'mount -t tmpfs tmpfs "$b/root/run"\n'
            'exec chroot "$b/root" "$@"\n'
        )
        unshare = require("unshare", "util-linux")
        result = subprocess.run([unshare, "--mount", "--propagation", "private", "bash", "-c", script,
                                 "root", str(self.base), *command], capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"})
        if check:
            assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
        return result

    def exists(self, path: str) -> bool:
        return self.run("test", "-e", path, check=False).returncode == 0

    def stat(self, path: str) -> str:
        return self.run("stat", "-c", "%a %U %G", path).stdout.strip()


@pytest.fixture
def throwaway_root(tmp_path) -> ThrowawayRoot:
    if os.geteuid() != 0:
        unavailable("installing into a throwaway root needs root (mount namespaces and overlayfs)")
    root = ThrowawayRoot(tmp_path / "overlay")
    probe = root.run("true", check=False)
    if probe.returncode != 0:
        unavailable(f"cannot mount an overlay in a private namespace here: {probe.stderr.strip()}")
    return root


def test_install_provision_upgrade_remove_purge(debs, throwaway_root, tmp_path):
    root = throwaway_root
    upgrade = tmp_path / f"evsed_{VERSION}-2_amd64.deb"
    unpacked = tmp_path / "unpacked"
    dpkg_deb("-R", str(debs["amd64"]), str(unpacked))
    control = unpacked / "DEBIAN/control"
    control.write_text(control.read_text().replace(f"Version: {VERSION}-1", f"Version: {VERSION}-2"))
    dpkg_deb("--root-owner-group", "-Zgzip", "--build", str(unpacked), str(upgrade))
    root.put(debs["amd64"], "/var/cache/evsed-test/evsed_1.deb")
    root.put(upgrade, "/var/cache/evsed-test/evsed_2.deb")

    # Install: user with its device groups, venv with the wheels, owner-only config, units enabled.
    root.run("dpkg", "--install", "/var/cache/evsed-test/evsed_1.deb")
    assert set(root.run("id", "-nG", "evsed").stdout.split()) == {"evsed", "gpio", "dialout", "plugdev"}
    assert root.stat("/etc/evsed/evsed.toml") == "600 evsed evsed"
    assert root.run("evsed", "--version").stdout.strip() == f"evsed {VERSION}"
    assert "configuration is valid" in root.run("evsed", "config", "check", "-c", "/etc/evsed/evsed.toml").stdout
    where = root.run("/opt/evsed/venv/bin/python", "-c", "import websockets, jsonschema; print(websockets.__file__, "
                     "jsonschema.__file__)").stdout
    assert where.count("/opt/evsed/venv/lib/python3.11/site-packages/") == 2
    for unit in ("evsed.service", "evsed-provision.service"):
        assert root.exists(f"/etc/systemd/system/multi-user.target.wants/{unit}"), unit
    # With evsed installed for real, verify needs no stand-in.
    verify = root.run("systemd-analyze", "verify", "/lib/systemd/system/evsed.service",
                      "/lib/systemd/system/evsed-provision.service")
    assert verify.stdout + verify.stderr == ""

    # First boot: the installer's file on the boot partition becomes the configuration, owned by evsed.
    (tmp_path / "evsed.toml").write_text(VALID_CONFIG)
    root.put(tmp_path / "evsed.toml", "/boot/firmware/evsed.toml")
    provisioned = root.run("/opt/evsed/venv/bin/python", "-c",
                           "from firmware.cli.provision import main; raise SystemExit(main())")
    assert "installed" in provisioned.stdout
    assert not root.exists("/boot/firmware/evsed.toml")
    assert root.stat("/etc/evsed/evsed.toml") == "600 evsed evsed"
    # The daemon has run: systemd made its StateDirectory, the daemon its database.
    root.run("install", "-d", "-o", "evsed", "-g", "evsed", "-m", "0700", "/var/lib/evsed")
    root.run("sh", "-c", "echo database > /var/lib/evsed/evsed.db")

    # Upgrade: the provisioned config (a changed conffile) and the database stay, no question asked.
    root.run("dpkg", "--install", "/var/cache/evsed-test/evsed_2.deb")
    assert f"Version: {VERSION}-2" in root.run("dpkg", "--status", "evsed").stdout
    assert root.run("cat", "/etc/evsed/evsed.toml").stdout == VALID_CONFIG
    assert root.stat("/etc/evsed/evsed.toml") == "600 evsed evsed"
    assert root.run("cat", "/var/lib/evsed/evsed.db").stdout == "database\n"
    assert "CP_PROVISIONED" in root.run("evsed", "config", "check", "-c", "/etc/evsed/evsed.toml").stdout

    # Remove: program gone; configuration, database and user stay.
    root.run("dpkg", "--remove", "evsed")
    for gone in ("/opt/evsed", "/usr/bin/evsed", "/lib/systemd/system/evsed.service"):
        assert not root.exists(gone), gone
    assert root.run("cat", "/var/lib/evsed/evsed.db").stdout == "database\n"
    assert root.exists("/etc/evsed/evsed.toml")
    assert root.run("getent", "passwd", "evsed", check=False).returncode == 0

    # Purge: database, configuration, user and its group gone.
    root.run("dpkg", "--purge", "evsed")
    for gone in ("/var/lib/evsed", "/etc/evsed", "/etc/systemd/system/multi-user.target.wants/evsed.service"):
        assert not root.exists(gone), gone
    assert root.run("getent", "passwd", "evsed", check=False).returncode != 0
    assert root.run("getent", "group", "evsed", check=False).returncode != 0
