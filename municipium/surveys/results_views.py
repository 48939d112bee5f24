"""Pages after field work: Clean, Weight, Analyse, the report (page and PDF) and Publish.

Who may do what (`surveys.access`): those who run the survey clean and weight it; results
(analysis, report) are for those `can_see_results` allows — everyone once published;
publishing is an approver's act (`publish.may_publish`). Anyone else gets 404.
"""

import base64

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import get_language_bidi, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from municipium.accounts.access import require
from municipium.lib import numbers
from municipium.lib.texts import pick

from . import analysis, charts, cleaning, publish, weighting
from .access import can_run, can_see_results
from .models import Survey


def _survey(request, pk: int, *, results: bool = False) -> Survey:
    survey = get_object_or_404(Survey.objects.select_related("unit", "previous"), pk=pk)
    require(can_see_results(request.user, survey) if results else can_run(request.user, survey.unit))
    return survey


def _page(request, template: str, survey: Survey, step: str, context: dict, status: int = 200):
    context.update({"survey": survey, "current_step": step, "runs": can_run(request.user, survey.unit)})
    return render(request, template, context, status=status)


# -- Clean ---------------------------------------------------------------------------------


@login_required
def clean(request, pk: int):
    survey = _survey(request, pk)
    problems = []
    if request.method == "POST":
        if request.POST.get("action") == "flag":
            counts = cleaning.compute_flags(survey, actor=request.user)
            flagged = sum(counts.values())
            messages.success(
                request,
                ngettext(
                    "Flags computed: %(count)s response flagged.",
                    "Flags computed: %(count)s responses flagged.",
                    flagged,
                )
                % {"count": numbers.format_number(flagged, 0)},
            )
            return redirect("survey-clean", survey.pk)
        try:
            ids = [int(i) for i in request.POST.getlist("responses")]
            done = cleaning.decide(
                survey,
                ids,
                exclude=request.POST.get("decision") == "exclude",
                reason=request.POST.get("reason", ""),
                actor=request.user,
            )
        except ValueError:
            problems.append(_("The chosen responses are not valid response numbers."))
        except cleaning.CleaningError as error:
            problems.append(str(error))
        else:
            messages.success(
                request,
                ngettext(
                    "Decision recorded for %(count)s response.", "Decision recorded for %(count)s responses.", done
                )
                % {"count": numbers.format_number(done, 0)},
            )
            return redirect("survey-clean", survey.pk)
    durations = list(survey.responses.exclude(duration_seconds__isnull=True).values_list("duration_seconds", flat=True))
    threshold = cleaning.speed_threshold(durations)
    flagged = survey.responses.exclude(flags=[]).order_by("id") | survey.responses.filter(excluded=True)
    rows = [
        {"response": r, "flags": [cleaning.FLAG_LABELS.get(f, f) for f in r.flags]}
        for r in flagged.distinct().order_by("id")
    ]
    context = {
        "summary": cleaning.summary(survey),
        "rows": rows,
        "threshold": threshold,
        "median": threshold / cleaning.SPEED_FRACTION if threshold is not None else None,
        "min_timed": cleaning.SPEED_MIN_TIMED,
        "grid_min": cleaning.GRID_MIN_ITEMS,
        "problems": problems,
        "chosen": request.POST.getlist("responses"),
        "reason": request.POST.get("reason", ""),
    }
    return _page(request, "surveys/results/clean.html", survey, Survey.Step.CLEAN, context, 422 if problems else 200)


# -- Weight --------------------------------------------------------------------------------


def _margins_from_form(post, questions) -> dict:
    margins = {}
    for name, (_question, choices) in questions.items():
        if post.get(f"use-{name}"):
            margins[name] = {choice: post.get(f"margin-{name}-{choice}", "").strip() for choice in choices}
    return margins


