"""CertificateSigned (OCPP 2.0.1 A02, A03): the CSMS's answer to SignCertificate, the signed charging station
certificate and its chain. Accepted when it is for the key the CSR was made with, valid and signed up to a trusted
root: the TLS client certificate of security profile 3 from the next connection on. Rejected otherwise, and for a
V2GCertificate (no ISO 15118 here); nothing changes then."""

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, certificate_chain: str,
           certificate_type: str | None = None) -> call_result.CertificateSigned:
    if certificate_type == "V2GCertificate":
        return call_result.CertificateSigned(status="Rejected")
    return call_result.CertificateSigned(status=services.certificates.signed(certificate_chain))
