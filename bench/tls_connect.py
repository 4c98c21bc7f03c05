"""TLS on the CSMS link (OCPP 1.6 Security Whitepaper profiles 2 and 3) beside profile 0, in one run: the TLS
connect time (TCP and the handshake, with the contexts `LinkSecurity` builds), the daemon's start →
BootNotification (the handshake is on that path) and its RSS with the link up. EC (P-256) and RSA (2048) keys for
the CSMS's server certificate and the charge point's client certificate, all made here (`tests.pki`).

    .venv/bin/python -m bench.tls_connect [--rounds 3] [--connects 50]
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.charger import CP, p99, running_charger
from firmware.config_file import CsmsSection
from firmware.persistence.db import Store
from firmware.protocol.security import LinkSecurity
from firmware.settings import Settings
from tests.pki import authority, ca_file, issue, server_context

KEY = "00112233445566778899aabbccddeeff"


async def connect_ms(url: str, profile: int, options: dict[str, str], work: Path, connects: int) -> list[float]:
    """TCP connect and TLS handshake with the link's own context, `connects` times (ms each)."""
    csms = CsmsSection(url=url, **options)  # type: ignore[arg-type]
    store = Store(work / f"settings-{profile}-{len(options)}-{time.monotonic_ns()}.db")
    settings = Settings(store, {"security_profile": profile, "authorization_key": KEY}, fixed={})
    security = LinkSecurity(csms, CP, settings, lambda: Path(csms.ca_file),
                            lambda: (Path(csms.client_cert), Path(csms.client_key)) if csms.client_cert else None)
    context = security.dial()["ssl"]
    parts = urlsplit(url)
    times = []
    for _ in range(connects):
        started = time.perf_counter()
        _, writer = await asyncio.open_connection(parts.hostname, parts.port, ssl=context)
        times.append((time.perf_counter() - started) * 1000)
        writer.close()
        await writer.wait_closed()
    store.close()
    return times


async def measure(name: str, rounds: int, connects: int, work: Path, profile: int = 0,
                  **options: object) -> None:
    boots, rss, handshake = [], 0.0, ""
    for _ in range(rounds):
        async with running_charger(**options) as charger:  # type: ignore[arg-type]
            boots.append(charger.boot_s())
            rss = charger.rss_mb()
            if profile >= 2 and not handshake:
                times = await connect_ms(charger.csms.url, profile, options["csms_options"], work, connects)  # type: ignore[arg-type]
                handshake = f"TLS connect p50 {statistics.median(times):.1f} ms p99 {p99(times):.1f} ms; "
    print(f"{name:<30} {handshake or 'no TLS; ':<38}start → BootNotification p50 {statistics.median(boots):.2f} s; "
          f"RSS with the link up {rss:.1f} MB")


async def main(rounds: int, connects: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="evsed-tls-bench-"))
    root, cpo = authority(), authority("CPO CA")
    roots = ca_file(root, work)
    await measure("profile 0 (ws://)", rounds, connects, work)
    for kind in ("ec", "rsa"):
        server = issue(root, "csms", kind=kind)
        await measure(f"profile 2 ({kind.upper()} server key)", rounds, connects, work, 2,
                      tls=server_context(server, work), ocpp={"SecurityProfile": 2, "AuthorizationKey": KEY},
                      csms_options={"ca_file": roots})
        cert, key = issue(cpo, CP, client=True, kind=kind).write(work, f"cp-{kind}")
        await measure(f"profile 3 ({kind.upper()} both keys)", rounds, connects, work, 3,
                      tls=server_context(server, work, cpo), ocpp={"SecurityProfile": 3},
                      csms_options={"ca_file": roots, "client_cert": str(cert), "client_key": str(key)})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connects", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.connects))
