"""`evsed selftest`: each configured device and the CSMS checked, in plain words, for installers.

The self-test never closes a contactor: it checks that the feedback agrees with the open command.
When the daemon runs it owns the devices, so the daemon runs the device checks and reports its own
CSMS link; otherwise the self-test opens the devices itself and tries a websocket to the CSMS.
"""

import asyncio
import contextlib
import math
import ssl
from dataclasses import asdict, dataclass

import websockets

from firmware.config_file import Config
from firmware.daemon.control_socket import request
from firmware.daemon.hardware import Hardware, HardwareError, build_hardware
from firmware.ocpp16 import SUBPROTOCOL
from hal import CardReader, EnergyMeter, MeterError

READER_SETTLE_S = 2.0
"""How long a reader gets to open before its state is read."""
VOLTAGE_RANGE_V = (180.0, 270.0)
"""A plausible phase-to-neutral voltage on a 230 V supply (EN 50160: 230 V ± 10 %, with margin)."""


@dataclass(frozen=True)
class Check:
    device: str
    passed: bool
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, object]:
        return asdict(self)


async def check_devices(hardware: Hardware, in_use: set[int], readers_running: bool) -> list[Check]:
    """Every reader, meter and contactor. `in_use`: connectors in a session (their contactor is not
    judged). `readers_running`: the daemon already reads the readers; else they are opened here."""
    checks = []
    if not readers_running:
        await _settle(hardware.readers())
    if hardware.shared_reader is not None:
        checks.append(_reader("card reader (shared)", hardware.shared_reader))
    for n, devices in sorted(hardware.connectors.items()):
        if devices.reader is not None:
            checks.append(_reader(f"connector {n} card reader", devices.reader))
        checks.append(await _meter(f"connector {n} meter", devices.meter))
        if n in in_use:
            checks.append(Check(f"connector {n} contactor", True, "in a charging session now: not checked"))
        else:
            checks.append(_contactor(f"connector {n} contactor", devices.contactor.commanded_closed,
                                     devices.contactor.feedback_closed))
    return checks


async def _settle(readers: list[CardReader]) -> None:
    """Let each reader open its device (drivers open it when `taps()` runs); no card is expected."""

    async def drain(reader: CardReader) -> None:
        async for _ in reader.taps():
            pass

    tasks = [asyncio.create_task(drain(r)) for r in readers]
    await asyncio.sleep(READER_SETTLE_S if tasks else 0)
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _reader(name: str, reader: CardReader) -> Check:
    if reader.problem is None:
        return Check(name, True, "present and reading")
    return Check(name, False, reader.problem, "check the reader's cable and its device setting in [hardware]")


async def _meter(name: str, meter: EnergyMeter) -> Check:
    try:
        reading = await meter.read()
    except MeterError as e:
        return Check(name, False, str(e), "check the RS-485 wiring (A/B), the meter's address, baud rate and parity, "
                                          "and the profile in [hardware.connector.N.meter]")
    volts = "/".join(f"{v:.0f}" for v in reading.voltage_v) or "-"
    detail = f"{reading.energy_wh / 1000:.3f} kWh imported, {reading.power_w or 0:.0f} W, {volts} V"
    if not math.isfinite(reading.energy_wh) or reading.energy_wh < 0:
        return Check(name, False, detail, "the import register is not plausible: check the meter profile")
    low, high = VOLTAGE_RANGE_V
    if reading.voltage_v and not low <= reading.voltage_v[0] <= high:
        return Check(name, False, detail, f"L1 voltage outside {low:.0f}-{high:.0f} V: check the meter's supply "
                                          "wiring and that the profile matches the meter model")
    return Check(name, True, detail)


def _contactor(name: str, commanded_closed: bool, feedback_closed: bool | None) -> Check:
    if commanded_closed:
        return Check(name, False, "commanded closed outside a session", "stop evsed and run the self-test again")
    if feedback_closed is None:
        return Check(name, True, "open; no feedback input wired, so a welded contact cannot be detected")
    if feedback_closed:
        return Check(name, False, "commanded open but the feedback says closed",
                     "a welded contact, or the feedback pin or its active level is wrong in [hardware]")
    return Check(name, True, "open, and the feedback agrees")


async def check_csms(config: Config, timeout_s: float = 10.0) -> Check:
    """Open a websocket to the CSMS with the OCPP 1.6 subprotocol (TLS verified for wss://), then close.
    Nothing is sent: the charge point does not register."""
    endpoint = config.csms.endpoint(config.charge_point.id)
    url = config.csms.shown_endpoint(config.charge_point.id)
    try:
        async with websockets.connect(endpoint, subprotocols=[SUBPROTOCOL], open_timeout=timeout_s) as connection:
            if connection.subprotocol != SUBPROTOCOL:
                return Check("CSMS", False, f"{url} does not speak {SUBPROTOCOL}", "check [csms] url")
    except ssl.SSLCertVerificationError as e:
        return Check("CSMS", False, f"TLS certificate of {url} not valid: {e.verify_message}",
                     "the CSMS's certificate must be valid for its host name and trusted by this system")
    except (OSError, TimeoutError, websockets.WebSocketException) as e:
        return Check("CSMS", False, f"cannot reach {url}: {e or type(e).__name__}",
                     "check the network, [csms] url and the charge point id registered at the CSMS")
    return Check("CSMS", True, f"reachable at {url}" + (" (TLS valid)" if url.startswith("wss://") else ""))


async def run_selftest(config: Config) -> list[Check]:
    """Through the running daemon when there is one (it owns the devices), else directly."""
    try:
        answer = await request(config.control_socket, {"cmd": "selftest"})
    except (OSError, TimeoutError):
        answer = None
    if answer is not None and answer.get("ok"):
        return [Check(**c) for c in answer["checks"]]
    try:
        hardware = build_hardware(config)
    except HardwareError as e:
        return [Check("hardware", False, str(e), "fix the [hardware] section"), await check_csms(config)]
    try:
        checks = await check_devices(hardware, set(), readers_running=False)
    finally:
        await hardware.aclose()
    return [*checks, await check_csms(config)]


def table(checks: list[Check]) -> str:
    """The result as an installer reads it: one line per check, what to fix under a failure."""
    width = max(len(c.device) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{'PASS' if c.passed else 'FAIL'}  {c.device:<{width}}  {c.detail}")
        if not c.passed and c.fix:
            lines.append(f"      {'':<{width}}  fix: {c.fix}")
    passed = sum(c.passed for c in checks)
    lines.append(f"{passed} of {len(checks)} checks passed")
    return "\n".join(lines)
