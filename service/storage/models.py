"""Tortoise models: the tables and their constraints, no business rules."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from service.domain.limits import (
    ADDRESS_MAX,
    DESCRIPTION_MAX,
    LEAK_SOURCE_MAX,
    LEAK_URL_MAX,
    NAME_MAX,
    SUBJECT_MAX,
    USER_AGENT_MAX,
    WORKFLOW_ID_MAX,
)


class Owner(Model):
    """A platform user who has touched this service; `id` is the session token's `sub`.

    The row exists so that every change to a user's keys can lock it: that lock is what keeps
    "at most N keys, exactly one default" true when requests for one user arrive together.
    """

    id = fields.CharField(primary_key=True, max_length=SUBJECT_MAX)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "owners"


class ApiKey(Model):
    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[Owner] = fields.ForeignKeyField(
        "models.Owner", related_name="api_keys", on_delete=fields.CASCADE
    )
    owner_id: str
    name = fields.CharField(max_length=NAME_MAX)
    # Case-folded name; the unique constraint below makes names unique per owner regardless of case.
    # Case folding grows a name at most threefold.
    name_key = fields.CharField(max_length=4 * NAME_MAX)
    description = fields.CharField(max_length=DESCRIPTION_MAX, null=True)
    is_default = fields.BooleanField(default=False)
    # HMAC-SHA256 of the key under the pepper: the lookup for verification. Never the key itself.
    key_hash = fields.CharField(max_length=64, unique=True)
    # AES-GCM ciphertext of the key, so its owner can see it again.
    key_ciphertext = fields.BinaryField()
    key_last_four = fields.CharField(max_length=4)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_used_at = fields.DatetimeField(null=True)
    # Where the latest use came from (written with `last_used_at`, by the tracker).
    last_used_address = fields.CharField(max_length=ADDRESS_MAX, null=True)
    last_used_user_agent = fields.CharField(max_length=USER_AGENT_MAX, null=True)
    rotated_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)  # null: never (the default key never does)
    # Reported leaked (a secret-scanning partner found it in public): a key other than the
    # default is revoked; the default gets a new secret and keeps the report until its next
    # rotation.
    revoked_at = fields.DatetimeField(null=True)
    leak_url = fields.CharField(max_length=LEAK_URL_MAX, null=True)
    leak_source = fields.CharField(max_length=LEAK_SOURCE_MAX, null=True)
    leak_reported_at = fields.DatetimeField(null=True)
    # The owner dismissed the page's warning of this leak report (null: not yet). Cleared with
    # the report, so a new report starts undismissed.
    leak_dismissed_at = fields.DatetimeField(null=True)
    # Its scope, JSON arrays: the workflows it may run, the networks it may be used from (null:
    # every workflow, anywhere).
    workflow_ids = fields.TextField(null=True)
    allowed_addresses = fields.TextField(null=True)

    class Meta:
        table = "api_keys"
        unique_together = (("owner", "name_key"),)


class RetiredSecret(Model):
    """A key's former secret after a rotation: it still verifies until `expires_at` (the grace
    period a rotation asked for, zero to seven days), and answers EXPIRED after that."""

    key_hash = fields.CharField(primary_key=True, max_length=64)
    # The secret encrypted like the key's own, so that a rotation of the pepper can re-hash it.
    # Null for secrets retired before it was kept.
    key_ciphertext = fields.BinaryField(null=True)
    api_key: fields.ForeignKeyRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="retired_secrets", on_delete=fields.CASCADE
    )
    api_key_id: str
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)  # reported leaked: answers REVOKED

    class Meta:
        table = "retired_secrets"
        indexes = (("api_key", "expires_at"),)


class ApiKeyUsageDay(Model):
    """How many times a key was used on one UTC day (written by the tracker's flushes; kept
    for 90 days)."""

    id = fields.BigIntField(primary_key=True)
    api_key: fields.ForeignKeyRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="usage_days", on_delete=fields.CASCADE
    )
    api_key_id: str
    day = fields.DateField()
    uses = fields.IntField()

    class Meta:
        table = "api_key_usage_days"
        unique_together = (("api_key", "day"),)
        indexes = (("day",),)


class ApiKeyWorkflowUse(Model):
    """How many times a key was used to run one workflow on one UTC day, and the latest time
    (written by the tracker's flushes; kept for 90 days)."""

    id = fields.BigIntField(primary_key=True)
    api_key: fields.ForeignKeyRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="workflow_uses", on_delete=fields.CASCADE
    )
    api_key_id: str
    workflow_id = fields.CharField(max_length=WORKFLOW_ID_MAX)
    day = fields.DateField()
    uses = fields.IntField()
    last_used_at = fields.DatetimeField()

    class Meta:
        table = "api_key_workflow_uses"
        unique_together = (("api_key", "workflow_id", "day"),)
        indexes = (("day",),)


class ApiKeyEvent(Model):
    """One entry of a user's audit trail. No foreign key to the key: events outlive it."""

    id = fields.BigIntField(primary_key=True)
    owner: fields.ForeignKeyRelation[Owner] = fields.ForeignKeyField(
        "models.Owner", related_name="events", on_delete=fields.CASCADE
    )
    owner_id: str
    kind = fields.CharField(max_length=16)
    key_id = fields.UUIDField()
    key_name = fields.CharField(max_length=NAME_MAX)
    changed_fields = fields.CharField(max_length=64, default="")  # comma-separated, UPDATED only
    grace_seconds = fields.IntField(null=True)  # ROTATED only
    revealed_in = fields.CharField(max_length=16, null=True)  # REVEALED only
    leak_url = fields.CharField(max_length=LEAK_URL_MAX, null=True)  # LEAKED only
    leak_source = fields.CharField(max_length=LEAK_SOURCE_MAX, null=True)  # LEAKED only
    key_expires_at = fields.DatetimeField(null=True)  # CREATED only: when the key expires
    # CREATED, and UPDATED when it changed: the scope after the event (JSON arrays).
    workflow_ids = fields.TextField(null=True)
    allowed_addresses = fields.TextField(null=True)
    client_address = fields.CharField(max_length=ADDRESS_MAX, null=True)
    # Wider than USER_AGENT_MAX: rows written before user agents had one limit keep theirs.
    user_agent = fields.CharField(max_length=512, null=True)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "api_key_events"
        indexes = (("owner", "id"),)
