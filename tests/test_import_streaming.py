"""A CSV file on disk is read, checked and staged in pieces (IMPORT_BATCH_BYTES), so that a
file of any length imports in the memory of one piece; it stays all or nothing, and every
problem is still located by its row, whichever piece it is in."""

import pytest

from municipium.observations import imports
from municipium.observations.imports import commit, dry_run
from municipium.observations.models import ImportBatch, Observation, Period
from tests import factories as f

pytestmark = pytest.mark.django_db

HEADER = "unit;variable;period;value;comment\n"


@pytest.fixture
def small_batches(settings):
    # About three rows a piece.
    settings.IMPORT_BATCH_BYTES = 100


@pytest.fixture
def catalogue():
    f.variable("water_produced", min_value=0)
    f.variable("water_billed", min_value=0)
    for code in ("U1", "U2", "U3", "U4", "U5"):
        f.unit(code, {"en": code})


def rows(count, period="2024", start=0):
    units = ["U1", "U2", "U3", "U4", "U5"]
    variables = ["water_produced", "water_billed"]
    return [
        f"{units[i % 5]};{variables[(i // 5) % 2]};{int(period) + i // 10};{i},5;row {i}\n"
        for i in range(start, start + count)
    ]


def write(tmp_path, lines, name="big.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def test_a_file_of_many_pieces_imports_every_row(catalogue, tmp_path, small_batches):
    path = write(tmp_path, rows(60))
    pieces = list(imports._stream_csv(path, None, imports.ImportOptions())[0].batches())
    assert len(pieces) > 10
    report = commit(path)
    assert report.committed and (report.rows, report.created) == (60, 60)
    assert Observation.objects.count() == 60 and len(f.versions()) == 60
    assert Observation.objects.get(unit__code="U2", variable__code="water_billed", period__code="2026").value == 26.5
    assert ImportBatch.objects.get().rows == 60


def test_a_bad_row_in_a_late_piece_refuses_the_whole_file_and_names_its_row(catalogue, tmp_path, small_batches):
    commit(write(tmp_path, rows(10), "first.csv"))
    before = f.stored_state()
    lines = rows(60, start=10)
    lines[52] = "U9;water_produced;2030;1;\n"  # file row 54 (the header is row 1)
    lines[57] = "U1;water_billed;2030;-1;\n"  # row 59, below the minimum
    report = commit(write(tmp_path, lines))
    assert not report.committed and report.problem_count == 2
    assert [(p.row, p.column) for p in report.problems] == [(54, "unit"), (59, "value")]
    assert report.problems[0].message == "unknown unit 'U9'"
    assert f.stored_state() == before
    assert not Period.objects.filter(code="2030").exists()
    assert ImportBatch.objects.count() == 1


def test_a_row_repeating_one_in_an_earlier_piece_is_named_with_both_rows(catalogue, tmp_path, small_batches):
    lines = rows(40)
    lines.append(lines[2].replace("row 2", "again"))  # row 42 repeats row 4
    lines.append(lines[30])  # row 43 repeats row 32
    for run in (dry_run, commit):
        report = run(write(tmp_path, lines))
        assert [(p.row, p.message) for p in report.problems] == [
            (42, "this row repeats row 4: same unit, variable, period and breakdown"),
            (43, "this row repeats row 32: same unit, variable, period and breakdown"),
        ]
        assert report.problem_count == 2
    assert not Observation.objects.exists()


def sorted_rows():
    """A file in key order (unit, variable, period), as most are: its pieces' key ranges
    follow one another, so the importer skips the search of the whole stage."""
    return [
        f"{unit};{variable};{year};{n},5;\n"
        for n, (unit, variable, year) in enumerate(
            (u, v, y)
            for u in ("U1", "U2", "U3")
            for v in ("water_billed", "water_produced")
            for y in (2020, 2021, 2022)
        )
    ]


@pytest.mark.parametrize(
    ("repeated", "first"),
    [
        (4, 5),  # the next row, in the same piece
        (6, 7),  # the first row of the next piece repeats the last of the one before
        (17, 2),  # a later piece's key lies inside an earlier piece's range
    ],
)
def test_a_file_in_key_order_still_has_every_repeated_row_named(catalogue, tmp_path, small_batches, repeated, first):
    lines = sorted_rows()
    assert commit(write(tmp_path, lines)).created == 18
    Observation.objects.all().delete()
    lines.insert(repeated, lines[first - 2].replace(",5;", ",7;"))
    for run in (dry_run, commit):
        report = run(write(tmp_path, lines))
        assert [(p.row, p.message) for p in report.problems] == [
            (repeated + 2, f"this row repeats row {first}: same unit, variable, period and breakdown")
        ]
    assert not Observation.objects.exists()


def test_a_dry_run_of_many_pieces_reports_like_a_commit_and_stores_nothing(catalogue, tmp_path, small_batches):
    lines = rows(30, period="2040")
    lines[25] = "U1;water_produced;2040;zero;\n"
    path = write(tmp_path, lines)
    checked, committed = dry_run(path), commit(path)
    assert [(p.row, p.message) for p in checked.problems] == [(27, "'zero' is not a number")]
    assert [(p.row, p.message) for p in committed.problems] == [(27, "'zero' is not a number")]
    assert not Period.objects.filter(code__startswith="204").exists()
    del lines[25]
    report = dry_run(write(tmp_path, lines))
    assert report.ok and report.rows == 29 and not Observation.objects.exists()


def test_rows_are_numbered_as_the_file_across_pieces_blank_lines_and_quoted_line_breaks(
    catalogue, tmp_path, small_batches
):
    lines = rows(20)
    lines[3] = 'U4;water_produced;2024;3,5;"a comment\nover two lines; with ""quotes"""\n'
    lines.insert(8, "\n")
    lines.insert(9, ";;;;\n")
    lines[15] = "U1;water_billed;2029;bad;\n"
    report = dry_run(write(tmp_path, lines))
    # The quoted line break is one record, as Polars counts them: data row 16 is record 17.
    assert [(p.row, p.column) for p in report.problems] == [(17, "value")]
    lines[15] = "U1;water_billed;2029;7;\n"
    assert commit(write(tmp_path, lines)).committed
    assert Observation.objects.get(unit__code="U4", period__code="2024", variable__code="water_produced").comment == (
        'a comment\nover two lines; with "quotes"'
    )


def test_a_ragged_row_in_a_late_piece_is_named(catalogue, tmp_path, small_batches):
    lines = rows(40)
    lines[35] = "U1;water_billed;2027;1;x;y;z\n"
    report = commit(write(tmp_path, lines))
    assert [(p.row, p.message) for p in report.problems] == [(37, "the row has 7 fields but the header has 5")]
    assert not Observation.objects.exists()


def test_the_decimal_separator_is_judged_on_the_whole_file(catalogue, tmp_path, small_batches):
    # Tab-separated: '1.234' reads either way; a '2,5' in a late piece settles it as a comma.
    lines = ["U1\twater_produced\t2024\t1.234\n"] + [f"U2\twater_produced\t{2000 + i}\t{i}\n" for i in range(20)]
    lines.append("U3\twater_produced\t2024\t2,5\n")
    path = tmp_path / "tabs.tsv"
    path.write_text("unit\tvariable\tperiod\tvalue\n" + "".join(lines), encoding="utf-8")
    report = commit(path)
    assert report.committed and report.decimal == ","
    assert Observation.objects.get(unit__code="U1").value == 1234.0


def test_an_empty_optional_column_keeps_what_is_stored_across_pieces(catalogue, tmp_path, small_batches):
    commit(write(tmp_path, rows(30), "first.csv"))
    lines = [line.rsplit(";", 1)[0] + ";\n" for line in rows(30)]
    lines[20] = lines[20].replace(";20,5;", ";99;")
    report = commit(write(tmp_path, lines, "second.csv"))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 29)
    changed = Observation.objects.get(value=99)
    assert changed.comment == "row 20" and changed.version == 2
