"""Every stored secret, for a rotation of the service's own pepper and encryption key: read in
key order, batch by batch, and rewritten only where a row still holds what was read."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.transactions import in_transaction

from service.domain.records import StoredSecret
from service.storage.engines import Engine, translated
from service.storage.models import ApiKey, Owner, RetiredSecret
from service.storage.sql import statements


class StoredSecrets:
    def __init__(self, engine: Engine) -> None:
        self._sql = statements(engine)

    @translated
    async def batch(
        self, after_id: str | None, limit: int
    ) -> tuple[list[StoredSecret], str | None]:
        """The secrets of `limit` keys after `after_id` in key id order: each key's current one
        and its retired ones. Returns them and the last key id (None when there are no more)."""
        query = ApiKey.all()
        if after_id is not None:
            query = query.filter(id__gt=after_id)
        keys = await query.order_by("id").limit(limit)
        if not keys:
            return [], None
        owners = {str(k.id): k.owner_id for k in keys}
        secrets = [
            StoredSecret(str(k.id), k.owner_id, k.key_hash, bytes(k.key_ciphertext), None)
            for k in keys
        ]
        for retired in await RetiredSecret.filter(api_key_id__in=list(owners)):
            key_id = str(retired.api_key_id)
            ciphertext = retired.key_ciphertext
            secrets.append(
                StoredSecret(
                    key_id,
                    owners[key_id],
                    retired.key_hash,
                    bytes(ciphertext) if ciphertext is not None else None,
                    retired.expires_at,
                )
            )
        return secrets, str(keys[-1].id)

    @translated
    async def rewrite(
        self, rewrites: Sequence[tuple[StoredSecret, str, bytes]]
    ) -> list[StoredSecret]:
        """Store each secret's new (hash, ciphertext), in one transaction, each only if it
        still has the hash it was read with: a key rotated or deleted meanwhile is left as its
        change left it (no lost update). Returns the secrets rewritten."""
        done: list[StoredSecret] = []
        async with in_transaction() as conn:
            # The owners' locks, as every change to their keys takes them (in one order, so
            # that two rewriters cannot deadlock): no rotation or leak report of these keys
            # runs between what this reads and what it writes. (SQLite serialises writers.)
            owners = sorted({stored.owner_id for stored, _, _ in rewrites})
            await Owner.filter(id__in=owners).order_by("id").select_for_update().using_db(conn)
            for stored, new_hash, ciphertext in rewrites:
                if stored.retired_until is None:
                    changed = (
                        await ApiKey.filter(id=stored.key_id, key_hash=stored.key_hash)
                        .using_db(conn)
                        .update(key_hash=new_hash, key_ciphertext=ciphertext)
                    )
                else:  # its hash is its primary key, which the ORM will not change
                    changed, _ = await conn.execute_query(
                        self._sql.rewrite_retired, [new_hash, ciphertext, stored.key_hash]
                    )
                if changed:
                    done.append(stored)
        return done
