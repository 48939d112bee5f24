"""Shared fixtures. Tests run against the database DATABASE_URL names (SQLite by default,
PostgreSQL in CI's second pass), with background tasks run inline."""

import os

os.environ.setdefault("MUNICIPIUM_TASKS", "immediate")
