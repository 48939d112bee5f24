"""The audit trail, for administrators (every event) and coordinators (the events that wrote
observations of their groups' member units), and one observation's revision history with
restore. Everyone else gets 404."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from municipium.accounts import access
from municipium.accounts.models import Role
from municipium.lib.numbers import format_number, localise_digits, separator
from municipium.lib.texts import pick
from municipium.observations import history, workflow
from municipium.observations.models import BatchUnit, ImportBatch, Observation, Revision, Via

from .models import AuditEvent

PER_PAGE = 50


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(label=gettext_lazy("Record type"), required=False)
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    actor = forms.CharField(label=gettext_lazy("User name"), required=False, max_length=150)
    via = forms.ChoiceField(label=gettext_lazy("Through"), required=False)
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, events, **kwargs):
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        self.fields["model"].choices = every + [(m, m) for m in _distinct(events, "model")]
        self.fields["action"].choices = every + [(a, a) for a in _distinct(events, "action")]
        vias = dict(Via.choices)
        self.fields["via"].choices = every + [(v, vias.get(v, v)) for v in _distinct(events, "via") if v]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"

    def apply(self, events):
        if not self.is_valid():
            return events.none()
        data = self.cleaned_data
        for name in ("model", "action", "via"):
            if data[name]:
                events = events.filter(**{name: data[name]})
        if data["actor"]:
            events = events.filter(actor__username__iexact=data["actor"].strip())
        zone = timezone.get_current_timezone()
        if data["since"]:
            events = events.filter(at__gte=dt.datetime.combine(data["since"], dt.time.min, zone))
        if data["until"]:
            events = events.filter(at__lt=dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time.min, zone))
        return events


def _distinct(events, name) -> list[str]:
    return sorted(events.order_by().values_list(name, flat=True).distinct())


def visible_events(user):
    """The events the user may read, or None when they may read none (→ 404)."""
    if access.is_admin(user):
        return AuditEvent.objects.all()
    if not Role.objects.filter(user=user, kind=Role.Kind.COORDINATOR).exists():
        return None
    units = access.reached_units(user, {Role.Kind.COORDINATOR})
    # The batches that wrote figures of these units, as each write recorded them (BatchUnit),
    # not found from the revisions: that read every revision of every batch (11 s for a
    # coordinator of 500 units behind five imports of a million figures, issue 18).
    return AuditEvent.objects.filter(batch_id__in=BatchUnit.objects.filter(unit_id__in=units).values("batch_id"))


@login_required
def audit_log(request):
    events = visible_events(request.user)
    access.require(events is not None)
    form = AuditFilterForm(request.GET or None, events=events)
    if form.is_bound:
        events = form.apply(events)
    page = Paginator(events.select_related("actor", "batch"), PER_PAGE).get_page(request.GET.get("page"))
    figures = _figures({event.batch for event in page if event.batch_id})
    vias = dict(Via.choices)
    for event in page:
        event.figures = figures.get(event.batch_id, [])
        event.changes = _changed_fields(event.before, event.after)
        event.via_label = vias.get(event.via, event.via)
    return render(request, "audit/log.html", {"form": form, "page": page})


FIGURES_SHOWN = 10  # per event; the rest are counted


def _figures(batches: set[ImportBatch]) -> dict[int, list[str]]:
    """For each batch, its figures in words: "unit · variable · period: old → new" (a new
    figure has no old value; the parts kept apart by numbers.separator, the Persian comma in
    Persian), FIGURES_SHOWN of them and a count of the rest.

    A batch's figures are read FIGURES_SHOWN at a time (`history.written_by`) and the rest
    counted from the batch's own record of what it created and changed:
    a country's import writes millions, and reading and sorting all of them made the trail
    take 338 s with two imports of a million rows (issue 18). The batches are the page's
    events' own (read with them)."""
    if not batches:
        return {}
    found: dict[int, list] = {}
    extra: dict[int, int] = {}
    for batch in sorted(batches, key=lambda b: b.pk):
        shown = history.written_by(batch, FIGURES_SHOWN)
        if not shown:
            continue
        found[batch.pk] = sorted(
            shown,
            key=lambda r: (r.observation.unit.code, r.observation.variable.code, r.observation.period.code, r.version),
        )
        extra[batch.pk] = max(0, batch.created + batch.updated - len(shown))
    wanted = {(r.observation_id, r.version - 1) for shown in found.values() for r in shown if r.version > 1}
    before = {}
    if wanted:
        for old in Revision.objects.filter(
            observation_id__in={o for o, _v in wanted}, version__in={v for _o, v in wanted}
        ):
            before[(old.observation_id, old.version)] = old
    texts: dict[int, list[str]] = {}
    for batch_id, shown in found.items():
        lines = []
        for revision in shown:
            o = revision.observation
            old = before.get((revision.observation_id, revision.version - 1))
            where = separator().join(
                (
                    pick(o.unit.name).text or o.unit.code,
                    pick(o.variable.name).text or o.variable.code,
                    localise_digits(o.period.code),
                )
            )
            new_text = _figure(revision)
            if old is None:
                lines.append(_("%(figure)s: %(new)s (new)") % {"figure": where, "new": new_text})
            else:
                lines.append(f"{where}: {_figure(old)} → {new_text}")
        if extra.get(batch_id):
            count = extra[batch_id]
            lines.append(
                ngettext("and %(count)s more figure", "and %(count)s more figures", count)
                % {"count": format_number(count, 0)}
            )
        texts[batch_id] = lines
    return texts


