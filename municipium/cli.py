"""The `municipium` command: everything an operator or a data officer does from a terminal.

Each subcommand is a thin shell over the same functions the web pages and the API use, so a
file rejected here is rejected there with the same messages. Any problem exits non-zero.
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from municipium.lib import allocator

EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "municipium.settings")
    import django

    django.setup()


def _progress(total: int | None, description: str):
    """A progress bar on a terminal, silence elsewhere (CI logs, pipes)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="", disable=not sys.stderr.isatty(), leave=False)


def _print_problems(problems) -> None:
    for problem in problems:
        print(str(problem), file=sys.stderr)


def _import_summary(report, dry_run: bool) -> str:
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    from municipium.lib.numbers import format_number

    if report.problem_count:
        return ngettext(
            "%(file)s: %(count)s problem; nothing was written",
            "%(file)s: %(count)s problems; nothing was written",
            report.problem_count,
        ) % {"file": report.file, "count": format_number(report.problem_count, 0)}
    if dry_run:
        return _("%(file)s: no problems (%(encoding)s); nothing was written (dry run)") % {
            "file": report.file,
            "encoding": report.encoding or report.format,
        }
    return ngettext(
        "%(file)s: %(rows)s row: %(created)s new, %(updated)s changed, %(unchanged)s unchanged (import batch %(batch)s)",
        "%(file)s: %(rows)s rows: %(created)s new, %(updated)s changed, %(unchanged)s unchanged (import batch %(batch)s)",
        report.rows,
    ) % {
        "file": report.file,
        "rows": format_number(report.rows, 0),
        "created": format_number(report.created, 0),
        "updated": format_number(report.updated, 0),
        "unchanged": format_number(report.unchanged, 0),
        "batch": report.batch.pk if report.batch else "-",
    }


def _load_summary(report, dry_run: bool) -> str:
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    from municipium.lib.numbers import format_number

    if report.problems:
        count = len(report.problems)
        return ngettext("%(count)s problem; nothing was written", "%(count)s problems; nothing was written", count) % {
            "count": format_number(count, 0)
        }
    text = _("%(created)s new, %(updated)s changed, %(unchanged)s unchanged") % {
        "created": format_number(report.created, 0),
        "updated": format_number(report.updated, 0),
        "unchanged": format_number(report.unchanged, 0),
    }
    return text + (" " + _("(dry run: nothing was written)") if dry_run else "")


def _maybe_dry(dry_run: bool, load):
    """Run a loader; with dry_run inside a transaction that is rolled back, so the loader's
    own checks and writes run in full and nothing stays."""
    from django.db import transaction

    with transaction.atomic():
        report = load()
        if dry_run:
            transaction.set_rollback(True)
    return report


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


# -- observations -----------------------------------------------------------------------


def cmd_import(args) -> int:
    from municipium.observations import imports

    options = imports.ImportOptions(
        decimal=args.decimal,
        encoding=args.encoding,
        delimiter=args.delimiter,
        status=args.status,
        source=args.source,
    )
    run = imports.dry_run if args.dry_run else imports.commit
    report = run(Path(args.path), options=options)
    _print_problems(report.problems)
    print(_import_summary(report, args.dry_run))
    return EXIT_PROBLEMS if report.problem_count else 0


def cmd_export(args) -> int:
    from municipium.benchmarks import exports as indicator_exports
    from municipium.observations import exports

    fmt = args.format or (Path(args.output).suffix.lstrip(".").lower() if args.output != "-" else "") or "csv"
    style = {"delimiter": ";", "decimal": ","} if args.semicolon else {}
    common = {
        "units": args.unit or None,
        "group": args.group,
        "service_area": args.service_area,
        "periods": args.period or None,
    }
    if args.what == "observations":
        selection = {"variables": args.variable or None, "status": "published" if args.public else None, **common}
        if fmt != "xlsx":  # a chunk of units at a time: a country's observations are millions
            return _write_pieces(args.output, exports.observations_csv(**style, **selection))
        data = exports.export_observations(fmt, **style, **selection)
    else:
        basis = "published" if args.public else "all"
        selection = {"indicators": args.indicator or None, "basis": basis, **common}
        if fmt != "xlsx":
            # Written a chunk of indicators at a time: a group's values over every year are
            # millions of rows (issue 18), which held whole took gigabytes.
            return _write_pieces(args.output, indicator_exports.indicator_values_csv(**style, **selection))
        data = indicator_exports.export_indicator_values(fmt, **style, **selection)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        return 0
    Path(args.output).write_bytes(data)
    return _written(args.output, len(data))


