"""Hostile numbers and config files (issue 15, cases 3 and 6).

Every integer setting has a range: ChangeConfiguration outside it is Rejected, a stored value outside it is
repaired at start. `evsed config check` refuses (exit 2, naming the key) every file `evsed run` would die on,
and lists all of a file's errors.
"""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from ocpp.v16 import call

from firmware.ocpp16 import keys
from firmware.persistence.db import Store
from firmware.settings import SETTINGS, Settings
from tests.conftest import CHARGE_POINT

HUGE = "9" * 400
"""A 400-digit number: Python parses it, a timer cannot take it."""
UNPARSABLE = "9" * 5000
"""Above Python's 4300-digit limit for int(text)."""

SUBPROCESS_S = 30


def evsed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "firmware", *args], capture_output=True, text=True,
                          timeout=SUBPROCESS_S)


BASE = """[charge_point]
id = "CP_TEST"
connectors = 2
[csms]
url = "ws://127.0.0.1:9/ocpp"
reconnect_max_s = 5
[hardware]
backend = "sim"
[storage]
path = {db}
[logging]
level = "debug"
[ocpp]
"""


def base(tmp_path: Path) -> str:
    """A valid file of a simulated charger; each hostile file differs from it in one place."""
    return BASE.format(db=json.dumps(str(tmp_path / "state" / "evsed.db")))


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "evsed.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


HOSTILE: list[tuple[str, object, str]] = [
    ("port 99999", ("ws://127.0.0.1:9/ocpp", "ws://127.0.0.1:99999/ocpp"), "[csms] url"),
    ("port 0", ("ws://127.0.0.1:9/ocpp", "ws://127.0.0.1:0/ocpp"), "[csms] url"),
    ("port not a number", ("ws://127.0.0.1:9/ocpp", "ws://127.0.0.1:x/ocpp"), "[csms] url"),
    ("bad IPv6", ("ws://127.0.0.1:9/ocpp", "ws://[::1/x"), "[csms] url"),
    ("user without password", ("ws://127.0.0.1:9/ocpp", "ws://someone@127.0.0.1:9/ocpp"), "[csms] url"),
    ("nan reconnect", ("reconnect_max_s = 5", "reconnect_max_s = nan"), "[csms] reconnect_max_s"),
    ("inf reconnect", ("reconnect_max_s = 5", "reconnect_max_s = inf"), "[csms] reconnect_max_s"),
    ("1e400 call timeout", ("reconnect_max_s = 5", "reconnect_max_s = 5\ncall_timeout_s = 1e400"),
     "[csms] call_timeout_s"),
    ("nan call timeout", ("reconnect_max_s = 5", "reconnect_max_s = 5\ncall_timeout_s = nan"),
     "[csms] call_timeout_s"),
    ("400-digit call timeout", ("reconnect_max_s = 5", f"reconnect_max_s = 5\ncall_timeout_s = {HUGE}"),
     "[csms] call_timeout_s"),
    ("nan sim power", ('backend = "sim"', 'backend = "sim"\nsim = { power_w = nan }'), "[hardware.sim] power_w"),
    ("two-phase sim EV", ('backend = "sim"', 'backend = "sim"\nsim = { phases = 2 }'), "[hardware.sim] phases"),
    ("nan rated current", ('id = "CP_TEST"', 'id = "CP_TEST"\nmax_current_a = nan'), "[charge_point] max_current_a"),
    ("rated current a pilot cannot offer", ('id = "CP_TEST"', 'id = "CP_TEST"\nmax_current_a = 100'),
     "[charge_point] max_current_a"),
    ("400-digit HeartbeatInterval", ("[ocpp]", f"[ocpp]\nHeartbeatInterval = {HUGE}"), "[ocpp] HeartbeatInterval"),
    ("MeterValueSampleInterval 1e18", ("[ocpp]", "[ocpp]\nMeterValueSampleInterval = 1000000000000000000"),
     "[ocpp] MeterValueSampleInterval"),
    ("ConnectionTimeOut of a year", ("[ocpp]", "[ocpp]\nConnectionTimeOut = 31536000"), "[ocpp] ConnectionTimeOut"),
    ("empty storage path", ("path = ", 'path = ""\n#'), "[storage] path"),
    ("storage too deep for the socket", ("path = ", f'path = "/{"d" * 100}/evsed.db"\n#'), "[storage] path"),
    ("id with a newline", ('id = "CP_TEST"', 'id = "CP\\nTEST"'), "[charge_point] id"),
    ("id with NUL", ('id = "CP_TEST"', 'id = "CP\\u0000TEST"'), "[charge_point] id"),
    ("id not URL-safe", ('id = "CP_TEST"', 'id = "CP\\u00e9"'), "[charge_point] id"),
    ("id a dot segment", ('id = "CP_TEST"', 'id = ".."'), "[charge_point] id"),
    ("5000-digit integer", ("[ocpp]", f"[ocpp]\nHeartbeatInterval = {UNPARSABLE}"), "not valid TOML"),
    ("deeply nested array", ("[ocpp]", "[ocpp]\nHeartbeatInterval = " + "[" * 5000 + "]" * 5000),
     "not valid TOML"),
    ("deep array in a known key", ('backend = "sim"', 'backend = ' + "[" * 400 + "]" * 400),
     "[hardware] backend"),
    ("non-UTF-8", b"\xff\xfe[charge_point]\n", "not UTF-8"),
]