def _figure(revision: Revision) -> str:
    if revision.missing:
        return str(revision.get_missing_display())
    return format_number(revision.value, _decimals(revision.value)) if revision.value is not None else "–"


def _plain(value) -> str:
    """A recorded value in words: a text by language in the reader's, a list joined."""
    if value is None or value == "":
        return "–"
    if isinstance(value, dict):
        picked = pick(value).text if all(isinstance(v, str) for v in value.values()) else ""
        return picked or "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        return format_number(value, _decimals(value))
    return str(value)


def _changed_fields(before, after) -> list[str]:
    """A record's change field by field ("name: old → new"), unchanged fields left out."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    lines = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key not in before:
            lines.append(f"{key}: {_plain(new)}")
        elif key not in after:
            lines.append(f"{key}: {_plain(old)} → –")
        else:
            lines.append(f"{key}: {_plain(old)} → {_plain(new)}")
    return lines


def _observation(request, pk) -> Observation:
    observation = get_object_or_404(Observation.objects.select_related("unit", "variable", "period"), pk=pk)
    unit = observation.unit
    access.require(access.may_enter_or_approve(request.user, unit))
    return observation


def _decimals(value) -> int:
    """As many decimals as the stored figure has (a raw observation is shown exactly)."""
    if value is None or float(value).is_integer():
        return 0
    return min(len(repr(float(value)).split(".")[1].rstrip("0")), 6)


def _changes(before: Revision | None, after: Revision) -> list[str]:
    """What a revision changed from the one before it, in words (issue 19: two history rows
    that looked the same differed in a comment nobody could see)."""
    if before is None:
        return [_("first version")]
    fields = (
        (("value", "missing"), _("value")),
        (("status",), _("status")),
        (("source",), _("source")),
        (("comment",), _("comment")),
    )
    return [label for names, label in fields if any(getattr(before, n) != getattr(after, n) for n in names)]


@login_required
def observation_history(request, pk):
    observation = _observation(request, pk)
    revisions = history.versions(observation)
    for revision, before in zip(revisions, [*revisions[1:], None], strict=True):
        revision.decimals = _decimals(revision.value)
        revision.changes = _changes(before, revision)
    return render(
        request,
        "audit/observation.html",
        {
            "observation": observation,
            "revisions": revisions,
            "may_restore": workflow.may_restore(request.user, observation),
        },
    )


@login_required
@require_POST
def restore(request, pk):
    observation = _observation(request, pk)
    revision = get_object_or_404(Revision, pk=request.POST.get("revision") or 0, observation=observation)
    try:
        expected = int(request.POST.get("version", ""))
    except ValueError:
        expected = None
    try:
        result = workflow.restore(request.user, observation, revision, expected_version=expected)
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
        return redirect("audit-observation", observation.pk)
    if result.updated:
        messages.success(request, _("Version %(version)s restored.") % {"version": revision.version})
    else:
        messages.info(request, _("Nothing changed: the figure already has these values."))
    return redirect("audit-observation", observation.pk)
