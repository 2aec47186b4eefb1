"""Run commands are pasted into a real shell: run them through one, with stub programs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from service.domain.errors import ValidationFailed
from service.domain.run_commands import RunCommands, RunMethod, TemplateError, check_template

KEY = "blk_4eC39HqLyjWDarjtT1zdp7dc3ZcS5ukS0ua7Rz"
HOSTILE_IDS = [
    "x'; rm -rf ~ #",
    'a"b$(touch pwned)`touch pwned2`',
    "$HOME && echo owned | tee pwned",
    "--help",
    "-X GET",
    "space separated id",
    "tab\\there",
    "é/unicode/🚀?x=1&y=2#frag",
    "'",
    "*",
    "~",
]

STUB = """#!/usr/bin/env python3
import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "env_key": os.environ.get("BLK_API_KEY")}))
"""


@pytest.fixture
def stub_path(tmp_path: Path) -> Path:
    """A PATH directory whose `curl` and `blk` only report what they were given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("curl", "blk"):
        program = bin_dir / name
        program.write_text(STUB)
        program.chmod(program.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def run_in_shell(command: str, bin_dir: Path, cwd: Path) -> dict[str, object]:
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(cwd)}
    result = subprocess.run(
        ["sh", "-c", command], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


@pytest.mark.parametrize("workflow_id", ["my-workflow", *HOSTILE_IDS])
def test_rest_command_passes_the_workflow_and_key_as_single_arguments(
    workflow_id: str, stub_path: Path, tmp_path: Path
) -> None:
    command = RunCommands().render(RunMethod.REST_API, workflow_id, KEY)
    seen = run_in_shell(command, stub_path, tmp_path)
    argv = seen["argv"]
    assert isinstance(argv, list)
    assert argv == ["-sS", "-X", "POST", argv[3], "-H", f"Authorization: Bearer {KEY}"]
    url = urlsplit(argv[3])
    assert (url.scheme, url.netloc) == ("https", "platform.example.com")
    assert url.query == "" and url.fragment == ""
    assert unquote(url.path) == f"/api/v1/workflows/{workflow_id}/run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"], "the command touched files"


@pytest.mark.parametrize("workflow_id", ["my-workflow", *HOSTILE_IDS])
def test_cli_command_passes_the_workflow_as_one_argument_and_the_key_in_the_environment(
    workflow_id: str, stub_path: Path, tmp_path: Path
) -> None:
    command = RunCommands().render(RunMethod.CLI, workflow_id, KEY)
    seen = run_in_shell(command, stub_path, tmp_path)
    assert seen == {"argv": ["workflows", "run", workflow_id], "env_key": KEY}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_default_commands_read_well() -> None:
    commands = RunCommands()
    assert commands.render(RunMethod.REST_API, "wf-1", KEY) == (
        "curl -sS -X POST https://platform.example.com/api/v1/workflows/wf-1/run"
        f" -H 'Authorization: Bearer {KEY}'"
    )
    assert (
        commands.render(RunMethod.CLI, "wf-1", KEY) == f"BLK_API_KEY={KEY} blk workflows run wf-1"
    )


def test_templates_and_base_url_are_settings() -> None:
    commands = RunCommands(
        base_url="http://127.0.0.1:9000/",
        rest_template="http POST {run_url} {authorization}",
        cli_template="acme run {workflow_id} --key {api_key}",
    )
    assert commands.render(RunMethod.REST_API, "a b", KEY) == (
        f"http POST http://127.0.0.1:9000/api/v1/workflows/a%20b/run 'Authorization: Bearer {KEY}'"
    )
    assert commands.render(RunMethod.CLI, "a b", KEY) == f"acme run 'a b' --key {KEY}"


@pytest.mark.parametrize("template", ["curl {url}", "curl {0}", "curl {}", "curl {run_url"])
def test_unknown_template_fields_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        check_template(template)


@pytest.mark.parametrize("workflow_id", ["", "x" * 201, "a\nb", "nul\x00"])
def test_unusable_workflow_ids_are_refused(workflow_id: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        RunCommands().render(RunMethod.CLI, workflow_id, KEY)
    assert refused.value.field == "workflowId"
