"""The verified-key cache's own rules, without a database."""

from __future__ import annotations

import json
import time

import pytest

from service.domain.records import SecretMatch
from service.storage.caches import KeyLists, Lease, VerifiedKeys
from service.storage.notifications import lists_payloads

MATCH = SecretMatch("key-1", "alice", "Default", None)


def held_lease() -> Lease:
    lease = Lease()
    lease.renew(time.monotonic(), 3600)
    return lease


def live_cache(ttl: float = 60) -> VerifiedKeys:
    return VerifiedKeys(ttl_seconds=ttl, lease=held_lease())


def test_a_stored_lookup_is_served() -> None:
    cache = live_cache()
    cache.put("h1", MATCH, cache.generation)
    assert cache.get("h1") == MATCH
    assert cache.get("h2") is None


def test_a_change_to_the_key_removes_all_its_secrets() -> None:
    cache = live_cache()
    cache.put("current", MATCH, cache.generation)
    cache.put("retired", SecretMatch("key-1", "alice", "Default", None), cache.generation)
    cache.put("other", SecretMatch("key-2", "alice", "CI", None), cache.generation)
    cache.invalidate("key-1")
    assert cache.get("current") is None and cache.get("retired") is None
    assert cache.get("other") is not None


def test_a_lookup_that_began_before_a_change_is_not_stored() -> None:
    cache = live_cache()
    began = cache.generation
    cache.invalidate("key-1")  # the key changed while the lookup was in flight
    cache.put("h1", MATCH, began)
    assert cache.get("h1") is None


def test_nothing_is_served_or_stored_while_invalidations_cannot_arrive() -> None:
    cache = live_cache()
    cache.put("h1", MATCH, cache.generation)
    cache.lease.end()
    assert cache.get("h1") is None
    cache.put("h2", MATCH, cache.generation)
    cache.lease.renew(time.monotonic(), 3600)
    assert cache.get("h2") is None
    assert cache.get("h1") == MATCH  # its entries were kept: the lease only paused them


def test_nothing_is_served_once_the_lease_runs_out() -> None:
    lease = Lease()
    lease.renew(time.monotonic(), 0.05)
    cache = VerifiedKeys(ttl_seconds=60, lease=lease)
    lists = KeyLists(ttl_seconds=60, lease=lease)
    cache.put("h1", MATCH, cache.generation)
    lists.put("alice", KEYS, lists.generation)
    assert cache.get("h1") == MATCH and lists.get("alice") == KEYS
    time.sleep(0.06)
    assert cache.get("h1") is None and lists.get("alice") is None
    assert not cache.live and not lists.live


def test_entries_expire() -> None:
    cache = live_cache(ttl=0.05)
    cache.put("h1", MATCH, cache.generation)
    time.sleep(0.06)
    assert cache.get("h1") is None


def test_the_cache_is_bounded() -> None:
    cache = VerifiedKeys(ttl_seconds=60, lease=held_lease(), max_entries=3)
    for n in range(10):
        cache.put(f"h{n}", SecretMatch(f"k{n}", "a", "n", None), cache.generation)
    assert sum(cache.get(f"h{n}") is not None for n in range(10)) <= 3
    assert cache.get("h9") is not None


@pytest.mark.parametrize("ttl", [0.0])
def test_a_zero_ttl_serves_nothing(ttl: float) -> None:
    cache = live_cache(ttl)
    cache.put("h1", MATCH, cache.generation)
    time.sleep(0.001)
    assert cache.get("h1") is None


def live_lists(ttl: float = 60, max_entries: int = 10_000) -> KeyLists:
    return KeyLists(ttl_seconds=ttl, lease=held_lease(), max_entries=max_entries)


KEYS = ("key-a", "key-b")  # stand-ins: the cache keeps whatever the repository read


def test_a_stored_list_is_served_until_its_owner_changes() -> None:
    lists = live_lists()
    lists.put("alice", KEYS, lists.generation)
    lists.put("bob", KEYS[:1], lists.generation)
    assert lists.get("alice") == KEYS
    lists.invalidate(["alice"])
    assert lists.get("alice") is None
    assert lists.get("bob") == KEYS[:1]


def test_a_list_read_before_a_change_is_not_stored() -> None:
    lists = live_lists()
    began = lists.generation
    lists.invalidate(["alice"])
    lists.put("alice", KEYS, began)
    assert lists.get("alice") is None


def test_no_list_is_served_or_stored_while_changes_cannot_arrive() -> None:
    lists = live_lists()
    lists.put("alice", KEYS, lists.generation)
    lists.lease.end()
    assert lists.get("alice") is None
    lists.put("bob", KEYS, lists.generation)
    lists.lease.renew(time.monotonic(), 3600)
    assert lists.get("bob") is None


def test_lists_expire_and_are_bounded() -> None:
    lists = live_lists(ttl=0.05, max_entries=3)
    for n in range(10):
        lists.put(f"owner-{n}", KEYS, lists.generation)
    assert sum(lists.get(f"owner-{n}") is not None for n in range(10)) <= 3
    assert lists.get("owner-9") == KEYS
    time.sleep(0.06)
    assert lists.get("owner-9") is None


def test_flushed_owners_are_announced_in_payloads_postgresql_accepts() -> None:
    owners = [f"user-{n:05d}-" + "x" * (n % 200) for n in range(3000)]
    payloads = list(lists_payloads(owners))
    assert len(payloads) > 1
    assert all(len(p.encode()) < 8000 for p in payloads)
    assert [o for p in payloads for o in json.loads(p)] == owners
    assert json.loads(next(lists_payloads(['quote " and comma ,']))) == ['quote " and comma ,']
