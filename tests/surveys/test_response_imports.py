"""Importing response exports from KoboToolbox/ODK and LimeSurvey: every problem listed by
row and column, then exactly the checked file stored, all or nothing, once, without the
tools' identifying columns."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.translation import override

from municipium.audit.models import AuditEvent
from municipium.surveys import imports
from municipium.surveys.models import Response

from .fieldwork import officer_of, questionnaire

pytestmark = pytest.mark.django_db

# KoboToolbox "XML values and headers", groups in the headers with "/", re-saved by Excel
# in Windows-1250 with ";" (a Polish or Serbian Latin desktop).
KOBO = (
    "start;end;today;deviceid;uses_water;water/sat_water;water/why_water;about/age;about/bill;about/channels;"
    "about/channels/phone;about/channels/email;about/channels/office;_id;_uuid;_submission_time;_index\n"
    "2025-05-03T10:00:00.000+02:00;2025-05-03T10:04:10.000+02:00;2025-05-03;ee:1;yes;2;Voda je mutna, ružna;"
    "54;12.5;phone office;1;0;1;101;0b6d-11;2025-05-03T08:05:00;1\n"
    "2025-05-04T09:00:00.000+02:00;2025-05-04T09:02:00.000+02:00;2025-05-04;ee:2;no;;;31;;;0;0;0;102;0b6d-12;"
    "2025-05-04T07:03:00;2\n"
).encode("cp1250")

# LimeSurvey, question codes and answer codes, UTF-8 with BOM, ",".
LIME = (
    "\ufeffid,submitdate,lastpage,startlanguage,seed,startdate,datestamp,ipaddr,uses_water,sat_water,why_water,"
    "age,bill,channels[phone],channels[email],channels[office],interviewtime\n"
    "7,2025-06-01 12:10:00,3,sr,123,2025-06-01 12:00:00,2025-06-01 12:10:00,10.0.0.7,yes,dk,,40,,Y,,,600.5\n"
    "8,2025-06-02 08:00:00,3,fa,124,2025-06-02 07:58:00,2025-06-02 08:00:00,10.0.0.8,no,,,77,,,Y,,\n"
).encode("utf-8")


@pytest.fixture
def survey():
    return questionnaire()


def test_a_kobo_export_in_cp1250_with_groups_in_the_headers_is_read(survey):
    result = imports.read(survey, KOBO, "kobo.csv")
    assert result.ok, [str(p) for p in result.report.problems]
    assert (result.tool, result.report.encoding, result.report.delimiter) == ("kobo", "cp1250", ";")
    first, second = result.responses
    assert first.answers == {
        "uses_water": "yes",
        "sat_water": "2",
        "why_water": "Voda je mutna, ružna",
        "age": 54,
        "bill": 12.5,
        "channels": ["phone", "office"],
    }
    assert (str(first.submitted_on), first.duration_seconds, first.source_row) == ("2025-05-03", 250, 2)
    assert second.answers == {"uses_water": "no", "age": 31}
    assert "_uuid" in result.left_out and "deviceid" in result.left_out


def test_a_limesurvey_export_gives_language_duration_and_options(survey):
    result = imports.read(survey, LIME, "lime.csv")
    assert result.ok, [str(p) for p in result.report.problems]
    first, second = result.responses
    assert (first.language, first.duration_seconds, first.answers) == (
        "sr",
        600,
        {"uses_water": "yes", "sat_water": "dk", "age": 40, "channels": ["phone"]},
    )
    assert (second.language, second.duration_seconds, second.answers["channels"]) == ("fa", 120, ["email"])
    assert "ipaddr" in result.left_out


def test_every_problem_is_listed_by_row_and_column(survey):
    bad = b"uses_water;water/sat_water;about/age;about/channels;favourite_colour\nyes;7;40;phone;blue\n"
    result = imports.read(survey, bad, "bad.csv")
    assert [(p.row, p.column) for p in result.report.problems] == [(1, "favourite_colour")]
    result = imports.read(
        survey, bad.replace(b";favourite_colour", b"").replace(b";blue", b"") + b"yes;3;;fax\nmaybe;;200;\n", "bad.csv"
    )
    found = [(p.row, p.column, p.message) for p in result.report.problems]
    assert found[0] == (2, "water/sat_water", "“7” is not one of the answers (1, 2, 3, 4, 5, dk)")
    assert (3, "about/age", "an answer is required") in found
    assert any(row == 3 and column == "about/channels" and "fax" in message for row, column, message in found)
    assert any(row == 4 and column == "uses_water" for row, column, _m in found)
    assert (4, "about/age", "Age must be between 16 and 110.") in found


def test_commit_stores_all_rows_once_and_is_audited(survey):
    officer = officer_of(survey.unit)
    sha = hashlib.sha256(KOBO).hexdigest()
    result = imports.commit(survey, KOBO, "kobo.csv", expected_sha256=sha, actor=officer)
    assert result.committed and Response.objects.filter(source=sha, mode="import").count() == 2
    event = AuditEvent.objects.get(action="survey.responses_imported")
    assert event.after["responses"] == 2 and event.actor == officer
    again = imports.commit(survey, KOBO, "kobo-copy.csv", expected_sha256=sha, actor=officer)
    assert not again.committed and "already been imported" in again.report.problems[0].message
    assert Response.objects.count() == 2


def test_a_file_other_than_the_checked_one_or_with_a_bad_row_stores_nothing(survey):
    officer = officer_of(survey.unit)
    assert not imports.commit(survey, LIME, "lime.csv", expected_sha256="0" * 64, actor=officer).committed
    broken = LIME.replace(b",dk,", b",9,")
    assert not imports.commit(
        survey, broken, "lime.csv", expected_sha256=hashlib.sha256(broken).hexdigest(), actor=officer
    ).committed
    assert not Response.objects.exists() and not AuditEvent.objects.exists()


def test_an_oversized_file_is_refused_before_reading(survey, settings):
    settings.SURVEY_IMPORT_MAX_BYTES = 100
    result = imports.read(survey, KOBO, "kobo.csv")
    assert not result.ok and "larger than" in result.report.problems[0].message


def test_the_import_page_previews_then_commits_the_kept_file(client, survey, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client.force_login(officer_of(survey.unit))
    address = reverse("survey-import", args=[survey.pk])
    with override("en"):
        checked = client.post(address, {"action": "check", "file": SimpleUploadedFile("lime.csv", LIME)})
    assert checked.status_code == 200 and "No problems in 2 responses." in checked.content.decode()
    assert not Response.objects.exists()
    done = client.post(address, {"action": "commit", "token": checked.context["token"]})
    assert done.status_code == 302 and Response.objects.count() == 2
    refused = client.post(address, {"action": "check", "file": SimpleUploadedFile("lime.csv", LIME)})
    assert refused.status_code == 200 and "already been imported" in refused.content.decode()
