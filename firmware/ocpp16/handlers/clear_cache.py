"""ClearCache (OCPP 1.6 §5.4): the Authorization Cache is emptied; the Local List is not touched."""

from ocpp.v16 import call_result
from ocpp.v16.enums import ClearCacheStatus

from firmware.core.services import Services


def handle(services: Services) -> call_result.ClearCache:
    services.authorizer.cache.clear()
    return call_result.ClearCache(status=ClearCacheStatus.accepted)
