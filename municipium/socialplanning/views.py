"""Social-service planning pages. Thin: find, ask `socialplanning.access` (404 to
outsiders), check the form, call a service, render. Figures come from `planning` only."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from municipium.accounts import access as accounts_access
from municipium.lib.numbers import format_number
from municipium.lib.socialneed.catchment import CatchmentError
from municipium.places.models import Unit

from . import access, exports, planning, services
from .forms import (
    AccessForm,
    ConsultationForm,
    LineForm,
    MatrixForm,
    NormFormSet,
    NormTableForm,
    RoundForm,
    SentForm,
    ServiceForm,
    ServiceTypeForm,
    SharedForm,
    UploadForm,
    district_groups,
    put_error,
)
from .models import Norm, NormTable, Proposal, ProposalLine, Provider, Round, Service, ServiceType, SharedService
from .services import PlanningError

require = accounts_access.require


def _round(request, code) -> Round:
    round_ = get_object_or_404(Round.objects.select_related("group", "norms"), code=code)
    require(access.can_read(request.user, round_))
    return round_


@login_required
def index(request):
    user = request.user
    units = accounts_access.review_units(user).filter(kind=Unit.Kind.MUNICIPALITY).order_by("code")
    return render(
        request,
        "socialplanning/index.html",
        {
            "rounds": access.readable_rounds(user),
            "units": units[:200],
            "may_start": district_groups(user).exists(),
        },
    )


def types(request):
    """Service types and norms tables: public reference data."""
    if request.method == "POST":
        require(accounts_access.can_edit_catalogue(request.user))
        added, tables = services.load_starter(request.user)
        messages.success(
            request,
            ngettext("%(count)s service type was added.", "%(count)s service types were added.", added)
            % {"count": format_number(added, 0)},
        )
        return redirect("socialplanning:types")
    tables = list(NormTable.objects.select_related("group").prefetch_related("norms__service_type", "norms__variable"))
    groups = access.norm_groups(request.user) if request.user.is_authenticated else None
    return render(
        request,
        "socialplanning/types.html",
        {
            "types": ServiceType.objects.all(),
            "tables": tables,
            "editable": {t.pk for t in tables if access.can_edit_norms(request.user, t)},
            "may_load": accounts_access.can_edit_catalogue(request.user),
            "may_edit_types": access.can_edit_types(request.user),
            "version_groups": list(groups) if groups is not None else [],
            "may_add_norms": _may_add_norms(request.user),
        },
    )


def _may_add_norms(user) -> bool:
    return user.is_authenticated and (access.can_edit_types(user) or access.norm_groups(user).exists())


@login_required
def type_edit(request, code=None):
    """Add or edit a service type (those who edit the catalogue; 404 to everyone else)."""
    require(access.can_edit_types(request.user))
    item = get_object_or_404(ServiceType, code=code) if code else ServiceType()
    form = ServiceTypeForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        item = form.save(commit=False)
        item.name = form.names()
        try:
            services.save_service_type(request.user, item)
            messages.success(request, _("The service type was saved."))
            return redirect("socialplanning:types")
        except PlanningError as error:
            if error.field == "name":
                error.field = "name_en"
            put_error(form, error)
    return render(request, "socialplanning/type_edit.html", {"form": form, "item": item})


@login_required
def norms_edit(request, pk=None):
    """A norms table and its rows in one form; a refused row is named beside its field and
    nothing is saved (404 to those who may not keep the table)."""
    user = request.user
    if pk is None:
        require(_may_add_norms(user))
        table = NormTable()
    else:
        table = get_object_or_404(NormTable.objects.select_related("group"), pk=pk)
        require(access.can_edit_norms(user, table))
    shared_allowed = access.can_edit_types(user) and (table.pk is None or table.group_id is None)
    groups = access.norm_groups(user)
    if table.group_id is not None:
        groups = groups.model.objects.filter(Q(pk__in=groups.values("pk")) | Q(pk=table.group_id)).order_by("code")
    existing = {n.pk: n for n in table.norms.select_related("variable__breakdown")} if table.pk else {}
    initial = [
        {
            "id": n.pk,
            "service_type": n.service_type_id,
            "variable": n.variable_id,
            "categories": ", ".join(n.categories or []),
            "places": n.places,
            "per": n.per,
            "note": n.note,
        }
        for n in existing.values()
    ]
    data = request.POST if request.method == "POST" else None
    form = NormTableForm(data, instance=table, groups=groups, shared_allowed=shared_allowed)
    rows = NormFormSet(data, prefix="norms", initial=initial)
    if data is not None and form.is_valid() & rows.is_valid():
        item = form.save(commit=False)
        if item.group_id is None and not shared_allowed:
            form.add_error("group", _("Choose the district that keeps the table."))
        else:
            norms, removed, forms_kept = [], [], []
            for row in rows.forms:
                cleaned = row.cleaned_data
                if not cleaned:
                    continue
                known = existing.get(cleaned.get("id"))
                if cleaned.get("DELETE"):
                    if known is not None:
                        removed.append(known)
                    continue
                norm = known or Norm()
                norm.service_type = cleaned["service_type"]
                norm.variable = cleaned["variable"]
                norm.categories = cleaned["categories"]
                norm.places = cleaned["places"]
                norm.per = cleaned["per"]
                norm.note = cleaned["note"]
                norms.append(norm)
                forms_kept.append(row)
            try:
                services.save_norm_table(user, item, norms, removed)
                messages.success(request, _("The norms table was saved."))
                return redirect("socialplanning:types")
            except PlanningError as error:
                if error.row is not None:
                    put_error(forms_kept[error.row], error)
                else:
                    put_error(form, error)
    return render(request, "socialplanning/norms_edit.html", {"form": form, "rows": rows, "table": table})


@require_POST
@login_required
def norms_version(request, pk):
    """The next version of a norms table, kept by one of the user's districts."""
    table = get_object_or_404(NormTable, pk=pk)
    require(_may_add_norms(request.user))
    groups = access.norm_groups(request.user)
    group = groups.filter(pk=request.POST.get("group") or 0).first()
    if group is None and not access.can_edit_types(request.user):
        raise Http404()
    copy = services.new_version(request.user, table, group)
    messages.success(request, _("A new version of the norms table was made; change it below."))
    return redirect("socialplanning:norms-edit", pk=copy.pk)


