"""Plan pages. Thin: find, ask `plans.access` (404 to outsiders), check the form, call a
service, render. Progress comes from `progress.compute` only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from municipium.accounts import access as accounts_access
from municipium.lib.tabular import csv_bytes

from . import access, files, progress, services
from .forms import AdoptForm, BudgetForm, ConsultForm, ItemForm, PlanForm, TargetForm, UploadForm, put_error
from .models import Item, Plan, Target
from .services import PlanError

require = accounts_access.require


def _plan(request, code) -> Plan:
    plan = get_object_or_404(Plan.objects.select_related("unit", "body", "compare_with", "consultation"), code=code)
    require(access.can_read(request.user, plan))
    return plan


def plans(request):
    return render(
        request,
        "plans/plans.html",
        {"plans": access.plans_for(request.user), "may_found": accounts_access.review_units(request.user).exists()},
    )


@login_required
def plan_new(request):
    require(accounts_access.review_units(request.user).exists())
    return _plan_form(request, None)


@login_required
def plan_edit(request, code):
    plan = _plan(request, code)
    require(access.can_coordinate(request.user, plan))
    return _plan_form(request, plan)


def _plan_form(request, plan):
    form = PlanForm(request.POST or None, instance=plan, user=request.user)
    if request.method == "POST" and form.is_valid():
        item = form.save(commit=False)
        item.levels = form.cleaned_data["level_names"]
        try:
            services.save_plan(request.user, item)
        except PlanError as error:
            put_error(form, error)
        else:
            messages.success(request, _("The plan was saved."))
            return redirect("plans:plan", code=item.code)
    return render(request, "plans/plan_form.html", {"form": form, "plan": plan})


def plan(request, code):
    plan = _plan(request, code)
    user = request.user
    tree = progress.compute(plan, public=access.public_figures(user, plan))
    rows = progress.flatten(tree)
    coordinator = access.can_coordinate(user, plan)
    editable = {n.item.pk for _d, n in rows if plan.state == Plan.State.DRAFT and access.can_edit_item(user, n.item)}
    return render(
        request,
        "plans/plan.html",
        {
            "plan": plan,
            "rows": rows,
            "coordinator": coordinator,
            "editable": editable,
            "may_add_top": plan.state == Plan.State.DRAFT and coordinator,
            "versions": plan.versions.all(),
            "consult_form": ConsultForm(prefix="consult") if coordinator else None,
            "adopt_form": AdoptForm(prefix="adopt") if coordinator else None,
            "weight_problems": services.weight_problems(plan),
        },
    )


@require_POST
def plan_action(request, code):
    plan = _plan(request, code)
    require(access.can_coordinate(request.user, plan))
    action = request.POST.get("action")
    try:
        if action == "consult":
            form = ConsultForm(request.POST, prefix="consult")
            if not form.is_valid():
                raise PlanError("; ".join(str(e) for errors in form.errors.values() for e in errors))
            services.send_to_consultation(request.user, plan, **form.cleaned_data)
            messages.success(request, _("The draft is open for public comment."))
        elif action == "adopt":
            form = AdoptForm(request.POST, prefix="adopt")
            if not form.is_valid():
                raise PlanError("; ".join(str(e) for errors in form.errors.values() for e in errors))
            version = services.adopt(
                request.user, plan, number=form.cleaned_data["council_number"], date=form.cleaned_data["council_date"]
            )
            messages.success(request, _("Version %(number)s was adopted.") % {"number": version.number})
        elif action == "amend":
            services.amend(request.user, plan)
            messages.success(request, _("The plan is open for amendment."))
    except PlanError as error:
        messages.error(request, error.message)
    return redirect("plans:plan", code=plan.code)


@login_required
def item_edit(request, code, pk=None):
    plan = _plan(request, code)
    item = get_object_or_404(Item, pk=pk, plan=plan) if pk else Item(plan=plan)
    if pk is None:
        parent_id = request.POST.get("parent") or request.GET.get("parent")
        parent = get_object_or_404(Item, pk=parent_id, plan=plan) if parent_id else None
        require(access.can_edit_item(request.user, parent) if parent else access.can_coordinate(request.user, plan))
        item.parent = parent
    else:
        require(access.can_edit_item(request.user, item))
    form = ItemForm(request.POST or None, instance=item, plan=plan, initial={"parent": item.parent_id})
    budget_form = BudgetForm(prefix="budget")
    if request.method == "POST":
        if request.POST.get("action") == "budget" and item.pk:
            budget_form = BudgetForm(request.POST, prefix="budget")
            if budget_form.is_valid():
                from .models import Budget

                try:
                    services.save_budget(request.user, Budget(item=item, **budget_form.cleaned_data))
                except PlanError as error:
                    put_error(budget_form, error)
                else:
                    messages.success(request, _("The budget line was saved."))
                    return redirect("plans:item-edit", code=plan.code, pk=item.pk)
        elif form.is_valid():
            changed = form.save(commit=False)
            if changed.parent_id and not access.can_edit_item(request.user, changed.parent) and not pk:
                require(False)
            try:
                services.save_item(request.user, changed)
            except PlanError as error:
                put_error(form, error)
            else:
                messages.success(request, _("Item %(code)s was saved.") % {"code": changed.code})
                return redirect("plans:plan", code=plan.code)
    return render(
        request,
        "plans/item_form.html",
        {"plan": plan, "item": item if item.pk else None, "form": form, "budget_form": budget_form},
    )


@login_required
def target_edit(request, code, item_pk, pk=None):
    plan = _plan(request, code)
    item = get_object_or_404(Item, pk=item_pk, plan=plan)
    require(access.can_edit_item(request.user, item))
    target = get_object_or_404(Target, pk=pk, item=item) if pk else Target(item=item)
    form = TargetForm(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        changed = form.save(commit=False)
        try:
            from .files import _pairs

            changed.milestones = _pairs(form.cleaned_data["milestone_text"], "")
            services.save_target(request.user, changed, unit_of_measure=form.cleaned_data["unit_of_measure"])
        except PlanError as error:
            put_error(form, error)
        else:
            messages.success(request, _("The target was saved."))
            return redirect("plans:plan", code=plan.code)
    return render(request, "plans/target_form.html", {"plan": plan, "item": item, "form": form, "target": target})


def report(request, code):
    """The annual monitoring report: progress as of a year, page or PDF."""
    plan = _plan(request, code)
    this_year = timezone.localdate().year
    try:
        year = int(request.GET.get("year") or this_year - 1)
    except ValueError:
        year = this_year - 1
    year = min(max(year, plan.start_year), plan.end_year)
    rows = progress.flatten(progress.compute(plan, public=access.public_figures(request.user, plan), until=year))
    context = {"plan": plan, "rows": rows, "year": year, "years": range(plan.start_year, plan.end_year + 1)}
    if request.GET.get("format") == "pdf":
        from municipium.lib.pdf import printed

        response = HttpResponse(printed("plans/print_report.html", context), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{plan.code}-{year}.pdf"'
        return response
    return render(request, "plans/report.html", context)


def download(request, code, fmt):
    if fmt not in ("yaml", "xlsx", "csv"):
        raise Http404()
    plan = _plan(request, code)
    if fmt == "yaml":
        response = HttpResponse(files.to_yaml(plan), content_type="application/yaml; charset=utf-8")
        name = f"{plan.code}.yaml"
    elif fmt == "xlsx":
        response = HttpResponse(
            files.to_workbook(plan), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        name = f"{plan.code}.xlsx"
    else:
        rows = progress.flatten(progress.compute(plan, public=access.public_figures(request.user, plan)))
        header = [
            "item",
            "level",
            "title",
            "indicator",
            "unit_of_measure",
            "baseline",
            "baseline_year",
            "target",
            "target_year",
            "year",
            "actual",
            "expected",
            "achieved_pct",
            "status",
            "rank",
            "rank_of",
            "group_median",
        ]
        data = []
        for _depth, node in rows:
            for t in node.targets or [None]:
                base = [node.item.code, node.item.level_name, node.item.title]
                if t is None:
                    data.append(
                        [*base, "", "", "", "", "", "", "", "", "", _round(node.progress), node.status, "", "", ""]
                    )
                    continue
                tt = t.target
                data.append(
                    [
                        *base,
                        tt.indicator.code if tt.indicator else tt.own_name,
                        tt.unit_label,
                        tt.baseline,
                        tt.baseline_year,
                        tt.target,
                        tt.target_year,
                        t.year or "",
                        _blank(t.actual),
                        _round(t.expected),
                        _round(t.achieved),
                        t.status,
                        t.rank or "",
                        t.rank_of or "",
                        _blank(t.median),
                    ]
                )
        response = HttpResponse(csv_bytes([header, *data], bom=True), content_type="text/csv; charset=utf-8")
        name = f"{plan.code}-progress.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _blank(value):
    return "" if value is None else value


def _round(value):
    return "" if value is None else round(value, 2)


def versions(request, code):
    plan = _plan(request, code)
    all_versions = list(plan.versions.all())
    by_number = {v.number: v for v in all_versions}
    try:
        a = by_number.get(int(request.GET.get("a", 0))) or (all_versions[-2] if len(all_versions) > 1 else None)
        b = by_number.get(int(request.GET.get("b", 0))) or (all_versions[-1] if all_versions else None)
    except ValueError:
        a = b = None
    current = {"snapshot": services.document(plan)}
    changes = services.differences(a.snapshot if a else {}, b.snapshot if b else current["snapshot"]) if b else []
    return render(
        request, "plans/versions.html", {"plan": plan, "versions": all_versions, "a": a, "b": b, "changes": changes}
    )


@login_required
def upload(request):
    require(accounts_access.review_units(request.user).exists())
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read(files.MAX_BYTES + 1)
        try:
            doc = files.read(data, upload.name)
            plan = files.load(request.user, doc, may_coordinate=accounts_access.may_enter_or_approve)
        except PlanError as error:
            form.add_error("file", error.message)
        else:
            messages.success(request, _("The plan %(title)s was loaded.") % {"title": plan.title})
            return redirect("plans:plan", code=plan.code)
    return render(request, "plans/upload.html", {"form": form})
