"""The module-scoped district of the social-planning tests (see world.py)."""

from .world import world  # noqa: F401 - a fixture
