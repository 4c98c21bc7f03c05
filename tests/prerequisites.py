"""What a test needs from the machine: missing here, the test is skipped with the reason; under CI
(`CI` set, where `.ci/run` installs everything) it fails instead, so CI never skips silently."""

import os
import shutil
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run this test: see .ci/run)")
    pytest.skip(reason)


def require(tool: str, package: str) -> str:
    """The path of command `tool`, from Debian package `package`."""
    return shutil.which(tool) or unavailable(f"{tool} is not installed (Debian package {package})")
