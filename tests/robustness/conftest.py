"""Fixtures of the robustness tests."""

from __future__ import annotations

import os

import pytest

from tests.conftest import Database


@pytest.fixture(scope="module")
def postgres(databases: dict[str, Database | str]) -> Database:
    """This run's PostgreSQL database: the multi-process and fault tests need a server."""
    db = databases["postgres"]
    if isinstance(db, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{db} (CI=true: PostgreSQL is required)")
        pytest.skip(db)
    return db
