"""Tariff pages. Thin: find, ask `tariffs.access` (404 to outsiders), check the form, call a
service, render. The arithmetic is `municipium.lib.tariffs`, the rules `services`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from municipium.accounts import access as accounts_access
from municipium.lib import numbers

from . import access, charts, services
from .forms import ClassForm, ScenarioForm, StudyForm, put_error
from .models import CustomerClass, Scenario, Study
from .services import StudyError

require = accounts_access.require


def _study(request, code) -> Study:
    study = get_object_or_404(Study.objects.select_related("unit", "consultation"), code=code)
    require(access.can_read(request.user, study))
    return study


def _editable(request, code) -> Study:
    study = _study(request, code)
    require(access.can_edit(request.user, study))
    return study


def studies(request):
    rows = list(access.readable(request.user).select_related("unit").order_by("unit__code", "service", "code"))
    may_found = request.user.is_authenticated and access.founding_units(request.user).exists()
    return render(request, "tariffs/studies.html", {"rows": rows, "may_found": may_found})


@login_required
def study_edit(request, code=None):
    study = get_object_or_404(Study, code=code) if code else None
    if study is not None:
        require(access.can_edit(request.user, study))
    else:
        require(access.founding_units(request.user).exists())
    form = StudyForm(request.POST or None, request.FILES or None, instance=study, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_study(request.user, form.apply())
        except StudyError as error:
            put_error(form, _field_of(form, error))
        else:
            messages.success(request, _("The study was saved."))
            return redirect("tariffs:study", saved.code)
    return render(request, "tariffs/study_form.html", {"form": form, "study": study})


def _field_of(form, error: StudyError) -> StudyError:
    """The form field a service's refusal is about (the typed texts are parsed fields)."""
    aliases = {"past_inflation": "past_inflation_text", "blocks": "blocks_text", "incomes": "incomes_text"}
    if error.field in aliases:
        return StudyError(error.message, aliases[error.field])
    return error


def _chosen(study: Study, results, wanted: str | None):
    for result in results:
        if wanted and str(result.scenario.pk) == wanted:
            return result
    for result in results:
        if result.scenario.adopted:
            return result
    return results[0] if results else None


def _context(request, study: Study) -> dict:
    base = services.figures(study)
    results = services.all_scenarios(study, base)
    chosen = _chosen(study, results, request.GET.get("scenario"))
    rtl = get_language() == "fa"
    targets = [r.scenario.target for r in results if r.scenario.target]
    return {
        "study": study,
        "base": base,
        "results": results,
        "chosen": chosen,
        "peers": services.peers(study, request.user, chosen, base),
        "recovery_spec": charts.scenarios(results, measure="recovery", rtl=rtl, target=targets[0] if targets else None)
        if results
        else None,
        "tariff_spec": charts.scenarios(results, measure="tariff", rtl=rtl) if results else None,
        "editor": access.can_edit(request.user, study),
        "may_adopt": services.may_adopt(request.user, study),
        "consultation": study.consultation,
        "catalogue": services.catalogue_figures(study, base),
        "facilities": services.facilities_for(request.user, study) if request.user.is_authenticated else [],
    }


def study(request, code):
    study = _study(request, code)
    context = _context(request, study)
    context["class_form"] = ClassForm(prefix="class") if context["editor"] else None
    context["scenario_form"] = (
        ScenarioForm(
            prefix="scenario", initial={"name": _("Scenario %(number)s") % {"number": study.scenarios.count() + 1}}
        )
        if context["editor"]
        else None
    )
    return render(request, "tariffs/study.html", context)


@login_required
@require_POST
def fill(request, code):
    """Take the catalogue's operating costs and collection rate where the study has none."""
    study = _editable(request, code)
    taken = services.fill_from_catalogue(request.user, study)
    if taken:
        messages.success(
            request,
            _("Taken from the catalogue's figures: %(what)s.")
            % {"what": ", ".join(str(services.ROLE_LABELS[t]) for t in taken)},
        )
    else:
        messages.info(request, _("Nothing to take: the study has its own figures, or the catalogue has none."))
    return redirect("tariffs:study", study.code)


