"""axe-core, the accessibility checker, run in the page under test.

It comes from the npm registry, pinned in tests/browser/package.json and package-lock.json. The
test session installs it (`npm ci --prefix tests/browser`) when node_modules is missing or holds
another version than the lock file's. Without npm, or when the install fails, the checks are
skipped with the reason, except under CI=true, where that fails the run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Page

HERE = Path(__file__).resolve().parent
LOCK = HERE / "package-lock.json"
AXE_DIR = HERE / "node_modules" / "axe-core"
AXE_JS = AXE_DIR / "axe.min.js"
INSTALL_TIMEOUT_SECONDS = 300


def locked_version() -> str:
    lock = json.loads(LOCK.read_text())
    version: str = lock["packages"]["node_modules/axe-core"]["version"]
    return version


def installed_version() -> str | None:
    try:
        package = json.loads((AXE_DIR / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = package.get("version")
    return version if isinstance(version, str) and AXE_JS.exists() else None


def install() -> str | None:
    """Make node_modules hold the locked axe-core; None when it does, else why it could not."""
    if installed_version() == locked_version():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed (apt-get install npm): axe-core cannot be installed"
    try:
        done = subprocess.run(
            [npm, "ci", "--prefix", str(HERE), "--ignore-scripts", "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"npm ci took longer than {INSTALL_TIMEOUT_SECONDS}s"
    if done.returncode != 0:
        return f"npm ci failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
    if installed_version() != locked_version():
        return f"npm ci did not install axe-core {locked_version()}"
    return None


@dataclass(frozen=True)
class Axe:
    """Runs axe-core in a page and fails the test on any violation, listed readably."""

    script: Path

    async def check(self, page: Page, what: str) -> None:
        if not await page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated rather than added as a <script>: the page's Content-Security-Policy
            # allows no inline script, and the tests keep the policy the page really has.
            await page.evaluate(self.script.read_text())
        results: dict[str, Any] = await page.evaluate(
            "() => axe.run(document, { resultTypes: ['violations'] })"
        )
        violations: list[dict[str, Any]] = results["violations"]
        assert not violations, f"axe-core found violations in {what}:\n" + describe(violations)


def describe(violations: list[dict[str, Any]]) -> str:
    """Each rule broken, with where (CSS selectors) and why; never the nodes' HTML, which may
    hold a revealed key."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:10]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)
