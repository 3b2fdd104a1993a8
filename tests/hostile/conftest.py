"""Fixtures of the hostile tests (builders and helpers: `hostile_support`)."""

from __future__ import annotations

import pytest
from hostile_support import World, make_world


@pytest.fixture(scope="session")
def world(tmp_path_factory, saved_tiny_model) -> World:
    """Tiny valid inputs shared by every hostile case: read-only, copy before breaking anything."""
    return make_world(tmp_path_factory.mktemp("hostile_world"), saved_tiny_model)
