"""With several workers, a worker that was killed does not count forever in the live gauges."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from service.metrics import _forget_dead_workers


def test_a_dead_workers_live_gauges_are_dropped_its_counters_kept(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for pid in (dead, alive.pid):
            for kind in ("gauge_livesum", "gauge_livemax", "counter"):
                (tmp_path / f"{kind}_{pid}.db").write_bytes(b"")
        _forget_dead_workers(str(tmp_path))
        left = sorted(p.name for p in tmp_path.iterdir())
    finally:
        alive.kill()
        alive.wait()
    assert left == sorted(
        [f"counter_{dead}.db"]
        + [f"{kind}_{alive.pid}.db" for kind in ("gauge_livesum", "gauge_livemax", "counter")]
    )
