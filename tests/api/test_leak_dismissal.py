"""A leak report's warning dismissed by the key's owner (`dismissLeak`, `leak.dismissedAt`),
through HTTP, on SQLite and PostgreSQL. Leaks are reported as the secret-scanning partner
reports them (the `scanning` fixture)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.documents import DISMISS_LEAK, ROTATE
from tests.api.test_secret_scanning import Scanning, audit, keys_of, report

LEAKS = "{ apiKeys { id name leak { url reportedAt dismissedAt } } }"


async def leaks(scanning: Scanning, user: str = "alice") -> dict[str, Any]:
    listed = (await scanning.api.data(LEAKS, user=user))["apiKeys"]
    return {key["name"]: key["leak"] for key in listed}


async def dismiss(scanning: Scanning, key_id: str, user: str = "alice") -> dict[str, Any]:
    result: dict[str, Any] = (await scanning.api.data(DISMISS_LEAK, user=user, id=key_id))[
        "dismissLeak"
    ]
    return result


async def leaked_default(scanning: Scanning) -> dict[str, Any]:
    """Alice's default key, reported found in public (so re-issued with a new secret)."""
    default = (await keys_of(scanning.api))[0]
    answer = await scanning.send(report(default["key"]))
    assert answer.json()[0]["label"] == "true_positive"
    return default


async def test_a_dismissed_leak_stays_on_the_key_marked_dismissed(scanning: Scanning) -> None:
    default = await leaked_default(scanning)
    before = (await leaks(scanning))["Default"]
    assert before["dismissedAt"] is None

    dismissed = await dismiss(scanning, default["id"])
    assert dismissed["__typename"] == "ApiKey"
    assert dismissed["leak"]["reportedAt"] == before["reportedAt"]
    assert dismissed["leak"]["dismissedAt"] is not None
    # The list (a prepared plan, and on PostgreSQL a cached one) says so too.
    assert (await leaks(scanning))["Default"] == dismissed["leak"]

    # Dismissing again keeps the first dismissal.
    again = await dismiss(scanning, default["id"])
    assert again["leak"] == dismissed["leak"]


async def test_a_later_leak_report_starts_undismissed(scanning: Scanning) -> None:
    default = await leaked_default(scanning)
    first = (await dismiss(scanning, default["id"]))["leak"]
    # The re-issued secret is found in public too: a new report, with its own warning.
    reissued = (await keys_of(scanning.api))[0]["key"]
    assert (await scanning.send(report(reissued))).json()[0]["label"] == "true_positive"
    second = (await leaks(scanning))["Default"]
    assert second["dismissedAt"] is None
    assert second["reportedAt"] > first["reportedAt"]


async def test_a_rotation_ends_the_report_and_its_dismissal(scanning: Scanning) -> None:
    default = await leaked_default(scanning)
    await dismiss(scanning, default["id"])
    await scanning.api.data(ROTATE, id=default["id"])
    assert (await leaks(scanning))["Default"] is None


async def test_a_key_without_a_report_is_answered_unchanged(scanning: Scanning) -> None:
    default = (await keys_of(scanning.api))[0]
    answered = await dismiss(scanning, default["id"])
    assert answered == {"__typename": "ApiKey", "id": default["id"], "leak": None}


async def test_someone_elses_key_is_not_found_exactly_like_a_missing_one(
    scanning: Scanning,
) -> None:
    default = await leaked_default(scanning)
    await keys_of(scanning.api, user="bob")
    theirs = await scanning.api.post_as("bob", DISMISS_LEAK, id=default["id"])
    missing = await scanning.api.post_as("bob", DISMISS_LEAK, id=str(uuid.uuid4()))
    assert theirs == missing
    assert '"code":"NOT_FOUND"' in theirs
    assert (await leaks(scanning))["Default"]["dismissedAt"] is None


async def test_a_dismissal_is_not_an_audit_event(scanning: Scanning) -> None:
    default = await leaked_default(scanning)
    kinds = [event["kind"] for event in await audit(scanning.api)]
    await dismiss(scanning, default["id"])
    assert [event["kind"] for event in await audit(scanning.api)] == kinds
