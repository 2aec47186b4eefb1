"""The audit trail's vocabulary: who acted, and the kinds of event recorded.

Every create, update (with the fields changed), rotation (with its grace period), deletion,
every reveal of a full key, and every leak reported by a secret-scanning partner is recorded with
the user, the key's id and name at the time, when, and the client's address and user agent, in
the same transaction as the change itself. Events outlive the key they describe. They never hold
a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    ROTATED = "ROTATED"
    DELETED = "DELETED"
    REVEALED = "REVEALED"
    LEAKED = "LEAKED"  # a secret-scanning partner found the key in public


class RevealedIn(StrEnum):
    """Where a full key was shown."""

    API_KEY = "API_KEY"  # the `key` field of an ApiKey (the settings page's reveal and copy)
    RUN_COMMAND = "RUN_COMMAND"  # a workflow run command with the key in it


@dataclass(frozen=True)
class Actor:
    """The signed-in user behind a use case, and where their request came from (as
    `service.domain.origins` keeps them)."""

    owner_id: str
    client_address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Event:
    id: int
    kind: EventKind
    key_id: str
    key_name: str
    changed_fields: tuple[str, ...]
    grace_seconds: int | None
    revealed_in: RevealedIn | None
    client_address: str | None
    user_agent: str | None
    occurred_at: datetime
    leak_url: str | None = None
    leak_source: str | None = None
    key_expires_at: datetime | None = None
    # The scope a creation gave, or an update changed to (None: every workflow, anywhere).
    workflow_ids: tuple[str, ...] | None = None
    allowed_addresses: tuple[str, ...] | None = None
