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


def parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the apikeys service with wrk against a floor route, on SQLite and"
        " PostgreSQL. Needs wrk (apt-get install wrk); py-spy only for --profile.",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated: sqlite,postgres (default both)",
    )
    parser.add_argument("--duration", type=int, help="seconds per scenario (default 10)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per scenario (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument(
        "--list-users", type=int, default=200, help="users with 5 keys each (200, at least 20)"
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
        "--repeat",
        type=int,
        default=1,
        help="measured runs per scenario, best reported (for a machine shared with others)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="also profile the server with py-spy under verify and apiKeys loads, into DIR",
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
    quick = args.quick

    def pick(value: int | None, normal: int, short: int) -> int:
        return value if value is not None else (short if quick else normal)

    return Options(
        engines=engines,
        duration=max(1, pick(args.duration, 10, 3)),
        warmup=max(0, pick(args.warmup, 2, 1)),
        connections=args.connections,
        threads=args.threads,
        list_users=max(20, args.list_users),
        scale_keys=max(0, pick(args.scale_keys, 1_000_000, 100_000)),
        writes_verifications=10_000,
        writes_keys=100,
        postgres_admin_url=args.postgres_url,
        repeat=max(1, args.repeat),
        profile_dir=args.profile,
    )
