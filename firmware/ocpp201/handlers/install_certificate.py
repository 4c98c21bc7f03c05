"""InstallCertificate (OCPP 2.0.1 M05): a CSMSRootCertificate (trusted for the CSMS's TLS certificate from the next
connection on; the 1.6 whitepaper's CentralSystemRootCertificate, the same store) or a ManufacturerRootCertificate
(for signed firmware). Accepted; Rejected for what is not a valid, current CA certificate, a full store, or an ISO
15118 root (V2G, MO: evsed speaks no ISO 15118); Failed when it could not be written."""

from ocpp.v201 import call_result

from firmware.ocpp201.convert import CERTIFICATE_USES
from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, certificate_type: str, certificate: str) -> call_result.InstallCertificate:
    use = CERTIFICATE_USES.get(certificate_type)
    if use is None:
        return call_result.InstallCertificate(status="Rejected")
    return call_result.InstallCertificate(status=services.certificates.install(use, certificate))
