"""evsed: charge point controller daemon for Raspberry-Pi-class EV chargers."""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="evsed",
    version="0.1.0",
    description="Charge point controller daemon: RFID, contactor, meter, OCPP-J",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["firmware", "firmware.*", "hal", "hal.*", "drivers", "drivers.*"]),
    data_files=[("share/evsed/config", ["config/evsed.toml"])],
    install_requires=[
        "ocpp==2.1.0",
        "websockets==17.4",
        "transitions==0.9.3",
        "sqlite-utils==4.2.1",
        "segno==1.6.6",
        "sdnotify==0.3.2",
        "fastjsonschema==2.22.3",
    ],
    extras_require={
        "test": ["pytest==9.2.0", "pytest-asyncio==1.5.0", "ruff==0.17.6"],
    },
    entry_points={"console_scripts": ["evsed = firmware.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
    ],
)
