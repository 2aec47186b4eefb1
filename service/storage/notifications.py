"""The key-change protocol's wire format, for the side that announces and the side that listens.
How the protocol keeps every process's caches exact is in `service.storage.listener` and, whole,
in docs/architecture.md.

The channels:
- `apikeys_key_changes`: `<token>:<key id>`, sent by the transaction that changes a key, so
  delivered exactly when it commits; each listening process acknowledges the token. A token is
  `<writer>.<nonce>`: `writer` names the process that made the change.
- `apikeys_key_lists`: a JSON array of owner ids whose key lists changed (sent first by a key
  change, and by tracker flushes for the owners whose "last used" times they wrote); not
  acknowledged.
- `apikeys_acks_<writer>`: the tokens of that writer's changes, one notification each, sent by
  each listening process that heard them. Only the writer listens there: one change costs one
  delivery per process, not one per pair of processes.
- `apikeys_key_change_acks`: the acknowledgements of releases before writer channels (they
  acknowledge every token there); a writer listens there too, so that a rolling upgrade waits for
  old and new processes alike. Earlier releases read the change and lists formats: keep them.
Listening sessions are named `apikeys-key-cache` in `pg_stat_activity`: a writer counts them.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterator, Sequence
from typing import Protocol

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

KEY_CHANGES_CHANNEL = "apikeys_key_changes"
KEY_LISTS_CHANNEL = "apikeys_key_lists"
ACK_CHANNEL = "apikeys_key_change_acks"  # releases before writer channels
_WRITER_ACKS = "apikeys_acks_"
LISTENER_NAME = "apikeys-key-cache"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more: owners are announced in batches.
_LISTS_PAYLOAD_BYTES = 7000

# Every acknowledgement a listener owes, to every writer, in one statement (one commit, one
# round trip): parameters are the channels and the tokens, side by side.
ACKNOWLEDGE = "SELECT pg_notify(a.c, a.t) FROM unnest($1::text[], $2::text[]) AS a(c, t)"
# The listening sessions a change must be acknowledged by.
LISTENERS = (
    "SELECT pid FROM pg_stat_activity"
    f" WHERE application_name = '{LISTENER_NAME}' AND datname = current_database()"
)
_NOTIFY = "SELECT pg_notify($1, $2)"


def new_writer() -> str:
    """A name for one process's writer: its tokens and its acknowledgement channel carry it."""
    return secrets.token_hex(8)


def new_token(writer: str) -> str:
    return f"{writer}.{secrets.token_hex(8)}"


def writer_channel(writer: str) -> str:
    return _WRITER_ACKS + writer


def ack_channel(token: str) -> str:
    """Where the acknowledgement of `token` goes: its writer's channel, or, for a token of a
    release before writer channels, the channel every process of that release listens on."""
    writer, dot, _ = token.partition(".")
    return writer_channel(writer) if dot and writer.isalnum() else ACK_CHANNEL


def change_payload(token: str, key_id: str) -> str:
    return f"{token}:{key_id}"


def parse_change(payload: str) -> tuple[str, str]:
    """(token, key id) of a change notification."""
    token, _, key_id = payload.partition(":")
    return token, key_id


def lists_payloads(owner_ids: Sequence[str]) -> Iterator[str]:
    """JSON arrays of owner ids, each small enough for one NOTIFY payload."""
    batch: list[str] = []
    size = 2
    for owner_id in owner_ids:
        encoded = len(orjson.dumps(owner_id)) + 1
        if batch and size + encoded > _LISTS_PAYLOAD_BYTES:
            yield orjson.dumps(batch).decode()
            batch, size = [], 2
        batch.append(owner_id)
        size += encoded
    if batch:
        yield orjson.dumps(batch).decode()


def parse_lists(payload: str) -> list[str] | None:
    """The owners a lists notification names; None for one that cannot be read (every list
    must then be forgotten)."""
    try:
        owners = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return [str(owner) for owner in owners] if isinstance(owners, list) else None


async def announce_lists(conn: BaseDBAsyncClient, owner_ids: Sequence[str]) -> None:
    """In the transaction on `conn`: these owners' lists changed (delivered on commit)."""
    for payload in lists_payloads(owner_ids):
        await conn.execute_query(_NOTIFY, [KEY_LISTS_CHANNEL, payload])


class KeyChangeObserver(Protocol):
    """Hears of keys created, renamed, rotated or deleted, by the transaction identified by
    `token`, and of "last used" times written."""

    def new_token(self) -> str:
        """The token a transaction announces its changes with."""

    def expect(self, token: str) -> None:
        """The transaction is about to announce a change (the announcement may be delivered
        as soon as it commits, before `committed` is called)."""

    async def committed(self, owner_id: str, key_ids: Collection[str], token: str) -> None:
        """The transaction committed."""

    def abandoned(self, token: str) -> None:
        """The transaction rolled back: nothing changed."""

    def used(self, owner_ids: Collection[str]) -> None:
        """A flush of "last used" times committed; these owners' keys were among them."""
