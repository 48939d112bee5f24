"""The group workspace: members, the indicator set the group follows, which data exist and
where they come from (the data availability matrix), and how complete each member is.

Members and the set are public. The matrix and completeness read observations: insiders
(access.inside_group) see every observation and the coordinator's declarations, everyone
else only published observations. Changing the set is the coordinator's (404 for others).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from municipium.accounts import access
from municipium.audit.models import record, snapshot
from municipium.benchmarks import engine
from municipium.catalog import services
from municipium.catalog.forms import adapted_prefix
from municipium.catalog.models import Indicator, IndicatorSet, SetIndicator, Variable
from municipium.lib.formulas import FormulaError
from municipium.lib.signals import everything_may_have_changed
from municipium.observations.models import Missing, Observation, Period, Status

from .forms import AvailabilityForm
from .models import Availability, Group, Membership, member_in_own_period

# What a matrix cell can say. Confidential counts as not shared: the figure exists but the
# group may not see it.
AVAILABLE, NOT_COLLECTED, NOT_SHARED, NOT_APPLICABLE, UNKNOWN = (
    "available",
    "not_collected",
    "not_shared",
    "not_applicable",
    "unknown",
)
STATE_LABELS = {
    AVAILABLE: gettext_lazy("Available"),
    NOT_COLLECTED: gettext_lazy("Not collected"),
    NOT_SHARED: gettext_lazy("Not shared"),
    NOT_APPLICABLE: gettext_lazy("Not applicable"),
    UNKNOWN: gettext_lazy("No information"),
}
MISSING_STATE = {
    Missing.NOT_COLLECTED: NOT_COLLECTED,
    Missing.NOT_SHARED: NOT_SHARED,
    Missing.CONFIDENTIAL: NOT_SHARED,
    Missing.NOT_APPLICABLE: NOT_APPLICABLE,
}


@dataclass
class Cell:
    state: str
    source: str = ""
    note: str = ""
    declared: bool = False  # from an Availability declaration, not from observations
    reason: str = ""  # the missing code's own label where it says more than the state

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])


@dataclass
class MemberCompleteness:
    unit: object
    have: int
    total: int
    missing: list = field(default_factory=list)  # Variables with neither a value nor a missing code

    @property
    def percent(self) -> float | None:
        return 100 * self.have / self.total if self.total else None


def _group(code) -> Group:
    return get_object_or_404(Group, code=code)


# Members a page of the availability matrix shows: 50 members × 100 variables are 5,000
# cells; a group of 500 in one table was 6.5 MB of HTML and 3 s (issue 18).
MATRIX_MEMBERS = 50


def _members_in(group, period):
    """Units that are members during the period (membership and unit valid at some time in it)."""
    rows = Membership.objects.filter(group=group).select_related("unit").order_by("unit__code")
    if period is not None:
        rows = (
            rows.exclude(valid_from__gt=period.end)
            .exclude(valid_to__lt=period.start)
            .exclude(unit__valid_from__gt=period.end)
            .exclude(unit__valid_to__lt=period.start)
        )
    seen, units = set(), []
    for membership in rows:
        if membership.unit_id not in seen:
            seen.add(membership.unit_id)
            units.append(membership.unit)
    return units


def set_entries(group):
    return list(
        SetIndicator.objects.filter(indicator_set__group=group)
        .select_related("indicator", "indicator__service_area", "indicator_set")
        .order_by("indicator_set__code", "order", "indicator__code")
    )


def _read_names(entries, ctx: engine.Context) -> set[str]:
    """The codes of the variables the set entries' indicators read, through the indicators
    they reference (`ctx` expands each formula once, shared by callers with many sets)."""
    names: set[str] = set()
    for entry in entries:
        try:
            names |= ctx.expanded(entry.indicator.code).names
        except FormulaError:
            continue  # a broken formula reads nothing; the catalogue page shows why
    return names


def set_variables(entries) -> list[Variable]:
    """The variables the set's indicators read, through the indicators they reference."""
    if not entries:
        return []
    names = _read_names(entries, engine.Context())
    return list(Variable.objects.filter(code__in=names).select_related("service_area"))


