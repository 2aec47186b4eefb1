"""`python -m bench`: see bench/__init__.py. Exit 0 when it ran (targets met or not), 2 when wrk
is missing, 1 on an error; with --smoke, also 1 when any scenario answered wrong or not at all."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench import options as bench_options
from bench import report, wrk
from bench.databases import Database, PostgresDatabase, SqliteDatabase
from bench.processes import can_pin, run_command
from bench.run import EngineBench
from bench.seed import ServiceSecrets


def main(argv: Sequence[str] | None = None) -> int:
    options = bench_options.parse(argv)
    if not wrk.available():
        print("wrk not found: install it with `apt-get install wrk`", file=sys.stderr)
        return 2
    started = time.monotonic()
    pin = can_pin()
    print(
        report.header(
            wrk.version(),
            os.cpu_count() or 0,
            datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            options.duration,
            options.warmup,
            options.smoke,
        ),
        flush=True,
    )
    service_secrets = ServiceSecrets.generate()
    problems: list[str] = []
    for engine in options.engines:
        with ExitStack() as cleanup:
            workdir = Path(tempfile.mkdtemp(prefix=f"apikeys-bench-{engine}-"))
            cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
            database = _database(engine, options, workdir)
            database.create()
            cleanup.callback(database.drop)
            result = EngineBench(options, database, service_secrets, workdir, pin=pin).run()
        print()
        print(
            report.engine_table(result, options.connections, options.threads, options.duration),
            flush=True,
        )
        problems.extend(report.problems(result))
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    if options.smoke:
        if problems:
            print("smoke FAILED:", *problems, sep="\n  ")
            return 1
        print("smoke passed: every scenario answered, and answered right")
    return 0


def _database(engine: str, options: bench_options.Options, workdir: Path) -> Database:
    if engine == "sqlite":
        return SqliteDatabase(workdir)
    # The pid and a random part: two runs (a test and someone's benchmark) never share one.
    name = f"apikeys_bench_{os.getpid()}_{secrets.token_hex(4)}"
    return PostgresDatabase(options.postgres_admin_url, name)


if __name__ == "__main__":
    run_command(main)
