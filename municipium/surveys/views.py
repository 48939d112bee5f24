"""Survey pages of the first two steps: Plan (the questionnaire) and Sample.

Every page asks `surveys.access` first and answers 404 to outsiders. Every change goes
through `xlsform.replace` (questionnaire), `starter.create_survey` or `sampling` — all or
nothing and audited — so a page never leaves a half-changed survey behind.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from municipium.accounts import access as accounts_access
from municipium.audit.models import record, snapshot
from municipium.lib.numbers import format_number
from municipium.lib.survey import sample
from municipium.lib.texts import pick

from . import access, sampling, starter, xlsform
from .forms import DrawForm, FrameForm, QuestionForm, SampleSizeForm, SurveyCreateForm, UploadForm
from .models import Question, Survey

# ----------------------------------------------------------------------------------------
# Helpers


def _runnable(request, pk) -> Survey:
    survey = get_object_or_404(Survey.objects.select_related("unit"), pk=pk)
    accounts_access.require(access.can_run(request.user, survey.unit))
    return survey


def _visible(request, pk) -> Survey:
    survey = get_object_or_404(Survey.objects.select_related("unit"), pk=pk)
    accounts_access.require(access.can_see_results(request.user, survey))
    return survey


_OPERATORS = {"!=": "≠", "<=": "≤", ">=": "≥"}
_TOKEN = re.compile(
    r"""\$\{(?P<ref>[^}]+)\}|(?P<q>['"])(?P<string>.*?)(?P=q)|(?P<func>[a-z][a-z\-]*)(?=\s*\()"""
    r"""|\b(?P<word>and|or|div|mod)\b|(?P<op>!=|<=|>=)|(?P<dot>(?<![\w.])\.(?![\w.]))"""
)


def readable(expression: str, questions: dict[str, Question], choice_labels: dict[tuple[str, str], str]) -> str:
    """An XLSForm expression with question names replaced by their labels, choice names by
    theirs and operators by words, so an official reads `${use_water} = 'yes'` as
    “Connected?” = “Yes”. One pass over the expression: a label is never rewritten again."""
    if not expression:
        return ""
    lists = [questions[name].list_name for name in re.findall(r"\$\{([^}]+)\}", expression) if name in questions]
    words = {"and": _("and"), "or": _("or"), "div": "÷", "mod": _("remainder")}
    functions = {
        "selected": _("includes"),
        "count-selected": _("number chosen in"),
        "string-length": _("length of"),
        "not": _("not"),
        "if": _("if"),
        "coalesce": _("first given of"),
        "number": "",
        "int": _("whole part of"),
    }

    def replace(match):
        if match.group("ref"):
            found = questions.get(match.group("ref"))
            return f"“{pick(found.label).text or found.name}”" if found else match.group(0)
        if match.group("q"):
            value = match.group("string")
            label = next((choice_labels[(name, value)] for name in lists if (name, value) in choice_labels), value)
            return f"“{label}”"
        if match.group("func"):
            return functions.get(match.group("func"), match.group("func"))
        if match.group("word"):
            return words[match.group("word")]
        if match.group("op"):
            return _OPERATORS[match.group("op")]
        return _("the answer")

    return _TOKEN.sub(replace, expression)


def _scale_note(question: Question) -> str:
    """A rated question's declared scale, as the analysis reads it ("Scale 1–7; satisfied: 6, 7")."""
    if question.role not in xlsform.SCALE_ROLES or not question.list_name:
        return ""
    scale = question.scale or xlsform.DEFAULT_SCALE
    return _("Scale %(low)s–%(high)s; counted as satisfied: %(points)s") % {
        "low": format_number(scale["low"], 0),
        "high": format_number(scale["high"], 0),
        "points": ", ".join(format_number(v, 0) for v in scale["satisfied"]),
    }


def _questionnaire_rows(survey: Survey) -> list[dict]:
    questions = list(survey.questions.all())
    by_name = {q.name: q for q in questions if q.name}
    choices = list(survey.choices.all())
    labels = {(c.list_name, c.name): pick(c.label).text for c in choices}
    lists: dict[str, list] = {}
    for c in choices:
        lists.setdefault(c.list_name, []).append(c)
    rows, depth, repeats = [], 0, 0
    for q in questions:
        if q.kind in (Question.Kind.END_GROUP, Question.Kind.END_REPEAT):
            depth = max(depth - 1, 0)
            repeats = max(repeats - (q.kind == Question.Kind.END_REPEAT), 0)
            continue
        rows.append(
            {
                "question": q,
                "depth": depth,
                # Stored and exported, but neither asked on the web form nor analysed.
                "scale": _scale_note(q),
                "not_analysed": bool(repeats)
                or q.kind in (Question.Kind.DATE, Question.Kind.CALCULATE, Question.Kind.BEGIN_REPEAT),
                "choices": lists.get(q.list_name, []),
                "relevant": readable(q.relevant, by_name, labels),
                "constraint": readable(q.constraint, by_name, labels),
            }
        )
        if q.kind in (Question.Kind.BEGIN_GROUP, Question.Kind.BEGIN_REPEAT):
            depth += 1
            repeats += q.kind == Question.Kind.BEGIN_REPEAT
    return rows


# ----------------------------------------------------------------------------------------
# Plan


def survey_list(request):
    runnable = access.runnable_units(request.user) if request.user.is_authenticated else None
    condition = Q(step=Survey.Step.PUBLISHED)
    if runnable is not None:
        condition |= Q(unit__in=runnable)
    surveys = Survey.objects.filter(condition).select_related("unit").order_by("-year", "unit__code", "code")
    can_create = runnable is not None and runnable.exists()
    return render(request, "surveys/list.html", {"surveys": surveys, "can_create": can_create})


@login_required
def survey_new(request):
    form = SurveyCreateForm(request.POST or None, user=request.user)
    accounts_access.require(form.fields["unit"].queryset.exists())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        survey = starter.create_survey(
            data["unit"],
            data["year"],
            code=data["code"],
            service_codes=data["services"],
            languages=data["languages"],
            actor=request.user,
        )
        messages.success(request, _("The survey was created from the model questionnaire."))
        return redirect("survey", survey.pk)
    return render(request, "surveys/new.html", {"form": form})


def survey_questionnaire(request, pk):
    survey = _visible(request, pk)
    can_run = access.can_run(request.user, survey.unit)
    context = {
        "survey": survey,
        "current_step": "plan",
        "can_run": can_run,
        "rows": _questionnaire_rows(survey),
        "upload_form": UploadForm(),
        "problems": None,
    }
    if can_run:
        present = set(survey.questions.exclude(service="").values_list("service", flat=True))
        context["services_present"] = [s for s in starter.services() if s["code"] in present]
        context["services_missing"] = [s for s in starter.services() if s["code"] not in present]
        context["has_responses"] = survey.responses.exists()
    if can_run:
        context["earlier_surveys"] = Survey.objects.filter(unit=survey.unit, year__lt=survey.year).order_by("-year")
    if request.method == "POST" and request.POST.get("action") == "previous":
        accounts_access.require(can_run)
        chosen = request.POST.get("previous") or None
        earlier = context["earlier_surveys"]
        if chosen is not None and not earlier.filter(pk=chosen if str(chosen).isdigit() else 0).exists():
            messages.error(request, _("Nothing was changed: choose one of this unit's earlier surveys."))
        else:
            before = survey.previous_id
            survey.previous = earlier.get(pk=chosen) if chosen else None
            survey.save(update_fields=["previous"])
            record(
                "update",
                survey,
                actor=request.user,
                via="form",
                before={"previous": before},
                after={"previous": survey.previous_id},
            )
            messages.success(request, _("The survey this one is compared with was changed."))
        return redirect("survey", survey.pk)
    if request.method == "POST":
        accounts_access.require(can_run)
        upload = UploadForm(request.POST, request.FILES)
        context["upload_form"] = upload
        if upload.is_valid():
            file = upload.cleaned_data["file"]
            try:
                form = xlsform.read(file, file.name)
                xlsform.replace(survey, form, actor=request.user, via="import", note=file.name)
            except xlsform.FormRefused as refused:
                context["problems"] = list(refused.report.problems)
                context["upload_file"] = file.name
                return render(request, "surveys/questionnaire.html", context)
            messages.success(
                request,
                ngettext(
                    "The questionnaire was replaced by %(file)s: %(count)s row.",
                    "The questionnaire was replaced by %(file)s: %(count)s rows.",
                    len(form.questions),
                )
                % {"file": file.name, "count": format_number(len(form.questions), 0)},
            )
            for note in form.notes:
                messages.info(request, note)
            return redirect("survey", survey.pk)
        return render(request, "surveys/questionnaire.html", context)
    return render(request, "surveys/questionnaire.html", context)


def survey_xlsform(request, pk):
    survey = _visible(request, pk)
    response = HttpResponse(
        xlsform.export(survey), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{survey.code}-{survey.year}.xlsx"'
    return response


@login_required
def question_edit(request, pk, name):
    survey = _runnable(request, pk)
    question = get_object_or_404(Question, survey=survey, name=name)
    form = QuestionForm(request.POST or None, question=question)
    locked = survey.responses.exists()
    if request.method == "POST" and not locked and form.is_valid():
        with transaction.atomic():
            before = snapshot(question)
            question.label = form.labels()
            question.required = form.cleaned_data["required"]
            question.relevant = form.cleaned_data["relevant"]
            question.save(update_fields=["label", "required", "relevant"])
            Survey.objects.filter(pk=survey.pk).update(version=survey.version + 1)
            record("update", question, actor=request.user, via="form", before=before, after=snapshot(question))
        messages.success(request, _("The question was saved."))
        return redirect("survey", survey.pk)
    return render(
        request,
        "surveys/question_edit.html",
        {"survey": survey, "current_step": "plan", "question": question, "form": form, "locked": locked},
    )


@login_required
@require_POST
def survey_service(request, pk):
    """Add a service of the model questionnaire, or remove one, as a whole group."""
    survey = _runnable(request, pk)
    code = request.POST.get("service", "")
    known = {s["code"]: s for s in starter.services()}
    form = xlsform.form_of(survey)
    if request.POST.get("action") == "remove":
        form.questions = [q for q in form.questions if q["service"] != code]
    elif code in known and not any(q["service"] == code for q in form.questions):
        added = starter.load([code], survey.languages or None)
        rows = [q for q in added.questions if q["service"] == code]
        # After the last service group, or before the overall question, or at the end.
        positions = [i for i, q in enumerate(form.questions) if q["service"]]
        overall = [i for i, q in enumerate(form.questions) if q["role"] == Question.Role.OVERALL]
        at = positions[-1] + 1 if positions else (overall[0] if overall else len(form.questions))
        form.questions[at:at] = rows
        present = {(c["list_name"], c["name"]) for c in form.choices}
        needed = {q["list_name"] for q in rows}
        form.choices += [
            c for c in added.choices if c["list_name"] in needed and (c["list_name"], c["name"]) not in present
        ]
    else:
        messages.error(request, _("There is no such service to add."))
        return redirect("survey", survey.pk)
    for number, q in enumerate(form.questions, start=1):
        q["order"] = number
    for number, c in enumerate(form.choices, start=1):
        c["order"] = number
    try:
        checked = xlsform.check(form, _("questionnaire"))
        xlsform.replace(
            survey,
            checked,
            actor=request.user,
            via="form",
            note=_("service %(service)s %(action)s") % {"service": code, "action": request.POST.get("action", "add")},
        )
    except xlsform.FormRefused as refused:
        for problem in refused.report.problems:
            messages.error(request, str(problem))
        return redirect("survey", survey.pk)
    name = pick(known[code]["name"]).text if code in known else code
    if request.POST.get("action") == "remove":
        messages.success(request, _("The questions about %(service)s were removed.") % {"service": name})
    else:
        messages.success(request, _("The questions about %(service)s were added.") % {"service": name})
    return redirect("survey", survey.pk)


# ----------------------------------------------------------------------------------------
# Sample


def _explain(result: sample.SampleSize) -> list[str]:
    """The calculator's steps as sentences an official can follow."""
    values = {step.key: step.value for step in result.steps}
    sentences = [
        _("For %(confidence)s %% confidence the statistical factor z is %(z)s.")
        % {"confidence": format_number(result.confidence * 100, 0), "z": format_number(values["z"], 2)},
        _(
            "If the share of satisfied users is about %(share)s %%, a very large population would need "
            "z² × p × (1 − p) / margin² = %(n0)s completed questionnaires for ±%(margin)s points."
        )
        % {
            "share": format_number(result.proportion * 100, 0),
            "n0": format_number(values["infinite_population_n"], 1),
            "margin": format_number(result.margin_of_error * 100, 1),
        },
    ]
    if result.design_effect != 1:
        sentences.append(
            _(
                "The design effect of %(deff)s makes that %(n1)s: a clustered or weighted sample is "
                "less precise than a simple random one of the same size."
            )
            % {"deff": format_number(result.design_effect, 2), "n1": format_number(values["with_design_effect"], 1)}
        )
    if "with_finite_population" in values:
        sentences.append(
            ngettext(
                "Because only %(population)s person can answer at all, fewer are needed: %(n)s "
                "(the finite population correction).",
                "Because only %(population)s people can answer at all, fewer are needed: %(n)s "
                "(the finite population correction).",
                result.population,
            )
            % {
                "population": format_number(result.population, 0),
                "n": format_number(values["with_finite_population"], 1),
            }
        )
    sentences.append(
        ngettext(
            "Rounded up: %(completed)s completed questionnaire.",
            "Rounded up: %(completed)s completed questionnaires.",
            result.completed,
        )
        % {"completed": format_number(result.completed, 0)}
    )
    sentences.append(
        ngettext(
            "With %(rate)s %% of contacted people expected to answer, contact %(contacts)s person.",
            "With %(rate)s %% of contacted people expected to answer, contact %(contacts)s people.",
            result.contacts,
        )
        % {"rate": format_number(result.response_rate * 100, 0), "contacts": format_number(result.contacts, 0)}
    )
    if result.population is not None and result.contacts >= result.population:
        sentences.append(
            _("That is everyone: ask the whole population, and even then expect fewer answers than planned.")
        )
    return sentences


def _calculate(plan: dict, frame_strata: dict[str, int]):
    options = {
        "confidence": plan["confidence"],
        "proportion": plan["proportion"],
        "design_effect": plan["design_effect"],
        "response_rate": plan["response_rate"],
    }
    total = sample.sample_size(plan["margin_of_error"], population=plan.get("population"), **options)
    strata = None
    populations = plan.get("strata") or frame_strata
    if plan.get("by_stratum") and populations:
        strata = sample.sample_size_by_stratum(populations, plan["margin_of_error"], **options)
    return total, strata


@login_required
def survey_sample(request, pk):
    survey = _runnable(request, pk)
    frame = sampling.current_frame(survey)
    frame_strata = sampling.stratum_sizes(frame)
    action = request.POST.get("action") if request.method == "POST" else None
    size_form = SampleSizeForm(
        request.POST if action == "calculate" else None, initial=SampleSizeForm.initial_from(survey.sample_plan)
    )
    frame_form = FrameForm(request.POST if action == "frame" else None, request.FILES if action == "frame" else None)
    initial_n = (survey.sample_plan or {}).get("contacts")
    draw_form = DrawForm(
        request.POST if action == "draw" else None,
        initial={
            "method": "proportional" if frame_strata else "simple",
            "n": initial_n,
            "sizes": "\n".join(f"{s} = " for s in frame_strata),
        },
    )
    problems = None
    if action == "calculate":
        if size_form.is_valid():
            plan = size_form.plan()
            total, _strata = _calculate(plan, frame_strata)
            plan["contacts"], plan["completed"] = total.contacts, total.completed
            with transaction.atomic():
                before = survey.sample_plan
                survey.sample_plan = plan
                survey.save(update_fields=["sample_plan"])
                record(
                    "update",
                    survey,
                    actor=request.user,
                    via="form",
                    before={"sample_plan": before},
                    after={"sample_plan": plan},
                )
            messages.success(request, _("The sample plan was saved."))
            return redirect("survey-sample", survey.pk)
    elif action == "frame":
        if frame_form.is_valid():
            upload = frame_form.cleaned_data["file"]
            try:
                data = upload.read(sampling.MAX_FRAME_BYTES + 1)
                frame = sampling.import_frame(
                    survey,
                    data,
                    upload.name,
                    actor=request.user,
                    address_column=frame_form.cleaned_data["address_column"],
                    stratum_column=frame_form.cleaned_data["stratum_column"],
                )
            except sampling.SamplingRefused as refused:
                problems = list(refused.report.problems)
            else:
                messages.success(
                    request,
                    ngettext(
                        "The frame %(file)s was imported: %(count)s row.",
                        "The frame %(file)s was imported: %(count)s rows.",
                        frame.size,
                    )
                    % {"file": frame.filename, "count": format_number(frame.size, 0)},
                )
                return redirect("survey-sample", survey.pk)
    elif action == "draw":
        if frame is None:
            messages.error(request, _("Import a sampling frame first."))
            return redirect("survey-sample", survey.pk)
        if draw_form.is_valid():
            data = draw_form.cleaned_data
            try:
                sampling.draw(
                    frame,
                    data["method"],
                    n=data.get("n"),
                    sizes=data.get("sizes") or None,
                    seed=data.get("seed"),
                    actor=request.user,
                )
            except sampling.SamplingRefused as refused:
                problems = list(refused.report.problems)
            else:
                messages.success(request, _("The sample was drawn."))
                return redirect("survey-sample", survey.pk)

    result = strata = None
    explanation = []
    if survey.sample_plan:
        try:
            result, strata = _calculate(survey.sample_plan, frame_strata)
        except ValueError as error:
            # A stored plan that no longer fits (e.g. a stratum now empty): say so, keep the page.
            messages.warning(request, str(error))
        else:
            explanation = _explain(result)
    context = {
        "survey": survey,
        "current_step": "sample",
        "size_form": size_form,
        "frame_form": frame_form,
        "draw_form": draw_form,
        "frame": frame,
        "problems": problems,
        "result": result,
        "explanation": explanation,
        "strata": sorted(strata.strata.items()) if strata else None,
        "strata_total": strata,
        "summary": sampling.summary(frame) if frame else [],
        "has_links": survey.links_sent(),
    }
    if frame is not None and frame.draw:
        context["method_label"] = dict(DrawForm.METHODS).get(frame.draw.get("method"), frame.draw.get("method"))
    return render(request, "surveys/sample.html", context)
