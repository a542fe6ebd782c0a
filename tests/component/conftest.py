"""Fixtures of the component tests: the lab inventory, validated, as the unit tests have it."""

from tests.unit.conftest import lab

__all__ = ["lab"]
