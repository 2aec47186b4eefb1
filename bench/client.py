"""A small HTTP client for what wrk cannot do: checks through the real API, and an exact number
of verifications (wrk runs for a time, not a count)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class ClientError(RuntimeError):
    """The service answered something the benchmark did not expect."""


def post_json(
    base_url: str, path: str, body: dict[str, Any], authorization: str
) -> tuple[int, bytes]:
    connection = _connect(base_url)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Authorization": authorization, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def get(base_url: str, path: str) -> bytes:
    connection = _connect(base_url)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise ClientError(f"GET {path} answered {response.status}")
        return body
    finally:
        connection.close()


def graphql(base_url: str, token: str, query: str) -> tuple[dict[str, Any], int]:
    """The `data` of a GraphQL answer and the body's size in bytes; errors raise."""
    status, raw = post_json(base_url, "/graphql", {"query": query}, f"Bearer {token}")
    answer = json.loads(raw)
    if status != 200 or answer.get("errors"):
        codes = [e.get("extensions", {}).get("code") for e in answer.get("errors") or []]
        raise ClientError(f"GraphQL answered {status} with errors {codes}")
    data: dict[str, Any] = answer["data"]
    return data, len(raw)


def verify(base_url: str, service_token: str, key: str) -> dict[str, Any]:
    status, raw = post_json(base_url, "/v1/keys/verify", {"key": key}, f"Bearer {service_token}")
    if status != 200:
        raise ClientError(f"/v1/keys/verify answered {status}")
    verdict: dict[str, Any] = json.loads(raw)
    return verdict


@dataclass(frozen=True)
class VerificationRun:
    requests: int
    failures: int
    seconds: float


def verify_exactly(
    base_url: str, service_token: str, keys: Sequence[str], total: int, connections: int = 8
) -> VerificationRun:
    """`total` verifications cycling through `keys`, over keep-alive connections in threads."""
    failures = [0] * connections
    shares = [
        total // connections + (1 if i < total % connections else 0) for i in range(connections)
    ]

    def worker(index: int) -> None:
        connection = _connect(base_url)
        headers = {"Authorization": f"Bearer {service_token}", "Content-Type": "application/json"}
        done = 0
        try:
            for n in range(shares[index]):
                key = keys[(index + n * connections) % len(keys)]
                connection.request(
                    "POST", "/v1/keys/verify", body=json.dumps({"key": key}), headers=headers
                )
                response = connection.getresponse()
                body = response.read()
                done += 1
                if response.status != 200 or b'"valid":true' not in body:
                    failures[index] += 1
        except (OSError, http.client.HTTPException):
            failures[index] += shares[index] - done  # counted, not hidden in a thread's stderr
        finally:
            connection.close()

    # Daemons: an interrupted run must not wait for them on its way out.
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return VerificationRun(sum(shares), sum(failures), time.monotonic() - started)


def _connect(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
