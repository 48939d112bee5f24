"""XLSForm import and export of questionnaires: the model round-trips, a Kobo-shaped form
reads, and every kind of bad file is refused with its place named and nothing changed."""

import io

import pytest
import xlsxwriter

from municipium.audit.models import AuditEvent
from municipium.surveys import starter, xlsform
from municipium.surveys.models import Response


def workbook(survey_rows, choice_rows=(), settings_rows=(), *, sheets=("survey", "choices", "settings")) -> bytes:
    """An .xlsx with the given rows; each sheet's first row is its header."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, rows in (("survey", survey_rows), ("choices", choice_rows), ("settings", settings_rows)):
        if name in sheets:
            sheet = book.add_worksheet(name)
            for number, row in enumerate(rows):
                sheet.write_row(number, 0, row)
    book.close()
    return buffer.getvalue()


SCALE = (
    [["list_name", "name", "label"]]
    + [["scale", str(n), f"point {n}"] for n in range(1, 6)]
    + [["yn", "yes", "Yes"], ["yn", "no", "No"]]
)
GOOD = [
    ["type", "name", "label", "relevant", "municipium_role"],
    ["select_one yn", "uses", "Do you use it?", "", ""],
    ["select_one scale", "sat", "How satisfied?", "${uses} = 'yes'", "satisfaction"],
]


def refusal(data: bytes, name="form.xlsx"):
    with pytest.raises(xlsform.FormRefused) as refused:
        xlsform.read(data, name)
    return refused.value.report.problems


def test_model_survey_has_every_service_in_every_language(model_survey):
    services = set(model_survey.questions.exclude(service="").values_list("service", flat=True))
    assert services == {
        "water_supply",
        "sewage",
        "waste_collection",
        "public_cleanliness",
        "roads",
        "public_transport",
        "green_areas",
    }
    assert model_survey.languages == ["en", "pl", "sr", "bg", "lt", "fa"]
    for question in model_survey.questions.exclude(kind="end_group"):
        assert set(question.label) == set(model_survey.languages), question.name
    assert model_survey.choices.get(list_name="satisfaction5", name="dk").is_missing
    assert model_survey.questions.get(name="sat_water_supply").relevant == "${use_water_supply} = 'yes'"
    assert model_survey.questions.get(name="household_size").constraint == ". >= 1 and . <= 30"


def test_model_questionnaire_round_trips_through_export_and_import(model_survey):
    before = xlsform.questionnaire_state(model_survey)
    data = xlsform.export(model_survey)
    form = xlsform.read(data, "export.xlsx")
    xlsform.replace(model_survey, form)
    after = xlsform.questionnaire_state(model_survey)
    assert after["questions"] == before["questions"]
    assert after["choices"] == before["choices"]
    assert form.languages == ["en", "pl", "sr", "bg", "lt", "fa"]


def test_unknown_columns_are_kept_and_written_back(model_survey):
    data = workbook(
        [
            ["type", "name", "label", "media::image", "body::accuracyThreshold"],
            ["select_one yn", "uses", "Do you use it?", "tap.png", "5"],
        ],
        [["list_name", "name", "label", "filter"], ["yn", "yes", "Yes", "a"], ["yn", "no", "No", "b"]],
        [["form_title", "style"], ["Test", "pages"]],
    )
    xlsform.replace(model_survey, xlsform.read(data, "x.xlsx"))
    question = model_survey.questions.get(name="uses")
    assert question.extra == {"media::image": "tap.png", "body::accuracyThreshold": "5"}
    again = xlsform.read(xlsform.export(model_survey), "again.xlsx")
    assert again.questions[0]["extra"] == question.extra
    assert again.choices[0]["extra"] == {"filter": "a"}
    assert again.settings["style"] == "pages"


def test_a_kobo_shaped_form_reads_with_language_columns_and_spaced_groups(model_survey):
    data = workbook(
        [
            [
                "type",
                "name",
                "label::English (en)",
                "label::Polish (pl)",
                "hint::English (en)",
                "required",
                "relevant",
                "constraint",
                "constraint_message::English (en)",
                "appearance",
                "$kuid",
            ],
            ["start", "start", "", "", "", "", "", "", "", "", "a1"],
            ["end", "end", "", "", "", "", "", "", "", "", "a2"],
            ["begin group", "water", "Water", "Woda", "", "", "", "", "", "field-list", "a3"],
            ["select_one yesno", "use_water", "Connected?", "Podłączony?", "", "true", "", "", "", "", "a4"],
            [
                "select_one sat",
                "sat_water",
                "Satisfied?",
                "Zadowolony?",
                "Pick one",
                "TRUE",
                "${use_water}='yes'",
                "",
                "",
                "likert",
                "a5",
            ],
            ["end group", "", "", "", "", "", "", "", "", "", "a6"],
            ["integer", "persons", "Persons", "Osoby", "", "", "", ". > 0 and . < 40", "1 to 39", "", "a7"],
            ["select_multiple sat", "which", "Which?", "Które?", "", "", "count-selected(.) <= 2", "", "", "", "a8"],
        ],
        [
            ["list_name", "name", "label::English (en)", "label::Polish (pl)"],
            ["yesno", "yes", "Yes", "Tak"],
            ["yesno", "no", "No", "Nie"],
            *[["sat", n, f"{n}", f"{n}"] for n in (1, 2, 3, 4, 5)],
        ],
        [["form_title", "form_id", "version", "default_language"], ["Water", "water_2025", 2025011501, "English (en)"]],
    )
    form = xlsform.read(data, "kobo.xlsx")
    assert [q["kind"] for q in form.questions] == [
        "begin_group",
        "select_one",
        "select_one",
        "end_group",
        "integer",
        "select_multiple",
    ]
    sat = form.questions[2]
    assert sat["label"] == {"en": "Satisfied?", "pl": "Zadowolony?"}
    assert sat["required"] and sat["appearance"] == "likert" and sat["extra"] == {"$kuid": "a5"}
    assert form.settings["version"] == "2025011501" and form.settings["default_language"] == "en"
    assert form.languages == ["en", "pl"]
    assert len(form.notes) == 2  # start and end: device data Municipium does not record
    xlsform.replace(model_survey, form)
    assert model_survey.questions.count() == 6


BAD = {
    "not xlsx": (b"type,name\ntext,a\n", "the file is not an Excel workbook"),
    # Without selects no choices sheet is needed (issue 11); with them, each select is refused.
    "selects without a choices sheet": (workbook(GOOD, sheets=("survey",)), "is not on the choices sheet"),
    "missing sheet": (workbook(GOOD, SCALE, sheets=("choices",)), "no sheet named 'survey'"),
    "unknown type": (
        workbook([["type", "name"], ["geopoint", "where"]], SCALE),
        "the type 'geopoint' is not supported",
    ),
    "select without list": (
        workbook([["type", "name"], ["select_one colours", "c"]], SCALE),
        "the choice list 'colours'",
    ),
    "duplicate name": (workbook([["type", "name"], ["text", "a"], ["integer", "a"]], SCALE), "already used on row 2"),
    "expression does not parse": (
        workbook([["type", "name", "relevant"], ["text", "a", ""], ["text", "b", "${a} = "]], SCALE),
        "${a} =",
    ),
    "unknown question": (
        workbook([["type", "name", "relevant"], ["text", "a", ""], ["text", "b", "${zz} = 1"]], SCALE),
        "zz",
    ),
    "unbalanced groups": (workbook([["type", "name"], ["begin_group", "g"], ["text", "a"]], SCALE), "never closed"),
    "end without begin": (workbook([["type", "name"], ["text", "a"], ["end_group", ""]], SCALE), "end_group without"),
    "scale missing a point": (
        workbook(
            [["type", "name", "municipium_role"], ["select_one scale", "s", "satisfaction"]],
            [r for r in SCALE if r[1] != "3"],
        ),
        "lacks the choice(s) 3",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_files_are_refused_and_the_questionnaire_stays_as_it_was(model_survey, case):
    data, message = BAD[case]
    before = xlsform.questionnaire_state(model_survey)
    events = AuditEvent.objects.count()
    problems = refusal(data)
    assert any(message in p.message for p in problems), [str(p) for p in problems]
    assert xlsform.questionnaire_state(model_survey) == before
    assert AuditEvent.objects.count() == events


def test_problems_name_sheet_row_and_column():
    data = workbook([["type", "name", "relevant"], ["text", "a", ""], ["text", "b", "${nope} = 1"]], SCALE)
    (problem,) = refusal(data)
    assert (problem.sheet, problem.row, problem.column, problem.cell) == ("survey", 3, "relevant", "C3")
    assert "survey, C3" in str(problem)


def test_every_problem_of_a_file_is_listed_at_once():
    data = workbook(
        [["type", "name", "required"], ["text", "a", "maybe"], ["text", "a", ""], ["select_one nope", "c", ""]], SCALE
    )
    assert len(refusal(data)) == 3


def test_a_survey_with_responses_keeps_its_questionnaire(model_survey):
    import datetime as dt

    Response.objects.create(survey=model_survey, mode="web", answers={}, submitted_on=dt.date(2026, 3, 1))
    before = xlsform.questionnaire_state(model_survey)
    with pytest.raises(xlsform.FormRefused):
        xlsform.replace(model_survey, xlsform.read(workbook(GOOD, SCALE), "g.xlsx"))
    assert xlsform.questionnaire_state(model_survey) == before


def test_a_replace_is_audited(model_survey, survey_officer):
    xlsform.replace(model_survey, xlsform.read(workbook(GOOD, SCALE), "g.xlsx"), actor=survey_officer, note="g.xlsx")
    event = AuditEvent.objects.filter(model="surveys.survey", object_id=str(model_survey.pk)).latest("pk")
    assert event.actor == survey_officer and event.after["questions"] == 2 and event.note == "g.xlsx"


def test_model_with_chosen_services_and_languages():
    form = starter.load(["roads", "water_supply"], ["pl", "fa"])
    assert {q["service"] for q in form.questions} == {"", "roads", "water_supply"}
    assert form.languages == ["pl", "fa"]
    assert all(set(q["label"]) <= {"pl", "fa"} for q in form.questions)


def _required(value: str) -> bytes:
    return workbook([["type", "name", "required"], ["text", "a", value]], SCALE)


@pytest.mark.parametrize("language", ["en", "pl", "sr", "bg", "lt", "fa"])
def test_the_yes_or_no_problem_names_exactly_the_words_the_reader_accepts(language):
    # issue 11: every translation said "tak"/"да"/"taip"/"بله", which the reader refuses.
    import re

    from django.utils.translation import override

    with override(language):
        (problem,) = refusal(_required("maybe"))
    listed = re.findall(r"\b(?:yes|no|true|false|y|n|1|0)\b(?:\(\))?", problem.message.split("maybe", 1)[1])
    assert set(listed) == {"yes", "no", "true", "false", "1", "0", "y", "n", "true()", "false()"}, problem.message
    assert not re.search(r"[„“«'](tak|nie|да|не|taip|ne|بله|خیر)[”“»']", problem.message), problem.message
    for word in listed:
        xlsform.read(_required(word), "form.xlsx")  # accepted, as the message says
