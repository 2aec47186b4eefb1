"""Where the usage tracker's flushes go: each key's latest use, its uses per day and per workflow
and day, written once per flush, and pruned after `USAGE_DAYS_KEPT` days."""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from service.domain.usage import UsageBatch
from service.storage.engines import Engine, translated
from service.storage.models import ApiKeyUsageDay, ApiKeyWorkflowUse
from service.storage.notifications import KeyChangeObserver, announce_lists
from service.storage.sql import Statements, statements


class UsageStore:
    def __init__(self, engine: Engine, observer: KeyChangeObserver | None = None) -> None:
        self._sql = statements(engine)
        self._write = _arrays if engine == "postgres" else _rows
        self._observer = observer
        # Other processes hear of the lists this changes only on PostgreSQL (SQLite: no caches).
        self._announce = engine == "postgres" and observer is not None

    @translated
    async def record_usage(self, batch: UsageBatch) -> None:
        """A tracker flush, in one transaction: each key's latest use (and where it came from),
        its uses per day, its uses per workflow and day; each touched row written once. "Last
        used" only moves forward and counts are added to; a key deleted since its uses were
        buffered is skipped. The owners whose lists changed are announced, on commit, to every
        process."""
        async with in_transaction() as conn:
            owners = await self._write(conn, self._sql, batch)
            if self._announce and owners:
                await announce_lists(conn, sorted(owners))
        if self._observer is not None and owners:
            self._observer.used(owners)

    @translated
    async def prune_usage(self, before: date) -> None:
        """Usage counted before `before` is deleted."""
        async with in_transaction() as conn:
            for model in (ApiKeyUsageDay, ApiKeyWorkflowUse):
                await model.filter(day__lt=before).using_db(conn).delete()


async def _arrays(conn: BaseDBAsyncClient, sql: Statements, batch: UsageBatch) -> set[str]:
    """PostgreSQL: one statement per table, the batch's rows passed as arrays. Returns the
    owners of the keys whose latest use moved."""
    latest = sorted(batch.latest.items())
    # execute_query would drop the RETURNING rows of an UPDATE; this form keeps them.
    rows = await conn.execute_query_dict(
        sql.usage_latest,
        [
            [key_id for key_id, _ in latest],
            [at for _, (at, _) in latest],
            [use.client_address for _, (_, use) in latest],
            [use.user_agent for _, (_, use) in latest],
        ],
    )
    days = [(key_id, day, uses) for (key_id, day), uses in sorted(batch.days.items())]
    if days:
        await conn.execute_query(
            sql.usage_days, [list(column) for column in zip(*days, strict=True)]
        )
    workflows = [
        (key_id, workflow, day, counted.uses, counted.last_used_at)
        for (key_id, workflow, day), counted in sorted(batch.workflows.items())
    ]
    if workflows:
        await conn.execute_query(
            sql.usage_workflows, [list(column) for column in zip(*workflows, strict=True)]
        )
    return {row["owner_id"] for row in rows}


def _columns(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as the columns `unnest` takes, one array each."""
    return [list(column) for column in zip(*rows, strict=True)]


async def _rows(conn: BaseDBAsyncClient, sql: Statements, batch: UsageBatch) -> set[str]:
    """SQLite: one statement per row (it has no arrays); the same writes."""
    owners: set[str] = set()
    for key_id, (at, use) in sorted(batch.latest.items()):
        rows = await conn.execute_query_dict(
            sql.usage_latest, [key_id, at, use.client_address, use.user_agent]
        )
        owners.update(row["owner_id"] for row in rows)
    days = [[key_id, day, uses] for (key_id, day), uses in sorted(batch.days.items())]
    if days:
        await conn.execute_many(sql.usage_days, days)
    workflows = [
        [key_id, workflow, day, counted.uses, counted.last_used_at]
        for (key_id, workflow, day), counted in sorted(batch.workflows.items())
    ]
    if workflows:
        await conn.execute_many(sql.usage_workflows, workflows)
    return owners
