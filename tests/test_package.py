"""The Debian packages: `packaging/build-deb` builds them here (wheels downloaded from PyPI for the target
platform and Python), one per suite (bookworm: Debian 12 and Raspberry Pi OS on it, CPython 3.11; trixie:
Debian 13, CPython 3.13) and architecture; their contents and maintainer scripts are inspected, each
wheelhouse is resolved offline for its own Python and platform, and the build for this machine (bookworm
amd64 in CI) is installed, upgraded, removed and purged with dpkg in a throwaway root, where the other
suite's must refuse to install.

The throwaway root is an overlay of this machine's own file system (all changes go to a temporary upper
folder) mounted in a private mount namespace (`unshare --mount`), so dpkg, the maintainer scripts,
systemd-sysusers, python3 -m venv and pip run as they would on a real system, and nothing on this machine
changes; the mounts vanish with the namespace. No systemd runs in it (/run is empty), so the scripts
enable the units but start nothing. The other architectures' packages cannot be installed here (no
emulator), nor the other suite's (another Python): they differ from this machine's only in their wheels,
Depends and unit folder, all checked.

Offline runs: set EVSED_TEST_WHEELHOUSE to a folder of wheels and sdists for both Pythons (see build-deb
--wheelhouse).
"""

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

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


def pinned(name: str = "requirements.txt") -> dict[str, str]:
    lines = (REPO / "packaging" / name).read_text().splitlines()
    pins = (line.split("==") for line in lines if line and not line.startswith("#"))
    return {normalize(name): version for name, version in pins}


SUITES = {"bookworm": ("3.11", 36, "deb12"), "trixie": ("3.13", 41, "deb13")}
"""suite: its CPython, its glibc's minor version (2.36, 2.41), the package version's suffix."""
ARCHES = {"arm64": "aarch64", "armhf": "armv7l", "amd64": "x86_64"}
"""Debian architecture: the machine name in its wheels' platform tags."""
UNITS = {"bookworm": "/lib/systemd", "trixie": "/usr/lib/systemd"}
"""Where each suite's package puts its systemd files (trixie finished the /usr merge)."""


