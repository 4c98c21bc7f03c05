"""GetInstalledCertificateIds (OCPP 1.6 Security Whitepaper ed. 3 §5, use case M03): the hash data of every installed
root certificate of the type asked for; NotFound when there is none."""

from ocpp.v16 import call_result

from firmware.core.services import Services


def handle(services: Services, certificate_type: str) -> call_result.GetInstalledCertificateIds:
    found = services.certificates.installed(certificate_type)
    if not found:
        return call_result.GetInstalledCertificateIds(status="NotFound")
    return call_result.GetInstalledCertificateIds(status="Accepted", certificate_hash_data=found)
