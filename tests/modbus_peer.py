"""Real Modbus peers for the meter driver tests: a pymodbus server playing energy meters.

`SimulatedMeter` holds one meter's values in engineering units (Wh, W, V, A) and encodes them into registers as
its profile says. Registers exist only where the profile puts values (and in the gaps it declares readable), so a
driver that reads anything else gets exception 2, as from a strict meter. `MeterServer` serves one or more simulated
meters, one per unit id, over TCP on 127.0.0.1 or over RTU on one end of a `PtyLine` (a socat pseudo-terminal
pair), and plays each meter's `fault` on its send path: silence, an exception response, or a broken CRC.
"""

import asyncio
import enum
import subprocess
from itertools import pairwise
from pathlib import Path

from pymodbus import FramerType
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.meter_profile import MeterProfile, Register

_BITS = [SimData(0, values=False, datatype=DataType.BITS)]  # pymodbus wants coils and discrete inputs defined


class Fault(enum.Enum):
    NONE = "none"
    SILENT = "silent"  # the meter never answers (dead, unwired, wrong unit id)
    EXCEPTION = "exception"  # the meter answers exception 6, server device busy
    GARBAGE = "garbage"  # RTU only: the answer arrives with a broken CRC (noise on the line)


def encode(reg: Register, value: float) -> list[int]:
    """Registers holding `value` (Wh, W, V or A) as the meter sends them."""
    raw = value / reg.scale
    return ModbusClientMixin.convert_to_registers(raw if reg.type == "float32" else round(raw),
                                                  ModbusClientMixin.DATATYPE[reg.type.upper()],
                                                  word_order=reg.word_order)


class SimulatedMeter:
    """One meter at `unit`; set the attributes, the next request sees them."""

    def __init__(self, profile: MeterProfile, unit: int = 1) -> None:
        self.profile = profile
        self.unit = unit
        self.energy_wh = 0.0
        self.power_w = 0.0
        self.voltage_v = [230.0] * len(profile.voltage)
        self.current_a = [0.0] * len(profile.current)
        self.raw: dict[Register, list[int]] = {}
        """Registers sent instead of the encoded value (a NaN, a 'not available' marker, a known bit pattern)."""
        self.fault = Fault.NONE

    def _values(self) -> list[tuple[Register, float]]:
        p = self.profile
        return [(p.energy_import, self.energy_wh), (p.power, self.power_w),
                *zip(p.voltage, self.voltage_v, strict=True), *zip(p.current, self.current_a, strict=True)]

    def device(self) -> SimDevice:
        readable: dict[str, set[int]] = {"holding": set(), "input": set()}
        registers = sorted(self.profile.registers(), key=lambda r: (r.kind, r.address))
        for reg in registers:
            readable[reg.kind].update(range(reg.address, reg.address + reg.words))
        for before, after in pairwise(registers):
            gap = range(before.address + before.words, after.address)
            if before.kind == after.kind and len(gap) <= self.profile.max_gap:
                readable[after.kind].update(gap)
        blocks = {kind: [SimData(a, datatype=DataType.REGISTERS) for a in sorted(addresses)]
                  or [SimData(0, datatype=DataType.INVALID)] for kind, addresses in readable.items()}
        return SimDevice(id=self.unit, simdata=(_BITS, _BITS, blocks["holding"], blocks["input"]), action=self._action)

    async def _action(self, function_code: int, start_address: int, _address: int, _count: int,
                      registers: list[int], _set_values: object) -> ExcCodes | None:
        if self.fault is Fault.EXCEPTION:
            return ExcCodes.DEVICE_BUSY
        kind = "holding" if function_code == 3 else "input"
        for reg, value in self._values():
            if reg.kind == kind:
                offset = reg.address - start_address
                registers[offset:offset + reg.words] = self.raw.get(reg) or encode(reg, value)
        return None


class MeterServer:
    """A pymodbus server for `meters` on TCP or RTU; `requests` lists the unit id of each request, in order."""

    def __init__(self, *meters: SimulatedMeter) -> None:
        self.meters = {m.unit: m for m in meters}
        self.requests: list[int] = []
        self._answering: SimulatedMeter | None = None
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending:
            self._answering = self.meters.get(pdu.dev_id)
        else:
            self.requests.append(pdu.dev_id)
        return pdu

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        fault = self._answering.fault if sending and self._answering else Fault.NONE
        if fault is Fault.SILENT:
            return b""
        if fault is Fault.GARBAGE:
            return data[:-1] + bytes([data[-1] ^ 0x5A])
        return data

    def _devices(self) -> list[SimDevice]:
        return [m.device() for m in self.meters.values()]

    async def serve_tcp(self, port: int = 0) -> int:
        """Listen on 127.0.0.1 (`port` 0 picks a free one); returns the port."""
        server = ModbusTcpServer(self._devices(), address=("127.0.0.1", port), trace_packet=self._trace_packet,
                                 trace_pdu=self._trace_pdu)
        await server.serve_forever(background=True)
        self._server = server
        return server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def serve_rtu(self, tty: Path, baudrate: int = 9600) -> None:
        server = ModbusSerialServer(self._devices(), port=str(tty), framer=FramerType.RTU, baudrate=baudrate,
                                    trace_packet=self._trace_packet, trace_pdu=self._trace_pdu)
        await server.serve_forever(background=True)
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None


class PtyLine:
    """A simulated RS-485 line: socat joins two pseudo-terminals, the meter end and the charger end."""

    def __init__(self, folder: Path) -> None:
        self.meter_end = folder / "meter-tty"
        self.charger_end = folder / "charger-tty"
        self._socat: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.meter_end.unlink(missing_ok=True)
        self.charger_end.unlink(missing_ok=True)
        self._socat = await asyncio.create_subprocess_exec(
            "socat", "-d", "-d", f"pty,raw,echo=0,link={self.meter_end}", f"pty,raw,echo=0,link={self.charger_end}",
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        async with asyncio.timeout(5):
            while not (self.meter_end.exists() and self.charger_end.exists()):
                assert self._socat.returncode is None, "socat exited"
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """End socat: both terminals vanish, as when a USB adapter is pulled."""
        if self._socat is None:
            return
        if self._socat.returncode is None:
            self._socat.terminate()
            try:
                async with asyncio.timeout(5):
                    await self._socat.wait()
            except TimeoutError:
                self._socat.kill()
                await self._socat.wait()
        self._socat = None