@pytest.fixture(scope="module")
def debs(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """(suite, arch): the package."""
    require("dpkg-deb", "dpkg")
    out = tmp_path_factory.mktemp("dist")
    command = [str(BUILD), "--arch", "arm64", "--arch", "armhf", "--arch", "amd64", "--out", str(out)]
    if os.environ.get("EVSED_TEST_WHEELHOUSE"):
        command += ["--wheelhouse", os.environ["EVSED_TEST_WHEELHOUSE"]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr[-3000:]
    built = [Path(line) for line in result.stdout.split()]
    expected = [(suite, arch) for suite in SUITES for arch in ARCHES]
    assert [p.name for p in built] == [f"evsed_{VERSION}-1+{SUITES[suite][2]}_{arch}.deb" for suite, arch in expected]
    return dict(zip(expected, built, strict=True))


def dpkg_deb(*args: str) -> str:
    return subprocess.run([require("dpkg-deb", "dpkg"), *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def test_build_refuses_an_unknown_architecture_or_suite(tmp_path):
    for arguments, error in ((["--arch", "armel"], "unsupported architecture armel"),
                             (["--arch", "arm64", "--suite", "bullseye"], "unsupported suite bullseye")):
        result = subprocess.run([str(BUILD), *arguments, "--out", str(tmp_path)], capture_output=True, text=True,
                                timeout=30)
        assert result.returncode == 2 and error in result.stderr
    assert not list(tmp_path.iterdir())


def control_fields(deb: Path) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in dpkg_deb("-f", str(deb)).splitlines()
                if not line.startswith(" ") and ": " in line)


def wheel_names(deb: Path) -> list[str]:
    return sorted(line.rsplit("/", 1)[1] for line in dpkg_deb("-c", str(deb)).splitlines() if line.endswith(".whl"))


@pytest.mark.parametrize("suite", SUITES)
def test_arm64_control_fields(debs, suite):
    python, _, suffix = SUITES[suite]
    fields = control_fields(debs[suite, "arm64"])
    assert (fields["Package"], fields["Version"], fields["Architecture"]) == ("evsed", f"{VERSION}-1+{suffix}", "arm64")
    depends = [d.strip() for d in fields["Depends"].split(",")]
    # The wheelhouse holds this suite's CPython wheels (3.11 or 3.13): the package says so.
    major, minor = python.split(".")
    for needed in (f"python3 (>= {python})", f"python3 (<< {major}.{int(minor) + 1})", "python3-venv", "systemd",
                   "pcscd", "python3-pyscard", "python3-lgpio | python3-rpi.gpio"):
        assert needed in depends, needed
    # Debian's own websockets and jsonschema (bookworm's are too old for ocpp) must not be used.
    assert not any(d.startswith(("python3-websockets", "python3-jsonschema")) for d in depends)
    assert fields["Installed-Size"].isdigit()


@pytest.mark.parametrize("suite", SUITES)
def test_arm64_contents_and_wheelhouse(debs, suite, tmp_path):
    deb = debs[suite, "arm64"]
    listing = dpkg_deb("-c", str(deb))
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    units = UNITS[suite]
    for path in (f"{units}/system/evsed.service", f"{units}/system/evsed-provision.service",
                 f"{units}/system.conf.d/evsed-watchdog.conf", "/usr/lib/sysusers.d/evsed.conf",
                 "/usr/share/polkit-1/rules.d/50-evsed-pcscd.rules", "/etc/evsed/evsed.toml",
                 "/usr/share/polkit-1/rules.d/50-evsed-firmware.rules", "/usr/lib/evsed/install-deb",
                 "/usr/share/doc/evsed/copyright", "/usr/bin/evsed"):
        assert path in paths, path
    assert "/usr/bin/evsed -> /opt/evsed/venv/bin/evsed" in listing
    assert not any(p.startswith("/opt/evsed/venv") for p in paths)  # postinst builds it on the device
    wheels = wheel_names(deb)
    assert all(p.startswith("/opt/evsed/wheels/") for p in paths if p.endswith(".whl"))
    # Every wheel is a pinned dependency at its pinned version, or evsed itself. Bookworm's holds all of them
    # (the pins are its resolution); trixie's completeness for Python 3.13 is checked by resolving it below.
    found = {normalize(w.split("-")[0]): w.split("-")[1] for w in wheels}
    expected = {**pinned(), **pinned("requirements-security.txt"), "evsed": VERSION}
    assert found.items() <= expected.items()
    if suite == "bookworm":
        assert found == expected
    abi = "cp" + SUITES[suite][0].replace(".", "")
    for wheel in wheels:
        tags = wheel.removesuffix(".whl").split("-")[-3:]
        assert tags[2] == "any" or "aarch64" in tags[2], wheel  # nothing built for this x86_64 machine
        assert tags[1] in ("none", "abi3", abi), wheel
    assert {w.split("-")[0] for w in wheels if not w.endswith("-any.whl")} == {"rpds_py", "websockets", "cffi",
                                                                             "cryptography"}

    tree = tmp_path / "tree"
    dpkg_deb("-x", str(deb), str(tree))
    for name in ("evsed.service", "evsed-provision.service", "50-evsed-pcscd.rules", "50-evsed-firmware.rules"):
        shipped = next(tree.rglob(name))
        assert shipped.read_bytes() == (REPO / "systemd" / name).read_bytes(), name
    installer = tree / "usr/lib/evsed/install-deb"
    assert installer.read_bytes() == (REPO / "packaging/install-deb").read_bytes() and os.access(installer, os.X_OK)
    assert (tree / "etc/evsed/evsed.toml").read_bytes() == (REPO / "config/evsed.toml").read_bytes()

    control = tmp_path / "control"
    dpkg_deb("-e", str(deb), str(control))
    assert (control / "conffiles").read_text().split() == ["/etc/evsed/evsed.toml"]
    check = subprocess.run(["md5sum", "--check", "--quiet", str(control / "md5sums")], cwd=tree, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"'evsed[nfc,security]=={VERSION}'" in (control / "postinst").read_text()


@pytest.mark.parametrize("suite", SUITES)
def test_armhf_carries_armv7l_wheels(debs, suite):
    """32-bit Raspberry Pi OS on ARMv7 and later: the compiled wheels are manylinux armv7l (PyPI has them)."""
    wheels = wheel_names(debs[suite, "armhf"])
    platforms = {wheel.removesuffix(".whl").split("-")[-1] for wheel in wheels} - {"any"}
    assert platforms and all("armv7l" in p and "aarch64" not in p and "x86_64" not in p for p in platforms)
    assert {w.split("-")[0] for w in wheels if not w.endswith("-any.whl")} == {"rpds_py", "websockets"}
    assert control_fields(debs[suite, "armhf"])["Architecture"] == "armhf"
    assert not any(w.startswith("cryptography-") for w in wheels), "cffi 2 has no armv7l wheel: no certificates"


def target_platforms(glibc_minor: int, machine: str) -> list[str]:
    """The platform tags pip accepts on a glibc 2.<glibc_minor> system, newest first (packaging.tags' order)."""
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    platforms = []
    for minor in range(glibc_minor, 4, -1):
        platforms.append(f"manylinux_2_{minor}_{machine}")
        if minor in legacy:
            platforms.append(f"{legacy[minor]}_{machine}")
    return [*platforms, f"linux_{machine}"]


class Wheel:
    def __init__(self, path: Path) -> None:
        self.path = path
        name, self.version, _, self.tags = parse_wheel_filename(path.name)
        self.name = canonicalize_name(name)
        with zipfile.ZipFile(path) as archive:
            metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
            headers = email.parser.Parser().parsestr(archive.read(metadata).decode())
        self.requires = [Requirement(r) for r in headers.get_all("Requires-Dist") or []]
        self.requires_python = SpecifierSet(headers.get("Requires-Python") or "")


def resolve_for(wheelhouse: Path, roots: list[str], python: str, glibc_minor: int, machine: str) -> dict[str, Wheel]:
    """What installing `roots` from `wheelhouse` alone takes on the target (CPython `python`, glibc, machine): a
    wheel for every requirement that applies there, dependency markers evaluated for the target. (pip's own
    --python-version evaluates markers for the Python pip runs on, e.g. 3.11: a dependency only Python 3.13
    needs would go unnoticed.) Asserts that each has a wheel the target accepts; every version is pinned, so
    the newest fitting wheel is the one."""
    version = tuple(int(part) for part in python.split("."))
    platforms = target_platforms(glibc_minor, machine)
    accepted = {*cpython_tags(version, platforms=platforms),
                *compatible_tags(version, f"cp{version[0]}{version[1]}", platforms)}
    environment = {"python_version": python, "python_full_version": f"{python}.0", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython", "implementation_version": f"{python}.0",
                   "sys_platform": "linux", "os_name": "posix", "platform_system": "Linux",
                   "platform_machine": machine, "platform_release": "", "platform_version": ""}
    available: dict[str, list[Wheel]] = {}
    for path in wheelhouse.glob("*.whl"):
        wheel = Wheel(path)
        available.setdefault(wheel.name, []).append(wheel)
    chosen: dict[str, Wheel] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(root) for root in roots]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen and name in chosen:
            assert chosen[name].version in requirement.specifier, f"{requirement}: {chosen[name].path.name} chosen"
            continue
        seen.add((name, frozenset(requirement.extras)))
        fitting = [w for w in available.get(name, []) if requirement.specifier.contains(w.version, prereleases=True)
                   and w.tags & accepted and w.requires_python.contains(f"{python}.0")]
        assert fitting, f"no wheel for {requirement} (CPython {python}, {machine}) in the wheelhouse"
        chosen[name] = max(fitting, key=lambda w: w.version)
        for dependency in chosen[name].requires:
            if dependency.marker is None or any(dependency.marker.evaluate({**environment, "extra": extra})
                                                for extra in {"", *requirement.extras}):
                todo.append(dependency)
    return chosen


def clean_pip_env() -> dict[str, str]:
    """No pip configuration (this machine's names extra indexes and find-links): the wheelhouse alone."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PIP_")}, "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("suite", SUITES)
def test_wheelhouse_installs_offline_on_its_suites_python(debs, suite, arch, tmp_path):
    """What postinst does on the device: pip installs evsed[nfc] (with the security extra, but on armhf) and pip from
    /opt/evsed/wheels alone, with no index, for the suite's CPython (3.11 for bookworm, 3.13 for trixie) on the
    architecture's platform."""
    python, glibc_minor, _ = SUITES[suite]
    machine = ARCHES[arch]
    tree = tmp_path / "tree"
    dpkg_deb("-x", str(debs[suite, arch]), str(tree))
    wheelhouse = tree / "opt/evsed/wheels"
    extras = "nfc" if arch == "armhf" else "nfc,security"
    roots = [f"evsed[{extras}]=={VERSION}", "pip"]

    chosen = resolve_for(wheelhouse, roots, python, glibc_minor, machine)
    assert {"evsed", "nfcpy", "ocpp", "websockets", "rpds-py", "pip"} <= chosen.keys()
    assert ("cryptography" in chosen) is (arch != "armhf")
    abi = "cp" + python.replace(".", "")
    for name in ("websockets", "rpds-py"):  # compiled: built for exactly this Python and machine
        assert any(t.abi == abi and machine in t.platform for t in chosen[name].tags), chosen[name].path.name

    # And pip itself, as postinst runs it (--python-version: tags and Requires-Python for the target).
    platforms = [option for platform in target_platforms(glibc_minor, machine) for option in ("--platform", platform)]
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed", "--no-index",
         "--find-links", str(wheelhouse), "--only-binary=:all:", "--python-version", python, "--implementation", "cp",
         "--abi", abi, *platforms, "--target", str(tmp_path / "target"), "--report", str(report), *roots],
        capture_output=True, text=True, timeout=120, env=clean_pip_env())
    assert result.returncode == 0, result.stdout + result.stderr
    installed = {canonicalize_name(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]}
    assert {"evsed", "websockets", "rpds-py", "pip"} <= installed  # (its markers: for the Python running it)


def test_maintainer_and_build_scripts_are_clean(debs, tmp_path):
    shellcheck = require("shellcheck", "shellcheck")
    control = tmp_path / "control"
    dpkg_deb("-e", str(debs["bookworm", "arm64"]), str(control))
    scripts = [control / name for name in SCRIPTS]
    for script in scripts:
        assert os.access(script, os.X_OK) and script.read_text().startswith("#!/bin/bash\n"), script
        subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
        assert not re.search(r"@[A-Z_]+@", script.read_text()), f"{script.name}: template placeholder left"
    pi_gen = sorted((REPO / "packaging/pi-gen").rglob("*.sh"))
    assert pi_gen, "the pi-gen stage's scripts"
    result = subprocess.run([shellcheck, "--shell=bash", *map(str, scripts), str(BUILD), *map(str, pi_gen),
                             str(REPO / "packaging/install-deb")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


class ThrowawayRoot:
    """This machine's file system under a private overlay, for dpkg to install into; `suite` and `arch` are
    this machine's, and so say which package fits it."""

    def __init__(self, base: Path, suite: str, arch: str) -> None:
        self.base = base
        self.suite = suite
        self.arch = arch
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


INSTALL_DEPENDS = ("python3", "python3-venv", "systemd", "init-system-helpers", "passwd")
"""The package's Depends on a PC: dpkg installs it only where they are (.ci/run installs systemd)."""


def installed(package: str) -> bool:
    query = subprocess.run(["dpkg-query", "--show", "--showformat=${db:Status-Status}", package], capture_output=True,
                           text=True, timeout=30)
    return query.stdout == "installed"


@pytest.fixture
def throwaway_root(tmp_path) -> ThrowawayRoot:
    if os.geteuid() != 0:
        unavailable("installing into a throwaway root needs root (mount namespaces and overlayfs)")
    require("dpkg-query", "dpkg")
    missing = [package for package in INSTALL_DEPENDS if not installed(package)]
    if missing:
        unavailable(f"the package's Depends are not installed here: {' '.join(missing)} (apt-get install them)")
    codename = re.search(r"^VERSION_CODENAME=(\S+)", Path("/etc/os-release").read_text(), re.MULTILINE)
    suite = codename.group(1) if codename else "unknown"
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, timeout=30,
                          check=True).stdout.strip()
    if suite not in SUITES or arch not in ARCHES:
        unavailable(f"no evsed package is built for this machine ({suite}, {arch})")
    root = ThrowawayRoot(tmp_path / "overlay", suite, arch)
    probe = root.run("true", check=False)
    if probe.returncode != 0:
        unavailable(f"cannot mount an overlay in a private namespace here: {probe.stderr.strip()}")
    return root


def test_the_other_suites_package_refuses_this_python(debs, throwaway_root):
    """Its wheels are for the other suite's CPython (3.13 on a bookworm machine, 3.11 on a trixie one): dpkg must
    not configure it here."""
    root = throwaway_root
    other = next(suite for suite in SUITES if suite != root.suite)
    root.put(debs[other, root.arch], "/var/cache/evsed-test/evsed.deb")
    result = root.run("dpkg", "--install", "/var/cache/evsed-test/evsed.deb", check=False)
    assert result.returncode != 0
    assert "evsed depends on python3 (" in result.stderr, result.stderr
    assert not root.exists("/opt/evsed/venv")  # postinst never ran


def test_install_provision_upgrade_remove_purge(debs, throwaway_root, tmp_path):
    root = throwaway_root
    python, _, suffix = SUITES[root.suite]
    units = UNITS[root.suite]
    deb = debs[root.suite, root.arch]
    upgrade = tmp_path / f"evsed_{VERSION}-2+{suffix}_{root.arch}.deb"
    unpacked = tmp_path / "unpacked"
    dpkg_deb("-R", str(deb), str(unpacked))
    control = unpacked / "DEBIAN/control"
    control.write_text(control.read_text().replace(f"Version: {VERSION}-1+{suffix}", f"Version: {VERSION}-2+{suffix}"))
    dpkg_deb("--root-owner-group", "-Zgzip", "--build", str(unpacked), str(upgrade))
    root.put(deb, "/var/cache/evsed-test/evsed_1.deb")
    root.put(upgrade, "/var/cache/evsed-test/evsed_2.deb")

    # Install: user with its device groups, venv with the wheels, owner-only config, units enabled.
    root.run("dpkg", "--install", "/var/cache/evsed-test/evsed_1.deb")
    assert set(root.run("id", "-nG", "evsed").stdout.split()) == {"evsed", "gpio", "dialout", "plugdev",
                                                                              "systemd-journal"}
    assert root.stat("/etc/evsed/evsed.toml") == "600 evsed evsed"
    assert root.run("evsed", "--version").stdout.strip() == f"evsed {VERSION}"
    assert "configuration is valid" in root.run("evsed", "config", "check", "-c", "/etc/evsed/evsed.toml").stdout
    where = root.run("/opt/evsed/venv/bin/python", "-c", "import websockets, jsonschema; print(websockets.__file__, "
                     "jsonschema.__file__)").stdout
    assert where.count(f"/opt/evsed/venv/lib/python{python}/site-packages/") == 2
    for unit in ("evsed.service", "evsed-provision.service"):
        assert root.exists(f"/etc/systemd/system/multi-user.target.wants/{unit}"), unit
    # With evsed installed for real, verify needs no stand-in.
    verify = root.run("systemd-analyze", "verify", f"{units}/system/evsed.service",
                      f"{units}/system/evsed-provision.service")
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
    assert f"Version: {VERSION}-2+{suffix}" in root.run("dpkg", "--status", "evsed").stdout
    assert root.run("cat", "/etc/evsed/evsed.toml").stdout == VALID_CONFIG
    assert root.stat("/etc/evsed/evsed.toml") == "600 evsed evsed"
    assert root.run("cat", "/var/lib/evsed/evsed.db").stdout == "database\n"
    assert "CP_PROVISIONED" in root.run("evsed", "config", "check", "-c", "/etc/evsed/evsed.toml").stdout

    # Remove: program gone; configuration, database and user stay.
    root.run("dpkg", "--remove", "evsed")
    for gone in ("/opt/evsed", "/usr/bin/evsed", f"{units}/system/evsed.service"):
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