def _write_pieces(output: str, pieces) -> int:
    """Write the pieces to the file (through a temporary name beside it, so that a failed
    export leaves no half-written file under the asked name) or to standard output."""
    if output == "-":
        for piece in pieces:
            sys.stdout.buffer.write(piece)
        return 0
    target = Path(output)
    partial = target.with_name(f".{target.name}.partial")
    size = 0
    try:
        with partial.open("wb") as out:
            for piece in pieces:
                out.write(piece)
                size += len(piece)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return _written(output, size)


def cmd_template(args) -> int:
    from municipium.observations import workbooks
    from municipium.places.models import Group, Unit

    if args.group:
        target = Group.objects.get(code=args.group)
    else:
        target = list(Unit.objects.filter(code__in=args.unit))
    data = workbooks.build_template(target, args.period, service_areas=args.service_area or None)
    Path(args.output).write_bytes(data)
    return _written(args.output, len(data))


# -- catalogue and units ----------------------------------------------------------------


def _load(dry_run: bool, load) -> int:
    """Run a catalogue or units loader (rolled back on a dry run), report, and exit 1 on problems."""
    report = _maybe_dry(dry_run, load)
    _print_problems(report.problems)
    print(_load_summary(report, dry_run))
    return EXIT_PROBLEMS if report.problems else 0


def _written(path, size: int | None = None) -> int:
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    from municipium.lib.numbers import format_number

    if size is None:
        print(_("%(path)s: written") % {"path": path})
    else:
        print(
            ngettext("%(path)s: %(size)s byte written", "%(path)s: %(size)s bytes written", size)
            % {"path": path, "size": format_number(size, 0)}
        )
    return 0


def cmd_catalog(args) -> int:
    from municipium.catalog import files

    if args.action == "import":
        return _load(args.dry_run, lambda: files.load_catalog(Path(args.path)))
    files.save_catalog(Path(args.path))
    return _written(args.path)


def cmd_units(args) -> int:
    from municipium.places import files

    if args.action == "import":
        return _load(args.dry_run, lambda: files.load_units(Path(args.path)))
    if args.action == "boundaries":
        return _load(
            args.dry_run,
            lambda: files.attach_boundaries(Path(args.path), key_property=args.key, code_prefix=args.prefix),
        )
    files.save_units(Path(args.path))
    return _written(args.path)


# -- engine ------------------------------------------------------------------------------


def cmd_recompute(args) -> int:
    from municipium.benchmarks import engine

    bar = _progress(None, "recompute")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    if args.parts > 1:
        import time

        from django.utils.translation import gettext as _
        from django.utils.translation import ngettext

        from municipium.benchmarks import tasks

        bar.close()
        print(
            _(
                "%(parts)s parts queued; waiting for the running workers (municipium worker, municipium serve) to take them"
            )
            % {"parts": args.parts},
            flush=True,
        )
        started = time.perf_counter()
        report = tasks.recompute_in_parts(args.parts, force=args.force)
        print(
            ngettext(
                "%(indicators)s indicator in %(seconds)s s, in %(parts)s parts",
                "%(indicators)s indicators in %(seconds)s s, in %(parts)s parts",
                report["indicators"],
            )
            % {
                "indicators": report["indicators"],
                "seconds": f"{time.perf_counter() - started:.1f}",
                "parts": report["parts"],
            }
        )
        for code, error in sorted(report["errors"].items()):
            print(f"{code}: {error}")
        return EXIT_PROBLEMS if report["errors"] else 0
    result = engine.recompute_all(progress=progress, force=args.force)
    bar.close()
    print(result.summary())
    return EXIT_PROBLEMS if result.errors else 0


