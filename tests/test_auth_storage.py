"""The authorization stores on a real SQLite file: cache eviction order, list atomicity and limits,
expiry, and the frame size that carries the longest SendLocalList."""

import json
from datetime import UTC, datetime

from firmware.auth.cache import AuthCache
from firmware.auth.idtag import AuthorizationStatus, IdTagInfo
from firmware.auth.local_list import ListEntry, ListUpdate, LocalList, UpdateStatus, UpdateType
from firmware.persistence.db import Store
from firmware.protocol.connection import MAX_FRAME_BYTES
from firmware.settings import LOCAL_LIST_MAX_UPDATE as SEND_LOCAL_LIST_MAX_LENGTH

A = AuthorizationStatus
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def full(version: int, *tags: str, status: A = A.ACCEPTED) -> ListUpdate:
    return ListUpdate(version, UpdateType.FULL, [ListEntry(t, IdTagInfo(status)) for t in tags])


def test_expiry_makes_valid_entries_expired():
    assert IdTagInfo(A.ACCEPTED, "2026-11-23T11:59:59Z").at(NOW).status is A.EXPIRED
    assert IdTagInfo(A.ACCEPTED, "2026-11-23T12:00:01+00:00").at(NOW).status is A.ACCEPTED
    assert IdTagInfo(A.CONCURRENT_TX, "2026-11-23T11:00:00").at(NOW).status is A.EXPIRED, "no offset: UTC"
    assert IdTagInfo(A.ACCEPTED, "soon").at(NOW).status is A.EXPIRED, "an unreadable date never lets a card in"
    assert IdTagInfo(A.BLOCKED, "2099-01-01T00:00:00Z").at(NOW).status is A.BLOCKED
    assert IdTagInfo(A.ACCEPTED).at(NOW).valid and IdTagInfo(A.CONCURRENT_TX).valid
    assert not IdTagInfo(A.INVALID).valid and not IdTagInfo(A.EXPIRED).valid


def test_cache_evicts_not_valid_first_then_oldest(tmp_path):
    cache = AuthCache(Store(tmp_path / "db"), max_entries=3)
    cache.put("OLD1", IdTagInfo(A.ACCEPTED))
    cache.put("BAD1", IdTagInfo(A.BLOCKED))
    cache.put("GONE", IdTagInfo(A.ACCEPTED, "2020-01-01T00:00:00Z"))
    cache.put("NEW1", IdTagInfo(A.ACCEPTED))
    assert cache.lookup("BAD1") is None and cache.count() == 3, "a Blocked entry goes first"
    cache.put("NEW2", IdTagInfo(A.ACCEPTED))
    assert cache.lookup("GONE") is None, "then an expired one"
    cache.put("old1", IdTagInfo(A.INVALID))  # an update (any case) refreshes the entry
    cache.put("NEW3", IdTagInfo(A.ACCEPTED))
    assert cache.lookup("OLD1") is None, "the refreshed, now Invalid, entry goes before valid ones"
    cache.put("NEW4", IdTagInfo(A.ACCEPTED))
    assert cache.lookup("NEW1") is None and cache.lookup("NEW2") is not None, "then the least recently updated"
    assert cache.count() == 3


