"""The result pages (clean, weight, analysis, report) and the PDF report: who sees them,
what they show, and that the PDF is made in the chosen language with its charts."""

import io

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.surveys import cleaning
from municipium.surveys.models import Response, Survey
from tests.factories import unit
from tests.pdf_pages import page_fill, page_texts
from tests.surveys.responses import MARGINS, questionnaire, respond

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    s = questionnaire(unit("RS-40", {"en": "Testograd", "fa": "تستوگراد"}))
    respond(s, 200, seed=2)
    return s


@pytest.fixture
def officer(survey, client):
    user = get_user_model().objects.create_user("officer")
    Role.objects.create(user=user, kind="officer", unit=survey.unit)
    client.force_login(user)
    return user


def test_outsiders_get_not_found_until_the_results_are_published(survey, client):
    stranger = get_user_model().objects.create_user("stranger")
    client.force_login(stranger)
    for page in ("clean", "weight", "analysis", "report", "report.pdf"):
        assert client.get(f"/en/surveys/{survey.pk}/{page}{'' if '.' in page else '/'}").status_code == 404
    assert client.post(f"/en/surveys/{survey.pk}/publish/").status_code == 404
    Survey.objects.filter(pk=survey.pk).update(step=Survey.Step.PUBLISHED)
    assert client.get(f"/en/surveys/{survey.pk}/analysis/").status_code == 200
    assert client.get(f"/en/surveys/{survey.pk}/clean/").status_code == 404


def test_the_cleaning_page_explains_the_rules_and_records_decisions(survey, client, officer):
    first = survey.responses.first()
    Response.objects.create(survey=survey, mode="paper", answers=first.answers, submitted_on=first.submitted_on)
    client.post(f"/en/surveys/{survey.pk}/clean/", {"action": "flag"})
    page = client.get(f"/en/surveys/{survey.pk}/clean/").content.decode()
    assert "less than a third of the median time" in page and "flagged-table" in page
    copy = survey.responses.order_by("id").last()
    refused = client.post(
        f"/en/surveys/{survey.pk}/clean/", {"responses": [copy.pk], "decision": "exclude", "reason": ""}
    )
    assert refused.status_code == 422 and "Give a reason" in refused.content.decode()
    assert not Response.objects.get(pk=copy.pk).excluded
    client.post(f"/en/surveys/{survey.pk}/clean/", {"responses": [copy.pk], "decision": "exclude", "reason": "copy"})
    assert Response.objects.get(pk=copy.pk).excluded
    assert cleaning.summary(survey).kept == 200


def test_the_weighting_page_takes_margins_and_shows_the_report(survey, client, officer):
    data = {"trim_lower": "0.3", "trim_upper": "3"}
    for name, margin in MARGINS.items():
        data[f"use-{name}"] = "1"
        data.update({f"margin-{name}-{c}": str(v) for c, v in margin.items()})
    response = client.post(f"/en/surveys/{survey.pk}/weight/", data, follow=True)
    page = response.content.decode()
    assert "Design effect due to weighting" in page and "Effective sample size" in page and "margins-table" in page
    assert not survey.responses.filter(weight__isnull=True).exists()
    bad = client.post(f"/en/surveys/{survey.pk}/weight/", {**data, "margin-sex-f": "-3"})
    assert bad.status_code == 422 and "sex / f: the total must be a positive number" in bad.content.decode()


def test_a_bad_upload_is_refused_and_names_the_row(survey, client, officer):
    upload = io.BytesIO(b"question,category,total\nsex,f\n")
    upload.name = "margins.csv"
    response = client.post(f"/en/surveys/{survey.pk}/weight/", {"margins_file": upload})
    assert response.status_code == 422 and "Row 2" in response.content.decode()
    assert survey.responses.filter(weight__isnull=False).count() == 0


def test_the_analysis_page_in_persian_shows_shares_with_persian_digits_and_the_chart_specs(survey, client, officer):
    page = client.get(f"/fa/surveys/{survey.pk}/analysis/").content.decode()
    assert 'dir="rtl"' in page and 'id="chart-shares"' in page and 'id="chart-matrix"' in page
    assert "services-table" in page and "٪" in page
    assert "<script>" not in page.replace('<script id="chart-shares" type="application/json">', "")


def test_the_report_pdf_is_made_in_the_chosen_language_with_charts(survey, client, officer):
    from municipium.surveys.results_views import report_html

    html = report_html(survey, "fa")
    assert 'dir="rtl"' in html and html.count("data:image/png;base64,") == 2 and "۰" in html
    response = client.get(f"/en/surveys/{survey.pk}/report.pdf?language=fa")
    assert response.status_code == 200 and response.content.startswith(b"%PDF") and len(response.content) > 20_000
    assert response["Content-Disposition"].endswith('-fa.pdf"')
    assert client.get(f"/en/surveys/{survey.pk}/report/").status_code == 200


def test_the_report_pdf_starts_its_results_on_the_first_page_in_persian_digits_and_separators(survey, officer):
    """Issue 19, items 4 and 5: the results were kept in one block, which left the title alone
    on the first page; in Persian the middle dot read as a zero and the satisfied points were
    listed with a Latin comma."""
    from municipium.lib.pdf import html_document
    from municipium.surveys.results_views import report_html

    document = html_document(report_html(survey, "fa"))
    first = page_texts(document)[0]
    assert "رضایت بر حسب خدمت" in first and "How satisfied are you with green areas?" in first  # the table
    assert all(share > 0.6 for share in page_fill(document)[:-1]), page_fill(document)
    text = " ".join(page_texts(document))
    assert "تستوگراد، ۲۰۲۵" in text and "·" not in text
    assert "۴، ۵" in text
