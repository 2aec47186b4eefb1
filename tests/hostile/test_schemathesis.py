"""An outside tool's view: schemathesis, in GraphQL mode, against a live `apikeys serve` on each
engine (development on SQLite, production on PostgreSQL, where the committed `schema.graphql`
stands in for introspection), signed in and not. It must find no 5xx and no answer that breaks
the schema.

schemathesis also reports every answer carrying GraphQL `errors` (its ST113); for this service
those are refusals it was designed to give (a `days` out of range, NOT_FOUND), so this test
judges by status codes and schema conformance, from the run's NDJSON report.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from service.settings import Settings
from service.web.auth import Authenticator
from tests.helpers import PRODUCTION, ROOT, Database, base_env
from tests.report import record
from tests.servers import Server

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
EXAMPLES = int(os.environ.get("APIKEYS_SCHEMATHESIS_EXAMPLES", "400"))  # per operation and run
CHECKS = "not_a_server_error,response_schema_conformance"
# What an answer's `errors` may say: the refusals the service gives on purpose.
REFUSALS = frozenset(
    {"VALIDATION_FAILED", "NOT_FOUND", "KEY_REVOKED", "KEY_EXPIRED", "WORKFLOW_NOT_ALLOWED"}
    | {"UNAUTHENTICATED", "FORBIDDEN"}
)


async def schemathesis(
    server: Server, report: Path, headers: dict[str, str], seed: int, production: bool
) -> dict[str, Any]:
    """One run; what it sent and what it found, read from its NDJSON report."""
    location = [str(ROOT / "schema.graphql"), "--url"] if production else []
    command = [
        SCHEMATHESIS,
        "run",
        *location,
        f"{server.url}/graphql",
        *(arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")),
        *("-n", str(EXAMPLES), "--seed", str(seed), "--checks", CHECKS),
        *("--generation-database", "none", "--no-color", "--report", "ndjson"),
        *("--report-ndjson-path", str(report), "--request-timeout", "30"),
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=report.parent,  # where it keeps its cache
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    finally:
        if process.returncode is None:  # timed out, or the test failed elsewhere
            process.kill()
            await process.wait()
    assert report.exists(), output.decode()[-3000:]
    return read(report)


def read(report: Path) -> dict[str, Any]:
    cases = 0
    statuses: Counter[int] = Counter()
    failed: list[str] = []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished is None:
            continue
        recorder = finished["recorder"]
        cases += len(recorder["cases"])
        for case_id, interaction in recorder["interactions"].items():
            response = interaction.get("response")
            if response is None:
                failed.append(f"{recorder['label']}: no response to {case_id}")
                continue
            statuses[response["status_code"]] += 1
            if response["status_code"] >= 500:
                body = base64.b64decode(response["content"]["$base64"]).decode(errors="replace")
                failed.append(f"{recorder['label']}: {response['status_code']} {body[:300]}")
        for case_id, checks in recorder["checks"].items():
            for check in checks:
                if check["status"] == "success" or refused_on_purpose(
                    check, recorder["interactions"].get(case_id)
                ):
                    continue
                failed.append(f"{recorder['label']} {case_id}: {json.dumps(check)[:500]}")
    return {"cases": cases, "statuses": statuses, "failed": failed}


def refused_on_purpose(check: dict[str, Any], interaction: dict[str, Any] | None) -> bool:
    """schemathesis's "GraphQL server error" (ST113) for an answer whose every error is one of
    the service's refusals, with its code: no crash (a crash is masked, without a code)."""
    failure = check.get("failure_info", {}).get("failure", {})
    if failure.get("code") != "ST113" or interaction is None or not interaction.get("response"):
        return False
    response = interaction["response"]
    body = json.loads(base64.b64decode(response["content"]["$base64"]))
    errors = body.get("errors") or []
    return (
        response["status_code"] == 200
        and bool(errors)
        and all(e.get("extensions", {}).get("code") in REFUSALS for e in errors)
    )


async def test_schemathesis_finds_no_server_error_and_no_answer_against_the_schema(
    databases: dict[str, Database | str], tmp_path: Path
) -> None:
    """Both engines at once, each signed in from two processes (two seeds) and signed out from
    one: schemathesis spends most of its time generating, so this keeps both cores busy."""
    missing = [reason for reason in databases.values() if isinstance(reason, str)]
    if missing and os.environ.get("CI") == "true":
        pytest.fail(missing[0])
    servers: list[Server] = []
    runs: list[asyncio.Task[dict[str, Any]]] = []
    try:
        for engine, database in databases.items():
            if isinstance(database, str):
                continue
            # Production on PostgreSQL: no introspection, so the committed schema stands in.
            production = engine == "postgres"
            env = {"APIKEYS_VERIFY_MAX_FAILURES": "1000000", **(PRODUCTION if production else {})}
            (tmp_path / engine).mkdir()
            server = Server(database.url, tmp_path / engine, **env).wait_ready()
            servers.append(server)
            sessions = Authenticator(Settings.from_env({**base_env(database.url), **env}).jwt)
            signed_in = {"Authorization": f"Bearer {sessions.issue(f'schemathesis-{engine}')}"}
            for seed, headers in ((1, signed_in), (3, signed_in), (2, {})):
                report = tmp_path / engine / f"seed-{seed}" / "report.ndjson"
                report.parent.mkdir()
                runs.append(
                    asyncio.create_task(schemathesis(server, report, headers, seed, production))
                )
        results = await asyncio.gather(*runs)
    finally:
        for run in runs:
            run.cancel()
        for server in servers:
            assert server.stop() in (0, -signal.SIGTERM)
    for result in results:
        assert result["cases"] > 0
        assert result["failed"] == [], result["failed"][:20]
        assert not any(status >= 500 for status in result["statuses"]), result["statuses"]
        record("hostile inputs tried", result["cases"])
        record("schemathesis cases sent", result["cases"])
    if missing:
        pytest.skip(missing[0])
