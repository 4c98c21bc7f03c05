"""What every CSMS→charge point handler gets: the core's services, by functional block.

A protocol adapter's handler parses a request, calls one method here and builds the reply; the logic of
what a command means lives behind these, the same for every OCPP version.
"""

from dataclasses import dataclass

from firmware.auth.authorizer import Authorizer
from firmware.core.chargepoint import ChargePoint
from firmware.core.confirmations import Confirmations
from firmware.core.lifecycle import Lifecycle
from firmware.firmware_management.diagnostics import Diagnostics
from firmware.firmware_management.updates import FirmwareUpdates
from firmware.security.service import Certificates
from firmware.settings import Settings
from firmware.smart_charging.controller import SmartCharging


@dataclass(frozen=True)
class Services:
    settings: Settings
    """Configuration (OCPP 1.6 Core: Get/ChangeConfiguration)."""
    authorizer: Authorizer
    """Authorization: Local Authorization List and cache (1.6 LocalAuthListManagement, ClearCache)."""
    charge_point: ChargePoint
    """Sessions: remote start and stop, availability, the cable lock, reservations (1.6 Reservation: ReserveNow,
    CancelReservation)."""
    confirmations: Confirmations
    """What the CSMS's confirmation of a queued transaction message means."""
    lifecycle: Lifecycle
    """Stop and Reset."""
    smart_charging: SmartCharging
    """Charging profiles and the limits they set (1.6 SmartCharging: Set/ClearChargingProfile,
    GetCompositeSchedule, RemoteStartTransaction's chargingProfile)."""
    firmware_updates: FirmwareUpdates
    """Over-the-air updates (1.6 FirmwareManagement: UpdateFirmware)."""
    diagnostics: Diagnostics
    """Diagnostics uploads (1.6 FirmwareManagement: GetDiagnostics)."""
    certificates: Certificates
    """Certificates (1.6 Security Whitepaper: Install/Delete/GetInstalledCertificateIds, SignCertificate,
    CertificateSigned)."""
