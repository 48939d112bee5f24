"""Tasks for the worker's fault-injection tests (tests/test_worker_faults.py), run by a real
worker process that imports them by path. Each leaves a mark in a folder per run, so a test
knows when a run has begun and how many runs there were."""

import os
import time
from pathlib import Path

from django.tasks import task


@task
def mark(folder: str, name: str, first_run_seconds: float = 0.0) -> str:
    """Writes FOLDER/NAME.N for its Nth run; the first run then sleeps (long enough to be
    killed or cut off in the middle), the later ones return at once, as an idempotent
    recompute would."""
    runs = len(list(Path(folder).glob(f"{name}.*")))
    Path(folder, f"{name}.{runs + 1}").write_text(str(os.getpid()))
    if runs == 0 and first_run_seconds:
        time.sleep(first_run_seconds)
    return name


@task
def lose_connection() -> None:
    """Fails as a task does whose database connection was cut under it."""
    from django.db import OperationalError

    raise OperationalError("server closed the connection unexpectedly")