# -- running -----------------------------------------------------------------------------


def cmd_demo(args) -> int:
    from municipium.demo import load

    _migrate()
    load.load_demo(progress=lambda text: print(text, flush=True))
    _demo_account()
    if args.no_serve:
        return 0
    return cmd_serve(args)


def _demo_account() -> None:
    """A coordinator account for trying the demo, with a fresh random password shown once.

    Only made when the installation has no administrator yet, so running the demo command
    against a real database never adds a back door to it."""
    import secrets

    from django.contrib.auth import get_user_model
    from django.utils.translation import gettext as _

    users = get_user_model()
    if users.objects.filter(is_superuser=True).exists():
        return
    password = secrets.token_urlsafe(12)
    users.objects.create_superuser("demo", "demo@example.org", password)
    print(_("Sign in as 'demo' with the password %(password)s") % {"password": password}, flush=True)


def gunicorn_command(python: str, host: str, port: int, workers: int) -> list[str]:
    """How `serve` starts the web server: access log on standard output, through the logger
    that keeps personal survey links and invitation tokens out of it, and the address and
    time of a respondent's requests (README: Privacy)."""
    return [
        python,
        "-m",
        "gunicorn",
        "municipium.wsgi",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        # Threaded workers tell gunicorn they are alive while a request runs: a synchronous
        # worker is killed after the timeout (30 s) however its response streams, and the
        # whole open-data set takes longer than that to send (issue 18).
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--access-logfile",
        "-",
        "--logger-class",
        "municipium.web.accesslog.PrivateAccessLog",
    ]


def cmd_serve(args) -> int:
    """Web server and task worker together: one command for a laptop or a small server.

    Larger installations run `gunicorn municipium.wsgi` and `municipium worker` as separate
    services (README: Deploy).
    """
    from django.core.management import call_command

    _migrate()
    call_command("collectstatic", interactive=False, verbosity=0)
    from municipium.worker.supervise import Supervisor

    python = sys.executable
    server = subprocess.Popen(gunicorn_command(python, args.host, args.port, args.workers))
    # The worker is watched and started again whenever it ends (README: The task worker).
    supervisor = Supervisor(server, [python, "-m", "municipium.cli", "worker"])
    from django.utils.translation import gettext as _

    print(
        _("Municipium is serving on %(url)s (Ctrl-C stops it)") % {"url": f"http://{args.host}:{args.port}/"},
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: supervisor.stopping.set())
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop()
    return 0


def cmd_worker(args) -> int:
    """The background worker: recomputes derived figures after every write."""
    from django.core.management import call_command

    call_command("municipium_worker", *(["--batch"] if args.once else []))
    return 0