@login_required
def weight(request, pk: int):
    survey = _survey(request, pk)
    questions = weighting.margin_questions(survey)
    stored_settings = survey.weighting or {}
    strata = weighting.response_strata(survey)
    problems = []
    entered = None
    typed_sizes: dict = {}
    if request.method == "POST":
        upload = request.FILES.get("margins_file")
        try:
            if upload is not None:
                margins = weighting.parse_margins_csv(upload.read(weighting.MAX_UPLOAD_BYTES + 1))
            else:
                entered = margins = _margins_from_form(request.POST, questions)
            typed_sizes = {
                stratum: request.POST.get(f"stratum-size-{position}", "") for position, stratum in enumerate(strata)
            }
            weighting.save_settings(
                survey,
                margins,
                {"lower": request.POST.get("trim_lower", ""), "upper": request.POST.get("trim_upper", "")},
                stratum_sizes=typed_sizes if strata else None,
                actor=request.user,
            )
            weighting.compute(survey, actor=request.user)
        except weighting.WeightingError as error:
            problems = error.problems
        else:
            messages.success(request, _("The responses are weighted. The report below shows what weighting did."))
            return redirect("survey-weight", survey.pk)
    stored = stored_settings.get("margins") or {}
    trim = stored_settings.get("trim") or weighting.DEFAULT_TRIM
    form_rows = []
    for name, (question, choices) in questions.items():
        given = (entered or {}).get(name, stored.get(name, {}))
        form_rows.append(
            {
                "name": name,
                "label": pick(question.label).text or name,
                "use": name in (entered if entered is not None else stored),
                "choices": [(choice, label, given.get(choice, "")) for choice, label in choices.items()],
            }
        )
    report = stored_settings.get("report") if weighting.is_weighted(survey) else None
    if report:
        labels = {row["name"]: row for row in form_rows}
        for row in report["margins"]:
            question = labels.get(row["question"])
            row["question_label"] = question["label"] if question else row["question"]
            row["category_label"] = (
                next((label for c, label, _v in question["choices"] if c == row["category"]), row["category"])
                if question
                else row["category"]
            )
    stored_sizes = stored_settings.get("stratum_sizes") or {}
    context = {
        "strata_rows": [
            {
                "position": position,
                "stratum": stratum,
                "responses": numbers.format_number(count, 0),
                "value": typed_sizes.get(stratum, "") if problems else stored_sizes.get(stratum, ""),
            }
            for position, (stratum, count) in enumerate(strata.items())
        ],
        "form_rows": form_rows,
        "trim": trim,
        "report": report,
        "problems": problems,
        "kept": cleaning.included(survey).count(),
        "trim_lower": request.POST.get("trim_lower", trim.get("lower") or "")
        if problems
        else (trim.get("lower") or ""),
        "trim_upper": request.POST.get("trim_upper", trim.get("upper") or "")
        if problems
        else (trim.get("upper") or ""),
    }
    return _page(request, "surveys/results/weight.html", survey, Survey.Step.WEIGHT, context, 422 if problems else 200)


# -- Analyse, report -----------------------------------------------------------------------


def _share_interval(interval, decimals: int = 1) -> str:
    """A share's Korn–Graubard interval in percent ("61.2 – 78.9")."""
    return f"{numbers.format_number(100 * interval.low, decimals)} – {numbers.format_number(100 * interval.high, decimals)}"


def _cell_size(n: int, interval) -> dict:
    """n and effective n of a small cell, and whether it is below the minimum shown."""
    return {
        "small": n < analysis.SMALL_CELL,
        "too_few": n < analysis.MINIMUM_ANSWERS,
        "n_text": numbers.format_number(n, 0),
        "effective_n_text": numbers.format_number(interval.effective_n, 1) if interval else "",
    }


def _interval(estimate, scale: float = 100, decimals: int = 1) -> str:
    low, high = max(0.0, estimate.ci_low * scale), estimate.ci_high * scale
    if scale == 100:
        high = min(100.0, high)
    return f"{numbers.format_number(low, decimals)} – {numbers.format_number(high, decimals)}"


def scale_text(scale) -> str:
    """A scale's range in the reader's digits ("1–7", "۰–۱۰")."""
    return f"{numbers.format_number(scale.low, 0)}–{numbers.format_number(scale.high, 0)}"


def _points(scale) -> str:
    return numbers.comma().join(numbers.format_number(v, 0) for v in scale.satisfied)


def scale_notes(found) -> dict:
    """Headers and explanations that name the scale: the questionnaire's declared one when
    every rated question shares it, else each row shows its own."""
    common = analysis.common_scale(found)
    if common is not None:
        return {
            "common_scale": True,
            "mean_header": _("Mean (%(scale)s)") % {"scale": scale_text(common)},
            "satisfied_note": _(
                "“Satisfied” means an answer of %(points)s on the scale %(scale)s; “don't know” is left out."
            )
            % {"points": _points(common), "scale": scale_text(common)},
            "gap_note": _("both as average answers on the scale %(scale)s") % {"scale": scale_text(common)},
            "axis": _("mean, %(scale)s") % {"scale": scale_text(common)},
        }
    return {
        "common_scale": False,
        "mean_header": _("Mean (on the question's scale)"),
        "satisfied_note": _(
            "“Satisfied” means an answer the questionnaire counts as satisfied, shown under each service; "
            "“don't know” is left out."
        ),
        "gap_note": _("both as indices from 0 to 100, since the questions use different scales"),
        "axis": _("index, 0–100"),
    }


