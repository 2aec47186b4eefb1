"""The usage tracker, against a store that records what it is asked to write."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta

import pytest

from service.cases.tracker import UsageTracker
from service.domain.errors import Unavailable
from service.domain.limits import USAGE_DAYS_KEPT
from service.domain.usage import UsageBatch, Use, WorkflowUses

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class RecordingStore:
    def __init__(self) -> None:
        self.batches: list[dict[str, datetime]] = []  # each flush's latest use per key
        self.written: list[UsageBatch] = []
        self.pruned: list[date | None] = []
        self.fail_next = 0
        self.block: asyncio.Event | None = None

    async def record_usage(self, batch: UsageBatch) -> None:
        if self.block is not None:
            await self.block.wait()
        if self.fail_next:
            self.fail_next -= 1
            raise Unavailable() from ConnectionError("connection refused")
        self.batches.append({key_id: at for key_id, (at, _) in batch.latest.items()})
        self.written.append(batch)

    async def prune_usage(self, before: date) -> None:
        self.pruned.append(before)


def tracker(store: RecordingStore, flush_seconds: float = 60, max_keys: int = 1000) -> UsageTracker:
    return UsageTracker(store, flush_seconds=flush_seconds, max_buffered_keys=max_keys)


async def test_many_uses_of_a_key_become_one_write_of_the_latest() -> None:
    store = RecordingStore()
    t = tracker(store)
    for n in range(10_000):
        t.record("k1", T0 + timedelta(milliseconds=n % 5000))
    t.record("k2", T0)
    assert await t.flush() == 2
    assert store.batches == [{"k1": T0 + timedelta(milliseconds=4999), "k2": T0}]


async def test_an_older_use_never_replaces_a_newer_one() -> None:
    store = RecordingStore()
    t = tracker(store)
    t.record("k", T0 + timedelta(seconds=5))
    t.record("k", T0)
    await t.flush()
    assert store.batches == [{"k": T0 + timedelta(seconds=5)}]


async def test_an_empty_buffer_writes_nothing() -> None:
    store = RecordingStore()
    assert await tracker(store).flush() == 0
    assert store.batches == []


async def test_a_failed_flush_is_retried_with_newer_uses_merged() -> None:
    store = RecordingStore()
    t = tracker(store)
    t.record("k", T0)
    t.record("j", T0)
    store.fail_next = 1
    with pytest.raises(Unavailable):
        await t.flush()
    assert t.failed_flushes == 1
    t.record("k", T0 + timedelta(seconds=1))
    await t.flush()
    assert store.batches == [{"k": T0 + timedelta(seconds=1), "j": T0}]


async def test_a_flush_cancelled_mid_write_keeps_its_batch() -> None:
    store = RecordingStore()
    store.block = asyncio.Event()
    t = tracker(store)
    t.record("k", T0)
    flushing = asyncio.create_task(t.flush())
    await asyncio.sleep(0)
    flushing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flushing
    assert t.buffered == 1
    store.block = None
    await t.flush()
    assert store.batches == [{"k": T0}]


async def written(store: RecordingStore, within: float = 2.0) -> bool:
    """Whether the store received a batch within `within` seconds, polled."""
    for _ in range(int(within / 0.01)):
        if store.batches:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_the_loop_flushes_every_interval() -> None:
    store = RecordingStore()
    t = tracker(store, flush_seconds=0.05)
    async with t.running():
        t.record("k", T0)
        assert await written(store), "no flush while running"
        assert store.batches == [{"k": T0}]


async def test_a_full_buffer_is_flushed_early() -> None:
    store = RecordingStore()
    t = tracker(store, flush_seconds=60, max_keys=3)
    async with t.running():
        for n in range(3):
            t.record(f"k{n}", T0)
        assert await written(store, within=1.0)
        assert store.batches == [{"k0": T0, "k1": T0, "k2": T0}], (
            "did not flush before the interval"
        )


async def test_the_loop_survives_a_failing_database() -> None:
    store = RecordingStore()
    store.fail_next = 2
    t = tracker(store, flush_seconds=0.02)
    async with t.running():
        t.record("k", T0)
        assert await written(store)
    assert t.failed_flushes == 2
    assert store.batches == [{"k": T0}]


async def test_stopping_flushes_what_is_left() -> None:
    store = RecordingStore()
    t = tracker(store, flush_seconds=60)
    async with t.running():
        t.record("k", T0)
    assert store.batches == [{"k": T0}]
    assert t.buffered == 0


async def test_stopping_retries_a_failing_final_flush() -> None:
    store = RecordingStore()
    t = tracker(store, flush_seconds=60)
    async with t.running():
        t.record("k", T0)
        store.fail_next = 1
    assert store.batches == [{"k": T0}]


async def test_uses_are_counted_per_day_and_per_workflow_with_where_the_latest_came_from() -> None:
    store = RecordingStore()
    t = tracker(store)
    day_two = T0 + timedelta(days=1)
    for n in range(9):
        t.record("k", T0 + timedelta(seconds=n), Use(f"wf-{n % 3}", "203.0.113.1", "cli/1"))
    t.record("k", day_two, Use("wf-0", "198.51.100.2", "cli/2"))
    t.record("k", day_two + timedelta(seconds=1))  # no workflow named
    await t.flush()
    batch = store.written[0]
    assert batch.latest == {"k": (day_two + timedelta(seconds=1), Use())}
    assert batch.days == {("k", T0.date()): 9, ("k", day_two.date()): 2}
    assert batch.workflows == {
        ("k", "wf-0", T0.date()): WorkflowUses(3, T0 + timedelta(seconds=6)),
        ("k", "wf-1", T0.date()): WorkflowUses(3, T0 + timedelta(seconds=7)),
        ("k", "wf-2", T0.date()): WorkflowUses(3, T0 + timedelta(seconds=8)),
        ("k", "wf-0", day_two.date()): WorkflowUses(1, day_two),
    }


async def test_a_failed_flush_keeps_every_count_merged_with_newer_uses() -> None:
    store = RecordingStore()
    t = tracker(store)
    t.record("k", T0, Use("wf", "a", "ua"))
    store.fail_next = 1
    with pytest.raises(Unavailable):
        await t.flush()
    t.record("k", T0 + timedelta(seconds=1), Use("wf", "b", "ua"))
    await t.flush()
    batch = store.written[0]
    assert batch.days == {("k", T0.date()): 2}
    assert batch.workflows == {("k", "wf", T0.date()): WorkflowUses(2, T0 + timedelta(seconds=1))}
    assert batch.latest["k"][1].client_address == "b"


async def test_days_and_workflows_count_toward_the_early_flush_limit() -> None:
    store = RecordingStore()
    t = tracker(store, max_keys=4)
    loop = asyncio.ensure_future(t.run())
    try:
        t.record("k", T0, Use("wf-1"))  # 3 entries: the key, its day, one workflow
        await asyncio.sleep(0.05)
        assert store.written == []
        t.record("k", T0, Use("wf-2"))  # a fourth: flushed without waiting for the interval
        for _ in range(100):
            if store.written:
                break
            await asyncio.sleep(0.01)
        assert len(store.written[0].workflows) == 2
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def test_old_usage_is_pruned_at_most_once_an_hour() -> None:
    store = RecordingStore()
    t = UsageTracker(store, flush_seconds=60, max_buffered_keys=100, clock=lambda: T0)
    for _ in range(3):
        t.record("k", T0)
        await t.flush()
    assert store.pruned == [T0.date() - timedelta(days=USAGE_DAYS_KEPT)]


class RefusingStore(RecordingStore):
    """Refuses any batch holding an entry of key "bad", as a database refuses a value no column
    holds (a failure of the entry, not of the database)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def record_usage(self, batch: UsageBatch) -> None:
        self.attempts += 1
        if "bad" in batch.key_ids():
            raise ValueError("value too long for type character varying(64)")
        await super().record_usage(batch)


