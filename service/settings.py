"""Configuration, read once from the environment into one frozen `Settings`.

Every variable is named `APIKEYS_*` and documented in the README. Secrets are wrapped in `Secret`
so that a settings object can be printed or logged without revealing them.

In development, missing secrets (pepper, encryption key, JWT secret) are generated once and kept in
a local state directory (mode 0700, file mode 0600), so restarts and several workers agree on them.
With `APIKEYS_ENV=production` the service refuses to start without them: a generated secret there
would silently invalidate every stored key on the next machine.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from service.domain.key_format import KeyFormat
from service.domain.limits import MAX_KEYS_PER_USER
from service.domain.run_commands import (
    DEFAULT_BASE_URL,
    DEFAULT_CLI_TEMPLATE,
    DEFAULT_REST_TEMPLATE,
    RunCommands,
    TemplateError,
    check_template,
)
from service.domain.vault import KeyVault

DEFAULT_DATABASE_URL = "sqlite://apikeys.sqlite3"
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,9}_$")


class ConfigError(Exception):
    """The environment does not describe a runnable service; the message names the variable."""


class Secret:
    """A value that must not appear in logs or reprs."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


@dataclass(frozen=True)
class JwtSettings:
    """How session tokens from the platform's identity provider are checked."""

    secret: Secret | None  # HS256 shared secret
    public_key: str | None  # PEM, RS256 or ES256
    issuer: str | None
    audience: str | None
    leeway_seconds: int = 30


@dataclass(frozen=True)
class TrackerSettings:
    """The last-used tracker: how often it writes, and how many keys it holds before it must."""

    flush_seconds: float = 5.0
    max_buffered_keys: int = 10_000


@dataclass(frozen=True)
class FailureLimit:
    """Failed key verifications allowed from one client address per window, then 429."""

    max_failures: int = 20
    window_seconds: int = 60
    ipv6_prefix: int = 64  # IPv6 clients are counted per network of this many bits


