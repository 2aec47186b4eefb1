"""The folders of service/ are its layers, and the imports follow them: checked by import-linter
against the contracts in pyproject.toml (see docs/architecture.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.helpers import ROOT

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_every_import_follows_the_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_layers_name_every_package_and_module_of_the_service() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    service = ROOT / "service"
    present = {f"service.{p.stem}" for p in service.glob("*.py") if p.stem != "__init__"}
    present |= {f"service.{p.parent.name}" for p in service.glob("*/__init__.py")}
    assert present == named


def test_an_import_against_the_flow_is_caught(tmp_path: Path) -> None:
    """The check bites: GraphQL reaching into storage fails it."""
    shutil.copytree(ROOT / "service", tmp_path / "service", ignore=shutil.ignore_patterns("static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    types = tmp_path / "service" / "graphql" / "types.py"
    types.write_text(types.read_text() + "\nfrom service.storage import repository  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "service.graphql.types -> service.storage.repository" in result.stdout
