"""ClearCache (OCPP 2.0.1 C11): the Authorization Cache is emptied (Accepted); Rejected while AuthCacheCtrlr.Enabled is
false (C11.FR.04). The Local Authorization List is not touched."""

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services) -> call_result.ClearCache:
    if not services.settings.flag("auth_cache_enabled"):
        return call_result.ClearCache(status="Rejected")
    services.authorizer.cache.clear()
    return call_result.ClearCache(status="Accepted")
