"""Modbus energy meter: RTU on an RS-485 line (pyserial) or Modbus TCP, read through a meter profile.

Requests are Read Holding Registers (03) and Read Input Registers (04) of the Modbus Application Protocol
Specification V1.1b3 (§6.3, §6.4); RTU framing and CRC follow Modbus over Serial Line V1.02 (§2.5.1). Register
addresses, types, word order and scales come from the profile (`drivers.meter_profile`), which cites the maker's map.

Several meters may hang on one RS-485 line (one meter per connector, different unit ids), or sit behind one
Modbus TCP gateway. Meters on the same serial port or TCP endpoint share one `_Bus`: one pymodbus client and one
lock, so one meter's requests and retries never interleave with another's. pymodbus does no retries or background
reconnects here; `ModbusMeter.read()` retries each request itself and reopens a vanished port or connection on the
next attempt.
"""

import asyncio
import dataclasses
import logging
import math
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from drivers.meter_profile import Kind, MeterProfile, Register
from hal.meter import EnergyMeter, MeterError, MeterReading

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RtuLink:
    """An RS-485 line behind a serial port (USB adapter `/dev/ttyUSB0`, Pi UART `/dev/serial0`).

    Eight data bits. Meters on one line must agree on every setting. `timeout_s` is how long to wait for an answer.
    """

    port: str
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    timeout_s: float = 0.5

    def __str__(self) -> str:
        return self.port


@dataclass(frozen=True)
class TcpLink:
    """A Modbus TCP meter or an RS-485-to-TCP gateway."""

    host: str
    port: int = 502
    timeout_s: float = 1.0

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


Link = RtuLink | TcpLink


@dataclass(frozen=True)
class ReadBlock:
    """One request: `count` registers of `kind` from `address`."""

    kind: Kind
    address: int
    count: int


def plan_reads(profile: MeterProfile) -> tuple[ReadBlock, ...]:
    """Group the profile's registers into as few requests as the meter allows.

    Registers of one kind share a request while at most `profile.max_gap` unwanted registers lie between them and
    the request stays within `profile.max_registers_per_read`.
    """
    blocks: list[ReadBlock] = []
    for reg in sorted(profile.registers(), key=lambda r: (r.kind, r.address)):
        end = reg.address + reg.words
        if (blocks and (last := blocks[-1]).kind == reg.kind
                and reg.address - (last.address + last.count) <= profile.max_gap
                and end - last.address <= profile.max_registers_per_read):
            blocks[-1] = dataclasses.replace(last, count=end - last.address)
        else:
            blocks.append(ReadBlock(reg.kind, reg.address, reg.words))
    return tuple(blocks)


# Modbus Application Protocol V1.1b3 §7: exception codes.
_EXCEPTIONS = {1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "server device failure",
               5: "acknowledge", 6: "server device busy", 8: "memory parity error",
               10: "gateway path unavailable", 11: "gateway target device failed to respond"}
_STRUCT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q", "float32": "f"}


