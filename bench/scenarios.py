"""The scenarios' requests, as data for the Lua scripts in `bench/lua/`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bench.server import FLOOR_PATH
from service.security import BASE62, KeyFormat

APIKEYS_QUERY = "{ apiKeys { id name description maskedKey isDefault createdAt lastUsedAt } }"
DROPDOWN_QUERY = "{ apiKeys { id name isDefault } }"
# The settings page's own documents (service/static/js/documents.js): no `key`, so no reveal.
KEY_FIELDS = (
    "fragment KeyFields on ApiKey"
    " { id name description maskedKey isDefault createdAt updatedAt lastUsedAt rotatedAt }"
)
CREATE_MUTATION = (
    "mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) {"
    " __typename ...KeyFields ... on UserError { code message }"
    " ... on ValidationError { field } ... on KeyLimitReachedError { limit } } } " + KEY_FIELDS
)
DELETE_MUTATION = (
    "mutation DeleteApiKey($input: DeleteApiKeyInput!) { deleteApiKey(input: $input) {"
    " __typename ... on DeletedApiKey { id } ... on UserError { code message } } }"
)
# The gateway passes the end client's address; a handful of them, as from a few clients.
CLIENT_ADDRESSES = tuple(f"203.0.113.{n}" for n in range(1, 17))
_PLACEHOLDER = "BENCH_PLACEHOLDER"
_JSON = {"Content-Type": "application/json"}


def floor() -> dict[str, Any]:
    return {
        "requests": [{"method": "GET", "path": FLOOR_PATH, "headers": {}}],
        "expect": '"apiKeys"',
    }


def verify(keys: Sequence[str], service_token: str) -> dict[str, Any]:
    return {"requests": _verify_requests(keys, service_token), "expect": '"valid":true'}


def verify_bad(keys: Sequence[str], service_token: str, key_format: KeyFormat) -> dict[str, Any]:
    """Keys of the right shape whose checksum is wrong: refused before any database work."""
    bad = [_break_checksum(key) for key in keys]
    assert not any(key_format.is_well_formed(key) for key in bad)
    return {"requests": _verify_requests(bad, service_token), "expect": '"reason":"MALFORMED"'}


def graphql(tokens: Sequence[str], query: str) -> dict[str, Any]:
    body = json.dumps({"query": query})
    return {
        "requests": [
            {
                "method": "POST",
                "path": "/graphql",
                "headers": {"Authorization": f"Bearer {token}", **_JSON},
                "body": body,
            }
            for token in tokens
        ],
        # Data, not errors, and at least one key in the list.
        "expect": '{"data":{"apiKeys":[{',
    }


def create_delete(tokens: Sequence[str], users_per_thread: int) -> dict[str, Any]:
    return {
        "tokens": list(tokens),
        "users_per_thread": users_per_thread,
        "create_body": _template(CREATE_MUTATION, {"input": {"name": _PLACEHOLDER}}),
        "delete_body": _template(DELETE_MUTATION, {"input": {"id": _PLACEHOLDER}}),
    }


def _verify_requests(keys: Sequence[str], service_token: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {service_token}", **_JSON}
    return [
        {
            "method": "POST",
            "path": "/v1/keys/verify",
            "headers": headers,
            "body": json.dumps(
                {"key": key, "clientAddress": CLIENT_ADDRESSES[n % len(CLIENT_ADDRESSES)]}
            ),
        }
        for n, key in enumerate(keys)
    ]


def _break_checksum(key: str) -> str:
    last = key[-1]
    return key[:-1] + BASE62[(BASE62.index(last) + 1) % len(BASE62)]


def _template(query: str, variables: dict[str, Any]) -> str:
    """A JSON body with `%s` where the Lua script puts a name or an id (never needing escapes)."""
    body = json.dumps({"query": query, "variables": variables})
    assert "%" not in body
    return body.replace(_PLACEHOLDER, "%s")
