"""The scenarios' requests, as data for the Lua scripts in `bench/lua/`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.bare import FLOOR_PATH
from bench.documents import page_documents
from service.domain.key_format import BASE62, KeyFormat

# The workflow editor's dropdown: the keys that can run the workflow its run panel names.
DROPDOWN_QUERY = '{ apiKeys(usableFor: "daily-report") { id name isDefault } }'


@dataclass(frozen=True)
class PageDocuments:
    """The settings page's list and write documents, exactly as the page sends them (read from
    service/static/js/documents.js: no `key`, so no reveal)."""

    list_keys: str
    create_key: str
    delete_key: str
    update_key: str
    rotate_key: str

    @classmethod
    def read(cls) -> PageDocuments:
        names = ("LIST_KEYS", "CREATE_KEY", "DELETE_KEY", "UPDATE_KEY", "ROTATE_KEY")
        found = page_documents(required=names)
        return cls(*(found[name] for name in names))


# The gateway passes the end client's address; a handful of them, as from a few clients.
CLIENT_ADDRESSES = tuple(f"203.0.113.{n}" for n in range(1, 17))
_PLACEHOLDER = "BENCH_PLACEHOLDER"
_JSON = {"Content-Type": "application/json"}
# What the page's fetch() sends besides the token (service/static/js/api.js).
_PAGE_HEADERS = {**_JSON, "Accept": "application/json"}


def floor() -> dict[str, Any]:
    """The bare app's and the service's floor alike: both answer this path."""
    return {
        "requests": [{"method": "GET", "path": FLOOR_PATH, "headers": {}}],
        "expect": '"apiKeys"',
    }


def stack() -> dict[str, Any]:
    """The liveness route: the whole stack (uvicorn, middleware, request log, metrics) around a
    handler that does nothing."""
    return {
        "requests": [{"method": "GET", "path": "/healthz", "headers": {}}],
        "expect": '"status":"ok"',
    }


def verify(keys: Sequence[str], service_token: str) -> dict[str, Any]:
    return {"requests": _verify_requests(keys, service_token), "expect": '"valid":true'}


def verify_bad(keys: Sequence[str], service_token: str, key_format: KeyFormat) -> dict[str, Any]:
    """Keys of the right shape whose checksum is wrong: refused before any database work."""
    bad = [_break_checksum(key) for key in keys]
    assert not any(key_format.is_well_formed(key) for key in bad)
    return {"requests": _verify_requests(bad, service_token), "expect": '"reason":"MALFORMED"'}


def graphql(tokens: Sequence[str], query: str) -> dict[str, Any]:
    """One request per user, as the page sends it: `{query, variables: {}}`."""
    body = json.dumps({"query": query, "variables": {}})
    return {
        "requests": [
            {"method": "POST", "path": "/graphql", "headers": _page_headers(token), "body": body}
            for token in tokens
        ],
        # Data, not errors, and at least one key in the list.
        "expect": '{"data":{"apiKeys":[{',
    }


def create_delete(
    tokens: Sequence[str], users_per_thread: int, documents: PageDocuments
) -> dict[str, Any]:
    return {
        "tokens": list(tokens),
        "users_per_thread": users_per_thread,
        "create_body": _template(
            documents.create_key, {"input": {"name": _PLACEHOLDER, "description": None}}
        ),
        "delete_body": _template(documents.delete_key, {"input": {"id": _PLACEHOLDER}}),
    }


@dataclass(frozen=True)
class KeyHolder:
    """A user of the write rows: their session token and their default key's id."""

    token: str = field(repr=False)
    default_key_id: str


def rename(holders: Sequence[KeyHolder], documents: PageDocuments) -> dict[str, Any]:
    """The page's UPDATE_KEY giving each user's default key a new name (bench/lua/rename.lua
    puts a fresh one in each request)."""
    return {
        "requests": [
            {
                "headers": _page_headers(holder.token),
                "body": _template(
                    documents.update_key,
                    {"input": {"id": holder.default_key_id, "name": _PLACEHOLDER}},
                ),
            }
            for holder in holders
        ],
        "expect": '"updateApiKey":{"__typename":"ApiKey"',
    }


def rotate(holders: Sequence[KeyHolder], documents: PageDocuments) -> dict[str, Any]:
    """The page's ROTATE_KEY on each user's default key, the old secret ending at once."""
    return {
        "requests": [
            {
                "method": "POST",
                "path": "/graphql",
                "headers": _page_headers(holder.token),
                "body": json.dumps(
                    {
                        "query": documents.rotate_key,
                        "variables": {"input": {"id": holder.default_key_id}},
                    }
                ),
            }
            for holder in holders
        ],
        "expect": '"rotateApiKey":{"__typename":"ApiKey"',
    }


def first_visit(tokens: Sequence[str], threads: int, documents: PageDocuments) -> dict[str, Any]:
    """The page's LIST_KEYS, each token a user never seen (bench/lua/first_visit.lua)."""
    return {
        "tokens": "\n".join(tokens),
        "threads": threads,
        "body": json.dumps({"query": documents.list_keys, "variables": {}}),
        "expect": '{"data":{"apiKeys":[{"id":',
    }


def _page_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **_PAGE_HEADERS}


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
