"""CertificateSigned (OCPP 1.6 Security Whitepaper ed. 3 §5, use cases A02/A03): the CSMS's answer to SignCertificate,
the signed charge point certificate (and its chain). Accepted when it is for the key the CSR was made with, valid
and signed up to a trusted root: it is the TLS client certificate of security profile 3 from the next connection
on. Rejected otherwise, and nothing changes. See `security.certificates.CertificateStore.accept_signed`.
"""

from ocpp.v16 import call_result

from firmware.core.services import Services


def handle(services: Services, certificate_chain: str) -> call_result.CertificateSigned:
    return call_result.CertificateSigned(status=services.certificates.signed(certificate_chain))
