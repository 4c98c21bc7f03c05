"""Modbus energy meter driver and meter profiles, against a real pymodbus server (tests/modbus_peer.py).

RTU runs over a socat pseudo-terminal pair; TCP on 127.0.0.1. Fault tests use a short answer timeout (0.2 s), so
each takes about a second; the others a generous one, so a loaded machine causes no retries.
"""

import asyncio
import math
from itertools import groupby
from pathlib import Path

import pytest

from drivers import meter_profile
from drivers.meter_profile import load_profile, profile_names
from drivers.modbus_meter import Link, ModbusMeter, RtuLink, TcpLink, plan_reads
from hal.meter import MeterError
from tests.modbus_peer import Fault, MeterServer, PtyLine, SimulatedMeter
from tests.prerequisites import require

TIMEOUT_S = 1.0
FAULT_TIMEOUT_S = 0.2
ATTEMPTS = 3
REQUIRED_PROFILES = {"sdm630", "sdm120", "sdm72dm", "abb-b23", "em340"}
ENERGY_WH = 1_234_500.0  # a whole number of 100 Wh: exact in every profile's resolution
POWER_W = 7360.5
VOLTAGE_V = [229.9, 231.2, 230.4]
CURRENT_A = [10.25, 10.5, 9.75]


@pytest.fixture
async def line(via, tmp_path):
    """The simulated RS-485 line when the test runs `via` "rtu" (socat is required on CI), else None."""
    if via != "rtu":
        yield None
        return
    require("socat", "socat")
    pty = PtyLine(tmp_path)
    await pty.start()
    yield pty
    await pty.stop()


@pytest.fixture
async def servers():
    made: list[MeterServer] = []

    def make(*meters: SimulatedMeter) -> MeterServer:
        made.append(server := MeterServer(*meters))
        return server

    yield make
    for server in made:
        await server.stop()


@pytest.fixture
async def meters():
    made: list[ModbusMeter] = []

    def make(profile_name: str, link: Link, unit: int = 1) -> ModbusMeter:
        made.append(meter := ModbusMeter(load_profile(profile_name), link, unit=unit, attempts=ATTEMPTS))
        return meter

    yield make
    for meter in made:
        await meter.aclose()


async def serve(server: MeterServer, line: PtyLine | None = None, timeout_s: float = TIMEOUT_S) -> Link:
    """Start `server` on the RTU `line`, or on TCP without one; the link a meter uses to reach it."""
    if line is None:
        return TcpLink("127.0.0.1", await server.serve_tcp(), timeout_s=timeout_s)
    await server.serve_rtu(line.meter_end)
    return RtuLink(str(line.charger_end), timeout_s=timeout_s)


def simulated(profile_name: str, unit: int = 1) -> SimulatedMeter:
    sim = SimulatedMeter(load_profile(profile_name), unit)
    sim.energy_wh, sim.power_w = ENERGY_WH, POWER_W
    sim.voltage_v = VOLTAGE_V[:len(sim.voltage_v)]
    sim.current_a = CURRENT_A[:len(sim.current_a)]
    return sim


def assert_reading(reading, sim: SimulatedMeter) -> None:
    assert reading.energy_wh == pytest.approx(sim.energy_wh, rel=1e-7)
    assert reading.power_w == pytest.approx(sim.power_w, rel=1e-6)
    assert reading.voltage_v == pytest.approx(tuple(sim.voltage_v), rel=1e-6)
    assert reading.current_a == pytest.approx(tuple(sim.current_a), rel=1e-6)


# --- profiles -------------------------------------------------------------------------------------------------


def test_shipped_profiles_load_and_cite_their_source():
    names = profile_names()
    assert set(names) >= REQUIRED_PROFILES
    for name in names:
        profile = load_profile(name)
        assert profile.name == name
        assert not profile.verified, f"{name}: mark verified only after a bench test"
        assert "http" in profile.source
        assert (profile.energy_import.kind, profile.energy_import.address) != ("input", 0x0156), \
            "Eastron 0x0156 is import + export"
    sdm630 = load_profile("sdm630").energy_import
    assert (sdm630.kind, sdm630.address, sdm630.type, sdm630.scale) == ("input", 0x0048, "float32", 1000.0)
    assert load_profile("abb-b23").energy_import.type == "uint64"


@pytest.mark.parametrize(("name", "requests"), [
    ("sdm630", 3), ("sdm120", 4), ("sdm72dm", 2), ("sdm72dm-v2", 3), ("abb-b23", 2), ("em340", 2)])
def test_read_plan_uses_few_requests(name, requests):
    profile = load_profile(name)
    blocks = plan_reads(profile)
    assert len(blocks) == requests
    assert all(b.count <= profile.max_registers_per_read for b in blocks)


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown meter profile 'sdm999'; known profiles: .*sdm630"):
        load_profile("sdm999")
    with pytest.raises(ValueError, match="does not exist"):
        load_profile("/nonexistent/meter.toml")


