"""Cooperation pages. Thin: find, ask `cooperation.access` (404 to outsiders), check the
form, call a service, render. Cost splits come from `sharing.allocate` only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from municipium.accounts import access as accounts_access
from municipium.benchmarks import read
from municipium.lib import numbers
from municipium.lib.allocation import AllocationError
from municipium.places.models import Unit

from . import access, services, sharing
from .forms import (
    AgreementForm,
    DocumentForm,
    DriversForm,
    FacilityForm,
    ObligationForm,
    ParticipantForm,
    PartyForm,
    ReportForm,
    ScenarioForm,
    ZoneForm,
    coordinated,
    put_error,
)
from .models import DRIVERS, Agreement, Document, Facility, Obligation, Participant, Scenario
from .services import CooperationError

require = accounts_access.require


def _agreement(request, code) -> Agreement:
    agreement = get_object_or_404(Agreement.objects.select_related("group"), code=code)
    require(access.can_read(request.user, agreement))
    return agreement


def agreements(request):
    rows = [
        a
        for a in Agreement.objects.select_related("group").prefetch_related("parties__unit")
        if access.can_read(request.user, a)
    ]
    facilities = [f for f in Facility.objects.select_related("group") if access.can_read_facility(request.user, f)]
    may_found = request.user.is_authenticated and (
        coordinated(request.user).exists() or accounts_access.review_units(request.user).exists()
    )
    return render(
        request,
        "cooperation/agreements.html",
        {
            "rows": rows,
            "facilities": facilities,
            "may_found": may_found,
            "may_facility": request.user.is_authenticated and coordinated(request.user).exists(),
        },
    )


@login_required
def agreement_edit(request, code=None):
    agreement = get_object_or_404(Agreement, code=code) if code else None
    if agreement is not None:
        require(access.can_coordinate(request.user, agreement))
    else:
        require(coordinated(request.user).exists() or accounts_access.review_units(request.user).exists())
    form = AgreementForm(request.POST or None, instance=agreement, user=request.user)
    if request.method == "POST" and form.is_valid():
        item = form.save(commit=False)
        try:
            services.save_agreement(
                request.user, item, form.cleaned_data["service_areas"], form.cleaned_data["indicators"]
            )
        except CooperationError as error:
            put_error(form, error)
        else:
            messages.success(request, _("The agreement was saved."))
            return redirect("cooperation:agreement", code=item.code)
    return render(request, "cooperation/agreement_form.html", {"form": form, "agreement": agreement})


def _indicator_rows(agreement: Agreement, user) -> list[dict]:
    """Each indicator the agreement should move, for every party, with the group's median."""
    rows = []
    parties = list(agreement.parties.select_related("unit"))
    for indicator in agreement.indicators.all():
        values = []
        latest = None
        for party in parties:
            public = not accounts_access.sees_unpublished(user, unit=party.unit)
            series = read.series(indicator, party.unit, public=public)
            last = series[-1] if series else None
            values.append(
                {"party": party, "value": last.value if last else None, "period": last.period.code if last else ""}
            )
            if last and (latest is None or last.period.ordinal > latest.ordinal):
                latest = last.period
        median = None
        if agreement.group_id and latest is not None:
            stat = read.statistic(indicator, latest, agreement.group, public=True)
            median = stat.median if stat else None
        rows.append({"indicator": indicator, "values": values, "median": median, "period": latest})
    return rows


def agreement(request, code):
    agreement = _agreement(request, code)
    user = request.user
    coordinator = access.can_coordinate(user, agreement)
    forms = (
        {
            "party": PartyForm(prefix="party"),
            "obligation": ObligationForm(prefix="obligation", agreement=agreement),
            "document": DocumentForm(prefix="document"),
        }
        if coordinator
        else {}
    )
    if request.method == "POST":
        require(coordinator)
        action = request.POST.get("action")
        try:
            if action == "party":
                form = forms["party"] = PartyForm(request.POST, prefix="party")
                if form.is_valid():
                    party = form.save(commit=False)
                    party.agreement = agreement
                    services.save_party(user, party)
                    messages.success(request, _("%(unit)s was added as a party.") % {"unit": party.unit.label})
                    return redirect("cooperation:agreement", code=code)
            elif action == "obligation":
                form = forms["obligation"] = ObligationForm(request.POST, prefix="obligation", agreement=agreement)
                if form.is_valid():
                    obligation = form.save(commit=False)
                    obligation.agreement = agreement
                    services.save_obligation(user, obligation)
                    messages.success(request, _("The obligation was recorded."))
                    return redirect("cooperation:agreement", code=code)
            elif action == "document":
                form = forms["document"] = DocumentForm(request.POST, request.FILES, prefix="document")
                if form.is_valid():
                    upload = form.cleaned_data["file"]
                    from municipium.meetings.services import DOCUMENT_LIMIT

                    services.attach(user, agreement, upload.read(DOCUMENT_LIMIT + 1), upload.name)
                    messages.success(request, _("The document was attached."))
                    return redirect("cooperation:agreement", code=code)
        except CooperationError as error:
            if action in forms:
                put_error(
                    forms[action], error if error.field != "document" else CooperationError(error.message, "file")
                )
            else:
                messages.error(request, error.message)
    obligations = agreement.obligations.select_related("party__unit")
    return render(
        request,
        "cooperation/agreement.html",
        {
            "agreement": agreement,
            "coordinator": coordinator,
            "parties": agreement.parties.select_related("unit"),
            "obligations": obligations,
            "reportable": {o.pk for o in obligations if access.can_report(user, o)},
            "documents": agreement.documents.defer("data"),
            "indicator_rows": _indicator_rows(agreement, user),
            "facilities": [f for f in agreement.facilities.all() if access.can_read_facility(user, f)],
            "forms": forms,
            "status_choices": Obligation.Status.choices,
            "zones": services.zone_shares(agreement),
            "zone_map": zone_map(agreement),
            "zone_form": ZoneForm() if coordinator else None,
        },
    )


