"""The CSMS→charging station messages the 2.0.1 adapter answers: one line per message, by functional block (OCPP 2.0.1
Part 2's chapters).

To add one: write `handlers/<message>.py` with `handle(services, **payload)` returning the library's v201 call_result
(docstring: the requirement it follows), and add its line here.
"""

from firmware.ocpp201.handlers import (
    cancel_reservation,
    certificate_signed,
    change_availability,
    clear_cache,
    clear_charging_profile,
    data_transfer,
    delete_certificate,
    get_base_report,
    get_composite_schedule,
    get_installed_certificate_ids,
    get_local_list_version,
    get_log,
    get_variables,
    install_certificate,
    request_start_transaction,
    request_stop_transaction,
    reserve_now,
    reset,
    send_local_list,
    set_charging_profile,
    set_network_profile,
    set_variables,
    trigger_message,
    unlock_connector,
    update_firmware,
)
from firmware.protocol.registry import Handler, Registry

PROVISIONING = "B"
AUTHORIZATION = "C"
LOCAL_AUTHORIZATION_LIST = "D"
TRANSACTIONS = "E"
REMOTE_CONTROL = "F"
AVAILABILITY = "G"
RESERVATION = "H"
SECURITY = "A"
SMART_CHARGING = "K"
FIRMWARE_MANAGEMENT = "L"
CERTIFICATE_MANAGEMENT = "M"
DIAGNOSTICS = "N"
DATA_TRANSFER = "P"

HANDLERS = Registry([
    Handler("GetVariables", get_variables.handle, PROVISIONING),
    Handler("SetVariables", set_variables.handle, PROVISIONING),
    Handler("GetBaseReport", get_base_report.handle, PROVISIONING, then=get_base_report.then),
    Handler("Reset", reset.handle, PROVISIONING, then=reset.then),
    Handler("SetNetworkProfile", set_network_profile.handle, PROVISIONING, then=set_network_profile.then),
    Handler("ClearCache", clear_cache.handle, AUTHORIZATION),
    Handler("SendLocalList", send_local_list.handle, LOCAL_AUTHORIZATION_LIST),
    Handler("GetLocalListVersion", get_local_list_version.handle, LOCAL_AUTHORIZATION_LIST),
    Handler("RequestStartTransaction", request_start_transaction.handle, REMOTE_CONTROL,
            until_accepted=request_start_transaction.REJECTED),
    Handler("RequestStopTransaction", request_stop_transaction.handle, REMOTE_CONTROL,
            until_accepted=request_stop_transaction.REJECTED),
    Handler("UnlockConnector", unlock_connector.handle, REMOTE_CONTROL),
    Handler("TriggerMessage", trigger_message.handle, REMOTE_CONTROL, then=trigger_message.then),
    Handler("ChangeAvailability", change_availability.handle, AVAILABILITY),
    Handler("ReserveNow", reserve_now.handle, RESERVATION),
    Handler("CancelReservation", cancel_reservation.handle, RESERVATION),
    Handler("CertificateSigned", certificate_signed.handle, SECURITY),
    Handler("SetChargingProfile", set_charging_profile.handle, SMART_CHARGING),
    Handler("ClearChargingProfile", clear_charging_profile.handle, SMART_CHARGING),
    Handler("GetCompositeSchedule", get_composite_schedule.handle, SMART_CHARGING),
    Handler("UpdateFirmware", update_firmware.handle, FIRMWARE_MANAGEMENT),
    Handler("InstallCertificate", install_certificate.handle, CERTIFICATE_MANAGEMENT),
    Handler("GetInstalledCertificateIds", get_installed_certificate_ids.handle, CERTIFICATE_MANAGEMENT),
    Handler("DeleteCertificate", delete_certificate.handle, CERTIFICATE_MANAGEMENT),
    Handler("GetLog", get_log.handle, DIAGNOSTICS),
    Handler("DataTransfer", data_transfer.handle, DATA_TRANSFER),
])
"""`profile`: the functional block's letter in OCPP 2.0.1 Part 2 (B Provisioning, ..., P DataTransfer)."""
