"""Configuration: read once, fail fast naming the variable, never show a secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from service.settings import ConfigError, Settings, generate_secret


def full(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {
        "APIKEYS_STATE_DIR": str(tmp_path / "state"),
        "APIKEYS_PEPPER": generate_secret(),
        "APIKEYS_ENCRYPTION_KEY": generate_secret(),
        "APIKEYS_JWT_SECRET": "j" * 32,
        "APIKEYS_SERVICE_TOKEN": "t" * 32,
        **overrides,
    }


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env(full(tmp_path))
    assert settings.env == "development"
    assert settings.database_url == "sqlite://apikeys.sqlite3"
    assert settings.key_prefix == "blk_"
    assert settings.max_keys_per_user == 5


def test_development_generates_secrets_once_and_keeps_them_private(tmp_path: Path) -> None:
    env = {"APIKEYS_STATE_DIR": str(tmp_path / "state")}
    first = Settings.from_env(env)
    second = Settings.from_env(env)
    assert first.pepper.reveal() == second.pepper.reveal()
    assert first.encryption_key.reveal() == second.encryption_key.reveal()
    assert first.pepper.reveal() != first.encryption_key.reveal()
    assert first.jwt.secret is not None and second.jwt.secret is not None
    assert first.jwt.secret.reveal() == second.jwt.secret.reveal()
    secrets_file = tmp_path / "state" / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secrets_file.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "missing",
    ["APIKEYS_PEPPER", "APIKEYS_ENCRYPTION_KEY", "APIKEYS_JWT_SECRET", "APIKEYS_SERVICE_TOKEN"],
)
def test_production_refuses_to_start_without_a_secret(tmp_path: Path, missing: str) -> None:
    env = production(tmp_path)
    del env[missing]
    with pytest.raises(ConfigError, match=missing):
        Settings.from_env(env)
    assert not (tmp_path / "state").exists(), "production must never generate secrets"


def production(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return full(
        tmp_path,
        APIKEYS_ENV="production",
        APIKEYS_JWT_ISSUER="https://id.example.com/",
        APIKEYS_JWT_AUDIENCE="https://apikeys.example.com",
        **overrides,
    )


def test_production_starts_with_every_secret_and_the_token_claims(tmp_path: Path) -> None:
    settings = Settings.from_env(production(tmp_path))
    assert settings.production
    assert settings.jwt.issuer == "https://id.example.com/"
    assert settings.jwt.audience == "https://apikeys.example.com"


@pytest.mark.parametrize("missing", ["APIKEYS_JWT_ISSUER", "APIKEYS_JWT_AUDIENCE"])
def test_production_refuses_to_start_without_issuer_and_audience_naming_both(
    tmp_path: Path, missing: str
) -> None:
    """Without them any token the identity provider minted, for any service, is a session."""
    env = production(tmp_path)
    del env[missing]
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert "APIKEYS_JWT_ISSUER" in str(refused.value)
    assert "APIKEYS_JWT_AUDIENCE" in str(refused.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("APIKEYS_PEPPER", "too-short"),
        ("APIKEYS_ENCRYPTION_KEY", "!!!not base64!!!"),
        ("APIKEYS_JWT_SECRET", "short"),
        ("APIKEYS_KEY_PREFIX", "Bad-"),
        ("APIKEYS_KEY_PREFIX", "blk"),
        ("APIKEYS_MAX_KEYS_PER_USER", "0"),
        ("APIKEYS_MAX_KEYS_PER_USER", "five"),
        ("APIKEYS_ENV", "staging"),
        ("APIKEYS_SERVICE_TOKEN", "short"),
        ("APIKEYS_TRACKER_FLUSH_SECONDS", "6"),
        ("APIKEYS_TRACKER_FLUSH_SECONDS", "often"),
        ("APIKEYS_TRACKER_MAX_BUFFERED_KEYS", "0"),
        ("APIKEYS_DATABASE_TIMEOUT_SECONDS", "0"),
        ("APIKEYS_DATABASE_TIMEOUT_SECONDS", "never"),
        ("APIKEYS_VERIFY_FAILURE_IPV6_PREFIX", "129"),
        ("APIKEYS_VERIFY_FAILURE_IPV6_PREFIX", "0"),
        ("APIKEYS_VERIFY_MAX_FAILURES", "0"),
        ("APIKEYS_RUN_BASE_URL", "ftp://example.com"),
        ("APIKEYS_RUN_REST_TEMPLATE", "curl {url}"),
        ("APIKEYS_RUN_CLI_TEMPLATE", "blk run {workflow_id"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(full(tmp_path, **{variable: value}))


def test_pepper_and_encryption_key_must_differ(tmp_path: Path) -> None:
    same = generate_secret()
    with pytest.raises(ConfigError, match="different"):
        Settings.from_env(full(tmp_path, APIKEYS_PEPPER=same, APIKEYS_ENCRYPTION_KEY=same))


def test_secrets_never_appear_in_the_settings_repr(tmp_path: Path) -> None:
    env = full(tmp_path)
    settings = Settings.from_env(env)
    text = repr(settings)
    for name in ("APIKEYS_PEPPER", "APIKEYS_ENCRYPTION_KEY", "APIKEYS_JWT_SECRET"):
        assert env[name] not in text
    assert env["APIKEYS_SERVICE_TOKEN"] not in text
    assert settings.jwt.secret is not None
    secrets = (
        settings.pepper,
        settings.encryption_key,
        settings.jwt.secret,
        settings.service_token,
    )
    for secret in secrets:
        assert repr(secret.reveal()) not in text
        assert repr(secret.reveal())[2:-1] not in text
    assert "Secret('**********')" in text