def results(survey: Survey) -> dict:
    """Everything the analysis page, the report page and the PDF show, in the active
    language: one place so that the three say the same numbers."""
    found = analysis.analyse(survey)
    rtl = get_language_bidi()
    services = []
    for s in [*found.services, *([found.overall] if found.overall else [])]:
        r = s.result
        services.append(
            {
                "service": s.service,
                "label": analysis.service_label(s.service, survey) if s.service != "overall" else _("Overall"),
                "question": s.label,
                "result": r,
                "overall": s is found.overall,
                "share": 100 * r.share_satisfied.value if r else None,
                "share_interval": _share_interval(r.share_interval) if r else "",
                "size": _cell_size(r.answered, r.share_interval) if r else None,
                "mean_interval": _interval(r.mean, 1, 2) if r else "",
                "index_interval": _interval(r.index, 1) if r else "",
                "importance": s.importance,
                "scale": scale_text(s.scale) if s.scale else "",
                "satisfied_points": _points(s.scale) if s.scale else "",
            }
        )
    notes = scale_notes(found)
    with_answers = [s for s in services if s["result"]]
    share_spec = charts.shares(
        [
            {
                "label": s["label"],
                "share": round(s["share"], 3),
                "ci_low": round(100 * s["result"].share_interval.low, 3),
                "ci_high": round(100 * s["result"].share_interval.high, 3),
                "share_text": numbers.format_share(s["share"], 1),
                "interval_text": s["share_interval"],
                "n_text": numbers.format_number(s["result"].answered, 0),
            }
            for s in with_answers
        ],
        title=_("Share satisfied by service"),
        rtl=rtl,
    )
    matrix_spec = None
    gaps = []
    if found.gaps:
        labels = charts.quadrant_labels()
        for g in sorted(found.gaps.services, key=lambda g: g.priority):
            gaps.append(
                {
                    "label": analysis.service_label(g.service, survey),
                    "importance": g.importance,
                    "satisfaction": g.satisfaction,
                    "gap": g.gap,
                    "priority": g.priority,
                    "quadrant": g.quadrant,
                    "quadrant_label": str(labels[g.quadrant]),
                }
            )
        matrix_spec = charts.matrix(
            [
                {
                    **{k: g[k] for k in ("label", "quadrant", "quadrant_label")},
                    "importance": round(g["importance"], 4),
                    "satisfaction": round(g["satisfaction"], 4),
                    "importance_text": numbers.format_number(g["importance"], 2),
                    "satisfaction_text": numbers.format_number(g["satisfaction"], 2),
                    "gap_text": numbers.format_number(g["gap"], 2),
                }
                for g in gaps
            ],
            mean_importance=found.gaps.mean_importance,
            mean_satisfaction=found.gaps.mean_satisfaction,
            axis=notes["axis"],
            title=_("Importance and satisfaction"),
            rtl=rtl,
        )
    labels = {s.service: analysis.service_label(s.service, survey) for s in found.services}
    breakdowns = [
        {
            "name": part.question.name,
            "label": part.label,
            "rows": [
                {
                    "label": label,
                    "n": n,
                    "cells": [
                        {
                            "share": numbers.format_share(100 * cells[s.service].value, 1),
                            "interval": _share_interval(part.intervals[(category, s.service)], 0),
                            **_cell_size(
                                part.intervals[(category, s.service)].n, part.intervals[(category, s.service)]
                            ),
                        }
                        if cells.get(s.service)
                        else None
                        for s in found.services
                    ],
                }
                for category, label, cells, n in part.rows
            ],
        }
        for part in found.breakdowns
    ]
    compared = [
        {
            "kind": c.kind,
            "other": c.other,
            "warnings": c.warnings,
            "rows": [
                {
                    "label": labels.get(row.service, row.service),
                    "own": 100 * row.own.value,
                    "other": 100 * row.other.value,
                    "difference": 100 * row.test.difference,
                    "p": row.p_adjusted,
                    "significant": row.significant,
                    "wording_differs": row.wording_differs,
                }
                for row in c.rows
            ],
        }
        for c in analysis.comparisons(survey, found)
    ]
    return {
        "analysis": found,
        "services": services,
        "share_spec": share_spec,
        "matrix_spec": matrix_spec,
        "gaps": gaps,
        "comparisons": compared,
        "breakdowns": breakdowns,
        "breakdown_head": [labels[s.service] for s in found.services],
        "significance": analysis.SIGNIFICANCE,
        "interval_note": _(
            "The ranges of the shares are Korn–Graubard intervals: they take the weights, strata and clusters "
            "into account and stay within the possible shares even when everyone or nobody is satisfied."
        ),
        "small_note": ngettext(
            "Beside a share from fewer than %(n)s answer: n, the number of answers, and the effective n, "
            "how many simple random interviews would be as precise.",
            "Beside a share from fewer than %(n)s answers: n, the number of answers, and the effective n, "
            "how many simple random interviews would be as precise.",
            analysis.SMALL_CELL,
        )
        % {"n": numbers.format_number(analysis.SMALL_CELL, 0)},
        "minimum_note": ngettext(
            "Shares from fewer than %(n)s answer are greyed out: too few to rely on.",
            "Shares from fewer than %(n)s answers are greyed out: too few to rely on.",
            analysis.MINIMUM_ANSWERS,
        )
        % {"n": numbers.format_number(analysis.MINIMUM_ANSWERS, 0)},
        **notes,
    }


