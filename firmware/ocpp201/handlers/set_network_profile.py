"""SetNetworkProfile (OCPP 2.0.1 B09): how 2.0.1 raises the security profile (SecurityCtrlr.SecurityProfile is ReadOnly
there). evsed takes its CSMS's address from the config file: a profile is Accepted only for that ocppCsmsUrl, OCPP 2.0
over JSON, and a securityProfile not below the one in force (B09.FR.04: never lower); a higher one must meet its
prerequisites (a BasicAuthPassword for 1 and 2, wss:// and a CSMS root for 2 and 3, a charging station certificate for
3; otherwise Rejected, B09.FR.05). Once the answer is written the station connects again with it, and falls back to the
previous profile if it cannot connect (A05), as 1.6's SecurityProfile key does; the configurationSlot is not kept
(evsed has one network connection profile, the config file's)."""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services

REJECTED = call_result.SetNetworkProfile(status="Rejected")


def handle(services: Ocpp201Services, configuration_slot: int,
           connection_data: dict[str, Any]) -> call_result.SetNetworkProfile:
    if services.link is None or connection_data["ocpp_csms_url"].rstrip("/") != services.link.csms_url.rstrip("/"):
        return REJECTED
    if connection_data["ocpp_version"] != "OCPP20" or connection_data["ocpp_transport"] != "JSON":
        return REJECTED
    wanted = connection_data["security_profile"]
    current = services.settings.integer("security_profile")
    if wanted < current:
        return REJECTED
    if wanted > current and services.settings.change("security_profile", wanted) is not None:
        return REJECTED
    return call_result.SetNetworkProfile(status="Accepted")


def then(services: Ocpp201Services, answer: call_result.SetNetworkProfile, configuration_slot: int,
         connection_data: dict[str, Any]) -> None:
    link = services.link
    if answer.status == "Accepted" and link is not None and connection_data["security_profile"] > link.dialed_profile:
        link.redial()
