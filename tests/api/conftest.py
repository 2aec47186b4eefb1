"""Fixtures of the API tests beyond the suite's own (tests/conftest.py)."""

# A service trusting a secret-scanning partner, for every test that reports leaks.
from tests.api.test_secret_scanning import scanning  # noqa: F401
