"""The siting tests' shared world: built once per module (see world.py)."""

import pytest
from django.db import transaction

from .world import build


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world once per module, in a transaction rolled back after the module's last test
    (each test runs in a savepoint inside it)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
