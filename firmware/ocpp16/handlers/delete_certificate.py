"""DeleteCertificate (OCPP 1.6 Security Whitepaper ed. 3 §5, use case M04): remove the installed root certificate the
hash data names (Accepted), NotFound when none matches, Failed when it could not be removed."""

from typing import Any

from ocpp.v16 import call_result

from firmware.core.services import Services


def handle(services: Services, certificate_hash_data: dict[str, Any]) -> call_result.DeleteCertificate:
    return call_result.DeleteCertificate(status=services.certificates.delete(certificate_hash_data))
