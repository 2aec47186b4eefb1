"""The SQL the storage layer writes out by hand rather than have the ORM build it on every call:
the queries the platform asks constantly (the verification lookup, a user's list), a tracker
flush, and a few the ORM cannot express. `statements(engine)` renders them once per engine
(parameter marks, casts), so no query site asks which engine it runs on.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from service.storage.engines import Engine

# The verification lookup, the hottest query of all: one round trip, written out rather than
# built by the ORM on every call. A secret is either a key's current one or a retired one, its
# hash under the current pepper or (during a rotation of the pepper) a previous one.
_FIND_BY_SECRET_HASH = """
SELECT k."id", k."owner_id", k."name", {no_time} AS "retired_until",
       k."revoked_at" AS "revoked_at", k."key_hash" AS "secret_hash",
       k."expires_at" AS "expires_at", k."workflow_ids", k."allowed_addresses"
  FROM "api_keys" k WHERE k."key_hash" IN ({hashes})
UNION ALL
SELECT k."id", k."owner_id", k."name", r."expires_at", r."revoked_at", r."key_hash", k."expires_at",
       k."workflow_ids", k."allowed_addresses"
  FROM "retired_secrets" r JOIN "api_keys" k ON k."id" = r."api_key_id"
 WHERE r."key_hash" IN ({hashes})
LIMIT 1
"""


# A key row as every hand-written read returns it (`service.storage.rows.stored_row`).
KEY_COLUMNS = (
    "id",
    "owner_id",
    "name",
    "description",
    "is_default",
    "key_hash",
    "key_ciphertext",
    "key_last_four",
    "created_at",
    "updated_at",
    "last_used_at",
    "rotated_at",
    "revoked_at",
    "leak_url",
    "leak_source",
    "leak_reported_at",
    "leak_dismissed_at",
    "expires_at",
    "last_used_address",
    "last_used_user_agent",
    "workflow_ids",
    "allowed_addresses",
)
# An owner's list: the default key first, then oldest first; the id breaks ties between keys
# made in one instant.
KEY_LIST_ORDER = 'ORDER BY k."is_default" DESC, k."created_at" ASC, k."id" ASC'


def column_names(columns: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in columns)


_LIST_KEYS = (
    f'SELECT {column_names(KEY_COLUMNS, "k.")} FROM "api_keys" k'
    f' WHERE k."owner_id" = {{p}} {KEY_LIST_ORDER}'
)


# A flush of the usage tracker (`record_usage`): one statement per table on PostgreSQL (arrays
# of the batch's rows), one per row on SQLite. "Last used" only moves forward, and the owner
# comes back so that its list can be invalidated; counts are added to; a key deleted since its
# uses were buffered is skipped (its usage went with it).
_USAGE_SQL = {
    "postgres": {
        "latest": """
UPDATE "api_keys" AS k
   SET "last_used_at" = u."at", "last_used_address" = u."address",
       "last_used_user_agent" = u."agent"
  FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[])
       AS u("id", "at", "address", "agent")
 WHERE k."id" = u."id" AND (k."last_used_at" IS NULL OR k."last_used_at" < u."at")
RETURNING k."owner_id"
""",
        "days": """
INSERT INTO "api_key_usage_days" ("api_key_id", "day", "uses")
SELECT u."id", u."day", u."uses"
  FROM unnest($1::uuid[], $2::date[], $3::int[]) AS u("id", "day", "uses")
  JOIN "api_keys" k ON k."id" = u."id"
 ORDER BY u."id", u."day"
ON CONFLICT ("api_key_id", "day")
DO UPDATE SET "uses" = "api_key_usage_days"."uses" + EXCLUDED."uses"
""",
        "workflows": """
INSERT INTO "api_key_workflow_uses" ("api_key_id", "workflow_id", "day", "uses", "last_used_at")
SELECT u."id", u."workflow", u."day", u."uses", u."at"
  FROM unnest($1::uuid[], $2::text[], $3::date[], $4::int[], $5::timestamptz[])
       AS u("id", "workflow", "day", "uses", "at")
  JOIN "api_keys" k ON k."id" = u."id"
 ORDER BY u."id", u."workflow", u."day"
