"""The import page: check a file, see its problems or its first rows, then import it; the
file waits on the server between the two steps and must not change meanwhile."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from municipium.accounts.models import Role
from municipium.observations import workbooks
from municipium.observations.models import ImportBatch, Observation, Status, Via
from tests import factories as f

pytestmark = pytest.mark.django_db

GOOD = "unit;variable;period;value;missing\nRS-1;water_billed;2024;1 234,5;\nRS-1;water_produced;2024;;not_collected\n"


@pytest.fixture(autouse=True)
def _a_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


@pytest.fixture
def officer():
    area = f.service_area("water")
    f.variable("water_billed", area=area, min_value=0)
    f.variable("water_produced", area=area, min_value=0)
    unit = f.unit("RS-1")
    f.unit("RS-2")
    user = get_user_model().objects.create_user("officer", password="x")
    Role.objects.create(user=user, kind=Role.Kind.OFFICER, unit=unit)
    return user


def upload(client, content, name="figures.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(reverse("import"), {"action": "check", "file": SimpleUploadedFile(name, data)})


def uploads(settings):
    folder = settings.DATA_DIR / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_someone_without_a_unit_to_enter_finds_no_import_page(client):
    user = get_user_model().objects.create_user("reader")
    client.force_login(user)
    assert client.get(reverse("import")).status_code == 404


def test_a_good_file_is_checked_previewed_kept_and_then_imported(client, officer, settings):
    client.force_login(officer)
    response = upload(client, GOOD)
    page = response.content.decode()
    assert response.status_code == 200
    assert "No problems in 2 rows" in page and "1 234,5" in page  # the preview shows the rows as read
    assert not Observation.objects.exists()
    kept = uploads(settings)
    assert len(kept) == 1 and kept[0].read_bytes() == GOOD.encode()
    token = response.context["token"]
    response = client.post(reverse("import"), {"action": "commit", "token": token})
    assert response.status_code == 302
    stored = dict(Observation.objects.values_list("variable__code", "value"))
    assert stored == {"water_billed": 1234.5, "water_produced": None}
    batch = ImportBatch.objects.get(via=Via.IMPORT)
    assert batch.file_name == "figures.csv" and batch.created_by == officer and batch.created == 2
    assert uploads(settings) == []
    page = client.get(reverse("import")).content.decode()
    assert "figures.csv" in page  # in the history
    # the same token does not import twice
    assert client.post(reverse("import"), {"action": "commit", "token": token}).status_code == 302
    assert ImportBatch.objects.filter(via=Via.IMPORT).count() == 1


def test_problems_are_listed_in_a_table_and_nothing_is_stored_or_kept(client, officer, settings):
    client.force_login(officer)
    response = upload(client, "unit;variable;period;value\nRS-1;water_billed;2024;-5\nRS-1;water_bild;2024;1\n")
    page = response.content.decode()
    assert "2 problems found; nothing was stored." in page
    assert 'class="table table-sm table-striped problem-table"' in page
    assert "water_bild" in page and "token" not in response.context
    assert not Observation.objects.exists() and uploads(settings) == []


@pytest.mark.parametrize(
    "name, content",
    [
        ("garbage.csv", b"\x00\x01\x02\xff\xfe garbage"),
        ("broken.xlsx", b"PK\x03\x04 this is not a workbook"),
        ("empty.csv", b""),
        ("cp1250.csv", "unit;variable;period;wartość\nRS-1;water_billed;2024;x\n".encode("cp1250")),
    ],
)
def test_bad_files_give_a_problem_list_and_store_nothing(client, officer, settings, name, content):
    client.force_login(officer)
    response = upload(client, content, name)
    assert response.status_code == 200
    assert response.context["report"].problems
    assert "nothing was stored" in response.content.decode()
    assert not Observation.objects.exists() and not ImportBatch.objects.exists() and uploads(settings) == []


def test_a_file_larger_than_the_limit_is_refused(client, officer, settings):
    settings.MAX_IMPORT_BYTES = 20
    client.force_login(officer)
    response = upload(client, GOOD)
    assert "larger than the" in response.content.decode()
    assert "raise the limit (the MAX_IMPORT_BYTES setting)" in response.content.decode()
    assert uploads(settings) == [] and not Observation.objects.exists()


def test_a_file_with_a_unit_the_officer_may_not_enter_is_refused_whole(client, officer, settings):
    client.force_login(officer)
    response = upload(client, GOOD + "RS-2;water_billed;2024;5;\n")
    page = response.content.decode()
    assert "you may not enter figures for unit RS-2" in page
    assert "token" not in response.context and uploads(settings) == []


def test_a_file_changed_on_the_server_between_check_and_import_is_not_imported(client, officer, settings):
    client.force_login(officer)
    response = upload(client, GOOD)
    uploads(settings)[0].write_bytes(GOOD.replace("1 234,5", "9").encode())
    response = client.post(reverse("import"), {"action": "commit", "token": response.context["token"]}, follow=True)
    assert "changed on the server" in response.content.decode()
    assert not Observation.objects.exists()


def test_another_sessions_upload_cannot_be_imported(client, officer, settings):
    client.force_login(officer)
    token = upload(client, GOOD).context["token"]
    other = get_user_model().objects.create_user("other")
    Role.objects.create(user=other, kind=Role.Kind.OFFICER, unit=officer.roles.get().unit)
    client.force_login(other)  # a new session
    response = client.post(reverse("import"), {"action": "commit", "token": token}, follow=True)
    assert "no longer here" in response.content.decode()
    assert not Observation.objects.exists()


def test_figures_already_submitted_are_not_changed_by_an_import(client, officer):
    from municipium.catalog.models import Variable

    unit = officer.roles.get().unit
    f.write([f.row(unit, Variable.objects.get(code="water_billed"), "2024", 100, status=Status.SUBMITTED)])
    client.force_login(officer)
    response = upload(client, GOOD)
    assert f"{unit.code}, water_billed, 2024 is already submitted" in response.content.decode()
    assert Observation.objects.get().value == 100
    response = upload(client, "unit;variable;period;value;status\nRS-1;water_produced;2024;5;published\n")
    assert "cannot be imported as published" in response.content.decode()


def test_the_history_shows_only_imports_touching_the_officers_units(client, officer):
    from municipium.catalog.models import Variable

    billed = Variable.objects.get(code="water_billed")
    other = f.unit("RS-3")
    f.write([f.row(other, billed, "2024", 1)], file_name="someone-elses.csv")
    ImportBatch.objects.update(via=Via.IMPORT)
    f.write([f.row(officer.roles.get().unit, billed, "2023", 1)], file_name="ours.csv")
    ImportBatch.objects.update(via=Via.IMPORT)
    client.force_login(officer)
    page = client.get(reverse("import")).content.decode()
    assert "ours.csv" in page and "someone-elses.csv" not in page


def test_a_filled_template_is_read_by_sheet_and_cell(client, officer):
    from municipium.catalog.models import Variable

    unit = officer.roles.get().unit
    with transaction.atomic():
        # A template filled with one impossible figure: written, rendered, rolled back.
        f.write([f.row(unit, Variable.objects.get(code="water_billed"), "2025", -3, status=Status.DRAFT)])
        data = workbooks.build_template(unit, "2025", ["water"], language="en")
        transaction.set_rollback(True)
    client.force_login(officer)
    response = upload(client, data, "template.xlsx")
    report = response.context["report"]
    assert [(p.sheet, p.cell) for p in report.problems] == [("Water", "D6")]
    assert "D6" in response.content.decode()
    assert not Observation.objects.exists()


def _import(client, content):
    token = upload(client, content).context["token"]
    return client.post(reverse("import"), {"action": "commit", "token": token}, follow=True).content.decode()


def test_an_empty_source_or_comment_column_keeps_what_is_stored_and_the_history_says_what_changed(client, officer):
    """Issue 19, item 9: a file whose optional source or comment cell is empty erased the
    stored one, reported '1 changed' and left two history rows that looked the same."""
    client.force_login(officer)
    header = "unit;variable;period;value;source;comment\n"
    _import(client, header + "RS-1;water_billed;2024;100;Utility report;counted twice\n")
    page = _import(client, header + "RS-1;water_billed;2024;100;;\n")
    assert "0 new, 0 changed, 1 unchanged" in page
    observation = Observation.objects.get(variable__code="water_billed")
    assert (observation.source, observation.comment, observation.version) == ("Utility report", "counted twice", 1)
    # a file without the columns at all keeps them too
    _import(client, "unit;variable;period;value\nRS-1;water_billed;2024;100\n")
    observation.refresh_from_db()
    assert (observation.source, observation.comment, observation.version) == ("Utility report", "counted twice", 1)
    # a changed comment is a revision, and the history shows what changed
    page = _import(client, header + "RS-1;water_billed;2024;100;;meter replaced\n")
    assert "0 new, 1 changed, 0 unchanged" in page
    observation.refresh_from_db()
    assert (observation.source, observation.comment, observation.version) == ("Utility report", "meter replaced", 2)
    page = client.get(reverse("audit-observation", args=[observation.pk])).content.decode()
    assert "meter replaced" in page and "counted twice" in page and "Utility report" in page
    assert "What changed" in page
    assert page.count('class="revision-changes">comment<') == 1  # version 2 changed the comment only