def test_name_lookup_prefers_the_installed_profiles(tmp_path, monkeypatch):
    installed, source_tree = tmp_path / "share", tmp_path / "src"
    installed.mkdir()
    source_tree.mkdir()
    text = Path(meter_profile.SEARCH_DIRS[-1], "sdm630.toml").read_text()
    (installed / "sdm630.toml").write_text(text.replace('model = "Eastron SDM630-Modbus V2"', 'model = "installed"'))
    (source_tree / "sdm630.toml").write_text(text)
    (source_tree / "other.toml").write_text(text)
    monkeypatch.setattr(meter_profile, "SEARCH_DIRS", (installed, source_tree))
    assert load_profile("sdm630").model == "installed"
    assert profile_names() == ["other", "sdm630"]
    assert load_profile(str(source_tree / "sdm630.toml")).model == "Eastron SDM630-Modbus V2"


GOOD = """
model = "Test meter"
source = "Test map, https://example.invalid/map.pdf"
verified = false
energy_import = { kind = "input", address = 0x0048, type = "float32", word_order = "big", scale = 1000.0 }
power = { kind = "input", address = 0x0034, type = "float32", word_order = "big", scale = 1.0 }
voltage = [{ kind = "input", address = 0x0000, type = "float32", word_order = "big", scale = 1.0 }]
"""


@pytest.mark.parametrize(("change", "message"), [
    (("verified = false", "verified = false\ncolour = 1"), "colour: unknown key"),
    (("scale = 1.0 }\nvoltage", "scale = 1.0, unit = 1 }\nvoltage"), r"power.unit: unknown key"),
    (('source = "Test map, https://example.invalid/map.pdf"\n', ""), "source: missing"),
    (('kind = "input", address = 0x0048', 'kind = "coil", address = 0x0048'),
     r"energy_import.kind: must be one of 'input', 'holding', not str 'coil'"),
    (('type = "float32", word_order = "big", scale = 1000.0', 'type = "float", word_order = "big", scale = 1000.0'),
     r"energy_import.type: must be one of"),
    (('word_order = "big", scale = 1000.0', 'word_order = "middle", scale = 1000.0'), r"energy_import.word_order"),
    (("address = 0x0048", "address = true"), r"energy_import.address: must be an integer from 0 to 65534"),
    (("address = 0x0048", "address = 65535"), r"energy_import.address: must be an integer"),
    (("scale = 1000.0", "scale = 0"), r"energy_import.scale: must be a non-zero number"),
    (("scale = 1000.0", 'scale = "1000"'), r"energy_import.scale: must be a non-zero number"),
    (("verified = false", 'verified = "no"'), "verified: must be true or false"),
    (("address = 0x0034", "address = 0x0049"), r"overlaps energy_import"),
    (("scale = 1.0 }]", "scale = 1.0 }, {}, {}, {}]"), r"voltage: must be a list of 0 to 3 registers"),
    (("voltage = [", "current = 3\nvoltage = ["), "current: must be a list of 0 to 3 registers"),
    (("verified = false", "verified = false\nmax_registers_per_read = 1"), r"needs 2 registers"),
    (("verified = false", "verified = false\nmax_gap = -1"), "max_gap: must be an integer from 0"),
    (("model =", "model"), "not valid TOML"),
])
def test_malformed_profile_names_file_and_key(tmp_path, change, message):
    path = tmp_path / "broken.toml"
    assert change[0] in GOOD
    path.write_text(GOOD.replace(change[0], change[1], 1))
    with pytest.raises(ValueError, match=message) as caught:
        load_profile(str(path))
    assert str(path) in str(caught.value)


def test_good_test_profile_loads(tmp_path):
    (path := tmp_path / "good.toml").write_text(GOOD)
    profile = load_profile(str(path))
    assert (profile.name, len(profile.voltage), profile.current) == ("good", 1, ())


# --- reading --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REQUIRED_PROFILES | {"sdm72dm-v2"}))
@pytest.mark.parametrize("via", ["tcp", "rtu"])
async def test_every_profile_decodes(line, servers, meters, name, via):
    sim = simulated(name, unit=7)
    server = servers(sim)
    meter = meters(name, await serve(server, line), unit=7)
    assert_reading(await meter.read(), sim)
    sim.energy_wh += 500.0
    sim.power_w = 0.0
    reading = await meter.read()
    assert reading.energy_wh == pytest.approx(ENERGY_WH + 500.0, rel=1e-7)
    assert reading.power_w == 0.0
    assert len(reading.voltage_v) == len(sim.profile.voltage)
    assert server.requests == [7] * (2 * len(plan_reads(sim.profile)))


@pytest.mark.parametrize(("name", "words", "energy_wh"), [
    ("sdm630", [0x4479, 0xC000], 999_000.0),  # float32 999.0 kWh, high word first
    ("em340", [0x3039, 0x0000], 1_234_500.0),  # int32 12345 (kWh*10), low word first
    ("abb-b23", [0x0000, 0x0000, 0x0001, 0xE240], 1_234_560.0),  # uint64 123456 (0.01 kWh), high word first
])
async def test_known_bit_patterns(servers, meters, name, words, energy_wh):
    sim = simulated(name)
    sim.raw[sim.profile.energy_import] = words
    server = servers(sim)
    meter = meters(name, await serve(server))
    assert (await meter.read()).energy_wh == energy_wh