@login_required
@require_POST
def hand_off(request, code):
    """Hand the study's costs to a shared facility's cost sharing as a scenario."""
    study = _study(request, code)
    facility = next(
        (f for f in services.facilities_for(request.user, study) if str(f.pk) == request.POST.get("facility")), None
    )
    if facility is None:
        raise Http404
    try:
        scenario = services.hand_to_facility(request.user, study, facility)
    except StudyError as error:
        messages.error(request, error.message)
        return redirect("tariffs:study", study.code)
    messages.success(
        request,
        _("The costs were handed to %(facility)s as the scenario “%(scenario)s”.")
        % {"facility": facility.name, "scenario": scenario.name},
    )
    return redirect("cooperation:facility", facility.code)


@login_required
def class_edit(request, code, pk=None):
    study = _editable(request, code)
    instance = get_object_or_404(CustomerClass, study=study, pk=pk) if pk else CustomerClass(study=study)
    form = ClassForm(request.POST or None, instance=instance, prefix="class")
    if request.method == "POST":
        if request.POST.get("delete") and instance.pk:
            services.delete_class(request.user, instance)
            messages.success(request, _("The class was removed."))
            return redirect("tariffs:study", study.code)
        if form.is_valid():
            try:
                services.save_class(request.user, form.save(commit=False))
            except StudyError as error:
                put_error(form, error)
            else:
                messages.success(request, _("The class was saved."))
                return redirect("tariffs:study", study.code)
    return render(request, "tariffs/class_form.html", {"form": form, "study": study, "instance": instance})


@login_required
def scenario_edit(request, code, pk=None):
    study = _editable(request, code)
    instance = get_object_or_404(Scenario, study=study, pk=pk) if pk else Scenario(study=study)
    form = ScenarioForm(request.POST or None, instance=instance, prefix="scenario")
    if request.method == "POST":
        if request.POST.get("delete") and instance.pk:
            try:
                services.delete_scenario(request.user, instance)
            except StudyError as error:
                messages.error(request, error.message)
                return redirect("tariffs:scenario", study.code, instance.pk)
            messages.success(request, _("The scenario was removed."))
            return redirect("tariffs:study", study.code)
        if form.is_valid():
            try:
                saved = services.save_scenario(request.user, form.save(commit=False))
            except StudyError as error:
                put_error(form, error)
            else:
                return redirect("tariffs:scenario", study.code, saved.pk)
    return render(request, "tariffs/scenario_form.html", {"form": form, "study": study, "instance": instance})


def scenario(request, code, pk):
    study = _study(request, code)
    found = get_object_or_404(Scenario, study=study, pk=pk)
    base = services.figures(study)
    result = services.scenario_figures(found, base)
    return render(
        request,
        "tariffs/scenario.html",
        {
            "study": study,
            "base": base,
            "result": result,
            "editor": access.can_edit(request.user, study),
            "may_adopt": services.may_adopt(request.user, study),
            "class_names": [c.name for c in study.classes.all()],
        },
    )


@login_required
@require_POST
def adopt(request, code, pk):
    study = _study(request, code)
    found = get_object_or_404(Scenario, study=study, pk=pk)
    require(services.may_adopt(request.user, study))
    try:
        done = services.adopt(request.user, found)
    except StudyError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Recorded as adopted: the reference household's bill for %(year)s is now a figure of %(unit)s.")
            % {"year": numbers.localise_digits(str(done["year"])), "unit": study.unit.label},
        )
    return redirect("tariffs:scenario", study.code, found.pk)


def package(request, code):
    """The council's decision package: current against proposed, the revenue requirement and
    ratios, affordability and the social tariff's cost, the peers, the consultation."""
    study = _study(request, code)
    context = _context(request, study)
    fmt = request.GET.get("format")
    if fmt == "pdf":
        from municipium.benchmarks.charts import render_png
        from municipium.lib.pdf import printed

        if context["recovery_spec"]:
            import base64

            context["recovery_png"] = base64.b64encode(render_png(context["recovery_spec"], get_language())).decode()
        response = HttpResponse(printed("tariffs/print_package.html", context), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{study.code}-tariff-package.pdf"'
        return response
    if fmt:
        raise Http404()
    return render(request, "tariffs/package.html", context)
