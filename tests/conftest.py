"""Shared fixtures. Tests run against the database DATABASE_URL names (SQLite by default,
PostgreSQL in CI's second pass), with background tasks run inline."""

import os

os.environ.setdefault("MUNICIPIUM_TASKS", "immediate")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _tasks_run_inline(settings):
    # pytest-django imports the settings before this file is read, so the environment
    # variable above comes too late for them; set the backend itself (django.tasks resets
    # its backends when TASKS changes).
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": []}}


@pytest.fixture(autouse=True)
def _default_language():
    # Tests read English unless they ask for another language. A request to /fa/... through
    # the test client leaves Persian active in this thread; without the reset afterwards,
    # whichever test runs next in the same worker would read Persian messages.
    from django.utils import translation

    with translation.override("en"):
        yield
    translation.activate("en")
