"""Configuration file errors, stored OCPP configuration keys, restarts, and the demo as the README runs it."""

import asyncio
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ocpp.v16 import call

from firmware.config_file import ConfigError, parse_config
from tests.conftest import CHARGE_POINT, config_text

MINIMAL = """
[charge_point]
id = "CP_014"
connectors = 2

[csms]
url = "ws://127.0.0.1:9000/ocpp"

[hardware]
backend = "sim"

[storage]
path = "/var/lib/evsed/evsed.db"
"""


def test_minimal_config_from_the_issue_works_as_written():
    config = parse_config(MINIMAL)
    assert config.charge_point.id == "CP_014" and config.charge_point.connectors == 2
    assert config.control_socket == Path("/var/lib/evsed/evsed.sock")


@pytest.mark.parametrize(("text", "named"), [
    (MINIMAL.replace("connectors = 2", 'connectors = "2"'), "[charge_point] connectors: expected integer"),
    (MINIMAL.replace('id = "CP_014"', ""), "[charge_point] id: required value missing"),
    (MINIMAL.replace("[hardware]\nbackend = \"sim\"", ""), "[hardware]: required value missing"),
    (MINIMAL + "\n[csms2]\n", "[csms2]: unknown table"),
    (MINIMAL.replace("[csms]", "[csms]\nretry = 3"), "[csms] retry: unknown key"),
    (MINIMAL.replace('backend = "sim"', 'backend = "gpoi"'), "[hardware] backend: must be one of 'sim'"),
    (MINIMAL.replace("ws://", "http://"), "[csms] url: must be a ws:// or wss:// URL"),
    (MINIMAL + "\n[ocpp]\nConnectionTimeout = 30\n", "[ocpp] ConnectionTimeout: not a configuration key"),
    (MINIMAL + "\n[ocpp]\nConnectionTimeOut = \"30\"\n", "[ocpp] ConnectionTimeOut: expected integer"),
    (MINIMAL + "\n[ocpp]\nNumberOfConnectors = 3\n", "[ocpp] NumberOfConnectors: read-only"),
    (MINIMAL + "\n[ocpp]\nMeterValuesSampledData = \"Temperature\"\n", "unsupported member(s) Temperature"),
    ("[charge_point\n", "not valid TOML"),
])
def test_bad_config_names_the_key(text, named):
    with pytest.raises(ConfigError) as error:
        parse_config(text, "evsed.toml")
    assert named in str(error.value)


