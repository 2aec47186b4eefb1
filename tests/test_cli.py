"""The `apikeys` command, run as a user would."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.domain.key_format import KeyFormat
from service.settings import Settings
from service.web.auth import Authenticator
from tests.helpers import ROOT, Database, base_env, run_cli
from tests.servers import free_port


def test_migrate_is_idempotent(database: Database) -> None:
    result = run_cli("migrate", env=base_env(database.url))
    assert result.returncode == 0, result.stderr
    assert "none pending" in result.stdout


def test_token_prints_a_session_token_for_the_user(tmp_path: Path) -> None:
    env = {"APIKEYS_STATE_DIR": str(tmp_path / "state")}
    result = run_cli("token", "--user", "alice", env=env)
    assert result.returncode == 0, result.stderr
    settings = Settings.from_env(env)
    principal = Authenticator(settings.jwt).authenticate(f"Bearer {result.stdout.strip()}")
    assert principal is not None and principal.owner_id == "alice"


def test_production_without_secrets_refuses_to_start(tmp_path: Path) -> None:
    result = run_cli(
        "serve", env={"APIKEYS_ENV": "production", "APIKEYS_STATE_DIR": str(tmp_path / "s")}
    )
    assert result.returncode == 2
    assert "APIKEYS_PEPPER" in result.stderr
    assert "Traceback" not in result.stderr


def test_generate_secret_prints_a_usable_secret(tmp_path: Path) -> None:
    values = {run_cli("generate-secret", env={}).stdout.strip() for _ in range(2)}
    assert len(values) == 2
    pepper, key = values
    env = {
        "APIKEYS_PEPPER": pepper,
        "APIKEYS_ENCRYPTION_KEY": key,
        "APIKEYS_JWT_SECRET": "j" * 32,
        "APIKEYS_SERVICE_TOKEN": "t" * 32,
    }
    assert Settings.from_env({**env, "APIKEYS_STATE_DIR": str(tmp_path)}).pepper.reveal()


def wait_for(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def test_serve_with_several_workers_prints_a_sign_in_link(tmp_path: Path) -> None:
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", server)
        statuses = set()
        for _ in range(40):
            statuses.add(httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code)
        assert statuses == {200}
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    link = next(line for line in output.splitlines() if "/#token=" in line)
    token = link.split("/#token=", 1)[1].split()[0]
    settings = Settings.from_env({"APIKEYS_STATE_DIR": str(tmp_path / ".apikeys")})
    principal = Authenticator(settings.jwt).authenticate(f"Bearer {token}")
    assert principal is not None and principal.owner_id == "dev"
    # Everything the server logged is one JSON object per line.
    logged = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    started = [e for e in logged if e["msg"].startswith("Started server process")]
    assert len(started) == 2, "two worker processes"
    assert all(e["level"] and "color_message" not in e for e in logged)


def test_serve_starts_on_sqlite_with_zero_setup(tmp_path: Path) -> None:
    """The README's start command, in an empty directory: migrate, serve, answer."""
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, headers={"Accept": "text/html"}, timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        token = subprocess.run(
            [sys.executable, "-m", "service.cli", "token", "--user", "alice"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        response = httpx.post(
            url,
            json={"query": "{ apiKeys { name isDefault key } }"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        keys = response.json()["data"]["apiKeys"]
        assert [(k["name"], k["isDefault"]) for k in keys] == [("Default", True)]
        assert (tmp_path / "apikeys.sqlite3").exists()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete." in output
    assert keys[0]["key"] not in output, "a key reached the server's output"
    assert token not in output


@pytest.mark.parametrize("prefix", ["blk_", "acme2_"])
def test_token_pattern_matches_exactly_this_deployments_keys(tmp_path: Path, prefix: str) -> None:
    env = {**base_env(f"sqlite://{tmp_path / 'db.sqlite3'}"), "APIKEYS_KEY_PREFIX": prefix}
    result = run_cli("token-pattern", env=env)
    assert result.returncode == 0, result.stderr
    pattern = re.compile(result.stdout.strip())
    key_format = KeyFormat(prefix)
    for _ in range(50):
        key = key_format.generate()
        found = pattern.findall(f"export TOKEN={key}\n'{key}' {key}.")
        assert found == [key] * 3
    other = KeyFormat("other_").generate()
    assert not pattern.search(other)
    assert not pattern.search(key[:-1]) and not pattern.search(key + "x")


def test_the_served_application_keeps_its_start_up_objects_out_of_the_collector(
    tmp_path: Path,
) -> None:
    code = (
        "import gc; from service.app import app_from_env; app_from_env();"
        " print(gc.get_freeze_count())"
    )
    env = {**base_env(f"sqlite://{tmp_path / 'db.sqlite3'}"), "APIKEYS_STATE_DIR": str(tmp_path)}
    full_env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env}
    result = subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 10_000
