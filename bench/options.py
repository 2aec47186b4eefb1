"""Command-line options of `python -m bench`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

ENGINES = ("sqlite", "postgres")
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Options:
    engines: tuple[str, ...]
    duration: int  # seconds measured per scenario
    warmup: int  # seconds of load thrown away before each measurement
    connections: int
    threads: int
    list_users: int  # users with five keys each: the apiKeys load and the verify key pool
    scale_keys: int  # stored keys for the scale comparison (0: skip it)
    writes_verifications: int
    writes_keys: int
    postgres_admin_url: str
    repeat: int = 1  # measured runs per scenario; the best (most req/s) is reported
    profile_dir: str | None = None  # where py-spy profiles go; None: no profiling
    smoke: bool = False  # every scenario briefly; the exit code says whether all answered right
    writes_only: bool = False  # the write rows alone (and the profile under writes)


def parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the apikeys service with wrk against a bare Starlette app in its"
        " own process, on SQLite and PostgreSQL. Needs wrk (apt-get install wrk); py-spy only for"
        " --profile.",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated: sqlite,postgres (default both)",
    )
    parser.add_argument("--duration", type=int, help="seconds per scenario (default 10)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per scenario (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--list-users", type=int, help="users with 5 keys each (200; the smoke 20; at least 20)"
    )
    parser.add_argument(
        "--scale-keys", type=int, help="keys stored for the scale comparison (default 1000000)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short end-to-end run: 3 s per scenario, 1 s warm-up, 100,000 keys for scale",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="every scenario for about a second, a small writes step, a tiny scale step; exits 1"
        " if any answer was wrong, non-2xx or a socket error, or a scenario served nothing",
    )
    parser.add_argument(
        "--writes-only",
        action="store_true",
        help="only the write rows beside raw asyncpg, and with --profile only the profile under"
        " writes: for comparing two versions of the write path (about 4 minutes per engine)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measured runs per scenario, best reported (for a machine shared with others)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="also profile the server with py-spy under create+delete, apiKeys and verify"
        " loads, into DIR",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_ADMIN_URL,
        help="a database to connect to; the benchmark creates and drops its own beside it",
    )
    args = parser.parse_args(argv)

    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        parser.error(f"--engines takes {', '.join(ENGINES)}; got {args.engines!r}")
    if args.connections < args.threads or args.connections % args.threads:
        parser.error("--connections must be a multiple of --threads")
    if args.smoke and args.quick:
        parser.error("--smoke and --quick are two different lengths of run: pick one")
    smoke, quick = args.smoke, args.quick

    def pick(value: int | None, normal: int, short: int, shortest: int) -> int:
        if value is not None:
            return value
        return shortest if smoke else short if quick else normal

    return Options(
        engines=engines,
        duration=max(1, pick(args.duration, 10, 3, 1)),
        # The smoke only checks answers: no warm-up to throw away.
        warmup=max(0, pick(args.warmup, 2, 1, 0)),
        connections=args.connections,
        threads=args.threads,
        list_users=max(20, pick(args.list_users, 200, 200, 20)),
        # A tiny scale step in the smoke, so that its code still runs: a few thousand keys.
        scale_keys=max(0, pick(args.scale_keys, 1_000_000, 100_000, 3_000)),
        writes_verifications=500 if smoke else 10_000,
        writes_keys=20 if smoke else 100,
        postgres_admin_url=args.postgres_url,
        repeat=max(1, args.repeat),
        profile_dir=args.profile,
        smoke=smoke,
        writes_only=args.writes_only,
    )