@dataclass(frozen=True)
class Settings:
    env: Literal["development", "production"]
    database_url: str
    jwt: JwtSettings
    pepper: Secret
    encryption_key: Secret
    service_token: Secret
    key_prefix: str = "blk_"
    max_keys_per_user: int = MAX_KEYS_PER_USER
    tracker: TrackerSettings = TrackerSettings()
    run_commands: RunCommands = RunCommands()
    cors_origins: tuple[str, ...] = ()
    verify_cache_seconds: float = 60.0
    # Every database statement's bound: a database that stops answering gives a clean
    # UNAVAILABLE, never a request that hangs.
    database_timeout_seconds: float = 5.0
    verify_failures: FailureLimit = FailureLimit()
    redis_url: str | None = None  # failure limits shared across processes, when set
    redis_key_prefix: str = "apikeys"
    # Secrets of a rotation's grace: stored keys under them still verify and reveal.
    previous_peppers: tuple[Secret, ...] = ()
    previous_encryption_keys: tuple[Secret, ...] = ()
    # Whether the current pepper and encryption key were given, rather than generated for
    # development: rewriting every stored secret under generated ones would be a mistake.
    explicit_secrets: bool = True
    # GitHub-format public keys of a secret-scanning partner; None: the endpoint answers 404.
    secret_scanning_keys: Path | None = None
    # The bearer token Prometheus sends to /metrics in production (None there: 404).
    metrics_token: Secret | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    def key_vault(self) -> KeyVault:
        """What turns keys into what is stored, under these secrets (and previous ones)."""
        return KeyVault(
            KeyFormat(self.key_prefix),
            self.pepper.reveal(),
            self.encryption_key.reveal(),
            previous_peppers=[p.reveal() for p in self.previous_peppers],
            previous_encryption_keys=[k.reveal() for k in self.previous_encryption_keys],
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env_vars = os.environ if environ is None else environ
        env = env_vars.get("APIKEYS_ENV", "development").strip().lower()
        if env not in ("development", "production"):
            raise ConfigError("APIKEYS_ENV must be 'development' or 'production'.")
        production = env == "production"
        state = _DevState(Path(env_vars.get("APIKEYS_STATE_DIR", ".apikeys")), production)

        pepper = _secret_bytes(env_vars, "APIKEYS_PEPPER", state)
        encryption_key = _secret_bytes(env_vars, "APIKEYS_ENCRYPTION_KEY", state)
        if pepper.reveal() == encryption_key.reveal():
            raise ConfigError("APIKEYS_PEPPER and APIKEYS_ENCRYPTION_KEY must be different keys.")
        previous_peppers = _previous(env_vars, "APIKEYS_PREVIOUS_PEPPERS", pepper)
        previous_keys = _previous(env_vars, "APIKEYS_PREVIOUS_ENCRYPTION_KEYS", encryption_key)
        peppers = {p.reveal() for p in (pepper, *previous_peppers)}
        if peppers & {k.reveal() for k in (encryption_key, *previous_keys)}:
            raise ConfigError("A pepper and an encryption key must never be the same key.")

        public_key = env_vars.get("APIKEYS_JWT_PUBLIC_KEY") or None
        jwt_secret_raw = env_vars.get("APIKEYS_JWT_SECRET") or None
        if public_key and jwt_secret_raw:
            raise ConfigError("Set either APIKEYS_JWT_SECRET or APIKEYS_JWT_PUBLIC_KEY, not both.")
        jwt_secret: Secret | None = None
        if jwt_secret_raw:
            if len(jwt_secret_raw.encode()) < 32:
                raise ConfigError("APIKEYS_JWT_SECRET must be at least 32 bytes long.")
            jwt_secret = Secret(jwt_secret_raw.encode())
        elif not public_key:
            if production:
                raise ConfigError(
                    "APIKEYS_JWT_SECRET or APIKEYS_JWT_PUBLIC_KEY is required in production."
                )
            jwt_secret = Secret(state.get("APIKEYS_JWT_SECRET").encode())

        issuer = env_vars.get("APIKEYS_JWT_ISSUER") or None
        audience = env_vars.get("APIKEYS_JWT_AUDIENCE") or None
        if production and (issuer is None or audience is None):
            # Without them, a token the identity provider minted for any other service (RFC 8725,
            # section 3.9) would be a session here.
            raise ConfigError(
                "APIKEYS_JWT_ISSUER and APIKEYS_JWT_AUDIENCE are required in production: the"
                " identity provider's issuer, and the audience it names this service with."
            )

        service_token_raw = env_vars.get("APIKEYS_SERVICE_TOKEN") or state.get(
            "APIKEYS_SERVICE_TOKEN"
        )
        if len(service_token_raw) < 32:
            raise ConfigError("APIKEYS_SERVICE_TOKEN must be at least 32 characters long.")
        metrics_token = env_vars.get("APIKEYS_METRICS_TOKEN") or None
        if metrics_token is not None and len(metrics_token) < 32:
            raise ConfigError("APIKEYS_METRICS_TOKEN must be at least 32 characters long.")

        flush_seconds = _float_between(env_vars, "APIKEYS_TRACKER_FLUSH_SECONDS", 5.0, 0.05, 5.0)

        prefix = env_vars.get("APIKEYS_KEY_PREFIX", "blk_")
        if not _PREFIX_RE.match(prefix):
            raise ConfigError(
                "APIKEYS_KEY_PREFIX must be 2-11 lowercase letters or digits ending in '_'"
                " (for example 'blk_')."
            )

        run_commands = _run_commands(env_vars)

        redis_url = env_vars.get("APIKEYS_REDIS_URL") or None
        if redis_url is not None and not re.match(r"^(redis|rediss|redis\+unix)://", redis_url):
            raise ConfigError(
                "APIKEYS_REDIS_URL must be a redis://, rediss:// or redis+unix:// URL"
                " (for example redis://127.0.0.1:6379/0)."
            )
        redis_key_prefix = env_vars.get("APIKEYS_REDIS_KEY_PREFIX") or "apikeys"

        return cls(
            env="production" if production else "development",
            database_url=env_vars.get("APIKEYS_DATABASE_URL", DEFAULT_DATABASE_URL),
            jwt=JwtSettings(
                secret=jwt_secret,
                public_key=public_key,
                issuer=issuer,
                audience=audience,
            ),
            pepper=pepper,
            encryption_key=encryption_key,
            key_prefix=prefix,
            max_keys_per_user=_int(
                env_vars, "APIKEYS_MAX_KEYS_PER_USER", MAX_KEYS_PER_USER, minimum=1
            ),
            service_token=Secret(service_token_raw.encode()),
            tracker=TrackerSettings(
                flush_seconds=flush_seconds,
                max_buffered_keys=_int(
                    env_vars, "APIKEYS_TRACKER_MAX_BUFFERED_KEYS", 10_000, minimum=1
                ),
            ),
            run_commands=run_commands,
            cors_origins=_origins(env_vars.get("APIKEYS_CORS_ORIGINS", "")),
            verify_cache_seconds=_float(env_vars, "APIKEYS_VERIFY_CACHE_SECONDS", 60.0),
            database_timeout_seconds=_float_between(
                env_vars, "APIKEYS_DATABASE_TIMEOUT_SECONDS", 5.0, 0.1, 300.0
            ),
            verify_failures=FailureLimit(
                max_failures=_int(env_vars, "APIKEYS_VERIFY_MAX_FAILURES", 20, minimum=1),
                window_seconds=_int(
                    env_vars, "APIKEYS_VERIFY_FAILURE_WINDOW_SECONDS", 60, minimum=1
                ),
                ipv6_prefix=_ipv6_prefix(env_vars),
            ),
            redis_url=redis_url,
            redis_key_prefix=redis_key_prefix,
            previous_peppers=previous_peppers,
            previous_encryption_keys=previous_keys,
            explicit_secrets=bool(
                env_vars.get("APIKEYS_PEPPER") and env_vars.get("APIKEYS_ENCRYPTION_KEY")
            ),
            metrics_token=Secret(metrics_token.encode()) if metrics_token else None,
            secret_scanning_keys=(
                Path(env_vars["APIKEYS_SECRET_SCANNING_KEYS"])
                if env_vars.get("APIKEYS_SECRET_SCANNING_KEYS")
                else None
            ),
        )


def generate_secret() -> str:
    """A fresh 256-bit secret in the form `APIKEYS_PEPPER` and `APIKEYS_ENCRYPTION_KEY` take."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _secret_bytes(environ: Mapping[str, str], name: str, state: _DevState) -> Secret:
    return _decoded_secret(name, environ.get(name) or state.get(name))


def _decoded_secret(name: str, raw: str) -> Secret:
    try:
        value = base64.urlsafe_b64decode(raw.strip().encode())
    except (binascii.Error, ValueError):
        value = b""
    if len(value) != 32:
        raise ConfigError(
            f"{name} must be 32 random bytes, URL-safe base64 encoded"
            " (generate one with `apikeys generate-secret`)."
        )
    return Secret(value)


def _previous(environ: Mapping[str, str], name: str, current: Secret) -> tuple[Secret, ...]:
    """Comma-separated values of the same form as the current one, none repeating it."""
    values = tuple(
        _decoded_secret(name, raw) for raw in environ.get(name, "").split(",") if raw.strip()
    )
    known = {current.reveal()}
    for value in values:
        if value.reveal() in known:
            raise ConfigError(f"{name} repeats a value (or the current one).")
        known.add(value.reveal())
    return values


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if not re.match(r"^https?://[^\s/]+$", origin):
            raise ConfigError(
                "APIKEYS_CORS_ORIGINS is a comma-separated list of origins such as"
                f" https://app.example.com (not {origin!r})."
            )
    return origins


def _run_commands(environ: Mapping[str, str]) -> RunCommands:
    base_url = environ.get("APIKEYS_RUN_BASE_URL") or DEFAULT_BASE_URL
    if not re.match(r"^https?://[^\s/]+", base_url):
        raise ConfigError("APIKEYS_RUN_BASE_URL must be an http:// or https:// URL.")
    templates = {}
    for name, default in (
        ("APIKEYS_RUN_REST_TEMPLATE", DEFAULT_REST_TEMPLATE),
        ("APIKEYS_RUN_CLI_TEMPLATE", DEFAULT_CLI_TEMPLATE),
    ):
        try:
            templates[name] = check_template(environ.get(name) or default)
        except TemplateError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    return RunCommands(
        base_url=base_url,
        rest_template=templates["APIKEYS_RUN_REST_TEMPLATE"],
        cli_template=templates["APIKEYS_RUN_CLI_TEMPLATE"],
    )


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number.") from None


def _float_between(
    environ: Mapping[str, str], name: str, default: float, low: float, high: float
) -> float:
    value = _float(environ, name, default)
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}.")
    return value


def _ipv6_prefix(environ: Mapping[str, str]) -> int:
    name = "APIKEYS_VERIFY_FAILURE_IPV6_PREFIX"
    value = _int(environ, name, 64, minimum=1)
    if value > 128:
        raise ConfigError(f"{name} must be between 1 and 128 (bits of an IPv6 network).")
    return value


def _int(environ: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}.")
    return value


class _DevState:
    """Secrets generated for local development, kept in `<state dir>/secrets.json` (mode 0600)."""

    def __init__(self, directory: Path, production: bool) -> None:
        self.directory = directory
        self.production = production

    def get(self, name: str) -> str:
        if self.production:
            raise ConfigError(f"{name} is required when APIKEYS_ENV=production.")
        path = self.directory / "secrets.json"
        values: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        if name not in values:
            values[name] = generate_secret()
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Write to a private temporary file, then rename, so the secret is never readable by
            # others and a crash never leaves a half-written file behind.
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(values, handle)
            os.replace(tmp, path)
        return values[name]
