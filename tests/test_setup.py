"""The README's set-up on a fresh machine, and `.ci/run`, which must do the same plus the optional parts.

A fresh machine has Python and nothing else: no compiler, no Python headers, no Debian -dev package. So the
README's first command (`pip install -e '.[test]'`, then `evsed demo`) must get every dependency as a
wheel, or as a pure-Python sdist that pip builds without a compiler. That is checked by resolving
`evsed[test]` against PyPI with wheels only (`--only-binary=:all:`), for Debian 12's and Debian 13's
Python on x86_64 and aarch64, after building evsed itself and the sdist-only pure-Python dependencies
(`packaging/sdist-only.txt`, `sdist-only-test.txt`) with the C compiler disabled (`CC=/bin/false`). Hardware
extras that compile
(pyscard) stay out of `[test]`: their tests are skipped with the reason, and fail under CI (`.ci/run`
installs them).

Offline runs: set EVSED_TEST_WHEELHOUSE to a folder of wheels and sdists (see packaging/build-deb --wheelhouse).
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firmware import __version__ as VERSION

REPO = Path(__file__).resolve().parent.parent
CI_RUN = REPO / ".ci/run"
TARGETS = {"debian12-x86_64": ("3.11", 36, "x86_64"), "debian13-x86_64": ("3.13", 41, "x86_64"),
           "debian12-aarch64": ("3.11", 36, "aarch64"), "debian13-aarch64": ("3.13", 41, "aarch64")}
"""A fresh machine: its CPython, its glibc's minor version, its machine."""


NETWORK_SETTINGS = ("cert", "client-cert", "index-url", "trusted-host", "proxy", "timeout", "default-timeout",
                    "retries")
"""pip settings about reaching the index (a TLS proxy's CA, a mirror): kept from this machine's configuration."""


def pip_env(config: Path) -> dict[str, str]:
    """pip as on a fresh machine: this machine's index and network settings only, written to `config`, but none
    of its other package sources (find-links, extra indexes: they may hold wheels built here), and no C
    compiler."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                            timeout=60, check=True).stdout
    settings = {}
    for line in listed.splitlines():  # e.g. global.cert='/etc/ssl/certs/ca.crt' or :env:.cert='...'
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in NETWORK_SETTINGS:
            settings[name] = ast.literal_eval(value)
    config.write_text("[global]\n" + "".join(f"{name} = {value}\n" for name, value in settings.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": str(config), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "CC": "/bin/false",
            "CXX": "/bin/false"}


def pip_source() -> list[str]:
    wheelhouse = os.environ.get("EVSED_TEST_WHEELHOUSE")
    return ["--no-index", "--find-links", wheelhouse] if wheelhouse else []


@pytest.fixture(scope="module")
def built_here(tmp_path_factory) -> Path:
    """What pip builds on a fresh machine, built here with no C compiler: evsed's wheel (from a copy of the
    tree: setuptools would leave build/ in the repository) and the sdist-only dependencies."""
    work = tmp_path_factory.mktemp("built")
    source = work / "src"
    source.mkdir()
    for name in ("setup.py", "README.md", "MANIFEST.in"):
        shutil.copy(REPO / name, source / name)
    for name in ("firmware", "hal", "drivers", "config"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels = work / "wheels"
    # --use-pep517: as build-deb does (Debian 12's pip would otherwise need the wheel package installed).
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--use-pep517",
                             *pip_source(), "--wheel-dir", str(wheels), str(source),
                             "--requirement", str(REPO / "packaging/sdist-only.txt"),
                             "--requirement", str(REPO / "packaging/sdist-only-test.txt")],
                            capture_output=True, text=True, timeout=300, env=pip_env(work / "pip.conf"))
    assert result.returncode == 0, result.stdout + result.stderr
    built = sorted(p.name for p in wheels.iterdir())
    assert all(name.endswith("-none-any.whl") for name in built), built
    return wheels


@pytest.mark.parametrize("target", TARGETS)
def test_the_readme_install_needs_no_compiler(built_here, target, tmp_path):
    python, glibc_minor, machine = TARGETS[target]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}  # the same tags by older names
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(glibc_minor, 4, -1)]
    platforms += [f"{name}_{machine}" for name in legacy.values()] + [f"linux_{machine}"]
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed", "--only-binary=:all:",
         *pip_source(), "--find-links", str(built_here), "--python-version", python, "--implementation", "cp",
         "--abi", "cp" + python.replace(".", ""), *(f"--platform={p}" for p in platforms),
         "--target", str(tmp_path / "target"), "--report", str(report), f"evsed[test]=={VERSION}"],
        capture_output=True, text=True, timeout=300, env=pip_env(tmp_path / "pip.conf"))
    assert result.returncode == 0, (
        "a dependency of evsed or evsed[test] has no wheel for CPython "
        f"{python} on {machine}: a fresh machine would have to compile it. Pure-Python sdists go in "
        "packaging/sdist-only.txt (test-only: sdist-only-test.txt); others belong in a hardware extra.\n"
        f"{result.stderr[-3000:]}")
    installed = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert {"evsed", "pytest", "ocpp", "websockets"} <= installed
    assert "pyscard" not in installed


def apt_packages(text: str) -> list[str]:
    """The packages of the one `apt-get install` command in `text` (continuation lines joined; options
    dropped)."""
    commands = re.findall(r"apt-get install((?:[^\n`]|\\\n)*)", text.replace("\\\n", " "))
    assert len(commands) == 1, commands
    return [word for word in commands[0].split() if not word.startswith("-")]


def test_the_readme_lists_the_debian_packages_ci_installs():
    """The README's optional list of Debian packages is .ci/run's, word for word."""
    readme = (REPO / "README.md").read_text()
    set_up = readme[readme.index("## Set-up on a fresh machine"):readme.index("## On a charger")]
    assert apt_packages(set_up) == apt_packages(CI_RUN.read_text())


def test_ci_runs_the_hardware_tests_and_stops_nothing_by_name():
    """.ci/run installs the pyscard extra the PC/SC tests need, and stops no process by name (that could hit a
    pcscd the machine runs for itself: the tests start and stop their own, by pid)."""
    script = CI_RUN.read_text()
    assert "pip install -q -e '.[test,pcsc]'" in script
    commands = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in commands if re.search(r"\b(pkill|killall)\b|systemctl\s+(stop|kill)", line)]
