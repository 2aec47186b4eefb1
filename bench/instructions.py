"""Instructions per request, counted by callgrind in the server process: the service's verify
(a valid key, a malformed one), the settings page's key list, and the bare floor, in one run.

Requests per second move with whatever else the machine runs; the instructions a server executes
per request do not (the same total twice, with the other core loaded or not). `python -m
bench.instructions` starts each server under `valgrind --tool=callgrind`, warms it up, sends it
requests one after another on one keep-alive connection, stops it, and does so twice per
scenario, with `--requests` requests and with 300: the difference of the two totals, divided by
the difference of the counts, is what one request costs, start-up and shutdown excluded. uvicorn's
work is counted, the kernel's is not. Needs valgrind (`apt-get install valgrind`) and PostgreSQL
(the verified-key cache is PostgreSQL's); takes about ten minutes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench import client
from bench.bare import FLOOR_PATH
from bench.databases import PostgresDatabase
from bench.documents import page_documents
from bench.processes import Server, bare_server, migrate, service_server
from bench.seed import ServiceSecrets

_BASE_REQUESTS = 300
_WARM_UP = 100
_START_SECONDS = 600.0  # a server under callgrind starts some fifty times slower
_COLLECTED = re.compile(r"Collected : (\d+)")


class Scenario:
    def __init__(
        self, name: str, method: str, path: str, body: bytes | None, token: str | None = None
    ) -> None:
        self.name, self.method, self.path, self.body = name, method, path, body
        self.token = token  # the bearer token sent; None for the bare floor


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--requests", type=int, default=1300, help="measured requests (1300)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind not found: install it with `apt-get install valgrind`", file=sys.stderr)
        return 2
    if args.requests <= _BASE_REQUESTS:
        parser.error(f"--requests must be above {_BASE_REQUESTS}")
    service_secrets = ServiceSecrets.generate()
    with ExitStack() as cleanup:
        workdir = Path(tempfile.mkdtemp(prefix="apikeys-instructions-"))
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        database = PostgresDatabase(
            args.postgres_url, f"apikeys_instr_{os.getpid()}_{secrets.token_hex(4)}"
        )
        database.create()
        cleanup.callback(database.drop)
        env = service_secrets.env(database.url, str(workdir / "state"))
        migrate(env)
        user = service_secrets.sessions().issue("bench-instructions")
        key = _a_key(env, workdir, service_secrets, user)
        service = service_secrets.service_token
        list_keys = page_documents()["LIST_KEYS"]
        malformed = key[:-1] + ("A" if key[-1] != "A" else "B")
        scenarios = [
            Scenario("bare floor (GET)", "GET", FLOOR_PATH, None),
            Scenario(
                "verify", "POST", "/v1/keys/verify", json.dumps({"key": key}).encode(), service
            ),
            Scenario(
                "verify-bad",
                "POST",
                "/v1/keys/verify",
                json.dumps({"key": malformed}).encode(),
                service,
            ),
            Scenario(
                "list",
                "POST",
                "/graphql",
                json.dumps({"query": list_keys, "variables": {}}).encode(),
                user,
            ),
        ]
        print("instructions per request, counted by callgrind in the server process")
        print(f"(uvicorn included, the kernel not; {args.requests} vs {_BASE_REQUESTS} requests)")
        floor: float | None = None
        for scenario in scenarios:
            counts = [
                _count(scenario, n, env, workdir, service_secrets)
                for n in (_BASE_REQUESTS, args.requests)
            ]
            per_request = (counts[1] - counts[0]) / (args.requests - _BASE_REQUESTS)
            if floor is None:
                floor = per_request
                print(f"{scenario.name:18s} {per_request:>10,.0f}")
            else:
                ratio = floor / per_request
                print(f"{scenario.name:18s} {per_request:>10,.0f}   bare/this {ratio:.3f}")
    return 0


def _a_key(env: dict[str, str], workdir: Path, service_secrets: ServiceSecrets, token: str) -> str:
    """The default key of a user, made by the service on its first list."""
    server = service_server(env, workdir, "key", pin=False)
    try:
        server.wait_ready()
        data, _ = client.graphql(server.base_url, token, "{ apiKeys { key } }")
        key: str = data["apiKeys"][0]["key"]
        # A refusal is answered 200 too: the counted scenario must be a valid key's.
        if client.verify(server.base_url, service_secrets.service_token, key)["valid"] is not True:
            raise client.ClientError("the key made for the count does not verify")
        return key
    finally:
        server.stop()


def _count(
    scenario: Scenario,
    requests: int,
    env: dict[str, str],
    workdir: Path,
    service_secrets: ServiceSecrets,
) -> int:
    """The instructions a fresh server executes in all, answering `requests` (after a warm-up)."""
    log = workdir / f"callgrind-{scenario.name.split()[0]}-{requests}.log"
    under = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log}"]
    server: Server
    if scenario.method == "GET":
        server = bare_server(workdir, pin=False, under=under)
    else:
        server = service_server(env, workdir, scenario.name, pin=False, under=under)
    try:
        server.wait_ready(_START_SECONDS)
        headers = {"Content-Type": "application/json"}
        if scenario.token is not None:
            headers["Authorization"] = f"Bearer {scenario.token}"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for _ in range(_WARM_UP + requests):
            connection.request(scenario.method, scenario.path, body=scenario.body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            # GraphQL answers its errors with 200: a count of an error's path measures nothing.
            if response.status != 200 or b'"errors"' in answer:
                raise client.ClientError(f"{scenario.name} answered {response.status}: {answer!r}")
        connection.close()
    finally:
        server.stop(_START_SECONDS)
    found = _COLLECTED.findall(log.read_text())
    if not found:
        raise RuntimeError(f"callgrind reported no total in {log}")
    return int(found[-1])


if __name__ == "__main__":
    sys.exit(main())
