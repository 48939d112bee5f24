"""The model questionnaire Municipium ships: satisfaction with communal services.

`questionnaire.yaml` beside this file is its readable source. It is expanded here into the
rows of an XLSForm workbook and checked by the same `xlsform.parse` an uploaded workbook
goes through, so the model can never hold something an upload would be refused for.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction

from municipium.audit.models import record, snapshot

from .. import xlsform
from ..models import Survey

SOURCE = Path(__file__).with_name("questionnaire.yaml")


@lru_cache(maxsize=1)
def source() -> dict:
    # The C loader when libyaml is there: the pure-Python one takes seconds on this file.
    return yaml.load(SOURCE.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def services() -> list[dict]:
    """The services the model asks about: [{code, name: {language: text}}], in order."""
    return [{"code": s["code"], "name": s["name"]} for s in source()["services"]]


def _texts(row: dict, base: str, texts: dict, languages: list[str]) -> None:
    for code in languages:
        if texts.get(code):
            row[f"{base}::{xlsform.LANGUAGE_NAMES[code]} ({code})"] = texts[code]


def _service_rows(service: dict, hint: dict, languages: list[str]) -> list[dict]:
    code = service["code"]
    rows = [{"type": "begin_group", "name": f"svc_{code}", "municipium_service": code, "label": service["name"]}]
    relevant = ""
    if "use" in service:
        rows.append(
            {
                "type": "select_one yes_no",
                "name": f"use_{code}",
                "required": "yes",
                "municipium_service": code,
                "label": service["use"],
            }
        )
        relevant = f"${{use_{code}}} = 'yes'"
    for role, prefix, scale in (("satisfaction", "sat", "satisfaction5"), ("importance", "imp", "importance5")):
        rows.append(
            {
                "type": f"select_one {scale}",
                "name": f"{prefix}_{code}",
                "required": "yes",
                "relevant": relevant,
                "municipium_role": role,
                "municipium_service": code,
                "label": service[role],
                "hint": hint,
            }
        )
    rows.append({"type": "end_group", "municipium_service": code})
    return rows


def sheets(service_codes: list[str] | None = None, languages: list[str] | None = None) -> dict[str, xlsform.Sheet]:
    """The model as XLSForm sheets, with only the chosen services and languages."""
    data = source()
    languages = [code for code in settings.LANGUAGE_CODES if languages is None or code in languages]
    chosen = [s for s in data["services"] if service_codes is None or s["code"] in service_codes]
    survey_rows = []
    for row in data["survey"]:
        survey_rows += (
            _service_rows_for_all(chosen, data["service_hint"], languages) if row["type"] == "services" else [row]
        )
    flat = []
    for row in survey_rows:
        out = {}
        for key, value in row.items():
            if key in xlsform.TRANSLATED:
                _texts(out, key, value, languages)
            else:
                out[key] = "yes" if value is True else str(value)
        flat.append(out)
    choice_rows = []
    for list_name, entries in data["choices"].items():
        for entry in entries:
            out = {
                "list_name": list_name,
                "name": entry["name"],
                "municipium_missing": "yes" if entry.get("missing") else "",
            }
            _texts(out, "label", entry["label"], languages)
            choice_rows.append(out)
    form_settings = {key: value for key, value in data["settings"].items() if key != "form_title"}

    def sheet(name, rows):
        header = list(dict.fromkeys(key for row in rows for key in row))
        return xlsform.Sheet(name, header, [(number, row) for number, row in enumerate(rows, start=2)])

    return {
        "survey": sheet("survey", flat),
        "choices": sheet("choices", choice_rows),
        "settings": sheet("settings", [form_settings]),
    }


def _service_rows_for_all(chosen: list[dict], hint: dict, languages: list[str]) -> list[dict]:
    return [row for service in chosen for row in _service_rows(service, hint, languages)]


def load(service_codes: list[str] | None = None, languages: list[str] | None = None) -> xlsform.Form:
    return xlsform.parse(sheets(service_codes, languages), SOURCE.name)


def create_survey(
    unit,
    year: int,
    *,
    code: str,
    service_codes: list[str] | None = None,
    languages: list[str] | None = None,
    actor=None,
) -> Survey:
    """A new survey of `unit` for `year` with the model questionnaire, audited."""
    languages = [c for c in settings.LANGUAGE_CODES if languages is None or c in languages]
    title = {c: t for c, t in source()["settings"]["form_title"].items() if c in languages}
    form = load(service_codes, languages)
    # Compared by default with the unit's latest earlier survey, as a yearly survey is.
    previous = Survey.objects.filter(unit=unit, year__lt=year).order_by("-year", "-id").first()
    with transaction.atomic():
        survey = Survey.objects.create(
            unit=unit,
            year=year,
            code=code,
            title=title,
            languages=languages,
            previous=previous,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        record("create", survey, actor=actor, after=snapshot(survey), via="form")
        xlsform.replace(survey, form, actor=actor, via="form", note="model questionnaire")
    return survey