@login_required
def supply(request, unit):
    unit = get_object_or_404(Unit, code=unit)
    require(access.can_read_unit(request.user, unit))
    editable = access.can_edit_unit(request.user, unit)
    form = ServiceForm(prefix="service", unit=unit)
    upload = UploadForm(prefix="upload")
    if request.method == "POST":
        require(editable)
        action = request.POST.get("action")
        if action == "service":
            form = ServiceForm(request.POST, prefix="service", unit=unit)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    provider = services.save_provider(
                        request.user,
                        Provider(unit=unit, name=data["provider"], kind=data["provider_kind"], licence=data["licence"]),
                    )
                    services.save_service(
                        request.user,
                        Service(
                            provider=provider,
                            service_type=data["service_type"],
                            name=data["name"],
                            year=data["year"],
                            capacity=data["capacity"],
                            users=data["users"],
                            waiting=data["waiting"] or 0,
                            staff=data["staff"],
                            funding=data["funding"],
                            lon=data["lon"],
                            lat=data["lat"],
                        ),
                        list(data["settlements"]),
                    )
                    messages.success(request, _("The service was saved."))
                    return redirect("socialplanning:supply", unit=unit.code)
                except PlanningError as error:
                    put_error(form, error)
        elif action == "upload":
            upload = UploadForm(request.POST, request.FILES, prefix="upload")
            if upload.is_valid():
                file = upload.cleaned_data["file"]
                try:
                    settled, served = services.import_supply(
                        request.user, file.read(services.FILE_LIMIT + 1), file.name, [unit]
                    )
                    messages.success(
                        request,
                        ngettext("%(count)s service was loaded.", "%(count)s services were loaded.", served)
                        % {"count": format_number(served, 0)},
                    )
                    return redirect("socialplanning:supply", unit=unit.code)
                except PlanningError as error:
                    put_error(upload, error)
        elif action == "delete":
            service = get_object_or_404(Service, pk=request.POST.get("service"), provider__unit=unit)
            services.delete_service(request.user, service)
            return redirect("socialplanning:supply", unit=unit.code)
        else:
            raise Http404()
    if request.GET.get("format") == "template":
        response = HttpResponse(
            exports.supply_workbook(unit),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="social-supply-{unit.code}.xlsx"'
        return response
    rows = Service.objects.filter(provider__unit=unit).select_related("provider", "service_type")
    return render(
        request,
        "socialplanning/supply.html",
        {
            "unit": unit,
            "services": rows.prefetch_related("settlements"),
            "settlements": unit.settlements.all(),
            "form": form if editable else None,
            "upload": upload if editable else None,
        },
    )


@login_required
def round_new(request):
    groups = district_groups(request.user)
    require(groups.exists())
    form = RoundForm(request.POST or None, groups=groups)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.save_round(request.user, form.save(commit=False))
            return redirect("socialplanning:round", code=item.code)
        except PlanningError as error:
            put_error(form, error)
    return render(request, "socialplanning/round_new.html", {"form": form})


def round_view(request, code):
    round_ = _round(request, code)
    coordinator = access.can_coordinate(request.user, round_)
    units = Unit.objects.filter(pk__in=[u.pk for u in planning.members(round_)])
    shared_form = SharedForm(prefix="shared", units=units) if coordinator else None
    if request.method == "POST":
        require(coordinator)
        shared_form = SharedForm(request.POST, prefix="shared", units=units)
        if shared_form.is_valid():
            data = shared_form.cleaned_data
            try:
                services.add_shared(
                    request.user, round_, data["service_type"], data["host"], data["places"], list(data["parties"])
                )
                messages.success(request, _("The shared service and its draft agreement were recorded."))
                return redirect("socialplanning:round", code=code)
            except PlanningError as error:
                put_error(shared_form, error)
    fmt = request.GET.get("format")
    if fmt in ("xlsx", "pdf"):
        return exports.response(round_, None, fmt)
    if fmt:
        raise Http404()
    editable = {u.pk for u in units if access.can_edit_unit(request.user, u)}
    return render(
        request,
        "socialplanning/round.html",
        {
            "round": round_,
            "board": planning.board(round_),
            "table": planning.needs_table(round_),
            "shared": [(s, planning.shared_quotas(s)) for s in _shared(round_)],
            "shared_form": shared_form,
            "editable": editable,
            "coordinator": coordinator,
            "may_edit_norms": access.can_edit_norms(request.user, round_.norms),
            "assumptions": json.dumps(round_.assumptions, ensure_ascii=False),
        },
    )


def _shared(round_):
    return SharedService.objects.filter(round=round_).select_related("service_type", "host", "agreement")


def proposal(request, code, unit):
    round_ = _round(request, code)
    unit = get_object_or_404(Unit, code=unit)
    if unit.pk not in {u.pk for u in planning.members(round_)}:
        raise Http404()
    editable = access.can_edit_unit(request.user, unit)
    require(editable or access.can_coordinate(request.user, round_))
    item = Proposal.objects.filter(round=round_, unit=unit).select_related("consultation").first()
    forms = {
        "line": LineForm(prefix="line"),
        "consult": ConsultationForm(prefix="consult"),
        "sent": SentForm(prefix="sent"),
    }
    if request.method == "POST":
        require(editable)
        action = request.POST.get("action")
        if action not in forms:
            raise Http404()
        form = {"line": LineForm, "consult": ConsultationForm, "sent": SentForm}[action](request.POST, prefix=action)
        forms[action] = form
        if form.is_valid():
            data = form.cleaned_data
            try:
                item = item or services.proposal_for(request.user, round_, unit)
                if action == "line":
                    services.save_line(
                        request.user,
                        ProposalLine(
                            proposal=item,
                            service_type=data["service_type"],
                            places=data["places"],
                            funding=data["funding"],
                            note=data["note"],
                        ),
                    )
                elif action == "consult":
                    services.open_consultation(request.user, item, data["opens"], data["summary"])
                else:
                    services.mark_sent(request.user, item, data["sent_on"])
                return redirect("socialplanning:proposal", code=code, unit=unit.code)
            except PlanningError as error:
                put_error(form, error)
    fmt = request.GET.get("format")
    if fmt in ("xlsx", "pdf"):
        return exports.response(round_, unit, fmt)
    if fmt:
        raise Http404()
    table = planning.needs_table(round_, [unit])
    return render(
        request,
        "socialplanning/proposal.html",
        {
            "round": round_,
            "unit": unit,
            "proposal": item,
            "lines": item.lines.select_related("service_type") if item else [],
            "table": table,
            "check": planning.proposal_check(round_, unit, table),
            "forms": forms if editable else None,
        },
    )


def accessibility(request, code):
    """The accessibility map and table. The round's coordinator uploads (or removes) a
    travel-time matrix for the chosen service type; when one is stored it is used, and the
    page says so."""
    from .models import TravelMatrix

    round_ = _round(request, code)
    coordinator = access.can_coordinate(request.user, round_)
    type_ids = round_.norms.norms.values("service_type_id")
    form = AccessForm(request.GET or None, types=ServiceType.objects.filter(pk__in=type_ids))
    matrix_form = MatrixForm(prefix="matrix")
    result, error, stored = None, None, None
    if form.is_valid():
        data = form.cleaned_data
        if request.method == "POST":
            require(coordinator)
            action = request.POST.get("action")
            if action == "remove":
                found = TravelMatrix.objects.filter(round=round_, service_type=data["service_type"]).first()
                if found is not None:
                    services.delete_matrix(request.user, found)
                    messages.success(request, _("The travel-time matrix was removed; distances are straight lines."))
                return redirect(request.get_full_path())
            if action != "upload":
                raise Http404()
            matrix_form = MatrixForm(request.POST, request.FILES, prefix="matrix")
            if matrix_form.is_valid():
                upload = matrix_form.cleaned_data["matrix"]
                try:
                    saved = services.save_matrix(
                        request.user, round_, data["service_type"], upload.read(services.FILE_LIMIT + 1), upload.name
                    )
                    count = saved.times.count()
                    messages.success(
                        request,
                        ngettext(
                            "The travel-time matrix was stored (%(count)s travel time).",
                            "The travel-time matrix was stored (%(count)s travel times).",
                            count,
                        )
                        % {"count": format_number(count, 0)},
                    )
                    return redirect(request.get_full_path())
                except PlanningError as failure:
                    put_error(matrix_form, failure)
        elif request.method != "GET":
            raise Http404()
        try:
            result = planning.accessibility(round_, data["service_type"], data["method"], data["size"])
        except CatchmentError as failure:
            error = str(failure)
        if result is not None and request.GET.get("format") == "geojson":
            return JsonResponse(exports.access_geojson(result))
        stored = TravelMatrix.objects.filter(round=round_, service_type=data["service_type"]).first()
    rows = []
    if result is not None:
        rows = sorted(zip(result.settlements, result.access, strict=True), key=lambda r: (r[1], r[0].name))
    return render(
        request,
        "socialplanning/accessibility.html",
        {
            "round": round_,
            "form": form,
            "matrix_form": matrix_form if coordinator else None,
            "stored": stored,
            "stored_count": stored.times.count() if stored else 0,
            "result": result,
            "rows": rows,
            "points": list(zip(result.services, result.ratio, result.unreached, strict=True)) if result else [],
            "error": error,
            "query": request.GET.urlencode(),
        },
    )


@require_POST
@login_required
def quotas(request, code, pk):
    round_ = _round(request, code)
    require(access.can_coordinate(request.user, round_))
    shared = get_object_or_404(SharedService, pk=pk, round=round_)
    values = {}
    try:
        for party in shared.agreement.parties.select_related("unit"):
            text = request.POST.get(f"q-{party.unit.code}", "").strip()
            if text:
                values[party.unit.code] = int(text)
        services.set_quotas(request.user, shared, values)
        messages.success(request, _("The quotas were saved."))
    except ValueError as error:
        messages.error(request, getattr(error, "message", _("Quotas are whole numbers of places, not negative.")))
    return redirect("socialplanning:round", code=code)
