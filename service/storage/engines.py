"""The two engines and how Tortoise talks to them: SQLite, the embedded default, and PostgreSQL,
the production engine. Also where a driver's failure to reach the database becomes the domain's
`Unavailable`, whatever the driver called it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Literal, ParamSpec, TypeVar

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError

from service.domain.errors import Unavailable

MODELS = ["service.storage.models", "aerich.models"]
APP = "models"

Engine = Literal["sqlite", "postgres"]
ENGINES: tuple[Engine, ...] = ("sqlite", "postgres")

_P = ParamSpec("_P")
_R = TypeVar("_R")


def engine_of(database_url: str) -> Engine:
    scheme = database_url.split("://", 1)[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgres", "postgresql", "asyncpg"):
        return "postgres"
    raise ValueError(
        f"APIKEYS_DATABASE_URL must start with sqlite:// or postgres://, not {scheme}://."
    )


def tortoise_config(database_url: str, *, statement_timeout: float | None = None) -> dict[str, Any]:
    """Tortoise's configuration. `statement_timeout` (seconds) bounds every statement, and
    every new connection, on PostgreSQL (a partitioned database then fails a request instead of
    hanging it); the service's requests have one, migrations and batch commands do not."""
    # The connection is named after its engine: Tortoise caches compiled SQL per connection
    # name, and a process that talks to both engines (the test suite) must not share that cache.
    engine = engine_of(database_url)
    connection: str | dict[str, Any] = database_url
    if engine == "postgres":
        connection = expand_db_url(database_url)
        connection["credentials"]["reset"] = _keep_session
        if statement_timeout is not None:
            # Connecting is bounded too: a pool replaces a broken connection on demand.
            connection["credentials"]["command_timeout"] = statement_timeout
            connection["credentials"]["timeout"] = statement_timeout
    return {
        "connections": {engine: connection},
        "apps": {APP: {"models": MODELS, "default_connection": engine}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def _keep_session(connection: asyncpg.Connection) -> None:
    """How a pooled PostgreSQL connection is reset when it goes back to the pool: not at all.

    asyncpg's default sends a reset query (advisory unlocks, CLOSE ALL, UNLISTEN *, RESET ALL)
    on every release, a second round trip for every query the service makes. The service never
    changes a pooled session (no SET, LISTEN, advisory lock or cursor; the key-change listener
    has a connection of its own), and asyncpg itself still rolls back a transaction left open
    before it calls this. So there is nothing to undo.
    """


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error means "the database cannot be reached right now" (worth a retry),
    as opposed to a fault in the service. Looks through the chain of causes, because Tortoise
    wraps the driver's errors."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, _UNAVAILABLE) and not isinstance(seen, _CLIENT_FAULTS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,
    DBConnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,  # e.g. the connection was closed under a query
    asyncpg.exceptions.CannotConnectNowError,  # the server is starting or shutting down
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# InterfaceErrors that say a value or a call was wrong, not that the connection is: retrying
# them would fail again.
_CLIENT_FAULTS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions._base.DataError,
    asyncpg.exceptions._base.ClientConfigurationError,
    asyncpg.exceptions._base.UnsupportedClientFeatureError,
    asyncpg.exceptions._base.UnsupportedServerFeatureError,
)


@contextlib.contextmanager
def database_errors() -> Iterator[None]:
    """Around storage work: a failure to reach the database leaves as `Unavailable` (its cause
    chained); every other error as it is."""
    try:
        yield
    except Unavailable:
        raise
    except Exception as exc:
        if is_unavailable(exc):
            raise Unavailable() from exc
        raise


def translated(
    method: Callable[_P, Coroutine[Any, Any, _R]],
) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """A storage coroutine whose failures to reach the database leave as `Unavailable`."""

    @functools.wraps(method)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with database_errors():
            return await method(*args, **kwargs)

    return call
