"""How the websocket to the CSMS is secured: the OCPP 1.6 Security Whitepaper's (edition 3) security profiles.

- 0: none (the whitepaper's default). A ws:// link to anything but this machine logs a warning at every start.
- 1: HTTP Basic authentication on the websocket's upgrade request, over ws://.
- 2: HTTP Basic authentication over wss://: TLS 1.2 or newer, the CSMS's certificate verified against the trusted
  roots (`[csms] ca_file` and every installed CentralSystemRootCertificate) and its hostname checked.
- 3: wss:// with a TLS client certificate (`[csms] client_cert`, or one installed through CertificateSigned), no
  password.

Basic authentication's username is the charge point id and its password the AuthorizationKey, the hex text of 16 to
20 bytes: sent as that text, or as the bytes it encodes (`[csms] basic_auth_password`). The profile only rises
(ChangeConfiguration of a value lower than or equal to the one in force is Rejected, and so is one whose
prerequisites are missing: an AuthorizationKey for 1 and 2, a CSMS root certificate and a wss:// url for 2 and 3, a
charge point certificate for 3). A raised profile that fails to connect FALLBACK_AFTER times in a row falls back to
the previous one (stored), so a wrong change never cuts the charger off for good. The standard `ssl` module does TLS.
"""

import base64
import ipaddress
import logging
import re
import ssl
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import websockets

from firmware.config_file import CsmsSection
from firmware.security.events import (
    FAILED_AUTHENTICATION,
    INVALID_CSMS_CERTIFICATE,
    RECONFIGURATION,
    Event,
    SecurityEvents,
)
from firmware.settings import AUTHORIZATION_KEY, Settings, Value

log = logging.getLogger(__name__)

FALLBACK_AFTER = 3
"""Failed connection attempts with a newly raised profile before the previous one is restored."""


class LinkSecurity:
    def __init__(self, csms: CsmsSection, charge_point_id: str, settings: Settings,
                 trusted_roots: Callable[[], Path | None], client_identity: Callable[[], tuple[Path, Path] | None],
                 events: SecurityEvents | None = None) -> None:
        """`trusted_roots()`: one PEM file of the CSMS roots to trust (None: the system's); `client_identity()`:
        (certificate chain, key) for profile 3, or None; `events`: the security log."""
        self._csms = csms
        self._id = charge_point_id
        self._settings = settings
        self._roots = trusted_roots
        self._identity = client_identity
        self._events = events
        self._previous: int | None = None
        self._failures = 0
        self.dialed = self.profile
        """The security profile the last connection attempt used."""
        settings.guard("security_profile", self._may_change)
        settings.guard("authorization_key", self._key_changes)

    @property
    def profile(self) -> int:
        return self._settings.integer("security_profile")

    def warn_if_open(self) -> None:
        """Profile 0 over ws:// to another machine: anyone on the way reads and can forge the link."""
        host = urlsplit(self._csms.url).hostname or ""
        if self.profile == 0 and not self._csms.secure and not _loopback(host):
            log.warning("CSMS link without security url=%s security_profile=0: no TLS and no password; "
                        "see the README's security profiles", self._csms.shown_endpoint(self._id))

    def problem(self, profile: int) -> str | None:
        """Which prerequisite of `profile` is missing (whitepaper: before a profile is raised), or None."""
        if profile in (1, 2) and not self._settings["authorization_key"]:
            return "no AuthorizationKey set"
        if profile >= 2 and not self._csms.secure:
            return "the CSMS url is not wss://"
        if profile >= 2 and self._roots() is None:
            return "no CSMS root certificate ([csms] ca_file or InstallCertificate)"
        if profile == 3 and self._identity() is None:
            return "no charge point certificate ([csms] client_cert or CertificateSigned)"
        return None

    def _may_change(self, current: Value, new: Value) -> str | None:
        assert isinstance(current, int) and isinstance(new, int)
        if new <= current:
            return f"the security profile only rises (now {current})"
        problem = self.problem(new)
        if problem is None:
            self._previous, self._failures = current, 0
            log.warning("security profile raised from=%d to=%d; connecting again with it", current, new)
            self._record(RECONFIGURATION, f"SecurityProfile {current} to {new}")
        return problem

    def _key_changes(self, current: Value, new: Value) -> None:
        """A new AuthorizationKey (already checked) applies from the next connection: logged, never shown."""
        self._record(RECONFIGURATION, "AuthorizationKey changed")

    def _record(self, event: Event, info: str) -> None:
        if self._events is not None:
            self._events.record(event, info)

    def dial(self) -> dict[str, Any]:
        """The `websockets.connect` options of the profile in force: the TLS context and the Basic auth header."""
        profile = self.dialed = self.profile
        options: dict[str, Any] = {}
        if self._csms.secure:
            options["ssl"] = self._tls(profile)
        if profile in (1, 2):
            options["additional_headers"] = {"Authorization": self._basic()}
        return options

    def _tls(self, profile: int) -> ssl.SSLContext:
        roots = self._roots()
        context = ssl.create_default_context(cafile=str(roots) if roots else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        identity = self._identity() if profile == 3 else None
        if identity is not None:
            context.load_cert_chain(str(identity[0]), str(identity[1]))
        return context

    def _basic(self) -> str:
        """Username: the charge point id, or 2.0.1's SecurityCtrlr.Identity when set; password: the key as stored, or
        the bytes its hex text encodes with `[csms] basic_auth_password = "decoded"` (a 2.0.1 password that is not
        hex text is sent as it is)."""
        key = str(self._settings["authorization_key"])
        password = key.encode()
        if self._csms.basic_auth_password == "decoded" and re.fullmatch(AUTHORIZATION_KEY, key):
            password = bytes.fromhex(key)
        user = str(self._settings["security_identity"]) or self._id
        return "Basic " + base64.b64encode(user.encode() + b":" + password).decode()

    def connected(self) -> None:
        """The link is up: a newly raised profile has proved itself."""
        self._previous, self._failures = None, 0

    def failed(self, error: BaseException) -> None:
        """A connection attempt failed (`error`: why): a refused password or CSMS certificate goes to the security
        log; after FALLBACK_AFTER failures with a newly raised profile, the previous one is restored."""
        if isinstance(error, websockets.InvalidStatus) and error.response.status_code == HTTPStatus.UNAUTHORIZED:
            self._record(FAILED_AUTHENTICATION, f"HTTP 401 from {urlsplit(self._csms.url).hostname}")
        elif isinstance(error, ssl.SSLCertVerificationError):
            self._record(INVALID_CSMS_CERTIFICATE, str(error.verify_message)[:200])
        if self._previous is None:
            return
        self._failures += 1
        if self._failures >= FALLBACK_AFTER:
            log.error("security profile %d does not connect after %d attempts; back to %d", self.profile,
                      self._failures, self._previous)
            self._settings.restore("security_profile", self._previous)
            self._previous, self._failures = None, 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
