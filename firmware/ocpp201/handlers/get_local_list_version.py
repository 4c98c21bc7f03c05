"""GetLocalListVersion (OCPP 2.0.1 D02): the version of the Local Authorization List, 0 when it is empty or disabled
(D02.FR.02; 2.0.1 has no -1)."""

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services) -> call_result.GetLocalListVersion:
    return call_result.GetLocalListVersion(version_number=max(services.authorizer.local_list_version(), 0))
