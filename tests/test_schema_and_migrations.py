"""The committed contract (`schema.graphql`) and migrations match the code."""

from __future__ import annotations

import graphql

from service.graphql.schema import _ROOT_FIELDS, sdl
from tests.helpers import ROOT, run_cli


def test_committed_schema_is_the_exported_schema() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == sdl(), (
        "schema.graphql is stale: run `apikeys export-schema --output schema.graphql`"
    )


def test_export_schema_command_prints_the_schema() -> None:
    result = run_cli("export-schema", env={})
    assert result.returncode == 0, result.stderr
    assert result.stdout == sdl()


def test_migrations_record_every_model_change() -> None:
    result = run_cli("makemigrations", "--check", env={})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "migrations match the models" in result.stdout


def test_both_engines_have_the_same_migration_history() -> None:
    def names(engine: str) -> list[str]:
        return sorted(
            p.name.split("_", 2)[2] for p in (ROOT / "migrations" / engine / "models").glob("*.py")
        )

    assert names("sqlite") == names("postgres")
    assert names("sqlite"), "no migrations found"


def test_operation_names_in_metrics_cover_every_root_field() -> None:
    schema = graphql.build_schema(sdl())
    roots = set(schema.query_type.fields) | set(schema.mutation_type.fields)  # type: ignore[union-attr]
    assert roots <= _ROOT_FIELDS
