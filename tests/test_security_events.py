"""Security events (OCPP 1.6 Security Whitepaper ed. 3) end to end: the critical ones reach the CSMS as
SecurityEventNotification through the outbox (StartupOfTheDevice at each start, ResetOrReboot after a Reset); every
one, the others included (a 401, a reconfiguration), is a line of the security log, which holds no secret."""

from ocpp.v16 import call

from tests.conftest import CHARGE_POINT
from tests.ocpp_steps import configure
from tests.test_security_profiles import KEY


def sent(csms, after: int = 0) -> list[str]:
    return [m.payload["type"] for m in csms.received[after:] if m.action == "SecurityEventNotification"]


async def test_startup_and_reset_are_sent_and_logged(make_daemon, csms, tmp_path):
    charger = await make_daemon()
    await csms.wait_for("SecurityEventNotification", where=lambda p: p["type"] == "StartupOfTheDevice")
    mark = len(csms.received)
    assert (await csms.call(CHARGE_POINT, call.Reset(type="Soft"))).status == "Accepted"
    event = await csms.wait_for("SecurityEventNotification", after=mark, within=15,
                                where=lambda p: p["type"] == "ResetOrReboot")
    assert event.payload["timestamp"].endswith("Z") and sent(csms, mark) == ["StartupOfTheDevice", "ResetOrReboot"]
    log = (tmp_path / "state" / "security.log").read_text()
    assert log.count("StartupOfTheDevice") == 2 and "ResetOrReboot" in log
    assert oct((tmp_path / "state" / "security.log").stat().st_mode & 0o777) == "0o600"
    assert charger.proc.returncode is None


async def test_refused_credentials_and_reconfiguration_are_logged_not_sent(make_daemon, csms, tmp_path):
    charger = await make_daemon()
    csms.behaviour.password = b"something else"
    csms.behaviour.anonymous = True
    assert await configure(csms, "AuthorizationKey", KEY) == "Accepted"
    assert await configure(csms, "SecurityProfile", "1") == "Accepted"  # then answered 401
    await csms.wait_until(lambda: any(a and a.startswith("Basic ") for a in csms.authorizations), within=15)
    log_path = tmp_path / "state" / "security.log"
    await csms.wait_until(lambda: "FailedToAuthenticateAtCentralSystem" in log_path.read_text(), within=15)
    log = log_path.read_text()
    assert "ReconfigurationOfSecurityParameters" in log and KEY not in log
    assert set(sent(csms)) == {"StartupOfTheDevice"}, "only critical events go to the CSMS"
    assert KEY not in charger.log()
