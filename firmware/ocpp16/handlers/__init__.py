"""The CSMS→charge point messages this adapter answers: one line per message.

To add one: write `handlers/<message>.py` with `handle(services, **payload)` returning the library's
call_result (docstring: the spec clause), and add its line here. `SupportedFeatureProfiles` follows.
"""

from ocpp.v16.enums import Action

from firmware.ocpp16.handlers import (
    cancel_reservation,
    certificate_signed,
    change_availability,
    change_configuration,
    clear_cache,
    clear_charging_profile,
    data_transfer,
    delete_certificate,
    extended_trigger_message,
    get_composite_schedule,
    get_configuration,
    get_diagnostics,
    get_installed_certificate_ids,
    get_local_list_version,
    get_log,
    install_certificate,
    remote_start_transaction,
    remote_stop_transaction,
    reserve_now,
    reset,
    send_local_list,
    set_charging_profile,
    signed_update_firmware,
    trigger_message,
    unlock_connector,
    update_firmware,
)
from firmware.protocol.registry import Handler, Registry

CORE = "Core"
LOCAL_AUTH_LIST = "LocalAuthListManagement"
RESERVATION = "Reservation"
SMART_CHARGING = "SmartCharging"
FIRMWARE_MANAGEMENT = "FirmwareManagement"
SECURITY = "Security"
"""The Security Whitepaper's messages: an extension, not a feature profile of SupportedFeatureProfiles."""

HANDLERS = Registry([
    Handler(Action.change_availability, change_availability.handle, CORE),
    Handler(Action.change_configuration, change_configuration.handle, CORE, then=change_configuration.then),
    Handler(Action.clear_cache, clear_cache.handle, CORE),
    Handler(Action.data_transfer, data_transfer.handle, CORE),
    Handler(Action.get_configuration, get_configuration.handle, CORE),
    Handler(Action.remote_start_transaction, remote_start_transaction.handle, CORE,
            until_accepted=remote_start_transaction.REJECTED),
    Handler(Action.remote_stop_transaction, remote_stop_transaction.handle, CORE,
            until_accepted=remote_stop_transaction.REJECTED),
    Handler(Action.reset, reset.handle, CORE, then=reset.then),
    Handler(Action.unlock_connector, unlock_connector.handle, CORE),
    Handler(Action.get_local_list_version, get_local_list_version.handle, LOCAL_AUTH_LIST),
    Handler(Action.send_local_list, send_local_list.handle, LOCAL_AUTH_LIST, fast_schema=True),
    Handler(Action.trigger_message, trigger_message.handle, "RemoteTrigger", then=trigger_message.then),
    Handler(Action.reserve_now, reserve_now.handle, RESERVATION),
    Handler(Action.cancel_reservation, cancel_reservation.handle, RESERVATION),
    Handler(Action.set_charging_profile, set_charging_profile.handle, SMART_CHARGING),
    Handler(Action.clear_charging_profile, clear_charging_profile.handle, SMART_CHARGING),
    Handler(Action.get_composite_schedule, get_composite_schedule.handle, SMART_CHARGING),
    Handler(Action.get_diagnostics, get_diagnostics.handle, FIRMWARE_MANAGEMENT),
    Handler(Action.update_firmware, update_firmware.handle, FIRMWARE_MANAGEMENT),
    Handler(Action.install_certificate, install_certificate.handle, SECURITY),
    Handler(Action.get_installed_certificate_ids, get_installed_certificate_ids.handle, SECURITY),
    Handler(Action.delete_certificate, delete_certificate.handle, SECURITY),
    Handler(Action.certificate_signed, certificate_signed.handle, SECURITY),
    Handler(Action.get_log, get_log.handle, SECURITY),
    Handler(Action.signed_update_firmware, signed_update_firmware.handle, SECURITY),
    Handler(Action.extended_trigger_message, extended_trigger_message.handle, SECURITY,
            then=extended_trigger_message.then),
])

FEATURE_PROFILES = [profile for profile in HANDLERS.profiles() if profile != SECURITY]
"""What SupportedFeatureProfiles says (§9.1): the feature profiles of the registered handlers."""
