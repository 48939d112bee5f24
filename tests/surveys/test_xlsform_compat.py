"""XLSForm as ODK, KoboToolbox and pyxform users write it (issue 11): .xls files, `label:English`
headers, settings aliases, forms without selects, duplicate choices under a choice_filter,
comment rows, and the types date, calculate, select_one … or_other and begin repeat; and
pyxform's own example and test forms (tests/data/xlsform/pyxform, BSD licence, see its
README) each import or are refused with located problems, never crash, and every imported
one exports to a workbook pyxform converts."""

import io
from pathlib import Path

import pytest
from pyxform import xls2xform

from municipium.surveys import xlsform
from municipium.surveys.models import Survey
from tests.factories import unit
from tests.surveys.test_xlsform import workbook
from tests.world import rolled_back

pytestmark = pytest.mark.django_db
CORPUS = Path(__file__).resolve().parents[1] / "data" / "xlsform" / "pyxform"
FILES = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".xls", ".xlsx", ".xlsm"))


@pytest.fixture(scope="module")
def survey(django_db_setup, django_db_blocker):
    with rolled_back(django_db_blocker):
        place = unit("XX-XLSF")
        yield Survey.objects.create(unit=place, year=2026, code="compat")


def converts(data: bytes) -> str:
    """The XForm pyxform makes of an exported workbook (raises if it cannot)."""
    return xls2xform.convert(io.BytesIO(data), file_type=".xlsx").xform


def sheet_rows(data: bytes, name: str) -> list[list]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(name).to_python()


def test_an_xls_with_single_colon_labels_and_comment_rows_imports(survey):
    # pyxform's allow_comment_rows_test.xls: Excel 97–2003, `label:English`, a comment row.
    form = xlsform.read((CORPUS / "example_xls" / "allow_comment_rows_test.xls").read_bytes(), "comments.xls")
    (question,) = form.questions
    assert question["name"] == "farmer_name" and question["label"] == {"en": "First and last name of farmer"}
    tutorial = xlsform.read((CORPUS / "example_xls" / "tutorial.xls").read_bytes(), "tutorial.xls")
    assert len(tutorial.questions) == 12


def test_settings_aliases_are_exported_once_and_pyxform_converts(survey):
    data = workbook(
        [["type", "name", "label"], ["text", "name", "Your name"]],
        settings_rows=[["title", "id_string", "version"], ["Street lights", "lights", "3"]],
        sheets=("survey", "settings"),
    )
    xlsform.replace(survey, xlsform.read(data, "aliases.xlsx"))  # no choices sheet needed
    exported = xlsform.export(survey)
    header = sheet_rows(exported, "settings")[0]
    assert header.count("form_title") == 1 and "title" not in header and "id_string" not in header
    assert header.count("form_id") == 1
    assert "Street lights" in converts(exported)


NEW_TYPES = [
    ["type", "name", "label", "calculation", "choice_filter", "repeat_count"],
    ["date", "visited", "When did you last visit the office?", "", "", ""],
    ["select_one channel or_other", "channel", "How did you contact us?", "", "", ""],
    ["select_one state", "state", "State", "", "", ""],
    ["select_one county", "county", "County", "", "${state}=cf", ""],
    ["integer", "members", "How many people live in the household?", "", "", ""],
    ["begin repeat", "member", "Household member", "", "", "${members}"],
    ["integer", "age", "Age", "", "", ""],
    ["end repeat", "", "", "", "", ""],
    ["calculate", "household_total", "", "${members} * 2", "", ""],
]
NEW_CHOICES = [
    ["list_name", "name", "label", "cf"],
    ["channel", "phone", "Telephone", ""],
    ["channel", "web", "Web", ""],
    ["state", "texas", "Texas", ""],
    ["state", "washington", "Washington", ""],
    ["county", "king", "King", "washington"],
    ["county", "king", "King", "texas"],
]