@require_GET
def analyse(request, pk: int):
    survey = _survey(request, pk, results=True)
    try:
        context = results(survey)
    except analysis.AnalysisError as error:
        context = {"problem": str(error)}
    context["may_publish"] = publish.may_publish(request.user, survey)
    return _page(request, "surveys/results/analysis.html", survey, Survey.Step.ANALYSE, context)


def _language(request) -> str:
    asked = request.GET.get("language") or translation.get_language()
    return asked if asked in settings.LANGUAGE_CODES else settings.LANGUAGE_CODE


@require_GET
def report(request, pk: int):
    survey = _survey(request, pk, results=True)
    try:
        context = results(survey)
    except analysis.AnalysisError as error:
        context = {"problem": str(error)}
    context["languages"] = settings.LANGUAGES
    return _page(request, "surveys/results/report.html", survey, "report", context)


def report_html(survey: Survey, language: str) -> str:
    """The print HTML in `language`, charts embedded as PNG (WeasyPrint clips SVG text)."""
    from municipium.benchmarks.charts import render_png
    from municipium.lib.pdf import STYLESHEET

    with translation.override(language):
        context = results(survey)
        for key in ("share_spec", "matrix_spec"):
            if context.get(key):
                png = render_png(context[key], language)
                context[key.replace("spec", "image")] = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        return render_to_string(
            "surveys/results/print.html",
            {
                **context,
                "survey": survey,
                "stylesheet": STYLESHEET,
                "rtl": translation.get_language_bidi(),
                "language": language,
            },
        )


def report_pdf_bytes(survey: Survey, language: str) -> bytes:
    from municipium.lib.pdf import html_document

    return html_document(report_html(survey, language)).write_pdf()


@require_GET
def report_pdf(request, pk: int):
    survey = _survey(request, pk, results=True)
    language = _language(request)
    try:
        content = report_pdf_bytes(survey, language)
    except analysis.AnalysisError as error:
        messages.error(request, str(error))
        return redirect("survey-report", survey.pk)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{survey.unit.code}-{survey.code}-{survey.year}-{language}.pdf"'
    )
    return response


# -- Publish -------------------------------------------------------------------------------


@login_required
@require_POST
def publish_results(request, pk: int):
    survey = _survey(request, pk, results=True)
    require(publish.may_publish(request.user, survey))
    try:
        outcome = publish.publish(survey, actor=request.user)
    except publish.PublishError as error:
        messages.error(request, str(error))
    else:
        if outcome["status"] == "published":
            messages.success(
                request,
                ngettext(
                    "The results are published: %(rows)s figure in the catalogue's indicators.",
                    "The results are published: %(rows)s figures in the catalogue's indicators.",
                    outcome["rows"],
                )
                % {"rows": numbers.format_number(outcome["rows"], 0)},
            )
        else:
            messages.success(
                request,
                _(
                    "The results are written as approved figures (%(rows)s); they become public "
                    "when the group's coordinator publishes the year's figures."
                )
                % {"rows": numbers.format_number(outcome["rows"], 0)},
            )
    return redirect("survey-analyse", survey.pk)
