"""Authorization: "may this idTag charge here now?" — one answer for every caller.

OCPP 1.6 §3.5 (Local Authorization & Offline Behavior). The order is Local Authorization List,
then Authorization Cache, then the CSMS:

- online, a valid local entry (list or cache) with LocalPreAuthorize starts at once, without an
  Authorize.req; otherwise the CSMS is asked and its answer's status decides (and is learned: the
  answer's expiryDate says when the cache entry must go, it does not refuse this session);
- an Authorize the connected CSMS answers with a CALLERROR or an unreadable idTagInfo refuses the idTag;
- offline (or the CSMS does not answer in time), with LocalAuthorizeOffline a local entry decides: valid
  (Accepted, ConcurrentTx, not past its expiryDate) starts, anything else is refused;
- an identifier known as not valid is never accepted offline, whatever the keys say;
- any other identifier offline starts only with AllowOfflineTxForUnknownId.

Only the idTag's own entry counts: a parentIdTag never lets a child token start (it groups
tokens for stopping, see `ChargePoint.card_presented`).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from firmware.auth.cache import AuthCache
from firmware.auth.idtag import AuthorizationStatus, IdTagInfo
from firmware.auth.local_list import ListUpdate, LocalList, UpdateStatus
from firmware.logs import masked
from firmware.settings import Settings

log = logging.getLogger(__name__)


class CsmsRefused(Exception):
    """The connected CSMS answered Authorize, but with no idTagInfo that can be read (a CALLERROR, or an
    answer that breaks the schema): a refusal, never a reason to apply the offline rules."""


class CsmsAuthorize(Protocol):
    """The port this block needs from a protocol adapter: ask the CSMS about an idTag."""

    @property
    def online(self) -> bool:
        """Registered with the CSMS and connected: an authorization request can be answered."""
        ...

    async def authorize(self, id_tag: str) -> IdTagInfo | None:
        """Ask the CSMS; None when it cannot answer (offline, no answer in time); raises CsmsRefused."""
        ...


class Source(StrEnum):
    LOCAL_LIST = "local-list"
    CACHE = "cache"
    CSMS = "csms"
    UNKNOWN_OFFLINE = "unknown-offline"
    """Offline and not stored locally: AllowOfflineTxForUnknownId decided."""


@dataclass(frozen=True)
class Decision:
    info: IdTagInfo
    source: Source
    granted: bool


class Authorizer:
    def __init__(self, local_list: LocalList, cache: AuthCache, settings: Settings, csms: CsmsAuthorize) -> None:
        self.local_list = local_list
        self.cache = cache
        self._settings = settings
        self._csms = csms
        self.on_conflict: Callable[[bool], None] = lambda active: None
        """Told when the CSMS contradicts the Local List (True) and when a list update resolves it (False)."""
        self._conflict = False

    def stored(self, id_tag: str) -> tuple[IdTagInfo, Source] | None:
        """The idTag's local entry as it stands now (expiry applied): list first, then cache."""
        now = datetime.now(UTC)
        if self._settings.flag("local_list_enabled") and (info := self.local_list.lookup(id_tag)) is not None:
            return info.at(now), Source.LOCAL_LIST
        if self._settings.flag("auth_cache_enabled") and (info := self.cache.lookup(id_tag)) is not None:
            return info.at(now), Source.CACHE
        return None

    async def authorize(self, id_tag: str) -> Decision:
        stored = self.stored(id_tag)
        decision = await self._decide(id_tag, stored)
        log.info("authorization idTag=%s status=%s source=%s granted=%s", masked(id_tag), decision.info.status,
                 decision.source, decision.granted)
        return decision

    async def _decide(self, id_tag: str, stored: tuple[IdTagInfo, Source] | None) -> Decision:
        if self._csms.online:
            if stored is not None and stored[0].valid and self._settings.flag("local_pre_authorize"):
                return Decision(stored[0], stored[1], granted=True)
            try:
                answer = await self._csms.authorize(id_tag)
            except CsmsRefused as e:  # not learned: it says nothing about the idTag itself
                log.warning("CSMS answered Authorize with an error, refused idTag=%s error=%s", masked(id_tag), e)
                return Decision(IdTagInfo(AuthorizationStatus.INVALID), Source.CSMS, granted=False)
            if answer is not None:  # the CSMS's status decides this session; an expiryDate only bounds the cache
                self.learn(id_tag, answer)
                return Decision(answer, Source.CSMS, granted=answer.accepted)
            log.info("CSMS did not answer Authorize, offline rules apply idTag=%s", masked(id_tag))
        if stored is not None and (self._settings.flag("local_authorize_offline") or not stored[0].valid):
            return Decision(stored[0], stored[1], granted=stored[0].valid)
        if self._settings.flag("offline_unknown_id_allowed"):
            return Decision(IdTagInfo(AuthorizationStatus.ACCEPTED), Source.UNKNOWN_OFFLINE, granted=True)
        return Decision(IdTagInfo(AuthorizationStatus.INVALID), Source.UNKNOWN_OFFLINE, granted=False)

    def learn(self, id_tag: str, info: IdTagInfo) -> None:
        """An idTagInfo from the CSMS (Authorize, StartTransaction or StopTransaction .conf).

        OCPP 1.6 §3.5: identifiers in the Local List are never cached; when the CSMS's answer
        contradicts the list, the charge point reports LocalListConflict. Everything else updates
        the cache, valid and not-valid results alike, while the cache is enabled.
        """
        if self._settings.flag("local_list_enabled") and (listed := self.local_list.lookup(id_tag)) is not None:
            listed = listed.at(datetime.now(UTC))
            if listed.valid != info.valid:
                log.warning("CSMS contradicts the Local List idTag=%s list=%s csms=%s", masked(id_tag), listed.status,
                            info.status)
                self._set_conflict(True)
            return
        if self._settings.flag("auth_cache_enabled"):
            self.cache.put(id_tag, info)

    def update_local_list(self, update: ListUpdate) -> UpdateStatus:
        """SendLocalList; NotSupported while the Local List is disabled (1.6: LocalAuthListEnabled false).
        An accepted update ends a conflict."""
        if not self._settings.flag("local_list_enabled"):
            return UpdateStatus.NOT_SUPPORTED
        status = self.local_list.apply(update)
        if status is UpdateStatus.ACCEPTED:
            self._set_conflict(False)
        return status

    def local_list_version(self) -> int:
        """GetLocalListVersion: -1 while the list is disabled (LocalAuthListEnabled false), 0 when empty."""
        return self.local_list.version() if self._settings.flag("local_list_enabled") else -1

    def _set_conflict(self, active: bool) -> None:
        if active != self._conflict:
            self._conflict = active
            self.on_conflict(active)