def needed_variables(unit) -> list[Variable] | None:
    """The variables the indicator sets of the unit's groups read that members enter (a
    survey's figures left out): what its entry forms offer and what it owes. None when none
    of its groups has adopted a set; then every variable of the catalogue is open to it."""
    groups = set(Membership.objects.filter(unit=unit).values_list("group_id", flat=True))
    return needed_variables_of({unit.pk: groups})[unit.pk]


def needed_variables_of(groups_of: dict[int, set[int]]) -> dict[int, list[Variable] | None]:
    """`needed_variables` of many units at once, {unit id: variables or None}, from the ids
    of each unit's groups (all its memberships, of any time): the status board asks it of
    every member, and a query or four per member was most of its time at 500 members."""
    found: dict[int, list[Variable] | None] = dict.fromkeys(groups_of)
    every_group = set().union(*groups_of.values()) if groups_of else set()
    entries_of: dict[int, list] = defaultdict(list)
    for entry in SetIndicator.objects.filter(indicator_set__group_id__in=every_group).select_related(
        "indicator", "indicator_set"
    ):
        entries_of[entry.indicator_set.group_id].append(entry)
    if not entries_of:
        return found
    # One expansion of the formulas and one read of the variables for all units, then each
    # unit takes the variables of its own groups' sets (what set_variables gives it alone).
    ctx = engine.Context()
    names_of = {group_id: _read_names(entries, ctx) for group_id, entries in entries_of.items()}
    by_code = {
        v.code: v
        for v in Variable.objects.filter(code__in=set().union(*names_of.values())).select_related("service_area")
        if v.entered
    }
    for unit_id, groups in groups_of.items():
        mine = [group for group in groups if group in entries_of]
        if mine:
            names = set().union(*(names_of[group] for group in mine))
            found[unit_id] = [variable for code, variable in by_code.items() if code in names]
    return found


def _observations(units, variables, period, insider):
    rows = Observation.objects.filter(unit__in=units, variable__in=variables, period=period)
    if not insider:
        rows = rows.filter(status=Status.PUBLISHED)
    return rows.values_list("unit_id", "variable_id", "breakdown", "value", "missing", "source")


def availability_matrix(group, units, variables, period, insider):
    """{(unit_id, variable_id): Cell}: what observations say for the period where they exist,
    else the coordinator's declaration (insiders only), else "no information"."""
    found = defaultdict(list)
    if period is not None:
        for unit_id, variable_id, breakdown, value, missing, source in _observations(units, variables, period, insider):
            found[unit_id, variable_id].append((breakdown, value, missing, source))
    declared = {}
    if insider:
        declared = {
            (a.unit_id, a.variable_id): a
            for a in Availability.objects.filter(group=group, unit__in=units, variable__in=variables)
        }
    cells = {}
    for unit in units:
        for variable in variables:
            key = (unit.pk, variable.pk)
            rows = sorted(found.get(key, []), key=lambda r: r[0] != "")  # the total first
            valued = [r for r in rows if r[1] is not None]
            if valued:
                cells[key] = Cell(AVAILABLE, source=next((r[3] for r in valued if r[3]), ""))
            elif rows:
                code = rows[0][2]
                reason = Missing(code).label if code == Missing.CONFIDENTIAL else ""
                cells[key] = Cell(MISSING_STATE.get(code, NOT_COLLECTED), source=rows[0][3], reason=str(reason))
            elif key in declared:
                d = declared[key]
                cells[key] = Cell(d.status, source=d.source, note=d.note, declared=True)
            else:
                cells[key] = Cell(UNKNOWN)
    return cells, found


def reported_by(units, variables, period, insider) -> dict[int, int]:
    """{variable id: how many of the units have a figure of it in the period}: a value or an
    explicit missing code, as `completeness` counts them (published ones for outsiders). One
    grouped query, so that a page of the matrix still says how all the members stand."""
    if period is None or not units or not variables:
        return {}
    rows = Observation.objects.filter(unit__in=units, variable__in=variables, period=period)
    if not insider:
        rows = rows.filter(status=Status.PUBLISHED)
    return dict(
        rows.order_by()
        .values("variable_id")
        .annotate(n=Count("unit_id", distinct=True))
        .values_list("variable_id", "n")
    )


def completeness(units, variables, found) -> list[MemberCompleteness]:
    """Per member: how many of the set's variables have a value or an explicit missing code."""
    result = []
    for unit in units:
        missing = [v for v in variables if not found.get((unit.pk, v.pk))]
        result.append(MemberCompleteness(unit, len(variables) - len(missing), len(variables), missing))
    return result


