"""Rotating the service's own pepper and encryption key: keys stored under previous values keep
working, `rotate-secrets` rewrites them all, and afterwards the previous values can go."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import connections

from service.cases.keys import KeyService
from service.cases.secret_rotation import SecretRotation
from service.cases.tracker import UsageTracker
from service.cases.verification import KeyVerifier
from service.domain.audit import Actor
from service.domain.vault import KeyVault
from service.settings import Settings, generate_secret
from service.storage.engines import engine_of
from service.storage.repository import KeyRepository
from service.storage.stored_secrets import StoredSecrets
from service.storage.usage_store import UsageStore
from tests.api.documents import CREATE, LIST
from tests.api.test_verify import rotate
from tests.helpers import TEST_ENCRYPTION_KEY, TEST_PEPPER, Api, Database, make_settings, run_cli

NEW_PEPPER = generate_secret()
NEW_ENCRYPTION_KEY = generate_secret()
ROTATING = {  # the new values current, the old ones (the test suite's) previous
    "APIKEYS_PEPPER": NEW_PEPPER,
    "APIKEYS_ENCRYPTION_KEY": NEW_ENCRYPTION_KEY,
    "APIKEYS_PREVIOUS_PEPPERS": TEST_PEPPER,
    "APIKEYS_PREVIOUS_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
}
ROTATED = {"APIKEYS_PEPPER": NEW_PEPPER, "APIKEYS_ENCRYPTION_KEY": NEW_ENCRYPTION_KEY}


def vault_for(database: Database, **env: str) -> KeyVault:
    return make_settings(database, **env).key_vault()


def verifier(settings: Settings, vault: KeyVault) -> KeyVerifier:
    engine = engine_of(settings.database_url)
    tracker = UsageTracker(UsageStore(engine), flush_seconds=5, max_buffered_keys=10_000)
    return KeyVerifier(KeyRepository(engine), vault, tracker)


async def stored_keys(settings: Settings, owner: str = "alice") -> list[Any]:
    return list(await KeyRepository(engine_of(settings.database_url)).list_keys(owner))


async def issued(api: Api) -> list[str]:
    for n in range(3):
        await api.data(CREATE, name=f"key {n}")
    return [k["key"] for k in (await api.data(LIST))["apiKeys"]]


async def test_keys_under_previous_values_work_and_new_ones_use_the_current(
    api: Api, settings: Settings, database: Database
) -> None:
    secrets = await issued(api)
    rotating = vault_for(database, **ROTATING)
    for secret in secrets:
        assert (await verifier(settings, rotating).verify(secret)).valid
    for stored in await stored_keys(settings):
        assert rotating.reveal(stored.key_ciphertext, owner_id="alice", key_id=stored.id) in secrets
    # Without the previous values, the keys stored under them are unknown.
    assert not (await verifier(settings, vault_for(database, **ROTATED)).verify(secrets[0])).valid
    # What is written anew is under the current values only.
    service = KeyService(KeyRepository(engine_of(settings.database_url)), rotating, max_keys=5)
    created = await service.create_key(Actor("alice"), "written anew", None)
    secret = rotating.reveal(created.key_ciphertext, owner_id="alice", key_id=created.id)
    rotated = vault_for(database, **ROTATED)
    assert rotated.lookup_hash(secret) == created.key_hash
    assert rotated.reveal(created.key_ciphertext, owner_id="alice", key_id=created.id) == secret


async def test_rotation_rewrites_every_stored_secret_then_the_old_values_can_go(
    api: Api, settings: Settings, database: Database
) -> None:
    secrets = await issued(api)
    default = (await api.data(LIST))["apiKeys"][0]
    graced = await rotate(api, default["id"], grace=3600)  # the old default keeps working
    secrets = [s for s in secrets if s != default["key"]] + [graced["key"]]
    rotation = SecretRotation(
        StoredSecrets(engine_of(settings.database_url)), vault_for(database, **ROTATING)
    )
    before = await rotation.check()
    assert before.still_dependent == 5  # four keys and one retired secret
    seen: list[int] = []
    done = await rotation.rotate(lambda count: seen.append(count.checked))
    assert (done.rewritten, done.raced, done.unrewritable) == (5, 0, 0)
    assert seen and seen[-1] == 5
    assert (await rotation.check()).still_dependent == 0
    assert (await rotation.rotate()).rewritten == 0  # idempotent: nothing left to do

    rotated = vault_for(database, **ROTATED)
    for secret in [*secrets, default["key"]]:
        assert (await verifier(settings, rotated).verify(secret)).valid, "previous values gone"
    for stored in await stored_keys(settings):
        assert rotated.reveal(stored.key_ciphertext, owner_id="alice", key_id=stored.id) in secrets


async def test_a_secret_retired_without_its_ciphertext_is_counted_until_its_grace_ends(
    api: Api, settings: Settings, database: Database
) -> None:
    default = (await api.data(LIST))["apiKeys"][0]
    await rotate(api, default["id"], grace=3600)
    await connections.get(engine_of(settings.database_url)).execute_script(
        'UPDATE "retired_secrets" SET "key_ciphertext" = NULL'
    )
    rotation = SecretRotation(
        StoredSecrets(engine_of(settings.database_url)), vault_for(database, **ROTATING)
    )
    done = await rotation.rotate()
    assert (done.rewritten, done.unrewritable) == (1, 1)
    assert (await rotation.check()).still_dependent == 1
    await connections.get(engine_of(settings.database_url)).execute_script(
        """UPDATE "retired_secrets" SET "expires_at" = '2000-01-01 00:00:00+00:00'"""
    )
    assert (await rotation.check()).still_dependent == 0


async def test_a_key_rotated_during_the_rotation_is_never_overwritten(
    api: Api, settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await issued(api)
    repository = KeyRepository(engine_of(settings.database_url))
    default_id = (await stored_keys(settings))[0].id
    # A process that still writes under the old values rotates the default key between the
    # rotation's read and its write.
    old_values = KeyService(repository, vault_for(database), max_keys=5)
    stored_secrets = StoredSecrets(engine_of(settings.database_url))
    write = StoredSecrets.rewrite
    rotated_meanwhile: list[Any] = []

    async def user_rotates_first(self: StoredSecrets, rewrites: Any) -> Any:
        if not rotated_meanwhile:
            rotated_meanwhile.append(await old_values.rotate_key(Actor("alice"), default_id))
        return await write(self, rewrites)

    monkeypatch.setattr(StoredSecrets, "rewrite", user_rotates_first)
    done = await SecretRotation(stored_secrets, vault_for(database, **ROTATING)).rotate()
    # Four secrets in the first pass; the raced one again in a second: none left behind.
    assert (done.rewritten, done.raced) == (5, 0)
    stored = next(k for k in await stored_keys(settings) if k.id == default_id)
    secret = vault_for(database).reveal(
        rotated_meanwhile[0].key_ciphertext, owner_id="alice", key_id=default_id
    )
    rotated = vault_for(database, **ROTATED)
    # The user's new secret survived (rewritten under the new values by a later pass).
    assert rotated.reveal(stored.key_ciphertext, owner_id="alice", key_id=default_id) == secret
    assert (await verifier(settings, rotated).verify(secret)).valid
    assert (
        await SecretRotation(stored_secrets, vault_for(database, **ROTATING)).check()
    ).still_dependent == 0


async def test_the_command_checks_rewrites_and_refuses_generated_secrets(
    api: Api, database: Database, tmp_path: Any
) -> None:
    await issued(api)
    env = {"APIKEYS_DATABASE_URL": database.url, "APIKEYS_STATE_DIR": str(tmp_path)}
    for args in (["rotate-secrets"], ["rotate-secrets", "--check"]):
        refused = run_cli(*args, env=env)
        assert refused.returncode == 2 and "explicitly" in refused.stderr

    env.update(ROTATING)
    before = run_cli("rotate-secrets", "--check", env=env)
    assert before.returncode == 1, before.stdout + before.stderr
    assert "4 still need a previous pepper or encryption key" in before.stdout
    done = run_cli("rotate-secrets", "--batch-size", "3", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 checked" in done.stdout and "done: 4 stored secrets rewritten" in done.stdout
    after = run_cli("rotate-secrets", "--check", env=env)
    assert after.returncode == 0 and "0 still need" in after.stdout


async def test_a_ciphertext_no_key_opens_is_counted_and_passed_over(
    api: Api, settings: Settings, database: Database
) -> None:
    await issued(api)
    engine = engine_of(settings.database_url)
    broken = (await stored_keys(settings))[1]
    blob = b"\x01" + bytes(12) + b"not a ciphertext under any key"
    first, second = ("$1", "$2") if engine == "postgres" else ("?", "?")
    await connections.get(engine).execute_query(
        f'UPDATE "api_keys" SET "key_ciphertext" = {first} WHERE "id" = {second}',
        [blob, broken.id],
    )
    rotation = SecretRotation(StoredSecrets(engine), vault_for(database, **ROTATING))
    done = await rotation.rotate()
    assert (done.rewritten, done.unreadable) == (3, 1)
    assert (await rotation.check()).still_dependent == 1