@require_POST
def obligation_report(request, pk):
    obligation = get_object_or_404(Obligation.objects.select_related("agreement", "party__unit"), pk=pk)
    require(access.can_read(request.user, obligation.agreement) and access.can_report(request.user, obligation))
    form = ReportForm(request.POST)
    try:
        if not form.is_valid():
            raise CooperationError(_("Choose a status from the list."))
        services.report_obligation(request.user, obligation, form.cleaned_data["status"], form.cleaned_data["evidence"])
        messages.success(request, _("The obligation was updated."))
    except CooperationError as error:
        messages.error(request, error.message)
    return redirect("cooperation:agreement", code=obligation.agreement.code)


def obligations(request):
    """The obligations board across agreements, by unit and state."""
    rows = [
        o
        for o in Obligation.objects.select_related("agreement", "party__unit").order_by("due", "pk")
        if access.can_read(request.user, o.agreement)
    ]
    unit_code = request.GET.get("unit", "")
    state = request.GET.get("state", "")
    if unit_code:
        rows = [o for o in rows if o.party.unit.code == unit_code]
    if state:
        rows = [o for o in rows if o.state == state]
    units = Unit.objects.filter(agreement_parties__isnull=False).distinct().order_by("code")
    states = [("", _("All")), ("overdue", _("Overdue")), *Obligation.Status.choices]
    return render(
        request,
        "cooperation/obligations.html",
        {"rows": rows, "units": units, "unit_code": unit_code, "state": state, "states": states},
    )


def document(request, pk):
    doc = get_object_or_404(Document.objects.select_related("agreement"), pk=pk)
    require(access.can_read(request.user, doc.agreement))
    response = HttpResponse(bytes(doc.data), content_type=doc.content_type)
    safe = "".join(c for c in doc.name if c.isalnum() or c in "._- ") or "document"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# -- facilities -------------------------------------------------------------------------------


def _facility(request, code) -> Facility:
    facility = get_object_or_404(Facility.objects.select_related("group", "agreement"), code=code)
    require(access.can_read_facility(request.user, facility))
    return facility


@login_required
def facility_edit(request, code=None):
    facility = get_object_or_404(Facility, code=code) if code else None
    if facility is not None:
        require(access.can_manage_facility(request.user, facility))
    else:
        require(coordinated(request.user).exists())
    form = FacilityForm(request.POST or None, instance=facility, user=request.user)
    if request.method == "POST" and form.is_valid():
        item = form.save(commit=False)
        item.coalition_costs = form.cleaned_data["coalition_text"]
        require(access.can_manage_facility(request.user, item))
        try:
            services.save_facility(request.user, item)
        except CooperationError as error:
            put_error(form, error)
        else:
            messages.success(request, _("The facility was saved."))
            return redirect("cooperation:facility", code=item.code)
    return render(request, "cooperation/facility_form.html", {"form": form, "facility": facility})


