"""The Plan pages: survey list, a new survey from the model, the questionnaire, adapting it,
XLSForm upload and download, and who may see and do what."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent
from municipium.surveys import xlsform
from municipium.surveys.models import Survey
from tests import factories

from .test_xlsform import GOOD, SCALE, workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def officer_client(client, survey_officer):
    client.force_login(survey_officer)
    return client


@pytest.fixture
def outsider_client(client, db):
    client.force_login(get_user_model().objects.create_user("outsider"))
    return client


def test_officer_creates_a_survey_from_the_model_with_chosen_services_and_languages(officer_client, survey_unit):
    response = officer_client.post(
        "/en/surveys/new/",
        {
            "unit": survey_unit.pk,
            "year": 2026,
            "code": "users-2026",
            "services": ["roads", "water_supply"],
            "languages": ["pl", "en"],
        },
    )
    survey = Survey.objects.get(code="users-2026")
    assert response.status_code == 302 and response["Location"] == f"/en/surveys/{survey.pk}/"
    assert survey.languages == ["en", "pl"] and survey.unit == survey_unit
    assert set(survey.questions.exclude(service="").values_list("service", flat=True)) == {"roads", "water_supply"}
    assert AuditEvent.objects.filter(model="surveys.survey", object_id=str(survey.pk), action="create").exists()


def test_new_survey_form_refuses_a_taken_short_name(officer_client, model_survey, survey_unit):
    response = officer_client.post(
        "/en/surveys/new/",
        {"unit": survey_unit.pk, "year": 2027, "code": model_survey.code, "services": ["roads"], "languages": ["en"]},
    )
    assert response.status_code == 200
    assert "already has a survey with this short name" in response.content.decode()
    assert Survey.objects.count() == 1


def test_questionnaire_shows_questions_in_the_readers_language_with_readable_logic(officer_client, model_survey):
    page = officer_client.get(f"/pl/surveys/{model_survey.pk}/").content.decode()
    assert "W jakim stopniu jest Pan/Pani zadowolony(-a) z zaopatrzenia w wodę?" in page
    # ${use_water_supply} = 'yes' read as the question's label and the choice's label.
    assert "„Czy Pana/Pani gospodarstwo domowe jest podłączone do wodociągu?” = “Tak”".replace("„", "“") in page
    assert 'aria-current="step"' in page and f"/pl/surveys/{model_survey.pk}/sample/" in page


def test_outsiders_get_not_found_and_the_public_sees_published_surveys_only(client, outsider_client, model_survey):
    assert outsider_client.get(f"/en/surveys/{model_survey.pk}/").status_code == 404
    assert outsider_client.get(f"/en/surveys/{model_survey.pk}/sample/").status_code == 404
    assert outsider_client.get(f"/en/surveys/{model_survey.pk}/xlsform/").status_code == 404
    assert "satisfaction-2026" not in outsider_client.get("/en/surveys/").content.decode()
    model_survey.step = Survey.Step.PUBLISHED
    model_survey.save()
    assert f"/en/surveys/{model_survey.pk}/" in outsider_client.get("/en/surveys/").content.decode()
    page = outsider_client.get(f"/en/surveys/{model_survey.pk}/").content.decode()
    assert "How satisfied are you with the water supply?" in page and "Upload and replace" not in page


def test_outsider_cannot_upload_or_edit(outsider_client, model_survey):
    before = xlsform.questionnaire_state(model_survey)
    upload = SimpleUploadedFile("g.xlsx", workbook(GOOD, SCALE), content_type=XLSX)
    assert outsider_client.post(f"/en/surveys/{model_survey.pk}/", {"file": upload}).status_code == 404
    assert (
        outsider_client.post(
            f"/en/surveys/{model_survey.pk}/services/", {"action": "remove", "service": "roads"}
        ).status_code
        == 404
    )
    assert xlsform.questionnaire_state(model_survey) == before


def test_download_gives_an_xlsform_that_reads_back(officer_client, model_survey):
    response = officer_client.get(f"/en/surveys/{model_survey.pk}/xlsform/")
    assert response["Content-Type"] == XLSX
    assert "satisfaction-2026-2026.xlsx" in response["Content-Disposition"]
    form = xlsform.read(io.BytesIO(response.content), "download.xlsx")
    assert len(form.questions) == model_survey.questions.count()


def test_upload_replaces_the_questionnaire(officer_client, model_survey):
    upload = SimpleUploadedFile("mine.xlsx", workbook(GOOD, SCALE), content_type=XLSX)
    response = officer_client.post(f"/en/surveys/{model_survey.pk}/", {"file": upload})
    assert response.status_code == 302
    assert list(model_survey.questions.values_list("name", flat=True)) == ["uses", "sat"]


def test_a_bad_upload_lists_its_problems_and_changes_nothing(officer_client, model_survey):
    before = xlsform.questionnaire_state(model_survey)
    bad = workbook([["type", "name", "relevant"], ["text", "a", ""], ["text", "b", "${nope} = 1"]], SCALE)
    response = officer_client.post(f"/en/surveys/{model_survey.pk}/", {"file": SimpleUploadedFile("bad.xlsx", bad)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "bad.xlsx: 1 problem; the questionnaire was not changed." in page and "<td>C3</td>" in page
    assert xlsform.questionnaire_state(model_survey) == before


def test_edit_a_question_labels_required_and_relevant(officer_client, model_survey):
    url = f"/en/surveys/{model_survey.pk}/questions/sat_roads/"
    data = {f"label_{code}": f"Roads? ({code})" for code in model_survey.languages}
    response = officer_client.post(url, {**data, "relevant": "${age_group} != '18_29'"})
    assert response.status_code == 302
    question = model_survey.questions.get(name="sat_roads")
    assert (
        question.label["fa"] == "Roads? (fa)"
        and not question.required
        and question.relevant == "${age_group} != '18_29'"
    )
    assert AuditEvent.objects.filter(model="surveys.question", object_id=str(question.pk)).exists()


def test_edit_refuses_a_relevant_that_names_no_question(officer_client, model_survey):
    before = xlsform.questionnaire_state(model_survey)
    data = {f"label_{code}": "x" for code in model_survey.languages}
    response = officer_client.post(
        f"/en/surveys/{model_survey.pk}/questions/sat_roads/", {**data, "relevant": "${nobody} = 1"}
    )
    assert response.status_code == 200 and "nobody" in response.content.decode()
    assert xlsform.questionnaire_state(model_survey) == before


def test_remove_and_add_a_service(officer_client, model_survey):
    url = f"/en/surveys/{model_survey.pk}/services/"
    officer_client.post(url, {"action": "remove", "service": "public_transport"})
    assert not model_survey.questions.filter(service="public_transport").exists()
    officer_client.post(url, {"action": "add", "service": "public_transport"})
    names = list(model_survey.questions.values_list("name", flat=True))
    assert names.index("sat_public_transport") < names.index("overall")
    assert xlsform.check(xlsform.form_of(model_survey))  # still a valid form


def test_removing_a_service_another_question_depends_on_is_refused(officer_client, model_survey):
    question = model_survey.questions.get(name="remark")
    question.relevant = "${use_sewage} = 'yes'"
    question.save()
    before = xlsform.questionnaire_state(model_survey)
    response = officer_client.post(
        f"/en/surveys/{model_survey.pk}/services/", {"action": "remove", "service": "sewage"}, follow=True
    )
    assert "use_sewage" in response.content.decode()
    assert xlsform.questionnaire_state(model_survey) == before


def test_survey_list_offers_a_new_survey_to_officers_only(officer_client, client, db):
    assert "/en/surveys/new/" in officer_client.get("/en/surveys/").content.decode()
    factories.unit()
    client.logout()
    assert "/en/surveys/new/" not in client.get("/en/surveys/").content.decode()


def test_pages_render_right_to_left_in_persian(officer_client, model_survey):
    page = officer_client.get(f"/fa/surveys/{model_survey.pk}/").content.decode()
    assert 'dir="rtl"' in page and "چقدر از آب‌رسانی راضی هستید؟" in page
    page = officer_client.get(f"/fa/surveys/{model_survey.pk}/sample/").content.decode()
    assert 'dir="rtl"' in page and "sample-size-form" in page


def test_admin_shows_a_survey_with_its_questions_read_only(client, model_survey):
    admin = get_user_model().objects.create_superuser("root", password="x")
    client.force_login(admin)
    page = client.get(f"/admin/surveys/survey/{model_survey.pk}/change/").content.decode()
    assert "sat_water_supply" in page and 'name="questions-0-name"' not in page


def test_logic_reads_as_words_without_rewriting_labels(model_survey):
    from municipium.surveys.views import readable

    questions = {q.name: q for q in model_survey.questions.exclude(name="")}
    labels = {(c.list_name, c.name): c.label["en"] for c in model_survey.choices.all()}
    assert readable("${use_sewage} = 'yes' or not(selected(${sex}, 'female'))", questions, labels) == (
        "“Is your household connected to the public sewer?” = “Yes” or not(includes(“Sex”, “Female”))"
    )
    assert readable("string-length(.) <= 2000", questions, labels) == "length of(the answer) ≤ 2000"


def test_a_new_survey_is_compared_with_the_units_latest_earlier_one_and_the_officer_may_change_it(
    client, survey_unit, survey_officer
):
    from municipium.surveys import starter
    from municipium.surveys.models import Survey

    older = starter.create_survey(survey_unit, 2023, code="s2023", actor=survey_officer)
    last = starter.create_survey(survey_unit, 2024, code="s2024", actor=survey_officer)
    current = starter.create_survey(survey_unit, 2025, code="s2025", actor=survey_officer)
    assert (older.previous, last.previous, current.previous) == (None, older, last)
    client.force_login(survey_officer)
    page = reverse("survey", args=[current.pk])
    client.post(page, {"action": "previous", "previous": str(older.pk)})
    assert Survey.objects.get(pk=current.pk).previous == older
    # A later survey, another unit's, or garbage is refused and changes nothing.
    for bad in (str(current.pk), "x"):
        client.post(page, {"action": "previous", "previous": bad})
        assert Survey.objects.get(pk=current.pk).previous == older
    client.post(page, {"action": "previous", "previous": ""})
    assert Survey.objects.get(pk=current.pk).previous is None


def test_a_coordinator_of_the_units_group_sees_its_survey_in_the_list_and_may_start_one(
    client, model_survey, survey_unit
):
    # issue 10: "may enter or approve for this unit" was written three times; coordinators
    # could open a member's survey but found it neither in the list nor in the new-survey form.
    from municipium.places.models import Group

    group = factories.group("surv-exchange", [survey_unit], kind=Group.Kind.EXCHANGE)
    coordinator = get_user_model().objects.create_user("surv-coordinator", password="x")
    Role.objects.create(user=coordinator, kind=Role.Kind.COORDINATOR, group=group)
    client.force_login(coordinator)
    listing = client.get("/en/surveys/")
    assert f"/en/surveys/{model_survey.pk}/" in listing.content.decode()
    form = client.get("/en/surveys/new/")
    assert form.status_code == 200
    assert survey_unit.pk in [unit.pk for unit in form.context["form"].fields["unit"].queryset]
    assert client.get(f"/en/surveys/{model_survey.pk}/").status_code == 200
