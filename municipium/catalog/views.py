"""The catalogue: service areas, their variables and indicators, and editing an indicator with
a live preview of its formula on real data."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from municipium.accounts import access
from municipium.audit.models import record, snapshot
from municipium.benchmarks import engine, read
from municipium.benchmarks.models import Basis
from municipium.lib.formulas import FormulaError, parse
from municipium.lib.formulas.readable import readable_html
from municipium.lib.signals import everything_may_have_changed
from municipium.observations.models import Observation, Period
from municipium.places.models import Group, Membership, member_in_own_period

from .forms import IndicatorForm, adapted_prefix, formula_context
from .models import Indicator, ServiceArea, Variable

PREVIEW_UNITS = 10


def catalogue_names() -> dict[str, str]:
    """Variable and indicator names in the reader's language, by code, for readable formulas."""
    names = {v.code: v.label for v in Variable.objects.only("code", "name")}
    names.update({i.code: i.label for i in Indicator.objects.only("code", "name")})
    return names


def readable(text: str, names=None, href=None):
    """A formula as people read it (names, × ÷ −), or the text itself when it does not parse."""
    try:
        return readable_html(parse(text), names or {}, href=href)
    except FormulaError:
        return text


def coordinated_groups(user):
    """Groups whose indicator sets the user manages (every group for an administrator)."""
    if access.is_admin(user):
        return Group.objects.all()
    if not user.is_authenticated:
        return Group.objects.none()
    return Group.objects.filter(roles__user=user, roles__kind="coordinator").distinct()


def owner_group(indicator: Indicator) -> Group | None:
    """The group an adapted indicator belongs to (its code starts with `<group>__`)."""
    if "__" not in indicator.code:
        return None
    for group in Group.objects.all():
        if indicator.code.startswith(adapted_prefix(group)):
            return group
    return None


def may_edit(user, indicator: Indicator) -> bool:
    """Administrators own the catalogue; a coordinator edits the indicators adapted for a
    group they coordinate (a starter definition is shared by every group, so they adapt it
    first, from the group workspace)."""
    if access.is_admin(user):
        return True
    if not access.can_edit_catalogue(user):
        return False
    owner = owner_group(indicator)
    return owner is not None and access.can_coordinate(user, owner)


def catalogue(request):
    areas = ServiceArea.objects.annotate(
        variable_count=Count("variables", distinct=True), indicator_count=Count("indicators", distinct=True)
    )
    return render(request, "catalog/catalogue.html", {"areas": areas})


def area(request, code):
    service_area = get_object_or_404(ServiceArea, code=code)
    indicators = list(service_area.indicators.all())
    variables = list(service_area.variables.select_related("breakdown"))
    editor = access.can_edit_catalogue(request.user)
    names = catalogue_names()
    anchors = {v.code: f"#variable-{v.code}" for v in variables} | {i.code: f"#indicator-{i.code}" for i in indicators}
    for indicator in indicators:
        indicator.readable = readable(indicator.formula, names, anchors.get)
        indicator.editable = editor and may_edit(request.user, indicator)
    return render(
        request, "catalog/area.html", {"area": service_area, "variables": variables, "indicators": indicators}
    )


def _editable(request, code) -> Indicator:
    indicator = get_object_or_404(Indicator.objects.select_related("service_area"), code=code)
    access.require(may_edit(request.user, indicator))
    return indicator


def _preview_groups(user, indicator):
    """Groups whose data the preview may show: those the user is inside (all for an
    administrator); the indicator's own group first."""
    groups = [
        g
        for g in Group.objects.filter(memberships__isnull=False).distinct().order_by("code")
        if access.inside_group(user, g)
    ]
    owner = owner_group(indicator)
    in_sets = set(indicator.sets.values_list("group_id", flat=True))
    groups.sort(key=lambda g: (not (owner and g.pk == owner.pk), g.pk not in in_sets, g.code))
    return groups


def _members(group, period):
    """Memberships in force in the period (Membership.objects.during: the one rule)."""
    return Membership.objects.filter(group=group).in_period(period).select_related("unit")


def preview(indicator: Indicator, text: str, group: Group | None, user) -> dict:
    """What the formula `text` gives for a few members of `group` in the latest period that
    has their data, computed by the engine itself, next to the stored values."""
    result = {"text": text, "group": group, "rows": [], "error": None, "period": None}
    try:
        ctx = formula_context(indicator, text)
    except FormulaError as error:
        result["error"] = error
        if error.position is not None:
            # The formula with the offending place marked, for people who cannot count columns.
            at = min(error.position, len(text))
            result["marked"] = (text[:at], text[at : at + 1] or " ", text[at + 1 :])
        return result
    if group is None:
        return result
    names = ctx.expanded(indicator.code).names
    public = not access.sees_unpublished(user, group=group)
    observed = Observation.objects.filter(
        member_in_own_period([group.pk]), variable__code__in=names, period__kind=indicator.period_kind
    )
    if public:
        observed = observed.filter(status="published")
    period = Period.objects.filter(pk__in=observed.values("period_id")).order_by("-ordinal").first()
    if period is None:
        return result
    result["period"] = period
    members = sorted({m.unit for m in _members(group, period)}, key=lambda u: u.code)[:PREVIEW_UNITS]
    frame = engine.compute_indicator(
        indicator.pk, [period], basis=Basis.PUBLISHED if public else Basis.ALL, context=ctx
    )
    computed = dict(zip(frame["unit_id"].to_list(), frame["value"].to_list(), strict=True))
    stored = {row.unit_id: row.value for row in read.values(indicator, period, group, public=public, with_units=False)}
    for unit in members:
        value, current = computed.get(unit.pk), stored.get(unit.pk)
        same = (value is None and current is None) or (
            value is not None and current is not None and abs(value - current) <= 1e-9 * max(1, abs(current))
        )
        result["rows"].append({"unit": unit, "value": value, "stored": current, "changed": not same})
    return result


def indicator_edit(request, code):
    indicator = _editable(request, code)
    groups = _preview_groups(request.user, indicator)
    if request.method == "POST":
        form = IndicatorForm(request.POST, indicator=indicator)
        if form.is_valid():
            with transaction.atomic():
                before = snapshot(indicator)
                form.apply()
                indicator.save()
                record("update", indicator, actor=request.user, before=before, after=snapshot(indicator), via="form")
                everything_may_have_changed()
            messages.success(request, _("Saved. The indicator's values are being recomputed."))
            return redirect("catalogue-indicator-edit", indicator.code)
        text = request.POST.get("formula", indicator.formula)
    else:
        form = IndicatorForm(indicator=indicator)
        text = indicator.formula
    group = _chosen_group(request, groups)
    return render(
        request,
        "catalog/indicator_edit.html",
        {
            "indicator": indicator,
            "form": form,
            "groups": groups,
            "owner": owner_group(indicator),
            "preview": preview(indicator, text, group, request.user),
            "readable": readable(indicator.formula, catalogue_names()),
        },
    )


def _chosen_group(request, groups):
    wanted = request.POST.get("group") or request.GET.get("group")
    return next((g for g in groups if g.code == wanted), groups[0] if groups else None)


@require_POST
def indicator_preview(request, code):
    """The live preview (htmx): the typed formula's values, or where and why it does not parse."""
    indicator = _editable(request, code)
    groups = _preview_groups(request.user, indicator)
    result = preview(indicator, request.POST.get("formula", ""), _chosen_group(request, groups), request.user)
    return render(request, "catalog/_preview.html", {"indicator": indicator, "preview": result})