def facility(request, code):
    facility = _facility(request, code)
    user = request.user
    manager = access.can_manage_facility(user, facility)
    participant_form = ParticipantForm(prefix="participant", facility=facility) if manager else None
    scenario_form = ScenarioForm(prefix="scenario") if manager else None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "scenario":
            require(manager)
            scenario_form = ScenarioForm(request.POST, prefix="scenario", instance=Scenario(facility=facility))
            if scenario_form.is_valid():
                try:
                    services.save_scenario(user, scenario_form.save(commit=False))
                except CooperationError as error:
                    put_error(scenario_form, error)
                else:
                    messages.success(request, _("The scenario was saved."))
                    return redirect(f"{request.path}#scenarios-heading")
        elif action == "scenario-delete":
            require(manager)
            scenario = get_object_or_404(Scenario, pk=request.POST.get("scenario"), facility=facility)
            services.delete_scenario(user, scenario)
            messages.success(request, _("The scenario was removed."))
            return redirect(f"{request.path}#scenarios-heading")
        elif action == "participant":
            require(manager)
            participant_form = ParticipantForm(request.POST, prefix="participant", facility=facility)
            if participant_form.is_valid():
                unit = participant_form.cleaned_data["unit"]
                if not facility.participants.filter(unit=unit).exists():
                    services.save_participant(user, Participant(facility=facility, unit=unit))
                messages.success(request, _("%(unit)s takes part.") % {"unit": unit.label})
                return redirect("cooperation:facility", code=code)
        elif action == "drivers":
            participant = get_object_or_404(Participant, pk=request.POST.get("participant"), facility=facility)
            require(access.can_enter_drivers(user, participant))
            form = DriversForm(request.POST, prefix=f"p{participant.pk}", participant=participant)
            if form.is_valid():
                data = form.cleaned_data
                participant.drivers = {c: data[c] for c, _label in DRIVERS if data.get(c) is not None}
                participant.actual = {
                    c: data[f"actual_{c}"] for c, _label in DRIVERS if data.get(f"actual_{c}") is not None
                }
                try:
                    services.save_participant(user, participant)
                except CooperationError as error:
                    messages.error(request, error.message)
                else:
                    messages.success(
                        request, _("The figures of %(unit)s were saved.") % {"unit": participant.unit.label}
                    )
                    return redirect("cooperation:facility", code=code)
            else:
                messages.error(request, "; ".join(f"{form.fields[k].label}: {e[0]}" for k, e in form.errors.items()))
    comparison = sharing.compare(facility, request.GET.get("method", "two_part"))
    result = comparison.variants[0].allocation
    try:
        trueup = sharing.true_up(facility)
    except AllocationError:
        trueup = []
    driver_forms = [
        (p, DriversForm(prefix=f"p{p.pk}", participant=p))
        for p in result.participants
        if access.can_enter_drivers(user, p)
    ]
    return render(
        request,
        "cooperation/facility.html",
        {
            "facility": facility,
            "result": result,
            "manager": manager,
            "participant_form": participant_form,
            "scenario_form": scenario_form,
            "comparison": comparison,
            "methods": sharing.METHODS,
            "driver_forms": driver_forms,
            "trueup": trueup,
            "drivers": DRIVERS,
        },
    )


