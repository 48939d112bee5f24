"""A file of new figures (every (variable, period) slice it touches empty before it, no key
repeated) is written piece by piece as it is checked (`services.NewRows`), not staged whole:
the database writes one piece while the next is read. It stays one all-or-nothing batch with
a revision per figure and one audit event; a piece that meets stored figures, repeats an
earlier piece's key or collides with another writer's row sends the whole file back through
the stage, and a problem anywhere still leaves stored data exactly as it was."""

import threading

import pytest
from django.db import IntegrityError

from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent
from municipium.lib.tabular import read_ahead
from municipium.observations import history, services
from municipium.observations.imports import commit
from municipium.observations.models import ImportBatch, Observation, Revision, Status
from tests import factories as f

pytestmark = pytest.mark.django_db

HEADER = "unit;variable;period;value\n"
UNITS = ("U1", "U2", "U3", "U4", "U5")
VARIABLES = ("water_billed", "water_produced")


@pytest.fixture
def small_batches(settings):
    settings.IMPORT_BATCH_BYTES = 100  # about three rows a piece


@pytest.fixture
def catalogue():
    for code in VARIABLES:
        f.variable(code, min_value=0)
    return [f.unit(code, {"en": code}) for code in UNITS]


@pytest.fixture
def pieces(monkeypatch):
    """How many pieces went straight into the tables, and how many files were sent back
    through the stage after writing some."""
    seen = {"appended": 0, "staged": 0}
    append, staged = services.NewRows.append, services.write_staged

    def counting_append(self, frame):
        seen["appended"] += 1
        return append(self, frame)

    def counting_staged(*args, **kwargs):
        seen["staged"] += 1
        return staged(*args, **kwargs)

    monkeypatch.setattr(services.NewRows, "append", counting_append)
    monkeypatch.setattr(services, "write_staged", counting_staged)
    return seen


def lines(years=(2020, 2021, 2022), units=UNITS, value=lambda n: f"{n},5"):
    """A file in key order (unit, variable, period), as most are."""
    keys = [(u, v, y) for u in units for v in VARIABLES for y in years]
    return [f"{u};{v};{y};{value(n)}\n" for n, (u, v, y) in enumerate(keys)]


def write(tmp_path, rows, name="figures.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def test_a_first_load_is_written_piece_by_piece_as_one_batch_each_row_its_first_revision(
    catalogue, tmp_path, small_batches, pieces
):
    report = commit(write(tmp_path, lines()))

    assert report.committed and (report.rows, report.created, report.updated) == (30, 30, 0)
    assert pieces["appended"] > 5 and pieces["staged"] == 0
    batch = ImportBatch.objects.get()
    assert (batch.rows, batch.created, batch.updated, batch.unchanged) == (30, 30, 0, 0)
    assert Observation.objects.filter(batch=batch, version=1).count() == 30
    stored = {o.pk: o for o in Observation.objects.all()}
    # No revision stored: each row is its figure's first version (models.Revision), found
    # by the batch's time stamp, through the batch's channel.
    assert not Revision.objects.exists()
    assert {o.updated_at for o in stored.values()} == {batch.written_at}  # one operation, one time stamp
    assert {(v[1], v[8], v[9]) for v in f.versions()} == {(1, "import", batch.pk)}
    assert len(history.written_by(batch, 100)) == 30
    assert AuditEvent.objects.filter(action="import", batch=batch).count() == 1
    assert Observation.objects.get(unit__code="U2", variable__code="water_produced", period__code="2021").value == 10.5


def test_a_later_piece_that_meets_stored_figures_sends_the_file_through_the_stage(
    catalogue, tmp_path, small_batches, pieces
):
    commit(write(tmp_path, lines(years=(2020,), units=("U4", "U5")), "first.csv"))
    before = Observation.objects.get(unit__code="U5", variable__code="water_billed", period__code="2020")
    pieces["appended"] = 0
    # U1-U3 in new slices (2021), then U4-U5 into the stored 2020 slices: the key order
    # puts the stored figures in the file's last pieces, after some were written.
    rows = lines(years=(2021,), units=("U1", "U2", "U3")) + lines(
        years=(2020,), units=("U4", "U5"), value=lambda n: f"{n + 100},5"
    )

    report = commit(write(tmp_path, rows, "second.csv"))

    assert report.committed and (report.created, report.updated, report.unchanged) == (6, 4, 0)
    assert pieces["appended"] >= 1 and pieces["staged"] == 1
    assert ImportBatch.objects.count() == 2 and Observation.objects.count() == 10
    after = Observation.objects.get(pk=before.pk)
    assert (after.version, after.value) == (2, 102.5)
    assert list(Revision.objects.filter(observation=after).values_list("version", flat=True)) == [1, 2]
    assert Revision.objects.count() == 4 + 4  # the changed figures' two versions each
    assert len(f.versions()) == 6 + 4 + 4  # and the six new figures, their own first versions
    assert AuditEvent.objects.filter(action="import").count() == 2