def cmd_daily(args) -> int:
    """Once a day (cron, a systemd timer): release the publications whose embargo date has
    come, send the automatic deadline reminders and remove uploads never committed. Safe to run again, and from several
    servers at once: each release and each reminder is claimed in the database first, so it
    happens once (README: The daily job)."""
    import datetime as dt

    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    from municipium.lib.numbers import format_number
    from municipium.observations import workflow

    try:
        today = dt.date.fromisoformat(args.today) if args.today else None
    except ValueError:
        print(
            "municipium daily: "
            + _("--today %(value)s is not a date; write it like 2025-03-31") % {"value": args.today},
            file=sys.stderr,
        )
        return EXIT_USAGE
    released = workflow.release_due_publications(today)
    days = workflow.REMIND_DAYS_BEFORE if args.days_before is None else args.days_before
    sent, failed = workflow.send_due_reminders(today, days_before=days)
    # The owners of decisions that became overdue (meetings): counted with the other reminders.
    from municipium.meetings import services as meetings

    sent_overdue, failed_overdue = meetings.send_overdue_reminders(today)
    sent, failed = sent + sent_overdue, failed + failed_overdue
    # Parties whose obligations under an agreement became overdue (cooperation).
    from municipium.cooperation import services as cooperation

    sent_overdue, failed_overdue = cooperation.send_overdue_reminders(today)
    sent, failed = sent + sent_overdue, failed + failed_overdue
    # Social-service planning rounds: proposals due at the agency, draft agreements due.
    from municipium.socialplanning import services as socialplanning

    sent_round, failed_round = socialplanning.send_deadline_reminders(today, days_before=days)
    sent, failed = sent + sent_round, failed + failed_round
    # Uploaded files that were checked but never committed.
    from municipium.observations import uploads

    swept = uploads.sweep()
    published = ngettext("%(count)s figure published", "%(count)s figures published", released)
    reminded = ngettext("%(count)s reminder sent", "%(count)s reminders sent", sent)
    print(
        _("%(published)s, %(reminded)s")
        % {
            "published": published % {"count": format_number(released, 0)},
            "reminded": reminded % {"count": format_number(sent, 0)},
        }
    )
    if swept:
        print(
            ngettext(
                "%(count)s uploaded file that was never imported removed",
                "%(count)s uploaded files that were never imported removed",
                swept,
            )
            % {"count": format_number(swept, 0)}
        )
    if failed:
        print(
            ngettext(
                "%(failed)s reminder could not be sent (the mail server refused); the next run tries again",
                "%(failed)s reminders could not be sent (the mail server refused); the next run tries again",
                failed,
            )
            % {"failed": format_number(failed, 0)},
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    return 0


def cmd_manage(args) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["municipium manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="municipium", description="Monitor, compare and plan municipal public services."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="load the demo data (and serve it unless --no-serve)")
    p.add_argument("--no-serve", action="store_true", help="only load the demo data")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="run the web server and the task worker")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run the background task worker")
    p.add_argument("--once", action="store_true", help="run the queued tasks, then stop")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("import", help="import observations from a CSV or Excel file (long format or a filled template)")
    p.add_argument("path")
    p.add_argument("--dry-run", action="store_true", help="check the file and list every problem; write nothing")
    p.add_argument("--decimal", choices=["auto", ".", ","], default="auto")
    p.add_argument("--encoding", default=None, help="force an encoding (utf-8, cp1250, cp1251, cp1257)")
    p.add_argument("--delimiter", default=None, help="force a CSV delimiter")
    p.add_argument(
        "--status",
        choices=["draft", "submitted", "approved", "published"],
        default="draft",
        help="status of the rows whose status column is empty or absent (default draft; "
        "published for figures a statistics office has already published)",
    )
    p.add_argument("--source", default="", help="source recorded for the rows whose source column is empty or absent")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export observations or indicator values with group statistics")
    p.add_argument("what", choices=["observations", "indicators"])
    p.add_argument("-o", "--output", default="-", help="file to write (.csv or .xlsx), - for standard output")
    p.add_argument("--format", choices=["csv", "xlsx"])
    p.add_argument("--unit", action="append", default=[])
    p.add_argument("--group")
    p.add_argument("--variable", action="append", default=[])
    p.add_argument("--indicator", action="append", default=[])
    p.add_argument("--service-area")
    p.add_argument("--period", action="append", default=[])
    p.add_argument("--public", action="store_true", help="published figures only")
    p.add_argument(
        "--semicolon",
        action="store_true",
        help="; delimiter and decimal comma, for spreadsheets set to Central European locales",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("template", help="write a wide Excel template for data entry")
    p.add_argument("period")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--group")
    p.add_argument("--unit", action="append", default=[])
    p.add_argument("--service-area", action="append", default=[])
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("catalog", help="import or export catalogue definitions (YAML)")
    p.add_argument("action", choices=["import", "export"])
    p.add_argument("path")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("units", help="import or export units and groups (YAML or CSV), attach boundaries (GeoJSON)")
    p.add_argument("action", choices=["import", "export", "boundaries"])
    p.add_argument("path")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument(
        "--key", default=None, help="boundaries: the feature property holding the unit code (guessed if not given)"
    )
    p.add_argument("--prefix", default="", help="boundaries: prefix added to the property to make the unit code")
    p.set_defaults(func=cmd_units)

    p = sub.add_parser("recompute", help="recompute every derived figure from the observations")
    p.add_argument(
        "--force",
        action="store_true",
        help="recompute every indicator, also those whose inputs have not changed since the last full recompute "
        "(and compare every stored row)",
    )
    p.add_argument(
        "--parts",
        type=int,
        default=1,
        help="split the recompute into this many tasks that the running workers share (several workers, "
        "on one machine or several, on PostgreSQL); waits until all are done",
    )
    p.set_defaults(func=cmd_recompute)

    p = sub.add_parser(
        "daily",
        help="release embargoed publications, send deadline reminders, remove stale uploads (run once a day)",
    )
    p.add_argument("--today", default=None, help="act as if it were this date (YYYY-MM-DD)")
    p.add_argument(
        "--days-before", type=int, default=None, help="send the reminder this many days before a deadline (default 7)"
    )
    p.set_defaults(func=cmd_daily)

    p = sub.add_parser("manage", help="run a Django management command (migrate, createsuperuser, ...)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


# The commands that read or write the data: on a database never set up (or left behind by a
# newer version) they first apply the migrations, as `demo` and `serve` do, instead of
# failing with a traceback about a missing table (issue 18).
DATA_COMMANDS = {"import", "export", "template", "catalog", "units", "recompute", "daily"}


def _pending_migrations() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _ready_database() -> None:
    from django.utils.translation import ngettext

    pending = _pending_migrations()
    if pending:
        print(
            "municipium: "
            + ngettext(
                "the database is not set up yet (%(count)s migration to apply); applying it first, as `municipium serve` does",
                "the database is not set up yet (%(count)s migrations to apply); applying them first, as `municipium serve` does",
                pending,
            )
            % {"count": pending},
            file=sys.stderr,
        )
        _migrate()


# The commands that start the web server, which inherits their environment (`demo` loads
# the small demo first, then serves it).
WEB_COMMANDS = ("serve", "demo")


def prepare_process(command: str) -> None:
    """What the environment of this process (and of those it starts) must say before Django
    and Polars load."""
    if command == "serve":
        # Static files compressed, content-hashed and cached for a year, as in production:
        # read by the settings here and by the web server started below (same environment).
        os.environ.setdefault("COMPRESSED_STATIC", "1")
    if command not in WEB_COMMANDS:
        # Bulk work (recompute, import, the task worker) reuses the memory it frees; a web
        # worker gives it back (`lib/allocator`). `serve` starts its task worker as
        # `municipium worker`, which comes through here.
        allocator.keep_freed_memory()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prepare_process(args.command)
    _setup()
    from django.core.exceptions import ObjectDoesNotExist
    from django.db.utils import OperationalError
    from django.utils.translation import gettext as _

    if args.command in DATA_COMMANDS:
        try:
            _ready_database()
        except OperationalError as error:
            print(
                "municipium: "
                + _("cannot use the database (%(error)s); check DATABASE_URL and that the database server runs")
                % {"error": str(error).strip()},
                file=sys.stderr,
            )
            return EXIT_PROBLEMS
    try:
        return args.func(args)
    except FileNotFoundError as error:
        print("municipium: " + _("%(path)s: no such file") % {"path": error.filename}, file=sys.stderr)
        return EXIT_PROBLEMS
    except ObjectDoesNotExist as error:
        print(f"municipium: {error}", file=sys.stderr)
        return EXIT_PROBLEMS


if __name__ == "__main__":
    sys.exit(main())