class _Failed(Exception):
    """One request attempt failed; `reason` completes "meter unit 1 on /dev/ttyUSB0 ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Bus:
    """The client and lock of one serial port or TCP endpoint. Hold `lock` around every use of `read()`."""

    def __init__(self, key: tuple[str, ...], link: Link) -> None:
        self.key = key
        self.link = link
        self.lock = asyncio.Lock()
        self.users = 0
        self._client: AsyncModbusSerialClient | AsyncModbusTcpClient | None = None
        self._heard = False

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending and data:
            self._heard = True
        return data

    def _trace_connect(self, connected: bool) -> None:
        log.info("modbus link %s bus=%s", "up" if connected else "down", self.link)

    def _new_client(self) -> AsyncModbusSerialClient | AsyncModbusTcpClient:
        # retries=0 and reconnect_delay=0: read() retries and reconnects itself, inside the bus lock.
        link = self.link
        if isinstance(link, RtuLink):
            return AsyncModbusSerialClient(link.port, framer=FramerType.RTU, baudrate=link.baudrate, bytesize=8,
                                           parity=link.parity, stopbits=link.stopbits, timeout=link.timeout_s,
                                           retries=0, reconnect_delay=0, trace_packet=self._trace_packet,
                                           trace_connect=self._trace_connect)
        return AsyncModbusTcpClient(link.host, port=link.port, timeout=link.timeout_s, retries=0, reconnect_delay=0,
                                    trace_packet=self._trace_packet, trace_connect=self._trace_connect)

    async def _connected(self) -> AsyncModbusSerialClient | AsyncModbusTcpClient:
        if self._client is None:
            self._client = self._new_client()
        if not self._client.connected and not await self._client.connect():
            what = "the serial port does not open" if isinstance(self.link, RtuLink) else "no TCP connection"
            raise _Failed(f"cannot be reached: {what}")
        return self._client

    async def read(self, block: ReadBlock, unit: int) -> list[int]:
        """One request, no retry. Raises _Failed."""
        client = await self._connected()
        self._heard = False
        request = client.read_input_registers if block.kind == "input" else client.read_holding_registers
        try:
            response = await request(block.address, count=block.count, device_id=unit)
        except ModbusException:
            # No valid answer in time: silence, or bytes that failed the CRC or framing (pymodbus drops those).
            reason = "sent an unreadable answer (bad CRC or noise)" if self._heard else "did not answer"
            if isinstance(self.link, RtuLink):
                # A late answer must not be taken for the answer to the next request (RTU frames carry no
                # transaction id): let the line fall quiet before anyone sends again.
                await asyncio.sleep(self.link.timeout_s)
            raise _Failed(reason) from None
        if response.isError():
            code = getattr(response, "exception_code", 0)
            raise _Failed(f"answered Modbus exception {code} ({_EXCEPTIONS.get(code, 'unknown')})")
        if len(response.registers) != block.count:
            raise _Failed(f"answered {len(response.registers)} registers instead of {block.count}")
        return response.registers

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


_buses: dict[tuple[str, ...], _Bus] = {}


def _acquire(link: Link) -> _Bus:
    if isinstance(link, RtuLink):
        key: tuple[str, ...] = ("rtu", os.path.realpath(link.port))
    else:
        key = ("tcp", link.host, str(link.port))
    bus = _buses.get(key)
    if bus is None:
        bus = _buses[key] = _Bus(key, link)
    elif dataclasses.replace(link, port=bus.link.port) != bus.link:
        raise ValueError(f"meters on {link} must share its settings: {bus.link!r} is in use, not {link!r}")
    bus.users += 1
    return bus


def _release(bus: _Bus) -> None:
    bus.users -= 1
    if bus.users == 0:
        bus.close()
        del _buses[bus.key]


class ModbusMeter(EnergyMeter):
    """An energy meter read through `profile` at Modbus unit id `unit` on `link`.

    Each request is tried `attempts` times (a timeout, a CRC error, an exception response or a wrong answer each
    count as one) before `read()` raises MeterError. Call `aclose()` when done: it releases the shared bus.
    """

    def __init__(self, profile: MeterProfile, link: Link, unit: int = 1, attempts: int = 3) -> None:
        # Modbus over Serial Line V1.02 §2.2: individual addresses 1-247 (0 is broadcast); a TCP unit id is a byte.
        if not (1 <= unit <= 247 if isinstance(link, RtuLink) else 0 <= unit <= 255):
            raise ValueError(f"Modbus unit id {unit} is out of range")
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.profile = profile
        self.link = link
        self.unit = unit
        self.attempts = attempts
        self._blocks = plan_reads(profile)
        self._failing = False
        self._bus: _Bus | None = _acquire(link)

    def _where(self) -> str:
        return f"meter unit {self.unit} on {self.link}"

    async def read(self) -> MeterReading:
        if self._bus is None:
            raise MeterError(f"{self._where()} is closed")
        try:
            async with self._bus.lock:
                words: dict[tuple[str, int], int] = {}
                for block in self._blocks:
                    registers = await self._request(self._bus, block)
                    words.update(((block.kind, block.address + i), w) for i, w in enumerate(registers))
            reading = self._decode(words)
        except MeterError:
            self._failing = True  # the caller logs the failure
            raise
        if self._failing:
            log.info("meter answers again unit=%d bus=%s", self.unit, self.link)
            self._failing = False
        return reading

    async def _request(self, bus: _Bus, block: ReadBlock) -> list[int]:
        reason = ""
        for attempt in range(1, self.attempts + 1):
            try:
                return await bus.read(block, self.unit)
            except _Failed as failed:
                reason = failed.reason
                log.debug("meter request failed unit=%d bus=%s kind=%s address=0x%04X attempt=%d reason=%s",
                          self.unit, self.link, block.kind, block.address, attempt, reason)
        raise MeterError(f"{self._where()} {reason} ({self.attempts} attempts)")

    def _decode(self, words: dict[tuple[str, int], int]) -> MeterReading:
        p = self.profile
        return MeterReading(
            energy_wh=self._value("energy_import", p.energy_import, words),
            power_w=self._value("power", p.power, words),
            voltage_v=tuple(self._value(f"voltage L{i}", r, words) for i, r in enumerate(p.voltage, 1)),
            current_a=tuple(self._value(f"current L{i}", r, words) for i, r in enumerate(p.current, 1)),
        )

    def _value(self, what: str, reg: Register, words: dict[tuple[str, int], int]) -> float:
        raw = _decode_register(reg, [words[(reg.kind, reg.address + i)] for i in range(reg.words)])
        where = f"{self._where()}: {what} ({reg.kind} register 0x{reg.address:04X})"
        if self.profile.int_max_invalid and isinstance(raw, int) and raw == _int_max(reg):
            raise MeterError(f"{where} reads 0x{raw:X}, the meter's 'not available' value")
        value = raw * reg.scale
        if not math.isfinite(value):
            raise MeterError(f"{where} reads {raw}, not a number")
        return value

    async def aclose(self) -> None:
        if self._bus is not None:
            bus, self._bus = self._bus, None
            async with bus.lock:
                _release(bus)


def _decode_register(reg: Register, words: Sequence[int]) -> int | float:
    """The raw number in `words` (16-bit registers as read, in wire order), before scaling."""
    ordered = words if reg.word_order == "big" else words[::-1]
    value: int | float = struct.unpack(">" + _STRUCT[reg.type], b"".join(w.to_bytes(2, "big") for w in ordered))[0]
    return value


def _int_max(reg: Register) -> int:
    bits = 16 * reg.words
    return (1 << (bits if reg.type.startswith("u") else bits - 1)) - 1