def test_date_calculate_or_other_repeat_and_filtered_duplicates_are_stored_and_exported(survey, client):
    xlsform.replace(survey, xlsform.read(workbook(NEW_TYPES, NEW_CHOICES), "household.xlsx"))
    kinds = {q.name: q.kind for q in survey.questions.all() if q.name}
    assert (kinds["visited"], kinds["household_total"], kinds["member"]) == ("date", "calculate", "begin_repeat")
    assert survey.questions.get(name="channel").or_other
    assert survey.choices.filter(list_name="county", name="king").count() == 2
    exported = xlsform.export(survey)
    types = [row[0] for row in sheet_rows(exported, "survey")[1:]]
    assert "select_one channel or_other" in types and "begin_repeat" in types and "end_repeat" in types
    assert "<repeat" in converts(exported)
    before = xlsform.questionnaire_state(survey)
    xlsform.replace(survey, xlsform.read(exported, "again.xlsx"))
    assert xlsform.questionnaire_state(survey)["questions"] == before["questions"]
    # The questionnaire page says what is kept but neither asked nor analysed.
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("xlsf-admin", password="x"))
    page = client.get(f"/en/surveys/{survey.pk}/").content.decode()
    assert page.count("not-analysed") == 4 and page.count("or-other") == 1  # date, repeat, age, calculate


def test_duplicate_choices_without_a_choice_filter_are_still_refused():
    rows = [["type", "name", "label"], ["select_one county", "county", "County"]]
    with pytest.raises(xlsform.FormRefused) as refused:
        xlsform.read(workbook(rows, NEW_CHOICES), "dup.xlsx")
    (problem,) = refused.value.report.problems
    assert (problem.sheet, problem.cell) == ("choices", "B7") and "twice" in problem.message


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_every_pyxform_example_imports_or_is_refused_with_located_problems(path, survey):
    try:
        form = xlsform.read(path.read_bytes(), path.name)
    except xlsform.FormRefused as refused:
        problems = refused.report.problems
        assert problems and all(p.file == path.name and p.message for p in problems)
        for p in problems:
            if p.column == "type" and "not supported" in p.message:  # names the type and its cell
                assert p.sheet == "survey" and p.cell and p.message.split("'")[1] in str(p)
        return
    exported = xlsform.export(_stored(survey, form))
    assert "<h:html" in converts(exported)
    xlsform.read(exported, "export.xlsx")  # and it reads back


def _stored(survey, form):
    xlsform.replace(survey, form)
    return survey


def test_the_web_form_skips_what_it_does_not_ask(survey):
    from municipium.surveys import answers

    rows = [row[:] for row in NEW_TYPES]
    rows[0].append("required")
    for row in rows[1:]:
        row.append("yes" if row[0] in ("date", "integer") else "")
    xlsform.replace(survey, xlsform.read(workbook(rows, NEW_CHOICES), "required.xlsx"))
    questionnaire = answers.Questionnaire.of(survey)
    checked = answers.check(questionnaire, {"members": "3", "channel": "web", "state": "texas", "county": "king"})
    # The required date and the repeat's required age are not asked here, so not missing.
    assert not checked.errors and checked.answers["members"] == 3
    assert "age" not in checked.relevant and "visited" in checked.relevant


@pytest.mark.slow
def test_every_markdown_form_of_pyxform_s_tests_imports_or_is_refused_and_exports_when_pyxform_accepts_it():
    """803 forms, about 7 s: one test rather than 803 so the run stays short."""
    import json
    from unittest import mock

    from pyxform import xls2json_backends

    class Unsaved:  # export reads only these from the survey
        code, version, title, languages = "corpus", 1, {}, []

    forms = json.loads((CORPUS / "markdown_forms.json").read_text())["forms"]
    outcome = {"imported": 0, "refused": 0}
    wrong = []
    for entry in forms:
        buffer = io.BytesIO()
        xls2json_backends.md_table_to_workbook(entry["md"]).save(buffer)
        where = f"{entry['file']}:{entry['line']}"
        try:
            form = xlsform.read(buffer.getvalue(), "form.xlsx")
        except xlsform.FormRefused as refused:
            outcome["refused"] += 1
            if not all(p.message and p.file == "form.xlsx" for p in refused.report.problems):
                wrong.append(f"{where}: unlocated refusal")
            continue
        outcome["imported"] += 1
        with mock.patch.object(xlsform, "form_of", lambda _survey, form=form: form):
            exported = xlsform.export(Unsaved())
        try:
            converts(exported)
        except Exception as error:  # noqa: BLE001 (pyxform raises several types)
            try:
                converts(buffer.getvalue())
            except Exception:  # noqa: BLE001
                continue  # pyxform refuses the original too: nothing of ours lost
            wrong.append(f"{where}: the export does not convert: {error}")
            continue
        xlsform.read(exported, "export.xlsx")
    assert not wrong, "\n".join(wrong)
    assert outcome["imported"] > 300 and outcome["refused"] > 300  # 338 and 465 with pyxform 4.5
