"""Figures the robustness tests gather, printed at the end of the run (see conftest.py).

Tests add to them with `record("inputs tried", n)`; the summary prints every figure, so the
closing report of a run says how hard the service was pushed and what it held.
"""

from __future__ import annotations

import io
from collections import Counter

FIGURES: Counter[str] = Counter()


def record(figure: str, amount: int = 1) -> None:
    FIGURES[figure] += amount


# Every key and token the test run issued, and the output of every server process it ran:
# the end-of-run check searches all logs for them (see conftest.py).
ISSUED_SECRETS: set[str] = set()
SERVER_OUTPUTS: list[str] = []
# The request logs of the applications the tests run in-process (the `app` fixture's).
REQUEST_LOGS = io.BytesIO()
