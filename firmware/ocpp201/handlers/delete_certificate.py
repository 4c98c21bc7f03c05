"""DeleteCertificate (OCPP 2.0.1 M04): remove the installed root certificate the hash data names (Accepted), NotFound
when none matches, Failed when it could not be removed."""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, certificate_hash_data: dict[str, Any]) -> call_result.DeleteCertificate:
    return call_result.DeleteCertificate(status=services.certificates.delete(certificate_hash_data))