async def test_an_entry_the_database_refuses_is_dropped_and_every_other_is_written() -> None:
    store = RefusingStore()
    dropped: list[int] = []
    t = UsageTracker(store, flush_seconds=60, max_buffered_keys=1000, on_dropped=dropped.append)
    for n in range(40):
        t.record(f"k{n}", T0, Use("wf"))
    t.record("bad", T0, Use("wf"))
    assert await t.flush() == 40
    written_keys = set().union(*(batch.key_ids() for batch in store.written))
    assert written_keys == {f"k{n}" for n in range(40)}
    assert sum(len(batch) for batch in store.written) == 120  # each key, its day, its workflow
    assert t.dropped == 3 and dropped == [1, 1, 1]  # bad's latest use, day and workflow
    assert t.buffered == 0 and t.failed_flushes == 0
    # Dropped means dropped: the next flush never tries it again.
    attempts = store.attempts
    t.record("k0", T0 + timedelta(seconds=1))
    await t.flush()
    assert store.attempts == attempts + 1


async def test_a_failing_database_is_asked_again_after_longer_and_longer_pauses() -> None:
    store = RecordingStore()
    store.fail_next = 1_000_000
    t = tracker(store, flush_seconds=0.05, max_keys=1)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(t.running())
        for n in range(150):  # each use fills the buffer: an early flush is asked for each time
            t.record(f"k{n}", T0)
            await asyncio.sleep(0.005)
        attempts = 1_000_000 - store.fail_next
        store.fail_next = 0  # the database is back for the final flush
    # Pauses of 0.1, 0.2, 0.4, 0.8 s after the first failure: a handful of attempts, where
    # asking on every early-flush request would have made about 150.
    assert 2 <= attempts <= 6, attempts
    written_keys = set().union(*(batch.key_ids() for batch in store.written))
    assert len(written_keys) == 150, "nothing dropped meanwhile"


def test_the_pause_doubles_with_each_failure_up_to_a_minute() -> None:
    t = tracker(RecordingStore(), flush_seconds=5)
    pauses = []
    for failing in range(6):
        t._failing = failing
        pauses.append(t._pause())
    assert pauses == [5, 10, 20, 40, 60, 60]
