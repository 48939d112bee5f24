"""`manage.py municipium_worker` (what `municipium worker` runs): django-tasks-db's db_worker
with leases, reclaim and reconnect (municipium/worker/worker.py). Same options as db_worker,
plus --lease-seconds and --max-attempts."""

import logging
import os
from argparse import ArgumentParser

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker

from municipium.worker.worker import LeasedWorker


def positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(value)
    return number


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


class Command(db_worker.Command):
    help = "Run Municipium's background worker (leases, reclaim of lost tasks, reconnect)"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # Polled more often than db_worker's 1 s: a save's figures follow within a second
        # (issue 18); an idle poll is one indexed read.
        parser.set_defaults(interval=settings.WORKER_POLL_SECONDS)
        parser.add_argument(
            "--lease-seconds",
            type=positive_float,
            default=settings.WORKER_LEASE_SECONDS,
            help="how long a task stays this worker's without a heartbeat (default: %(default)s)",
        )
        parser.add_argument(
            "--max-attempts",
            type=positive_int,
            default=settings.WORKER_MAX_ATTEMPTS,
            help="runs of a task interrupted by a lost worker before it is given up (default: %(default)s)",
        )

    def handle(self, *, verbosity, queue_name, exclude_queues, reload, batch, lease_seconds, max_attempts, **options):  # type: ignore[override]
        self.configure_logging(verbosity)
        worker_log = logging.getLogger("municipium.worker")
        worker_log.setLevel(logging.CRITICAL if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG)
        if not worker_log.hasHandlers():
            worker_log.addHandler(logging.StreamHandler(self.stdout))
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = LeasedWorker(
            queue_names=queue_names,
            excluded_queue_names=excluded,
            interval=options["interval"],
            batch=batch,
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
        )
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