def _periods(group, variables, insider):
    """Periods with any observation of the set's variables by the group's members, latest first."""
    kinds = {v.period_kind for v in variables} or {"year"}
    observed = Observation.objects.filter(
        member_in_own_period([group.pk]), variable__in=variables, period__kind__in=kinds
    )
    if not insider:
        observed = observed.filter(status=Status.PUBLISHED)
    # Each period asks whether any such observation exists, which stops at the first; the
    # distinct periods of every observation read a group's million (0.23 s at 500 members).
    # The public's check still walks a period whose figures are all drafts (0.2 s then).
    periods = list(
        Period.objects.filter(kind__in=kinds)
        .filter(Exists(observed.filter(period=OuterRef("pk"))))
        .order_by("-ordinal")
    )
    if not periods:
        periods = list(Period.objects.filter(kind__in=kinds).order_by("-ordinal")[:1])
    return periods


def adoptable_indicators(group, entries):
    """Indicators the group may adopt: the catalogue's, not yet in the set, and not another
    group's adapted copies."""
    taken = {entry.indicator_id for entry in entries}
    own = adapted_prefix(group)
    rows = (
        Indicator.objects.exclude(pk__in=taken)
        .select_related("service_area")
        .order_by("service_area__order", "service_area__code", "order", "code")
    )
    by_area = defaultdict(list)
    for indicator in rows:
        if "__" in indicator.code and not indicator.code.startswith(own):
            continue
        by_area[indicator.service_area].append(indicator)
    return list(by_area.items())


def group_workspace(request, code):
    group = _group(code)
    user = request.user
    insider = access.inside_group(user, group)
    coordinator = access.can_coordinate(user, group)
    entries = set_entries(group)
    variables = sorted(
        set_variables(entries), key=lambda v: (v.service_area.order, v.service_area.code, v.order, v.code)
    )
    periods = _periods(group, variables, insider)
    period = next((p for p in periods if p.code == request.GET.get("period")), periods[0] if periods else None)
    members = _members_in(group, period)
    # The matrix and the completeness show one page of members; each variable's row says how
    # many of all the members reported it.
    page = Paginator(members, MATRIX_MEMBERS).get_page(request.GET.get("members"))
    units = list(page.object_list)
    cells, found = availability_matrix(group, units, variables, period, insider)
    reported = reported_by(members, variables, period, insider)
    matrix = [
        {"variable": v, "cells": [cells[u.pk, v.pk] for u in units], "reported": reported.get(v.pk, 0)}
        for v in variables
    ]
    context = {
        "group": group,
        "insider": insider,
        "coordinator": coordinator,
        "memberships": Membership.objects.filter(group=group)
        .select_related("unit")
        .order_by("unit__code", "valid_from"),
        "sets": IndicatorSet.objects.filter(group=group).order_by("code"),
        "entries": entries,
        "own_prefix": adapted_prefix(group),
        "variables": variables,
        "units": units,
        "members_page": page,
        "member_count": len(members),
        "matrix": matrix,
        "periods": periods,
        "period": period,
        # What members owe: a survey's published figures are nobody's to enter.
        "completeness": completeness(units, [v for v in variables if v.entered], found) if variables else [],
    }
    if coordinator:
        context["adoptable"] = adoptable_indicators(group, entries)
        context["availability_form"] = AvailabilityForm(
            units=group.units.all().distinct().order_by("code"),
            variables=Variable.objects.filter(pk__in=[v.pk for v in variables]),
        )
    return render(request, "places/group.html", context)


# -- the coordinator's changes ---------------------------------------------------------------------


def _coordinated(request, code) -> Group:
    group = _group(code)
    access.require(access.can_coordinate(request.user, group))
    return group


def _back(group):
    return redirect("group", group.code)


@require_POST
def adopt(request, code):
    """Add a catalogue indicator to the group's set."""
    group = _coordinated(request, code)
    indicator = get_object_or_404(Indicator, code=request.POST.get("indicator", ""))
    if "__" in indicator.code and not indicator.code.startswith(adapted_prefix(group)):
        access.require(False)  # another group's own indicator
    if not services.adopt(group, [indicator], actor=request.user):
        messages.info(request, _("%(indicator)s is already in the set.") % {"indicator": indicator.label})
        return _back(group)
    messages.success(request, _("%(indicator)s was added to the set.") % {"indicator": indicator.label})
    return _back(group)


