"""Siting pages. Thin: find, ask `siting.access` (404 to outsiders), check the form, call a
service, render. The maths is in `municipium.lib.siting`, the rules in `services`."""

from __future__ import annotations

import csv
import io
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST  # noqa: F401

from municipium.accounts import access as accounts_access
from municipium.lib.numbers import format_number
from municipium.lib.tabular import neutralise

from . import access, services, starters
from .forms import (
    AdoptForm,
    AreaForm,
    CriteriaSetForm,
    CriterionForm,
    ExpertForm,
    HandOffForm,
    LayerForm,
    MemberForm,
    ProjectForm,
    founding_groups,
    put_error,
)
from .models import Criterion, Expert, Project, Run
from .services import SitingError

require = accounts_access.require
COLOURS = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]


def _project(request, code) -> Project:
    project = get_object_or_404(Project.objects.select_related("group", "criteria_set"), code=code)
    require(access.can_read(request.user, project))
    return project


def projects(request):
    rows = list(access.readable(request.user).select_related("group").order_by("name"))
    may_found = request.user.is_authenticated and founding_groups(request.user).exists()
    return render(request, "siting/projects.html", {"rows": rows, "may_found": may_found})


@login_required
def project_edit(request, code=None):
    project = get_object_or_404(Project, code=code) if code else None
    if project is not None:
        require(access.can_edit(request.user, project))
    else:
        require(founding_groups(request.user).exists())
    form = ProjectForm(request.POST or None, instance=project, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_project(request.user, form.save(commit=False))
        except SitingError as error:
            put_error(form, error)
        else:
            return redirect("siting:project", saved.code)
    return render(request, "siting/project_form.html", {"form": form, "project": project})


def project(request, code):
    project = _project(request, code)
    editor = access.can_edit(request.user, project)
    member_form = MemberForm(project=project, prefix="member")
    layer_form = LayerForm(prefix="layer")
    area_form = AreaForm(prefix="area")
    adopt_form = AdoptForm(prefix="adopt")
    set_form = CriteriaSetForm(instance=project.criteria_set, prefix="set") if project.criteria_set else None
    if request.method == "POST":
        require(editor)
        action = request.POST.get("action")
        try:
            if action == "member":
                member_form = MemberForm(request.POST, project=project, prefix="member")
                if member_form.is_valid():
                    d = member_form.cleaned_data
                    if d["lon"] is None or d["lat"] is None:
                        member = services.member_for(project, d["unit"], d["population"])
                    else:
                        member = services.Member(
                            project=project, unit=d["unit"], population=d["population"], lon=d["lon"], lat=d["lat"]
                        )
                    existing = project.members.filter(unit=d["unit"]).first()
                    if existing:
                        member.pk = existing.pk
                    services.save_member(request.user, member)
                    return redirect("siting:project", project.code)
            elif action == "area":
                area_form = AreaForm(request.POST, request.FILES, prefix="area")
                if area_form.is_valid():
                    upload = area_form.cleaned_data["file"]
                    if upload:
                        services.set_area(request.user, project, data=upload.read(), name=upload.name)
                    else:
                        services.set_area(request.user, project)
                    return redirect("siting:project", project.code)
            elif action == "layer":
                layer_form = LayerForm(request.POST, request.FILES, prefix="layer")
                if layer_form.is_valid():
                    upload = layer_form.cleaned_data["file"]
                    services.upload_layer(
                        request.user, project, layer_form.cleaned_data["topic"], upload.read(), upload.name
                    )
                    messages.success(request, _("The layer is kept."))
                    return redirect("siting:project", project.code)
            elif action == "delete-layer":
                layer = get_object_or_404(project.layers, pk=request.POST.get("layer"))
                services.delete_layer(request.user, layer)
                return redirect("siting:project", project.code)
            elif action == "adopt":
                adopt_form = AdoptForm(request.POST, prefix="adopt")
                if adopt_form.is_valid():
                    services.adopt(request.user, project, adopt_form.cleaned_data["starter"])
                    return redirect("siting:project", project.code)
            elif action == "criteria-set" and project.criteria_set is not None:
                set_form = CriteriaSetForm(request.POST, instance=project.criteria_set, prefix="set")
                if set_form.is_valid():
                    services.save_criteria_set(request.user, set_form.save(commit=False))
                    return redirect("siting:project", project.code)
            elif action == "delete-criterion":
                criterion = get_object_or_404(
                    Criterion, pk=request.POST.get("criterion"), criteria_set__project=project
                )
                services.delete_criterion(request.user, criterion)
                return redirect("siting:project", project.code)
            elif action == "run":
                saved = services.run(request.user, project)
                return redirect("siting:run", project.code, saved.number)
        except SitingError as error:
            form = {
                "member": member_form,
                "area": area_form,
                "layer": layer_form,
                "adopt": adopt_form,
                "criteria-set": set_form,
            }.get(action)
            if form is not None:
                put_error(form, error)
            else:
                messages.error(request, error.message)
    starters.ensure()
    criteria = list(project.criteria_set.criteria.all()) if project.criteria_set else []
    return render(
        request,
        "siting/project.html",
        {
            "project": project,
            "editor": editor,
            "members": project.members.select_related("unit"),
            "layers": project.layers.all(),
            "criteria": [(c, starters.label(c.name)) for c in criteria],
            "set_label": starters.label(project.criteria_set.name) if project.criteria_set else "",
            "runs": project.runs.all()[:20],
            "member_form": member_form,
            "layer_form": layer_form,
            "area_form": area_form,
            "adopt_form": adopt_form,
            "set_form": set_form,
            "need": _need(project),
        },
    )


def _need(project):
    try:
        return services.need(project)
    except SitingError:
        return None


@login_required
def criterion_edit(request, code, pk=None):
    project = _project(request, code)
    require(access.can_edit(request.user, project))
    if project.criteria_set is None:
        raise Http404
    criterion = get_object_or_404(Criterion, pk=pk, criteria_set=project.criteria_set) if pk else None
    form = CriterionForm(request.POST or None, instance=criterion)
    if request.method == "POST" and form.is_valid():
        item = form.save(commit=False)
        item.criteria_set = project.criteria_set
        try:
            services.save_criterion(request.user, item)
        except SitingError as error:
            put_error(form, error)
        else:
            return redirect("siting:project", project.code)
    return render(request, "siting/criterion_form.html", {"form": form, "project": project, "criterion": criterion})


def ahp_page(request, code):
    project = _project(request, code)
    editor = access.can_edit(request.user, project)
    found = services.factors(project)
    for f in found:
        f.label = starters.label(f.name)
    editing = None
    if request.method == "POST":
        require(editor)
        if request.POST.get("action") == "delete":
            services.delete_expert(
                request.user, get_object_or_404(Expert, pk=request.POST.get("expert"), project=project)
            )
            return redirect("siting:ahp", project.code)
        form = ExpertForm(request.POST, factors=found)
        if form.is_valid():
            name = form.cleaned_data["name"].strip()
            expert = project.experts.filter(name=name).first() or Expert(project=project, name=name)
            expert.judgements = form.judgements()
            try:
                services.save_expert(request.user, expert)
            except SitingError as error:
                put_error(form, error)
            else:
                return redirect("siting:ahp", project.code)
    else:
        editing = project.experts.filter(pk=request.GET.get("expert")).first()
        initial = {}
        if editing is not None:
            initial["name"] = editing.name
            form = ExpertForm(factors=found)
            for field, key, _a, _b in form.pairs:
                initial[field] = _fraction(editing.judgements.get(key, 1))
        form = ExpertForm(initial=initial, factors=found)
    weights = services.weighting(project)
    names = [f.label for f in found]
    by_pair = {(a.code, b.code): form[field] for field, _key, a, b in form.pairs}
    matrix = [
        (f, [{"bound": by_pair.get((f.code, g.code)), "diagonal": f.code == g.code} for g in found]) for f in found
    ]
    rows = []
    for i, f in enumerate(found):
        rows.append(
            {
                "label": f.label,
                "experts": [e["weights"][i] if e.get("complete") else None for e in weights["experts"]],
                "group": weights["group"]["weights"][i] if weights["group"] else None,
                "used": weights["weights"].get(f.code),
            }
        )
    experts = list(project.experts.all())
    for e, w in zip(experts, weights["experts"]):
        e.result = w
        for r in w.get("responsible", []):
            r["a"], r["b"] = starters.label(r["a"]), starters.label(r["b"])
    group_matrix = None
    if weights["group"]:
        group_matrix = [(names[i], [_fraction(v) for v in row]) for i, row in enumerate(weights["group"]["matrix"])]
        for r in weights["group"]["responsible"]:
            r["a"], r["b"] = starters.label(r["a"]), starters.label(r["b"])
    return render(
        request,
        "siting/ahp.html",
        {
            "project": project,
            "editor": editor,
            "factors": found,
            "form": form,
            "rows": rows,
            "experts": experts,
            "weights": weights,
            "names": names,
            "group_matrix": group_matrix,
            "editing": editing,
            "matrix": matrix,
        },
    )


def _fraction(value) -> str:
    value = float(value)
    if value >= 1:
        return format_number(value, 2 if abs(value - round(value)) > 0.01 else 0)
    inverse = 1 / value
    if abs(inverse - round(inverse)) < 0.01:
        return "1/" + format_number(round(inverse), 0)
    return format_number(value, 2)


def _run(request, code, number) -> tuple[Project, Run]:
    project = _project(request, code)
    return project, get_object_or_404(Run, project=project, number=number)


def _legend(run: Run) -> list[dict]:
    rows = []
    for k, c in enumerate(run.results["classes"]):
        rows.append(
            {
                "css": f"swatch-{min(k * len(COLOURS) // len(run.results['classes']), len(COLOURS) - 1)}",
                "low": format_number(c["low"], 1),
                "high": format_number(c["high"], 1),
                "area": format_number(c["area_m2"] / 1e6, 1),
            }
        )
    return rows


def run_page(request, code, number):
    project, run = _run(request, code, number)
    editor = access.can_edit(request.user, project)
    form = HandOffForm(initial={"rank": 1})
    if request.method == "POST":
        require(editor)
        form = HandOffForm(request.POST)
        if form.is_valid():
            try:
                facility = services.hand_off(request.user, run, form.cleaned_data["rank"])
            except SitingError as error:
                put_error(form, error)
            else:
                messages.success(
                    request, _("The site's members and haul distances are in the facility's cost sharing.")
                )
                return redirect("cooperation:facility", facility.code)
    return render(request, "siting/run.html", _run_context(project, run) | {"editor": editor, "form": form})


def _run_context(project: Project, run: Run) -> dict:
    names = {c["code"]: starters.label(c["name"]) for c in run.inputs["criteria"]}
    factor_codes = [c["code"] for c in run.inputs["criteria"] if c["kind"] == "factor"]
    candidates = []
    for c in run.results["candidates"]:
        s = services.stability_of(run, c)
        candidates.append(
            {
                **c,
                "area_ha": c["area_m2"] / 1e4,
                "stability": s,
                "oat": [
                    {"name": names[factor_codes[e["criterion"]]], "change": e["change"], "rank": e["rank"]}
                    for e in (s["one_at_a_time"] if s else [])
                ],
            }
        )
    oat_rows = []
    if candidates and candidates[0]["oat"]:
        for k, entry in enumerate(candidates[0]["oat"]):
            cells = [(c["oat"][k]["rank"], c["oat"][k]["rank"] != c["rank"]) for c in candidates]
            oat_rows.append({"name": entry["name"], "change": entry["change"], "cells": cells})
    exclusions = [
        {**e, "name": names.get(e["code"], e["code"]), "area_km2": e["area_m2"] / 1e6}
        for e in run.results["exclusions"]
    ]
    return {
        "project": project,
        "run": run,
        "legend": _legend(run),
        "candidates": candidates,
        "oat_rows": oat_rows,
        "exclusions": exclusions,
        "weights": [(names[c], w) for c, w in run.inputs["weights"].items()],
        "need": run.inputs["need"],
        "need_ha": run.inputs["need"]["area_m2"] / 1e4,
        "set_label": starters.label(run.inputs["criteria_set"]["name"]),
        "inside_km2": run.results["inside_m2"] / 1e6,
        "excluded_km2": run.results["excluded_m2"] / 1e6,
        "map_bounds": json.dumps(run.results["image_bounds"]),
    }


def run_file(request, code, number, kind):
    project, run = _run(request, code, number)
    stem = f"{project.code}-run-{run.number}"
    if kind == "overlay.png":
        return HttpResponse(bytes(run.png), content_type="image/png")
    if kind == "suitability.tif":
        response = HttpResponse(bytes(run.geotiff), content_type="image/tiff")
        response["Content-Disposition"] = f'attachment; filename="{stem}-suitability.tif"'
        return response
    if kind == "candidates.geojson":
        return _geojson(stem + "-candidates", _candidate_features(run), request)
    if kind == "constraints.geojson":
        names = {c["code"]: starters.label(c["name"]) for c in run.inputs["criteria"]}
        features = [
            {
                "type": "Feature",
                "properties": {
                    "code": e["code"],
                    "name": names.get(e["code"], e["code"]),
                    "area_km2": round(e["area_m2"] / 1e6, 3),
                },
                "geometry": e["geometry"],
            }
            for e in run.results["exclusions"]
            if e.get("geometry")
        ]
        return _geojson(stem + "-constraints", features, request)
    if kind == "candidates.csv":
        return _csv(stem, run)
    if kind == "report.pdf":
        from municipium.lib.pdf import printed

        data = printed("siting/print_run.html", _run_context(project, run))
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{stem}.pdf"'
        return response
    raise Http404


def _candidate_features(run: Run) -> list[dict]:
    features = []
    for c in run.results["candidates"]:
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "rank": c["rank"],
                    "label": _("Site %(rank)s") % {"rank": format_number(c["rank"], 0)},
                    "area_ha": round(c["area_m2"] / 1e4, 2),
                    "area_text": _("%(area)s ha") % {"area": format_number(c["area_m2"] / 1e4, 1)},
                    "mean_suitability": round(c["mean_suitability"], 4),
                    "suitability_text": format_number(c["mean_suitability"], 2),
                    "haul_km": round(c["haul_km"], 3),
                    "haul_text": _("%(km)s km to haul") % {"km": format_number(c["haul_km"], 1)},
                    "closeness": round(c["closeness"], 4),
                },
                "geometry": c["geometry"],
            }
        )
    return features