def test_a_key_repeated_after_pieces_were_written_is_named_and_nothing_is_stored(
    catalogue, tmp_path, small_batches, pieces
):
    rows = lines()
    rows.append(rows[1].replace(",5\n", ",9\n"))  # row 32 repeats row 3, far behind

    report = commit(write(tmp_path, rows))

    assert not report.committed
    assert [(p.row, p.message) for p in report.problems] == [
        (32, "this row repeats row 3: same unit, variable, period and breakdown")
    ]
    assert pieces["appended"] >= 1
    assert not Observation.objects.exists() and not Revision.objects.exists() and not ImportBatch.objects.exists()


def test_a_bad_row_after_pieces_were_written_leaves_stored_data_as_it_was(catalogue, tmp_path, small_batches, pieces):
    commit(write(tmp_path, lines(years=(2019,)), "first.csv"))
    before = f.stored_state()
    rows = lines()
    assert rows[25].startswith("U5;water_billed;2021;")
    rows[25] = "U5;water_billed;2021;-4\n"  # file row 27, below the minimum

    report = commit(write(tmp_path, rows))

    assert not report.committed and [(p.row, p.column) for p in report.problems] == [(27, "value")]
    assert f.stored_state() == before
    assert AuditEvent.objects.filter(action="import").count() == 1


def test_a_row_another_writer_stored_meanwhile_sends_the_file_through_the_stage(
    catalogue, tmp_path, small_batches, monkeypatch
):
    append = services.NewRows.append
    calls = []

    def colliding(self, frame):
        calls.append(frame.height)
        if len(calls) == 3:  # another writer's figure, stored under one of this piece's keys
            unit_id, variable_id, period_id = frame.row(0)[:3]
            Observation.objects.create(unit_id=unit_id, variable_id=variable_id, period_id=period_id, value=1)
        return append(self, frame)

    monkeypatch.setattr(services.NewRows, "append", colliding)

    report = commit(write(tmp_path, lines()))

    # The collision rolled back to before the first piece (the other writer's row with it,
    # in this single-connection test) and the stage wrote the whole file.
    assert report.committed and report.created == 30 and len(calls) == 3
    assert Observation.objects.count() == 30 and not Revision.objects.exists()
    assert ImportBatch.objects.count() == 1 and len(f.versions()) == 30


def test_new_figures_for_a_unit_the_officer_may_not_enter_are_refused_whole(catalogue, tmp_path, small_batches):
    officer = f.person("officer", Role.Kind.OFFICER, unit=catalogue[0])

    report = commit(write(tmp_path, lines()), actor=officer)

    assert not report.committed
    assert [p.message for p in report.problems][:1] == [
        "you may not enter figures for unit U2, so nothing of this file is imported"
    ]
    assert not Observation.objects.exists() and not Revision.objects.exists() and not ImportBatch.objects.exists()

    report = commit(write(tmp_path, lines(units=("U1",))), actor=officer)

    assert report.committed and report.created == 6
    assert set(Observation.objects.values_list("status", flat=True)) == {Status.DRAFT}
    assert {v[7] for v in f.versions()} == {officer.pk}


def test_read_ahead_hands_over_every_piece_in_order_and_an_error_where_it_happened():
    def pieces(fail_at=None):
        for n in range(5):
            if n == fail_at:
                raise ValueError(f"piece {n}")
            yield n

    assert list(read_ahead(pieces())) == [0, 1, 2, 3, 4]
    got = []
    with pytest.raises(ValueError, match="piece 3"):
        for piece in read_ahead(pieces(fail_at=3)):
            got.append(piece)
    assert got == [0, 1, 2]


def test_read_ahead_stops_its_thread_when_the_caller_stops_early():
    closed = threading.Event()
    running = set(threading.enumerate())

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    for piece in read_ahead(endless()):
        if piece == 2:
            break
    assert closed.wait(5)
    assert not [t for t in threading.enumerate() if t.name == "read-ahead" and t not in running]


def test_integrity_errors_inside_a_first_load_are_not_swallowed_by_the_stage(
    catalogue, tmp_path, small_batches, monkeypatch
):
    """A collision the stage meets as well (a unit deleted meanwhile) is reported as before."""

    def broken(self, frame):
        raise IntegrityError("the unit is gone")

    monkeypatch.setattr(services.NewRows, "append", broken)
    monkeypatch.setattr(
        services, "_check_references", lambda cursor, known: (_ for _ in ()).throw(IntegrityError("the unit is gone"))
    )
    with pytest.raises(IntegrityError, match="the unit is gone"):
        commit(write(tmp_path, lines()))
    assert not Observation.objects.exists()