def _entry(request, group) -> SetIndicator:
    return get_object_or_404(
        SetIndicator.objects.select_related("indicator", "indicator_set"),
        indicator_set__group=group,
        indicator__code=request.POST.get("indicator", ""),
    )


@require_POST
def remove(request, code):
    """Take an indicator out of the group's set (the indicator itself stays in the catalogue)."""
    group = _coordinated(request, code)
    entry = _entry(request, group)
    with transaction.atomic():
        record(
            "delete",
            entry,
            actor=request.user,
            before=snapshot(entry),
            via="form",
            object_repr=f"{entry.indicator_set.code}: {entry.indicator.code}",
        )
        entry.delete()
        everything_may_have_changed()
    messages.success(request, _("%(indicator)s was removed from the set.") % {"indicator": entry.indicator.label})
    return _back(group)


COPIED_FIELDS = (
    "service_area",
    "name",
    "definition",
    "formula",
    "unit_of_measure",
    "dimension",
    "polarity",
    "period_kind",
    "decimals",
    "target",
    "thresholds",
    "order",
)


@require_POST
def adapt(request, code):
    """Make the group its own copy of an indicator in its set (code `<group>__<code>`), put
    the copy in the set in the original's place, and open it for editing."""
    group = _coordinated(request, code)
    entry = _entry(request, group)
    original = entry.indicator
    prefix = adapted_prefix(group)
    if original.code.startswith(prefix):
        return redirect("catalogue-indicator-edit", original.code)
    new_code = prefix + original.code
    if len(new_code) > Indicator._meta.get_field("code").max_length:
        messages.error(request, _("The code %(code)s would be too long for an adapted indicator.") % {"code": new_code})
        return _back(group)
    with transaction.atomic():
        copy = Indicator.objects.filter(code=new_code).first()
        if copy is None:
            copy = Indicator.objects.create(code=new_code, **{f: getattr(original, f) for f in COPIED_FIELDS})
            record(
                "create",
                copy,
                actor=request.user,
                after=snapshot(copy),
                via="form",
                note=f"adapted from {original.code}",
            )
        before = snapshot(entry)
        if entry.indicator_set.entries.filter(indicator=copy).exists():
            entry.delete()
            record("delete", entry, actor=request.user, before=before, via="form")
        else:
            entry.indicator = copy
            entry.save(update_fields=["indicator"])
            record(
                "update",
                entry,
                actor=request.user,
                before=before,
                after=snapshot(entry),
                via="form",
                object_repr=f"{entry.indicator_set.code}: {copy.code}",
            )
        everything_may_have_changed()
    messages.success(
        request, _("The set now follows %(code)s, the group's own version; edit it below.") % {"code": copy.code}
    )
    return redirect("catalogue-indicator-edit", copy.code)


@require_POST
def declare_availability(request, code):
    """Record whether a member can deliver a variable, and from where, before the data come."""
    group = _coordinated(request, code)
    entries = set_entries(group)
    form = AvailabilityForm(
        request.POST,
        units=group.units.all().distinct(),
        variables=Variable.objects.filter(pk__in=[v.pk for v in set_variables(entries)]),
    )
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return _back(group)
    data = form.cleaned_data
    with transaction.atomic():
        found = (
            Availability.objects.select_for_update()
            .filter(group=group, unit=data["unit"], variable=data["variable"])
            .first()
        )
        before = snapshot(found) if found else None
        declaration = found or Availability(group=group, unit=data["unit"], variable=data["variable"])
        declaration.status, declaration.source, declaration.note = data["status"], data["source"], data["note"]
        declaration.updated_by = request.user
        declaration.save()
        # Declarations move no derived figure, so no recompute follows.
        record(
            "update" if found else "create",
            declaration,
            actor=request.user,
            before=before,
            after=snapshot(declaration),
            via="form",
        )
    messages.success(
        request,
        _("Availability of %(variable)s for %(unit)s recorded.")
        % {"variable": data["variable"].label, "unit": data["unit"].label},
    )
    return _back(group)
