"""Authorization: "may this idTag charge here now?" — one answer for every caller.

OCPP 1.6 §3.3: the Charge Point SHALL only supply energy after authorization. The decision order is
Local Authorization List → Authorization Cache → online Authorize; this version asks the CSMS and,
without an answer, refuses (the offline rules arrive with the local list and cache).
"""

import logging
from dataclasses import dataclass
from enum import StrEnum

from firmware.records import AuthorizationStatus, IdTagInfo
from firmware.upstream import Upstream

log = logging.getLogger(__name__)


class Source(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Decision:
    info: IdTagInfo
    source: Source

    @property
    def accepted(self) -> bool:
        return self.info.accepted


class Authorizer:
    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    async def authorize(self, id_tag: str) -> Decision:
        info = await self._upstream.authorize(id_tag)
        if info is not None:
            decision = Decision(info, Source.ONLINE)
        else:
            decision = Decision(IdTagInfo(AuthorizationStatus.INVALID), Source.OFFLINE)
        log.info("authorization idTag=%s status=%s source=%s", id_tag, decision.info.status, decision.source)
        return decision