def package(request, code):
    """The council's decision package: the facility, its costs and the split by every method."""
    facility = _facility(request, code)
    comparison = sharing.compare(facility, request.GET.get("method", "two_part"))
    result = comparison.variants[0].allocation
    context = {
        "facility": facility,
        "result": result,
        "drivers": DRIVERS,
        "comparison": comparison,
        "comparison_label": dict(sharing.METHODS)[comparison.method],
    }
    fmt = request.GET.get("format")
    if fmt == "pdf":
        from municipium.lib.pdf import printed

        response = HttpResponse(printed("cooperation/print_package.html", context), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{facility.code}-cost-sharing.pdf"'
        return response
    if fmt == "xlsx":
        import polars as pl

        from municipium.lib.tabular import to_xlsx

        rows = []
        for method in result.methods:
            for share in method.shares:
                rows.append(
                    {
                        "method": method.label,
                        "participant": share.participant.unit.code,
                        "name": share.participant.unit.label,
                        "cost": share.cost,
                        "stand_alone": share.alone,
                        "saving": share.saving,
                    }
                )
        scenarios = [
            {
                "scenario": variant.scenario.name if variant.scenario else "",
                "method": method.label,
                "participant": share.participant.unit.code,
                "cost": share.cost,
            }
            for variant in comparison.variants
            for method in variant.allocation.methods
            for share in method.shares
        ]
        drivers = [
            {"participant": p.unit.code, **{c: result.drivers[p.pk][c][0] for c, _l in DRIVERS}}
            for p in result.participants
        ]
        data = to_xlsx(
            {
                "allocations": pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame({"method": []}),
                "drivers": pl.DataFrame(drivers, infer_schema_length=None)
                if drivers
                else pl.DataFrame({"participant": []}),
                "scenarios": pl.DataFrame(scenarios, infer_schema_length=None)
                if scenarios
                else pl.DataFrame({"scenario": []}),
            }
        )
        response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="{facility.code}-cost-sharing.xlsx"'
        return response
    if fmt:
        raise Http404()
    return render(request, "cooperation/package.html", context)


# -- protection zones and inventory -----------------------------------------------------------


@require_POST
def zone_add(request, code):
    import json

    from .forms import ZoneForm
    from .models import Zone

    agreement = _agreement(request, code)
    require(access.can_coordinate(request.user, agreement))
    form = ZoneForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{form.fields[k].label}: {e[0]}" for k, e in form.errors.items()))
        return redirect("cooperation:agreement", code=code)
    data = form.cleaned_data
    geojson = None
    if data["file"]:
        raw = data["file"].read(5 * 1024 * 1024 + 1)
        try:
            if len(raw) > 5 * 1024 * 1024:
                raise ValueError(_("The file is larger than 5 MB."))
            geojson = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            messages.error(request, _("The zone file is not GeoJSON in UTF-8: %(error)s") % {"error": error})
            return redirect("cooperation:agreement", code=code)
    try:
        services.save_zone(
            request.user,
            Zone(agreement=agreement, source=data["source"], level=data["level"], restrictions=data["restrictions"]),
            geojson=geojson,
            lon=data["lon"],
            lat=data["lat"],
            distance=data["distance"],
        )
    except CooperationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The zone was drawn."))
    return redirect("cooperation:agreement", code=code)


def zone_map(agreement) -> dict | None:
    """The SVG map of the parties' boundaries and the zones (no tile server)."""
    from shapely.geometry import shape

    from municipium.lib import zones as geo

    zones = list(agreement.zones.all())
    if not zones:
        return None
    layers = []
    for party in agreement.parties.select_related("unit"):
        if party.unit.boundary:
            layers.append(("map-unit", shape(party.unit.boundary)))
    for zone in sorted(zones, key=lambda z: z.level, reverse=True):
        layers.append((f"map-zone map-zone-{zone.level}", shape(zone.geometry)))
    view_box, paths = geo.svg_paths(layers)
    return {"view_box": view_box, "paths": paths}


def _group_for_inventory(request, code):
    from municipium.places.models import Group

    group = get_object_or_404(Group, code=code, kind=Group.Kind.COOPERATION)
    require(accounts_access.inside_group(request.user, group))
    return group


def inventory(request, code):
    from .forms import InventoryLineForm, InventoryUploadForm
    from .models import InventoryLine

    group = _group_for_inventory(request, code)
    user = request.user
    coordinator = accounts_access.can_coordinate(user, group)
    units = group.units.order_by("code")
    if not coordinator:
        units = units.filter(pk__in=accounts_access.entry_units(user).values("pk"))
    line_form = InventoryLineForm(prefix="line", group=group, units=units)
    upload_form = InventoryUploadForm(prefix="upload")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "line":
                line_form = InventoryLineForm(request.POST, prefix="line", group=group, units=units)
                if line_form.is_valid():
                    services.save_line(user, InventoryLine(group=group, **line_form.cleaned_data))
                    messages.success(request, _("The line was saved."))
                    return redirect("cooperation:inventory", code=code)
            elif action == "upload":
                require(coordinator)
                upload_form = InventoryUploadForm(request.POST, request.FILES, prefix="upload")
                if upload_form.is_valid():
                    upload = upload_form.cleaned_data["file"]
                    count = services.import_inventory(user, group, upload.read(5 * 1024 * 1024 + 1), upload.name)
                    messages.success(
                        request,
                        ngettext("%(count)s line was loaded.", "%(count)s lines were loaded.", count)
                        % {"count": numbers.format_number(count, 0)},
                    )
                    return redirect("cooperation:inventory", code=code)
        except CooperationError as error:
            form = upload_form if action == "upload" else line_form
            form.add_error("file" if action == "upload" else None, error.message)
    lines = InventoryLine.objects.filter(group=group).select_related("unit")
    fmt = request.GET.get("format")
    if fmt in ("csv", "template"):
        from municipium.lib.tabular import csv_bytes

        header = services.INVENTORY_COLUMNS + (["gap"] if fmt == "csv" else [])
        rows = [
            [line.unit.code, line.actor, line.category, line.theme, line.item, line.measure, line.have, line.need]
            + ([line.gap] if fmt == "csv" else [])
            for line in lines
        ]
        if fmt == "template" and not rows:
            rows = [[u.code, "", "staff", "", "", "FTE", 0, 0] for u in units]
        response = HttpResponse(csv_bytes([header, *rows], bom=True), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="inventory-{group.code}.csv"'
        return response
    if fmt:
        raise Http404()
    return render(
        request,
        "cooperation/inventory.html",
        {
            "group": group,
            "lines": lines,
            "gaps": services.gaps(group),
            "coordinator": coordinator,
            "line_form": line_form if units.exists() else None,
            "upload_form": upload_form if coordinator else None,
        },
    )
