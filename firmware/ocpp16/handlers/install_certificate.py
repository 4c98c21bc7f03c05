"""InstallCertificate (OCPP 1.6 Security Whitepaper ed. 3 §5, use case M05): install a CentralSystemRootCertificate
(trusted for the CSMS's TLS certificate from the next connection on) or a ManufacturerRootCertificate (for signed
firmware). Accepted; Rejected for what is not a valid, current, self-signed CA certificate or a full store
(CertificateStoreMaxLength); Failed when it could not be written. See `security.certificates`.
"""

from ocpp.v16 import call_result

from firmware.core.services import Services


def handle(services: Services, certificate_type: str, certificate: str) -> call_result.InstallCertificate:
    return call_result.InstallCertificate(status=services.certificates.install(certificate_type, certificate))
