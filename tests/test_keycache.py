"""The verified-key cache's own rules, without a database."""

from __future__ import annotations

import time

import pytest

from service.keycache import VerifiedKeys
from service.repository import SecretMatch

MATCH = SecretMatch("key-1", "alice", "Default", None)


def live_cache(ttl: float = 60) -> VerifiedKeys:
    cache = VerifiedKeys(ttl_seconds=ttl)
    cache.live = True
    return cache


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
    cache.live = False
    assert cache.get("h1") is None
    cache.put("h2", MATCH, cache.generation)
    cache.live = True
    assert cache.get("h2") is None


def test_entries_expire() -> None:
    cache = live_cache(ttl=0.05)
    cache.put("h1", MATCH, cache.generation)
    time.sleep(0.06)
    assert cache.get("h1") is None


def test_the_cache_is_bounded() -> None:
    cache = VerifiedKeys(ttl_seconds=60, max_entries=3)
    cache.live = True
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
