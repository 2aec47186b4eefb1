"""The `apikeys` command: serve, migrate, token, service-token, export-schema, makemigrations,
rotate-secrets, generate-secret."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from service.settings import ConfigError, Settings, generate_secret


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="apikeys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply pending migrations, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    serve.add_argument(
        "--user",
        default="dev",
        help="development only: the local user whose sign-in link is printed (default dev)",
    )

    commands.add_parser("migrate", help="apply pending database migrations")

    token = commands.add_parser("token", help="print a session token (HS256 deployments)")
    token.add_argument("--user", required=True, help="the user id (the token's `sub`)")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", type=Path, help="write it to this file instead")

    make = commands.add_parser("makemigrations", help="write a migration for each engine")
    make.add_argument("--name", default="update")
    make.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the models have changes no migration records",
    )

    rotate = commands.add_parser(
        "rotate-secrets",
        help="rewrite every stored secret under the current pepper and encryption key",
    )
    rotate.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 while any stored secret still needs a previous value",
    )
    rotate.add_argument("--batch-size", type=int, default=500, help="rows per transaction")

    commands.add_parser(
        "token-pattern", help="print the regular expression of this deployment's keys"
    )
    commands.add_parser("generate-secret", help="print a value for a secret setting")
    commands.add_parser(
        "service-token", help="print the token the gateway sends to /v1/keys/verify"
    )

    args = parser.parse_args(argv)
    try:
        return _run(args)
    except ConfigError as exc:
        print(f"apikeys: configuration error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "generate-secret":
        print(generate_secret())
        return 0
    if args.command == "export-schema":
        from service.graphql.schema import sdl

        if args.output:
            args.output.write_text(sdl())
        else:
            sys.stdout.write(sdl())
        return 0
    if args.command == "makemigrations":
        return _make_migrations(args.name, check=args.check)

    settings = Settings.from_env()
    if args.command == "token":
        from service.web.auth import Authenticator

        print(Authenticator(settings.jwt).issue(args.user, ttl_seconds=args.ttl))
        return 0
    if args.command == "token-pattern":
        from service.domain.key_format import KeyFormat

        print(KeyFormat(settings.key_prefix).scanning_pattern)
        return 0
    if args.command == "service-token":
        print(settings.service_token.reveal().decode())
        return 0
    if args.command == "migrate":
        _migrate(settings)
        return 0
    if args.command == "rotate-secrets":
        return _rotate_secrets(settings, check=args.check, batch_size=args.batch_size)
    if args.command == "serve":
        _migrate(settings)
        _serve(settings, args.host, args.port, args.workers, args.user)
        return 0
    raise AssertionError(args.command)


def _make_migrations(name: str, *, check: bool) -> int:
    from service.storage.migrations import MIGRATIONS_ROOT, make_migrations

    if not check:
        for engine, written in make_migrations(name).items():
            print(f"{engine}: {written or 'no changes'}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch, "migrations")
        shutil.copytree(MIGRATIONS_ROOT, root)
        pending = {e: w for e, w in make_migrations(name, root).items() if w}
    for engine, written in pending.items():
        print(f"{engine}: the models have changes no migration records ({written})")
    if pending:
        print("Run `apikeys makemigrations --name <what changed>` and commit the result.")
        return 1
    print("migrations match the models")
    return 0


def _rotate_secrets(settings: Settings, *, check: bool, batch_size: int) -> int:
    if not settings.explicit_secrets:
        print(
            "apikeys: rotate-secrets needs the current APIKEYS_PEPPER and"
            " APIKEYS_ENCRYPTION_KEY set explicitly (not generated for development).",
            file=sys.stderr,
        )
        return 2
    if batch_size < 1:
        print("apikeys: --batch-size must be at least 1.", file=sys.stderr)
        return 2
    return asyncio.run(_rotate(settings, check=check, batch_size=batch_size))


async def _rotate(settings: Settings, *, check: bool, batch_size: int) -> int:
    from tortoise import Tortoise

    from service.cases.secret_rotation import RotationCount, SecretRotation
    from service.storage.engines import engine_of, tortoise_config
    from service.storage.stored_secrets import StoredSecrets

    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        rotation = SecretRotation(
            StoredSecrets(engine_of(settings.database_url)),
            settings.key_vault(),
            batch_size=batch_size,
        )
        if check:
            count = await rotation.check()
            print(
                f"apikeys: {count.checked:,} stored secrets checked;"
                f" {count.still_dependent:,} still need a previous pepper or encryption key"
                + (
                    f" ({count.unrewritable:,} retired ones that cannot be rewritten, ending"
                    " with their grace periods)"
                    if count.unrewritable
                    else ""
                )
            )
            if count.unreadable:
                print(
                    f"apikeys: {count.unreadable:,} stored secrets open under no configured"
                    " encryption key",
                    file=sys.stderr,
                )
            return 1 if count.still_dependent else 0

        def progress(count: RotationCount) -> None:
            print(
                f"apikeys: {count.checked:,} checked, {count.rewritten:,} rewritten",
                flush=True,
            )

        count = await rotation.rotate(progress)
        print(
            f"apikeys: done: {count.rewritten:,} stored secrets rewritten under the current"
            f" pepper and encryption key, {count.current:,} already were"
            + (f"; {count.raced:,} changed under the rotation, run it again" if count.raced else "")
            + (
                f"; {count.unrewritable:,} retired secrets cannot be rewritten (they end with"
                " their grace periods)"
                if count.unrewritable
                else ""
            )
        )
        if count.unreadable:
            print(
                f"apikeys: {count.unreadable:,} stored secrets open under no configured"
                " encryption key: they were left as they are",
                file=sys.stderr,
            )
            return 1
        return 0
    finally:
        await Tortoise.close_connections()


def _migrate(settings: Settings) -> None:
    from service.storage.migrations import apply_migrations

    applied = asyncio.run(apply_migrations(settings.database_url))
    print(f"apikeys: migrations applied: {', '.join(applied) if applied else 'none pending'}")


def _serve(settings: Settings, host: str, port: int, workers: int, user: str) -> None:
    import uvicorn

    from service.observability.logs import logging_config

    base = f"http://{host}:{port}"
    print(f"apikeys: serving {base}/graphql ({settings.env}, {workers} worker(s))", flush=True)
    if not settings.production and settings.jwt.secret is not None:
        from service.web.auth import Authenticator

        # The fragment never reaches the server: the page reads the token in the browser.
        token = Authenticator(settings.jwt).issue(user, ttl_seconds=12 * 3600)
        print(f"apikeys: open {base}/#token={token} to manage {user}'s API keys", flush=True)
    with _shared_metrics(workers):
        uvicorn.run(
            "service.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # Each request is logged once, as JSON, by the service itself (with its request id).
            access_log=False,
            log_config=logging_config(),
            timeout_graceful_shutdown=10,
        )


@contextlib.contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a directory where they all keep their metrics, so that /metrics
    reports the sum whichever worker answers it: created empty now (before the workers start
    and read the variable), removed when the server stops."""
    if workers <= 1:
        yield
        return
    from service.observability.metrics import MULTIPROCESS_DIR

    directory = tempfile.mkdtemp(prefix="apikeys-metrics-")
    os.environ[MULTIPROCESS_DIR] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_DIR, None)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