def test_list_update_that_fails_changes_nothing(tmp_path):
    store = Store(tmp_path / "db")
    local_list = LocalList(store, max_entries=3, max_update=3)
    cache = AuthCache(store)
    cache.put("CCCC", IdTagInfo(A.BLOCKED))
    assert local_list.apply(full(4, "AAAA", "BBBB")) is UpdateStatus.ACCEPTED
    grow = ListUpdate(5, UpdateType.DIFFERENTIAL, [ListEntry(t, IdTagInfo(A.ACCEPTED)) for t in ("CCCC", "DDDD")])
    assert local_list.apply(grow) is UpdateStatus.FAILED, "4 entries exceed LocalAuthListMaxLength 3"
    assert local_list.version() == 4 and local_list.count() == 2 and local_list.lookup("CCCC") is None
    assert cache.lookup("CCCC") is not None, "the failed update's rollback kept the cache too"
    swap = ListUpdate(5, UpdateType.DIFFERENTIAL, [ListEntry("aaaa", None), ListEntry("cccc", IdTagInfo(A.ACCEPTED)),
                                                   ListEntry("DDDD", IdTagInfo(A.ACCEPTED))])
    assert local_list.apply(swap) is UpdateStatus.ACCEPTED, "removals count before the limit is checked"
    assert local_list.lookup("AAAA") is None and local_list.count() == 3
    assert cache.lookup("CCCC") is None, "an idTag entering the list leaves the cache"
    assert local_list.apply(full(1, "A", "B", "C", "D")) is UpdateStatus.FAILED, "longer than SendLocalListMaxLength"


def test_longest_send_local_list_fits_one_frame():
    """SendLocalListMaxLength entries with 20-character, fully \\u-escaped idTags and parentIdTags,
    an expiryDate with nanoseconds and every status at its longest still fit MAX_FRAME_BYTES."""
    tag = "\\u0041" * 20
    item = (f'{{"idTag":"{tag}","idTagInfo":{{"status":"ConcurrentTx",'
            f'"expiryDate":"2026-11-23T12:00:00.123456789+01:00","parentIdTag":"{tag}"}}}}')
    frame = f'[2,"{"x" * 36}","SendLocalList",{{"listVersion":2147483647,"updateType":"Differential",' \
            f'"localAuthorizationList":[{",".join([item] * SEND_LOCAL_LIST_MAX_LENGTH)}]}}]'
    assert json.loads(frame)[3]["localAuthorizationList"][0]["idTag"] == "A" * 20
    assert len(frame.encode()) < MAX_FRAME_BYTES


def differential(version: int, *tags: str) -> ListUpdate:
    return ListUpdate(version, UpdateType.DIFFERENTIAL, [ListEntry(t, IdTagInfo(A.ACCEPTED)) for t in tags])


def test_differential_needs_a_version_above_the_one_held_across_restarts_and_full_updates(tmp_path):
    """OCPP 1.6 §5.15: a Differential update needs a listVersion higher than the list's; a Full update sets
    the version whatever it is. The version is stored, so a restart (a new Store on the same file) holds it;
    a list with entries never takes a version below 1 (§5.10: 0 is an empty list, -1 no list)."""
    path = tmp_path / "db"

    def restarted() -> LocalList:
        return LocalList(Store(path), 100, 10)

    local = restarted()
    assert local.apply(full(5, "A1")) is UpdateStatus.ACCEPTED
    assert local.apply(differential(6, "B1")) is UpdateStatus.ACCEPTED
    local = restarted()
    assert local.version() == 6
    assert [local.apply(differential(v, "C1")) for v in (5, 6, 7)] == [
        UpdateStatus.VERSION_MISMATCH, UpdateStatus.VERSION_MISMATCH, UpdateStatus.ACCEPTED]
    assert local.apply(full(2, "D1")) is UpdateStatus.ACCEPTED, "a Full update replaces any version"
    local = restarted()
    assert [local.apply(differential(v, "E1")) for v in (2, 1, 3)] == [
        UpdateStatus.VERSION_MISMATCH, UpdateStatus.VERSION_MISMATCH, UpdateStatus.ACCEPTED]
    assert local.version() == 3 and local.lookup("E1") is not None and local.lookup("C1") is None
    for version in (0, -3):
        assert local.apply(full(version, "F1")) is UpdateStatus.FAILED
        assert local.version() == 3 and local.lookup("F1") is None
    assert local.apply(differential(10**30, "G1")) is UpdateStatus.ACCEPTED, "listVersion is any JSON integer"
    assert restarted().version() == 10**30
    assert local.apply(full(0)) is UpdateStatus.ACCEPTED and local.version() == 0, "emptied with version 0"
