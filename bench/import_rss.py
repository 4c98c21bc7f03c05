"""What each dependency costs in resident memory when imported, in the order the daemon meets them, and what a built
daemon (`App` for the sim backend, 1.6 or 2.0.1) has loaded in all.

Each line runs in a fresh interpreter that first imports what the lines above it imported, so a module's figure is
what it adds on top of those (a shared dependency counts where it first appears).

    .venv/bin/python -m bench.import_rss
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from firmware.persistence.db import Store

STEPS = ("asyncio", "ssl", "sqlite3", "json", "websockets", "transitions", "sdnotify", "fastjsonschema", "jsonschema",
         "ocpp.v16", "ocpp.v201", "firmware.settings", "firmware.core.chargepoint", "firmware.protocol.session",
         "firmware.ocpp16.adapter", "firmware.ocpp201.adapter", "firmware.app",
         "sqlite_utils", "cryptography.x509", "segno", "gpiozero", "pymodbus.client", "serial")
"""The daemon's imports roughly as it meets them, then what only some configurations, events or commands load (a
schema migration, certificates, the QR sticker, the GPIO and Modbus drivers)."""

RSS = ("def rss():\n    for line in open('/proc/self/status'):\n        if line.startswith('VmRSS:'):\n"
       "            return int(line.split()[1]) / 1024\n")


def measure(before: tuple[str, ...], module: str) -> float:
    code = (RSS + "".join(f"import {m}\n" for m in before) + "a = rss()\n" + f"import {module}\n"
            + "print(rss() - a)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def daemon(protocol: str) -> float:
    """RSS of an interpreter that built the daemon for the sim backend (not running), on a database at the current
    schema (as every start but the first after an install or an upgrade)."""
    with tempfile.TemporaryDirectory() as work:
        Store(Path(work) / "db").close()
        config = Path(work) / "evsed.toml"
        config.write_text(f'[charge_point]\nid = "CP"\nconnectors = 2\n[csms]\nurl = "ws://127.0.0.1:9/ocpp"\n'
                          f'protocol = "{protocol}"\n[hardware]\nbackend = "sim"\n[storage]\npath = "{work}/db"\n')
        code = (RSS + "from pathlib import Path\nfrom firmware.config_file import load_config\n"
                f"from firmware.app import App\nApp(load_config(Path({str(config)!r})))\nprint(rss())\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return float(out.stdout)


def main() -> None:
    bare = subprocess.run([sys.executable, "-c", RSS + "print(rss())"], capture_output=True, text=True, check=True)
    print(f"{'python itself':34} {float(bare.stdout):5.1f} MB")
    for i, module in enumerate(STEPS):
        print(f"{module:34} +{measure(STEPS[:i], module):5.1f} MB", flush=True)
    for protocol in ("ocpp1.6", "ocpp2.0.1"):
        print(f"App built, sim backend, {protocol:10} {daemon(protocol):5.1f} MB RSS")


if __name__ == "__main__":
    main()
