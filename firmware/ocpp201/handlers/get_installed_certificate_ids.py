"""GetInstalledCertificateIds (OCPP 2.0.1 M03): the hash data of the installed CSMS and manufacturer roots of the
types asked for (all when none is named); NotFound when there is none (M03.FR.02). ISO 15118 types have none."""

from ocpp.v201 import call_result

from firmware.ocpp201.convert import CERTIFICATE_USES
from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services,
           certificate_type: list[str] | None = None) -> call_result.GetInstalledCertificateIds:
    chain = [{"certificate_type": kind, "certificate_hash_data": hash_data}
             for kind in certificate_type or list(CERTIFICATE_USES) if kind in CERTIFICATE_USES
             for hash_data in services.certificates.installed(CERTIFICATE_USES[kind])]
    if not chain:
        return call_result.GetInstalledCertificateIds(status="NotFound")
    return call_result.GetInstalledCertificateIds(status="Accepted", certificate_hash_data_chain=chain)