def hostile_file(tmp_path: Path, change: object) -> Path:
    if isinstance(change, bytes):
        return write(tmp_path, change)
    assert isinstance(change, tuple)
    old, new = change
    text = base(tmp_path)
    assert old in text, old
    return write(tmp_path, text.replace(old, new, 1))


def test_the_base_file_is_valid(tmp_path):
    """The hostile files below differ from this one in one place only."""
    result = evsed("config", "check", "-c", str(write(tmp_path, base(tmp_path))))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("change", "named"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_config_check_refuses_the_file_naming_the_key(tmp_path, change, named):
    result = evsed("config", "check", "-c", str(hostile_file(tmp_path, change)))
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr
    assert len(result.stderr) < 2000, "the message does not echo a huge value"


@pytest.mark.parametrize("case", ["port 99999", "nan reconnect", "400-digit HeartbeatInterval",
                                  "empty storage path", "id with a newline", "bad IPv6"])
def test_run_refuses_the_same_files_and_creates_nothing(tmp_path, case):
    change, named = next(c[1:] for c in HOSTILE if c[0] == case)
    result = evsed("run", "-c", str(hostile_file(tmp_path, change)))
    assert result.returncode == 2, result.stderr[-2000:]
    assert named in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists(), "nothing half-starts"


def test_config_check_lists_every_error(tmp_path):
    text = base(tmp_path)
    for old, new in (("ws://127.0.0.1:9/ocpp", "ws://user:secret@127.0.0.1:99999/ocpp"),
                     ("reconnect_max_s = 5", "reconnect_max_s = nan"),
                     ('id = "CP_TEST"', 'id = "CP\\nTEST"'),
                     ('level = "debug"', 'level = "loud"'),
                     ("[ocpp]", f"[ocpp]\nHeartbeatInterval = {HUGE}\nMinimumStatusDuration = -1")):
        text = text.replace(old, new, 1)
    result = evsed("config", "check", "-c", str(write(tmp_path, text)))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("evsed: configuration error:")]
    for named in ("[csms] url", "[csms] reconnect_max_s", "[charge_point] id", "[logging] level",
                  "[ocpp] HeartbeatInterval", "[ocpp] MinimumStatusDuration"):
        assert sum(named in line for line in errors) == 1, (named, result.stderr)
    assert "secret" not in result.stderr, "the CSMS password is never shown"


def test_an_error_inside_a_connector_table_does_not_hide_the_others(tmp_path):
    pins = "[hardware.connector.{n}]\ncontactor = {{ pin = {pin}, feedback_timeout_s = nan }}\n" \
           "plug = {{ pin = {plug} }}\nmeter = {{ profile = \"sdm630\", port = \"/dev/ttyUSB0\", unit_id = 0 }}\n"
    text = base(tmp_path).replace('backend = "sim"', 'backend = "pi"').replace("[storage]", "".join(
        pins.format(n=n, pin=pin, plug=plug) for n, pin, plug in ((1, 5, 6), (2, 13, 19))) + "[storage]")
    result = evsed("config", "check", "-c", str(write(tmp_path, text)))
    assert result.returncode == 2
    for named in ("[hardware.connector.1.contactor] feedback_timeout_s", "[hardware.connector.1.meter] unit_id",
                  "[hardware.connector.2.contactor] feedback_timeout_s", "[hardware.connector.2.meter] unit_id"):
        assert named in result.stderr, (named, result.stderr)


def integer_settings() -> list[str]:
    return [name for name, spec in SETTINGS.items() if spec.kind is int]


def test_every_integer_setting_has_a_range():
    for name in integer_settings():
        spec = SETTINGS[name]
        assert spec.minimum is not None and spec.maximum is not None, name
        assert spec.minimum <= spec.default <= spec.maximum, name
        assert spec.maximum < 2**31, f"{name}: fits every timer and a 32-bit field"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(Store(tmp_path / "evsed.db"), {}, fixed={"connectors": 2})