def test_daemon_refuses_bad_config_and_creates_nothing(tmp_path):
    db = tmp_path / "state" / "evsed.db"
    bad = tmp_path / "evsed.toml"
    bad.write_text(config_text("ws://127.0.0.1:9/ocpp", db) + "MeterValueSampleInterval = -5\n")
    result = subprocess.run([sys.executable, "-m", "firmware", "run", "-c", str(bad)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert "[ocpp] MeterValueSampleInterval: must be at least 0" in result.stderr
    assert not db.parent.exists(), "nothing half-starts"
    check = subprocess.run([sys.executable, "-m", "firmware", "config", "check", "-c", str(bad)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 2 and "MeterValueSampleInterval" in check.stderr
    missing = subprocess.run([sys.executable, "-m", "firmware", "run", "-c", str(tmp_path / "nope.toml")],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


async def get_key(csms, key):
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=[key]))
    return conf.configuration_key[0]["value"]


async def test_change_configuration_wins_over_seed_and_survives_restart(make_daemon, csms, tmp_path):
    d = await make_daemon(ocpp={"ConnectionTimeOut": 30, "StopTransactionOnEVSideDisconnect": False})
    assert await get_key(csms, "ConnectionTimeOut") == "30"
    assert await get_key(csms, "StopTransactionOnEVSideDisconnect") == "false"
    change = await csms.call(CHARGE_POINT, call.ChangeConfiguration(key="ConnectionTimeOut", value="45"))
    assert change.status == "Accepted"
    for key, value, status in (("NoSuchKey", "1", "NotSupported"), ("NumberOfConnectors", "5", "Rejected"),
                               ("ConnectionTimeOut", "soon", "Rejected"), ("ConnectionTimeOut", "0", "Rejected"),
                               ("MeterValuesSampledData", "Bogus.Measurand", "Rejected")):
        answer = await csms.call(CHARGE_POINT, call.ChangeConfiguration(key=key, value=value))
        assert answer.status == status, key
    conf = await csms.call(CHARGE_POINT, call.GetConfiguration(key=["NumberOfConnectors", "NoSuchKey"]))
    assert conf.configuration_key == [{"key": "NumberOfConnectors", "readonly": True, "value": "2"}]
    assert conf.unknown_key == ["NoSuchKey"]
    assert await d.stop() == 0
    await make_daemon(ocpp={"ConnectionTimeOut": 30}, boot=False, workdir=tmp_path)
    await csms.wait_until(lambda: len(csms.of("BootNotification")) == 2)
    assert await get_key(csms, "ConnectionTimeOut") == "45"


async def test_sigkill_mid_session_is_closed_at_restart(make_daemon, csms, tmp_path):
    d = await make_daemon(ocpp={"MeterValueSampleInterval": 1})
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="tap", uid="04A1B2C3", connector=None)
    tx_id = await d.transaction_id(1)
    start = csms.of("StartTransaction")[0]
    await csms.wait_for("MeterValues", within=5,
                        where=lambda p: p["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic")
    energy_before_kill = (await d.connector(1))["energy_wh"]
    await d.stop(signal.SIGKILL)
    d2 = await make_daemon(ocpp={"MeterValueSampleInterval": 1}, boot=False, workdir=tmp_path)
    stop = await csms.wait_for("StopTransaction", within=15)
    assert stop.payload["transactionId"] == tx_id
    assert stop.payload["reason"] == "Reboot", "same kernel boot: the daemon restarted, the system did not"
    assert stop.payload["meterStop"] >= start.payload["meterStart"]
    c = await d2.wait_state(1, contactor_closed=False, transaction_id=None)
    assert c["energy_wh"] >= energy_before_kill, "the simulated meter's register survives the restart"
    assert len(csms.of("StartTransaction")) == 1


async def test_the_simulated_meter_counts_what_flowed_until_the_restart_after_a_kill(make_daemon, csms, tmp_path):
    """A real meter keeps counting outside the daemon, and a contactor output keeps its level after a kill
    until the next start opens it: with no sample taken before the kill (60 s interval), the stop still
    reads at least what 11 kW delivered in the seconds the session ran."""
    d = await make_daemon(ocpp={"MeterValueSampleInterval": 60})
    await d.card_start(1)
    started = asyncio.get_running_loop().time()
    await asyncio.sleep(2)
    await d.stop(signal.SIGKILL)
    ran_s = asyncio.get_running_loop().time() - started
    await make_daemon(ocpp={"MeterValueSampleInterval": 60}, boot=False, workdir=tmp_path)
    stop = await csms.wait_for("StopTransaction", within=15)
    start = csms.of("StartTransaction")[0]
    assert stop.payload["meterStop"] - start.payload["meterStart"] >= int(11_000 * ran_s / 3600), stop.payload


def evsed_command() -> list[str]:
    script = Path(sys.executable).with_name("evsed")
    return [str(script)] if script.exists() else [sys.executable, "-m", "firmware"]


def test_demo_as_the_readme_runs_it():
    result = subprocess.run([*evsed_command(), "demo"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for line in ("BootNotification", "StartTransaction connector 1", "RemoteStartTransaction connector 2",
                 "StopTransaction transaction 1001", "reason Remote", "demo finished"):
        assert line in out, line
    lines = out.splitlines()
    assert sum("contactor closed: True" in line for line in lines) == 2, "both sessions show the contactor closing"
    summary = next(i for i, line in enumerate(lines) if "summary" in line)
    assert "connector 2: Available" in " ".join(lines[:summary]), "the summary comes after the last status"
    card, qr, total = (int(n) for n in re.findall(r"(\d+) Wh", lines[summary]))
    assert card > 0 and qr > 0 and total == card + qr, lines[summary]


async def test_sim_command_line(make_daemon, csms):
    d = await make_daemon()
    assert d.socket.stat().st_mode & 0o777 == 0o600, "the control socket is owner-only"
    run = [*evsed_command(), "sim", "-c", str(d.config)]
    proc = await asyncio.create_subprocess_exec(*run, "tap", "zz", stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 1 and b"not hexadecimal" in err
    proc = await asyncio.create_subprocess_exec(*run, "plug", "7", stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 1 and b"no connector 7" in err
    for args in (["plug", "1"], ["tap", "04:a1:b2:c3"]):
        proc = await asyncio.create_subprocess_exec(*run, *args)
        assert await proc.wait() == 0
    start = await csms.wait_for("StartTransaction")
    assert start.payload["idTag"] == "04A1B2C3"
    proc = await asyncio.create_subprocess_exec(*run, "state", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert b'"status": "Charging"' in out
    proc = await asyncio.create_subprocess_exec(*run, "card", "04a1b2c3", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert json.loads(out)["cache"]["status"] == "Accepted", "the CSMS's Authorize answer was cached"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
async def test_resume_configured_keeps_the_transaction_through_a_restart(make_daemon, csms, tmp_path, how):
    """`resume_transactions = true`: killed or stopped mid-session with the EV still plugged in, the
    charger goes on with the same transaction: no StopTransaction until the driver ends it."""
    options = {"ocpp": {"MeterValueSampleInterval": 1}, "resume_transactions": True}
    d = await make_daemon(**options)
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="tap", uid="04A1B2C3", connector=None)
    tx_id = await d.transaction_id(1)
    assert await d.stop(how) == (0 if how == signal.SIGTERM else -signal.SIGKILL)
    after_kill = len(csms.received)
    d = await make_daemon(boot=False, workdir=tmp_path, **options)
    c = await d.wait_state(1, status="Charging", contactor_closed=True, transaction_id=tx_id)
    assert c["plugged"], "the EV stayed plugged in through the restart"
    await csms.wait_for("MeterValues", within=5, after=after_kill, where=lambda p: p.get("transactionId") == tx_id)
    assert not csms.of("StopTransaction")
    await d.cmd(cmd="tap", uid="04A1B2C3", connector=None)
    stop = await csms.wait_for("StopTransaction")
    assert stop.payload["transactionId"] == tx_id and stop.payload["reason"] == "Local"
    assert len(csms.of("StartTransaction")) == 1 and "interrupted transaction resumed" in d.log()


async def test_a_resumed_transaction_keeps_its_group_and_its_begin_values(make_daemon, csms, tmp_path):
    """After a kill, the resumed transaction still knows the starting card's parentIdTag (another card of the
    group stops it, OCPP 1.6 §3.5) and its Transaction.Begin values (StopTransaction.transactionData)."""
    csms.behaviour.authorize = lambda id_tag: {"status": "Accepted", "parentIdTag": "FLEET-7"}
    options = {"ocpp": {"MeterValueSampleInterval": 1}, "resume_transactions": True}
    d = await make_daemon(**options)
    await d.card_start(1)
    tx_id = await d.transaction_id(1)
    await d.stop(signal.SIGKILL)
    d = await make_daemon(boot=False, workdir=tmp_path, **options)
    await d.wait_state(1, status="Charging", contactor_closed=True, transaction_id=tx_id)
    async with asyncio.timeout(10):  # online again: the CSMS tells the other card's group
        while (await d.state())["link"]["registration"] != "Accepted":
            await asyncio.sleep(0.05)
    await d.cmd(cmd="tap", uid="04D0D0D0", connector=1)  # another card of the same group
    stop = await csms.wait_for("StopTransaction", within=10)
    assert stop.payload["transactionId"] == tx_id and stop.payload["reason"] == "Local"
    contexts = [v["context"] for mv in stop.payload["transactionData"] for v in mv["sampledValue"]]
    assert contexts == ["Transaction.Begin", "Transaction.End"], stop.payload["transactionData"]


async def test_resume_configured_but_the_ev_left_closes_the_transaction(make_daemon, csms, tmp_path):
    options = {"ocpp": {"MeterValueSampleInterval": 1}, "resume_transactions": True}
    d = await make_daemon(**options)
    await d.cmd(cmd="plug", connector=1)
    await d.cmd(cmd="tap", uid="04A1B2C3", connector=None)
    tx_id = await d.transaction_id(1)
    await d.stop(signal.SIGKILL)
    (tmp_path / "state" / "sim-ev-1.json").write_text('{"plugged": false, "requesting": false}')  # driver left
    d = await make_daemon(boot=False, workdir=tmp_path, **options)
    stop = await csms.wait_for("StopTransaction", within=15)
    assert stop.payload["transactionId"] == tx_id and stop.payload["reason"] == "Reboot"
    await d.wait_state(1, status="Available", contactor_closed=False, transaction_id=None)


async def test_resume_never_gives_energy_to_a_transaction_the_csms_refused(make_daemon, csms, tmp_path):
    """StartTransaction.conf said Invalid (energy withheld, StopTransactionOnInvalidId false): after a
    restart that transaction is closed, not resumed, even with the EV still plugged in."""
    options = {"ocpp": {"StopTransactionOnInvalidId": False, "MeterValueSampleInterval": 1},
               "resume_transactions": True}
    d = await make_daemon(**options)
    csms.behaviour.authorize = lambda tag: "Invalid"
    await d.cmd(cmd="plug", connector=1)
    answer = await csms.call(CHARGE_POINT, call.RemoteStartTransaction(id_tag="DEAD0001", connector_id=1))
    assert answer.status == "Accepted"
    tx_id = await d.transaction_id(1)
    await d.wait_state(1, status="SuspendedEVSE", contactor_closed=False)
    await d.stop(signal.SIGKILL)
    d = await make_daemon(boot=False, workdir=tmp_path, **options)
    stop = await csms.wait_for("StopTransaction", within=15)
    assert stop.payload["transactionId"] == tx_id and stop.payload["reason"] == "Reboot"
    c = await d.wait_state(1, transaction_id=None, contactor_closed=False)
    assert c["plugged"] and "interrupted transaction resumed" not in d.log()
