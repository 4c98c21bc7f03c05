"""packaging/install-deb, the .deb's firmware installer: real `dpkg-deb` reads real packages built here. The one
boundary replaced is `systemd-run` (it needs systemd as PID 1 and polkit, which no test machine has): a script of
the same name on PATH records how it was called, which is the installer's whole contract with it."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

INSTALLER = Path(__file__).resolve().parent.parent / "packaging" / "install-deb"


def package(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(f"Package: {name}\nVersion: 9.9.9\nArchitecture: all\n"
                                             "Maintainer: test <t@example.org>\nDescription: a test package\n")
    deb = tmp_path / f"{name}.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True,
                   capture_output=True, timeout=60)
    return deb


def run(tmp_path: Path, deb: Path) -> subprocess.CompletedProcess[str]:
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "systemd-run").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path / "systemd-run.args"}\n')
    (shim / "systemd-run").chmod(0o755)
    return subprocess.run([str(INSTALLER), str(deb)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"})


pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None and "CI" not in os.environ,
                                reason="dpkg-deb is Debian's (CI has it)")


def test_an_evsed_package_is_installed_by_apt_in_its_own_unit(tmp_path):
    result = run(tmp_path, package(tmp_path, "evsed"))
    assert result.returncode == 0, result.stderr
    assert "installing evsed 9.9.9" in result.stdout
    args = (tmp_path / "systemd-run.args").read_text().splitlines()
    assert "--unit=evsed-firmware-install" in args and "--wait" in args
    assert args[-5:] == ["install", "--yes", "--allow-downgrades", "--no-install-recommends",
                         str((tmp_path / "evsed.deb").resolve())]
    assert "/usr/bin/apt-get" in args


def test_another_package_or_a_file_that_is_none_is_refused(tmp_path):
    result = run(tmp_path, package(tmp_path, "not-evsed"))
    assert result.returncode == 1 and "refusing package 'not-evsed'" in result.stderr
    garbage = tmp_path / "garbage.deb"
    garbage.write_bytes(os.urandom(4096))
    result = run(tmp_path, garbage)
    assert result.returncode == 1 and "not a Debian package" in result.stderr
    assert not (tmp_path / "systemd-run.args").exists(), "nothing was installed"
