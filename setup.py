"""evsed: charge point controller daemon for Raspberry-Pi-class EV chargers."""

import glob
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
    package_data={"firmware.demo": ["web/*.html", "web/*.css", "web/*.js"]},
    data_files=[("share/evsed/config", ["config/evsed.toml"]),
                ("share/evsed/meters", sorted(glob.glob("config/meters/*.toml")))],
    install_requires=[
        "ocpp==2.1.0",
        "websockets==17.4",
        "transitions==0.9.3",
        "sqlite-utils==4.2.1",
        "segno==1.6.6",
        "sdnotify==0.3.2",
        "fastjsonschema==2.22.3",
        # Pure-Python hardware layers: they install anywhere; the Pi-only pin libraries are extras.
        "gpiozero==2.0.1.post3",
        "pymodbus==3.16.1",
        "pyserial==3.5",
    ],
    extras_require={
        # NFC readers (PN532 on the UART, ACR122U and other USB readers) through nfcpy.
        "nfc": ["nfcpy==1.0.4"],
        # PC/SC readers through pcscd. pyscard has no Linux wheel: it compiles, needing gcc, the Python
        # headers and libpcsclite-dev (on the Pi the package uses Debian's python3-pyscard instead).
        "pcsc": ["pyscard==2.3.1"],
        # GPIO pin libraries behind gpiozero (which tries lgpio first; RPi.GPIO does not run on the Pi 5).
        "pi": [
            "RPi.GPIO==0.7.1; platform_machine in 'armv7l aarch64'",
            "lgpio==0.2.2.0; platform_machine in 'armv7l aarch64'",
        ],
        # Wheels and pure Python only, so that the README's first command needs no compiler and no system
        # package. The PC/SC tests also need the "pcsc" extra (and Debian's pcscd): .ci/run installs both;
        # without them those tests are skipped with the reason (and fail under CI).
        # Certificates of the OCPP 1.6 Security Whitepaper (InstallCertificate, SignCertificate, CertificateSigned,
        # signed firmware); imported only when one is used. TLS and security profiles 0-3 need only `ssl`.
        "security": ["cryptography==48.0.0"],
        "test": ["pytest==9.2.0", "pytest-asyncio==1.5.0", "ruff==0.17.6", "nfcpy==1.0.4",
                 # property and fuzz tests: random event sequences, and frames drawn from the 1.6 JSON schemas
                 "hypothesis==6.170.0", "hypothesis-jsonschema==0.23.1",
                 "pyftpdlib==2.2.0", "cryptography==48.0.0",  # the file transfers' FTP peer; TLS certificates
                 # the QR driver page in headless Chromium (Debian's chromium and chromium-driver)
                 "selenium==4.50.0",
                 # the suite runs on both cores, one test file per worker (most of its time is waiting)
                 "pytest-xdist==3.8.0"],
    },
    entry_points={"console_scripts": ["evsed = firmware.cli.main:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
    ],
)
