"""The verification lookup, the hottest query of all: the key a presented secret belongs to,
in one round trip."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient

from service.domain.records import SecretMatch
from service.domain.scope import Scope
from service.storage.rows import aware, decoded_list
from service.storage.sql import Statements


async def find_by_secret_hash(
    conn: BaseDBAsyncClient, sql: Statements, key_hashes: Sequence[str]
) -> SecretMatch | None:
    """The key whose current or retired secret has one of these lookup hashes (a secret's hash
    under each pepper the service knows)."""
    _, rows = await conn.execute_query(sql.find_by_secret_hash(len(key_hashes)), list(key_hashes))
    if not rows:
        return None
    row = rows[0]
    return SecretMatch(
        str(row["id"]),
        row["owner_id"],
        row["name"],
        aware(row["retired_until"]),
        revoked=row["revoked_at"] is not None,
        secret_hash=row["secret_hash"],
        expires_at=aware(row["expires_at"]),
        scope=Scope.of(decoded_list(row["workflow_ids"]), decoded_list(row["allowed_addresses"])),
    )
