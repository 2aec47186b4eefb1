"""The settings page is served with this deployment's key limit in it (service/web/page.py):
the page disables "New API key" at the limit, which the API does not state."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.app import create_app
from tests.helpers import Database, make_settings


@pytest.mark.parametrize("path", ["/", "/index.html"])
async def test_the_page_carries_the_configured_key_limit(tmp_path: Path, path: str) -> None:
    database = Database("sqlite", f"sqlite://{tmp_path / 'apikeys.sqlite3'}")
    app = create_app(make_settings(database, APIKEYS_MAX_KEYS_PER_USER="3"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://apikeys.test") as client:
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<meta name="apikeys-key-limit" content="3">' in page.text
        assert 'content="5"' not in page.text
        # The rest of the page is still the static files.
        assert (await client.get("/js/main.js")).status_code == 200
