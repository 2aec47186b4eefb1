"""Names and descriptions: what is kept, what is refused."""

from __future__ import annotations

import pytest

from service.domain.errors import ValidationFailed
from service.domain.validation import clean_description, clean_name


def test_names_are_trimmed_and_keyed_case_insensitively() -> None:
    assert clean_name("  Deploy Bot \u00a0") == ("Deploy Bot", "deploy bot")
    assert clean_name("STRASSE")[1] == clean_name("straße")[1]


def test_names_are_stored_in_composed_form() -> None:
    decomposed = "Cafe\u0301"
    assert clean_name(decomposed)[0] == "Caf\u00e9"


def test_unicode_names_are_welcome() -> None:
    assert clean_name("Déploiement 🚀")[0] == "Déploiement 🚀"


@pytest.mark.parametrize(
    "name", ["", " ", "\u3000", "x" * 65, "a\x00b", "a\tb", "a\nb", "a\x7fb", "a\ud800b"]
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        clean_name(name)
    assert refused.value.field == "name"


def test_sixty_four_characters_is_the_limit() -> None:
    assert clean_name("é" * 64)[0] == "é" * 64


def test_descriptions_keep_newlines_and_drop_blank_values() -> None:
    assert clean_description(" line one\nline two ") == "line one\nline two"
    assert clean_description("   ") is None
    assert clean_description(None) is None
    assert clean_description("d" * 500) == "d" * 500


@pytest.mark.parametrize("description", ["d" * 501, "a\x00", "a\rb", "a\tb", "\x1b[31m", "\udfff"])
def test_bad_descriptions_are_refused(description: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        clean_description(description)
    assert refused.value.field == "description"