@pytest.mark.parametrize("via", ["rtu"])
async def test_two_meters_share_one_rtu_line(line, servers, meters):
    sims = simulated("sdm630", unit=1), simulated("abb-b23", unit=2)
    sims[1].energy_wh = 2 * ENERGY_WH
    server = servers(*sims)
    link = await serve(server, line)
    first, second = meters("sdm630", link, unit=1), meters("abb-b23", link, unit=2)
    for _ in range(10):
        readings = await asyncio.gather(first.read(), second.read(), first.read(), second.read())
        for reading, sim in zip(readings, sims * 2, strict=True):
            assert_reading(reading, sim)
    # Each read's requests arrive together: the other meter never cuts in.
    per_read = {1: len(plan_reads(sims[0].profile)), 2: len(plan_reads(sims[1].profile))}
    runs = [(unit, len(list(group))) for unit, group in groupby(server.requests)]
    assert all(length % per_read[unit] == 0 for unit, length in runs), runs
    assert len(runs) > 2
    with pytest.raises(ValueError, match="must share its settings"):
        meters("sdm630", RtuLink(str(line.charger_end), baudrate=19200, timeout_s=TIMEOUT_S), unit=3)


@pytest.mark.parametrize(("via", "fault", "message"), [
    ("tcp", Fault.SILENT, "did not answer"),
    ("tcp", Fault.EXCEPTION, r"answered Modbus exception 6 \(server device busy\)"),
    ("rtu", Fault.SILENT, "did not answer"),
    ("rtu", Fault.EXCEPTION, r"answered Modbus exception 6 \(server device busy\)"),
    ("rtu", Fault.GARBAGE, r"sent an unreadable answer \(bad CRC or noise\)"),
])
async def test_fault_is_retried_then_reported_then_recovers(line, servers, meters, via, fault, message):
    sim = simulated("sdm630", unit=5)
    server = servers(sim)
    link = await serve(server, line, FAULT_TIMEOUT_S)
    meter = meters("sdm630", link, unit=5)
    await meter.read()
    seen = len(server.requests)
    sim.fault = fault
    with pytest.raises(MeterError, match=rf"^meter unit 5 on {link} {message} \({ATTEMPTS} attempts\)$"):
        await meter.read()
    assert len(server.requests) - seen == ATTEMPTS
    sim.fault = Fault.NONE
    assert_reading(await meter.read(), sim)


@pytest.mark.parametrize(("name", "value", "raw", "message"), [
    ("sdm630", "energy_wh", None, r"energy_import \(input register 0x0048\) reads nan, not a number"),
    ("sdm630", "power_w", None, r"power \(input register 0x0034\) reads inf, not a number"),
    ("abb-b23", "voltage", [0xFFFF, 0xFFFF], r"voltage L2 \(holding register 0x5B02\) reads 0xFFFFFFFF"),
    ("em340", "power", [0xFFFF, 0x7FFF], r"power \(input register 0x0028\) reads 0x7FFFFFFF"),
])
async def test_value_without_a_number_is_an_error(servers, meters, name, value, raw, message):
    sim = simulated(name)
    if raw is None:
        setattr(sim, value, math.nan if value == "energy_wh" else math.inf)
    else:
        sim.raw[sim.profile.voltage[1] if value == "voltage" else sim.profile.power] = raw
    meter = meters(name, await serve(servers(sim)))
    with pytest.raises(MeterError, match=message):
        await meter.read()


@pytest.mark.parametrize("via", ["rtu"])
async def test_rtu_port_disappears_and_comes_back(line, servers, meters):
    sim = simulated("em340")
    server = servers(sim)
    meter = meters("em340", await serve(server, line, FAULT_TIMEOUT_S))
    assert_reading(await meter.read(), sim)
    await server.stop()
    await line.stop()  # the USB adapter is pulled
    with pytest.raises(MeterError, match=f"^meter unit 1 on {line.charger_end} cannot be reached: the serial port"):
        await meter.read()
    await line.start()
    await server.serve_rtu(line.meter_end)
    sim.energy_wh += 100.0
    assert_reading(await meter.read(), sim)


async def test_tcp_meter_restarts(servers, meters):
    sim = simulated("abb-b23")
    server = servers(sim)
    link = await serve(server, timeout_s=FAULT_TIMEOUT_S)
    meter = meters("abb-b23", link)
    assert_reading(await meter.read(), sim)
    await server.stop()
    with pytest.raises(MeterError, match=f"^meter unit 1 on {link} "):
        await meter.read()
    assert isinstance(link, TcpLink)
    await server.serve_tcp(link.port)
    assert_reading(await meter.read(), sim)


def test_unit_id_and_attempts_are_checked():
    profile = load_profile("sdm630")
    with pytest.raises(ValueError, match="unit id 248"):
        ModbusMeter(profile, RtuLink("/dev/ttyUSB0"), unit=248)
    with pytest.raises(ValueError, match="attempts"):
        ModbusMeter(profile, TcpLink("127.0.0.1"), attempts=0)
