"""GetLocalListVersion (OCPP 1.6 §5.10): 0 for an empty list, -1 while the list is disabled."""

from ocpp.v16 import call_result

from firmware.core.services import Services


def handle(services: Services) -> call_result.GetLocalListVersion:
    return call_result.GetLocalListVersion(list_version=services.authorizer.local_list_version())
