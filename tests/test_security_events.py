"""Security events (OCPP 1.6 Security Whitepaper ed. 3) end to end: the critical ones reach the CSMS as
SecurityEventNotification through the outbox (StartupOfTheDevice at each start, ResetOrReboot after a Reset); every
one, the others included (a 401, a reconfiguration), is a line of the security log, which holds no secret."""

from ocpp.v16 import call

from tests.conftest import CHARGE_POINT
from tests.file_servers import http_files
from tests.ocpp_steps import configure
from tests.test_firmware_management import unpack
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
    await csms.wait_for("SecurityEventNotification", where=lambda p: p["type"] == "StartupOfTheDevice")
    mark = len(csms.received)
    csms.behaviour.password = b"something else"
    csms.behaviour.anonymous = True
    assert await configure(csms, "AuthorizationKey", KEY) == "Accepted"
    assert await configure(csms, "SecurityProfile", "1") == "Accepted"  # then answered 401
    await csms.wait_until(lambda: any(a and a.startswith("Basic ") for a in csms.authorizations), within=15)
    log_path = tmp_path / "state" / "security.log"
    await csms.wait_until(lambda: "FailedToAuthenticateAtCentralSystem" in log_path.read_text(), within=15)
    log = log_path.read_text()
    assert "ReconfigurationOfSecurityParameters" in log and KEY not in log
    assert sent(csms, after=mark) == [], "only critical events go to the CSMS"
    assert KEY not in charger.log()


async def test_get_log_uploads_the_security_log_and_reports_with_its_request_id(make_daemon, csms, tmp_path):
    await make_daemon()
    await csms.wait_for("SecurityEventNotification", where=lambda p: p["type"] == "StartupOfTheDevice")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with http_files(inbox) as http:
        mark = len(csms.received)
        answer = await csms.call(CHARGE_POINT, call.GetLog(log_type="SecurityLog", request_id=42,
                                                           log={"remote_location": http.url("logs/")}))
        assert answer.status == "Accepted" and answer.filename.startswith("security-log-")
        await csms.wait_for("LogStatusNotification", after=mark, where=lambda p: p["status"] == "Uploaded")
    reports = [(m.payload["status"], m.payload["requestId"]) for m in csms.received[mark:]
               if m.action == "LogStatusNotification"]
    assert reports == [("Uploading", 42), ("Uploaded", 42)]
    members = unpack((inbox / answer.filename).read_bytes())
    assert list(members) == ["security.log"] and "StartupOfTheDevice" in members["security.log"]
    mark = len(csms.received)
    trigger = call.ExtendedTriggerMessage(requested_message="LogStatusNotification")
    assert (await csms.call(CHARGE_POINT, trigger)).status == "Accepted"
    idle = await csms.wait_for("LogStatusNotification", after=mark)
    assert idle.payload == {"status": "Idle"}


async def test_a_csms_without_the_security_extension_holds_up_no_transaction(make_daemon, csms):
    """A CSMS that answers SecurityEventNotification with NotImplemented (ocpp-broker did, in the interop suite):
    the event is set aside at once and the session's StartTransaction, queued behind it, goes on."""
    csms.behaviour.raw_answers["SecurityEventNotification"] = \
        lambda unique_id, _: f'[4, "{unique_id}", "NotImplemented", "no security extension", {{}}]'
    charger = await make_daemon()
    await charger.card_start(1)
    await csms.wait_for("StartTransaction", within=5)
    state = await charger.state()
    assert state["outbox"]["dead_letters"] == 1 and "does not take SecurityEventNotification" in charger.log()
