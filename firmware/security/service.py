"""The charge point's certificates as the CSMS and the link use them (OCPP 1.6 Security Whitepaper, edition 3).

`Certificates` opens the certificate store (`certificates.CertificateStore`, and with it the `cryptography`
library) only when a certificate message arrives or an installed certificate must be read: a charger that never
uses them never loads it. What the link trusts and presents combines the configuration and the store: the CSMS's
roots are `[csms] ca_file` plus every installed CentralSystemRootCertificate; the client certificate is the one
installed through CertificateSigned, else `[csms] client_cert`/`client_key`.
"""

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware.clock import Clock
from firmware.config_file import CsmsSection
from firmware.settings import Settings

if TYPE_CHECKING:
    from firmware.security.certificates import CertificateStore

CENTRAL_SYSTEM_ROOTS = "CentralSystemRootCertificate-*.pem"
"""How the store names an installed CentralSystemRootCertificate (looked for without opening the store)."""
CLIENT_CHAIN = "client-chain.pem"
"""The store's file of an installed charge point certificate."""


class CertificatesUnavailable(RuntimeError):
    """The `cryptography` library is not installed: certificate messages cannot be carried out (the CSMS gets the
    protocol's internal-error answer, the log says why)."""


class Certificates:
    def __init__(self, directory: Path, csms: CsmsSection, clock: Clock, settings: Settings, common_name: str,
                 max_certificates: int) -> None:
        """`common_name`: the charge point's serial number (its identity when it has none), a CSR's CN."""
        self._dir = directory
        self._csms = csms
        self._clock = clock
        self._settings = settings
        self._common_name = common_name
        self._max = max_certificates

    @cached_property
    def store(self) -> "CertificateStore":
        """The certificate store; CertificatesUnavailable where `cryptography` is not installed (the armhf package)."""
        try:
            from firmware.security.certificates import CertificateStore
        except ImportError as e:
            raise CertificatesUnavailable(f"certificates need the security extra (cryptography): {e}") from None
        return CertificateStore(self._dir, self._max)

    # --- the link -----------------------------------------------------------------------------

    def trusted_roots(self) -> Path | None:
        """One PEM file of the CSMS roots to trust: the config's CA file and the installed roots (None: none)."""
        configured = Path(self._csms.ca_file) if self._csms.ca_file else None
        if not any(self._dir.glob(CENTRAL_SYSTEM_ROOTS)):
            return configured
        return self.store.ca_bundle(configured)

    def client_identity(self) -> tuple[Path, Path] | None:
        """(certificate chain, key) for security profile 3: the installed one, else the configured one."""
        if (self._dir / CLIENT_CHAIN).exists() and (installed := self.store.client_identity()) is not None:
            return installed
        if self._csms.client_cert:
            return Path(self._csms.client_cert), Path(self._csms.client_key)
        return None

    # --- the CSMS's certificate messages --------------------------------------------------------

    def install(self, use: str, pem: str) -> str:
        """InstallCertificate: Accepted, Rejected or Failed."""
        from firmware.security.certificates import CertificateUse

        return self.store.install(CertificateUse(use), pem, self._clock.now())

    def installed(self, use: str) -> list[dict[str, str]]:
        """GetInstalledCertificateIds: the hash data of the installed roots of `use` (camelCase, as sent)."""
        from firmware.security.certificates import CertificateUse

        return [h.to_ocpp() for h in self.store.installed(CertificateUse(use))]

    def count(self) -> int:
        """How many root certificates are installed, of every use (2.0.1 SecurityCtrlr.CertificateEntries)."""
        from firmware.security.certificates import CertificateUse

        return sum(len(self.store.installed(use)) for use in CertificateUse)

    def delete(self, hash_data: dict[str, Any]) -> str:
        """DeleteCertificate: Accepted, NotFound or Failed."""
        from firmware.security.certificates import HashData

        return self.store.delete(HashData.from_ocpp(hash_data))

    def signing_request(self) -> str | None:
        """A new key pair's CSR for SignCertificate (CN the serial number, O the CpoName); None while no CpoName is
        set (the whitepaper puts it in the subject)."""
        organization = str(self._settings["cpo_name"])
        if not organization:
            return None
        return self.store.create_csr(self._common_name, organization)

    def signing_certificate_problem(self, pem: str) -> str | None:
        """Why a firmware signing certificate is not trusted (no installed ManufacturerRootCertificate vouches for
        it), or None."""
        from firmware.security.certificates import CertificateUse, signing_certificate_problem

        return signing_certificate_problem(pem, self.store.roots(CertificateUse.MANUFACTURER_ROOT), self._clock.now())

    def firmware_problem(self, firmware: Path, signature: str, pem: str) -> str | None:
        """Why a downloaded firmware must not be installed (its signature, its certificate), or None. Reads the whole
        file: run it in a thread."""
        from firmware.security.certificates import CertificateUse, verify_signed_firmware

        return verify_signed_firmware(firmware, signature, pem, self.store.roots(CertificateUse.MANUFACTURER_ROOT),
                                      self._clock.now())

    def signed(self, chain_pem: str) -> str:
        """CertificateSigned: Accepted (used from the next connection on) or Rejected."""
        return self.store.accept_signed(chain_pem, self._clock.now())