def writable_integer_keys() -> list[str]:
    return [key for key, name in keys.KEYS.items() if SETTINGS[name].kind is int and not SETTINGS[name].readonly]


@pytest.mark.parametrize("key", writable_integer_keys())
def test_change_configuration_takes_the_range_and_rejects_beyond_it(settings, key):
    spec = SETTINGS[keys.KEYS[key]]
    before = settings[spec.name]
    for text in (str(spec.maximum + 1), str(spec.minimum - 1), HUGE, UNPARSABLE, "-" + HUGE, "1e3", "٣", "1_0"):
        assert keys.change(settings, key, text) is keys.ChangeResult.REJECTED, (key, text[:20])
        assert settings[spec.name] == before
    assert keys.change(settings, key, str(spec.maximum)) is keys.ChangeResult.ACCEPTED
    assert keys.change(settings, key, f" {spec.minimum} ") is keys.ChangeResult.ACCEPTED
    assert settings[spec.name] == spec.minimum


def test_presets_name_every_bad_key():
    with pytest.raises(ValueError) as error:
        keys.presets({"HeartbeatInterval": int(HUGE), "ConnectionTimeOut": 0, "NoSuchKey": 1,
                      "WebSocketPingInterval": 30})
    lines = str(error.value).splitlines()
    assert len(lines) == 3
    assert [line.split(":")[0] for line in lines] == \
           ["[ocpp] HeartbeatInterval", "[ocpp] ConnectionTimeOut", "[ocpp] NoSuchKey"]
    assert len(lines[0]) < 200, "a huge value is not echoed"


def store_rows(store: Store, rows: dict[str, str]) -> None:
    with store.atomic():
        for name, text in rows.items():
            store.db.execute("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", [name, text])


def test_a_stored_value_out_of_range_is_repaired_at_start(tmp_path, caplog):
    store = Store(tmp_path / "evsed.db")
    Settings(store, {}, fixed={"connectors": 2})
    store_rows(store, {"heartbeat_interval_s": HUGE, "connection_timeout_s": str(10**9),
                       "transaction_message_retry_interval_s": UNPARSABLE, "sample_interval_s": "[[[",
                       "minimum_status_duration_s": "-5", "websocket_ping_interval_s": "45"})
    with caplog.at_level(logging.WARNING, logger="firmware.settings"):
        settings = Settings(store, {"connection_timeout_s": 45}, fixed={"connectors": 2})
    assert settings["heartbeat_interval_s"] == SETTINGS["heartbeat_interval_s"].default
    assert settings["connection_timeout_s"] == 45, "the valid preset, not the default"
    assert settings["transaction_message_retry_interval_s"] == SETTINGS["transaction_message_retry_interval_s"].default
    assert settings["sample_interval_s"] == SETTINGS["sample_interval_s"].default
    assert settings["minimum_status_duration_s"] == SETTINGS["minimum_status_duration_s"].default
    assert settings["websocket_ping_interval_s"] == 45, "a valid stored value stays"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    repaired = {"heartbeat_interval_s", "connection_timeout_s", "transaction_message_retry_interval_s",
                "sample_interval_s", "minimum_status_duration_s"}
    assert sorted(w.split("name=")[1].split()[0] for w in warnings) == sorted(repaired), warnings
    assert all(len(w) < 300 for w in warnings), "the stored value is truncated"
    assert any(f"used={settings['connection_timeout_s']}" in w for w in warnings)
    stored = {name: json.loads(text) for name, text in store.db.execute("SELECT name, value FROM settings")}
    assert stored["heartbeat_interval_s"] == SETTINGS["heartbeat_interval_s"].default, "rewritten in the table"
    assert stored["connection_timeout_s"] == 45
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="firmware.settings"):
        Settings(store, {}, fixed={"connectors": 2})
    assert not caplog.records, "repaired once, for good"


async def test_change_configuration_with_a_huge_value_is_rejected_and_the_daemon_charges(daemon, csms):
    for key in ("HeartbeatInterval", "TransactionMessageRetryInterval", "ConnectionTimeOut",
                "MeterValueSampleInterval", "MinimumStatusDuration", "WebSocketPingInterval",
                "ClockAlignedDataInterval"):
        answer = await csms.call(CHARGE_POINT, call.ChangeConfiguration(key=key, value=HUGE))
        assert answer.status == "Rejected", key
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["HeartbeatInterval", "ConnectionTimeOut"]))
    assert [k["value"] for k in conf.configuration_key] == ["300", "3"]
    await daemon.card_start(1)
    await csms.wait_for("MeterValues", within=5)
    assert daemon.proc.returncode is None, daemon.log()[-3000:]