ON CONFLICT ("api_key_id", "workflow_id", "day")
DO UPDATE SET "uses" = "api_key_workflow_uses"."uses" + EXCLUDED."uses",
              "last_used_at" = GREATEST("api_key_workflow_uses"."last_used_at",
                                        EXCLUDED."last_used_at")""",
    },
    "sqlite": {
        "latest": """
UPDATE "api_keys" SET "last_used_at" = ?2, "last_used_address" = ?3, "last_used_user_agent" = ?4
 WHERE "id" = ?1 AND ("last_used_at" IS NULL OR "last_used_at" < ?2)
RETURNING "owner_id"
""",
        "days": """
INSERT INTO "api_key_usage_days" ("api_key_id", "day", "uses")
SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM "api_keys" WHERE "id" = ?1)
ON CONFLICT ("api_key_id", "day") DO UPDATE SET "uses" = "uses" + excluded."uses"
""",
        "workflows": """
INSERT INTO "api_key_workflow_uses" ("api_key_id", "workflow_id", "day", "uses", "last_used_at")
SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM "api_keys" WHERE "id" = ?1)
ON CONFLICT ("api_key_id", "workflow_id", "day")
DO UPDATE SET "uses" = "uses" + excluded."uses",
              "last_used_at" = MAX("last_used_at", excluded."last_used_at")""",
    },
}


# The workflows that used some of an owner's keys since a day: summed over the days, the most
# recent `limit` per key (a window function: one query for all the keys of a page).
_WORKFLOW_USES = """
SELECT "api_key_id", "workflow_id", "uses", "last_used_at" FROM (
  SELECT w."api_key_id", w."workflow_id", SUM(w."uses") AS "uses",
         MAX(w."last_used_at") AS "last_used_at",
         ROW_NUMBER() OVER (
           PARTITION BY w."api_key_id" ORDER BY MAX(w."last_used_at") DESC, w."workflow_id"
         ) AS "rank"
    FROM "api_key_workflow_uses" w JOIN "api_keys" k ON k."id" = w."api_key_id"
   WHERE k."owner_id" = {owner} AND w."api_key_id" IN ({ids}) AND w."day" >= {since}
   GROUP BY w."api_key_id", w."workflow_id"
) AS "ranked"
WHERE "rank" <= {limit}
ORDER BY "api_key_id", "rank"
"""

_REWRITE_RETIRED = (
    'UPDATE "retired_secrets" SET "key_hash" = {p}1, "key_ciphertext" = {p}2'
    ' WHERE "key_hash" = {p}3'
)


@dataclass(frozen=True)
class Statements:
    """The hand-written SQL, rendered for one engine."""

    engine: Engine
    list_keys: str
    usage_latest: str
    usage_days: str
    usage_workflows: str
    rewrite_retired: str

    @property
    def _mark(self) -> str:
        return "$" if self.engine == "postgres" else "?"  # numbered on both engines

    def find_by_secret_hash(self, count: int) -> str:
        """The lookup of a secret by its `count` hashes (one per pepper the service knows)."""
        return _find_by_secret_hash(self.engine, count)

    def workflow_uses(self, key_count: int, limit: int) -> str:
        """Parameters: the owner, the first day, then `key_count` key ids."""
        mark = self._mark
        return _WORKFLOW_USES.strip().format(
            owner=f"{mark}1",
            since=f"{mark}2",
            ids=", ".join(f"{mark}{n}" for n in range(3, key_count + 3)),
            limit=limit,
        )


@functools.cache
def statements(engine: Engine) -> Statements:
    usage = {name: sql.strip() for name, sql in _USAGE_SQL[engine].items()}
    mark = "$" if engine == "postgres" else "?"
    return Statements(
        engine=engine,
        list_keys=_LIST_KEYS.format(p="$1" if engine == "postgres" else "?"),
        usage_latest=usage["latest"],
        usage_days=usage["days"],
        usage_workflows=usage["workflows"],
        rewrite_retired=_REWRITE_RETIRED.format(p=mark),
    )


@functools.cache
def _find_by_secret_hash(engine: Engine, count: int) -> str:
    marks = [f"${n}" if engine == "postgres" else f"?{n}" for n in range(1, count + 1)]
    no_time = "NULL::timestamptz" if engine == "postgres" else "NULL"
    return _FIND_BY_SECRET_HASH.format(no_time=no_time, hashes=", ".join(marks)).strip()