def _geojson(stem, features, request):
    response = JsonResponse({"type": "FeatureCollection", "features": features})
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{stem}.geojson"'
    return response


def _csv(stem: str, run: Run) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    members = [m["code"] for m in run.inputs["members"]]
    factor_codes = [c["code"] for c in run.inputs["criteria"] if c["kind"] == "factor"]
    writer.writerow(
        [
            "rank",
            "closeness",
            "area_ha",
            "mean_suitability",
            "haul_km",
            "compactness",
            "lon",
            "lat",
            "best_share",
            "min_rank",
            "max_rank",
        ]
        + [f"haul_km_{m}" for m in members]
        + [f"mean_{f}" for f in factor_codes]
    )
    for c in run.results["candidates"]:
        s = services.stability_of(run, c) or {}
        writer.writerow(
            [
                neutralise(v)
                for v in [
                    c["rank"],
                    round(c["closeness"], 6),
                    round(c["area_m2"] / 1e4, 3),
                    round(c["mean_suitability"], 6),
                    round(c["haul_km"], 3),
                    round(c["compactness"], 6),
                    round(c["lon"], 6),
                    round(c["lat"], 6),
                    s.get("best_share", ""),
                    s.get("min_rank", ""),
                    s.get("max_rank", ""),
                    *[round(c["haul_by_member"].get(m, 0), 3) for m in members],
                    *[round(c["factor_means"].get(f, 0), 6) for f in factor_codes],
                ]
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}-candidates.csv"'
    return response
