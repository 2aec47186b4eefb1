"""Fixtures of the hostile-input tests: a client that sees crashes as responses, and a world
of two users (alice acts; bob's keys are the "someone else's" ids) on the `api` fixture's app.

Hypothesis keeps its cache (and would keep its example database, which these tests switch off)
under the system's temporary directory, not in the working tree.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir
from starlette.applications import Starlette

from tests.helpers import Api
from tests.hostile.support import Hostile, World, build_world

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "apikeys-hypothesis")


@pytest.fixture
async def hostile(app: Starlette, api: Api) -> AsyncIterator[Hostile]:
    async with Hostile.over(app, api) as client:
        yield client


@pytest.fixture
async def world(hostile: Hostile) -> World:
    return await build_world(hostile)
