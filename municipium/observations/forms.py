"""Forms of the data-entry and import pages.

The entry form has one field per variable of a service area (and per category when the
variable has a breakdown), so it is built from the catalogue at request time: `EntrySheet`
loads what is stored, reads what the officer posted, checks it with `rules` and turns it
into rows for `services.write_observations`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from municipium.accounts import access
from municipium.catalog.models import SURVEY_VARIABLE_PREFIX, Category, ServiceArea, Variable
from municipium.lib.texts import pick
from municipium.places.models import Membership, Unit

from . import rules as checks
from .models import Missing, Observation, Period, PeriodCodeError, Status, ValidationRule, parse_period
from .services import Row, locked


class EntryStartForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), label=_l("Unit"), to_field_name="code")
    period = forms.CharField(
        label=_l("Period"), max_length=16, help_text=_l("A year (2024), a quarter (2024Q1) or a month (2024-01)")
    )
    area = forms.ModelChoiceField(queryset=ServiceArea.objects.all(), label=_l("Service area"), to_field_name="code")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = access.review_units(user).order_by("code")
        self.fields["unit"].label_from_instance = lambda unit: f"{unit.label} ({unit.code})"
        self.fields["area"].label_from_instance = str

    def clean_period(self):
        try:
            return parse_period(self.cleaned_data["period"])[0]
        except PeriodCodeError as error:
            raise forms.ValidationError(str(error)) from error


class ImportForm(forms.Form):
    file = forms.FileField(allow_empty_file=True, label=_l("File (CSV or Excel, long format or a filled template)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _(
                    "The file is %(size)s MB, larger than the %(limit)s MB this installation accepts. Split it by year "
                    "or by service area, or ask the operator to raise the limit (the MAX_IMPORT_BYTES setting)."
                )
                % {"size": f"{upload.size / 1048576:.1f}", "limit": f"{settings.MAX_IMPORT_BYTES / 1048576:.1f}"}
            )
        return upload


class Previous(NamedTuple):
    """The previous period's figure of a slot: all a form shows and checks of it (the
    board reads tens of thousands; whole Observation rows were a third of its time)."""

    value: float | None
    missing: str


class Stored:
    """A slot's stored figure: the fields a form shows, checks and writes back, read as a
    tuple (`read`), not a model instance. The status board reads its 500 members' 50,000
    figures: building Observation objects of them took 0.5 s, the tuples 0.13 s (issue 18)."""

    __slots__ = ("pk", "variable_id", "breakdown", "value", "missing", "status", "source", "comment", "version")
    FIELDS = ("pk", "variable_id", "breakdown", "value", "missing", "status", "source", "comment", "version")

    def __init__(self, pk, variable_id, breakdown, value, missing, status, source, comment, version):
        self.pk, self.variable_id, self.breakdown = pk, variable_id, breakdown
        self.value, self.missing, self.status = value, missing, status
        self.source, self.comment, self.version = source, comment, version

    @classmethod
    def read(cls, query) -> Iterator[tuple[int, Stored]]:
        """(unit id, figure) for each observation of `query`."""
        for unit_id, *fields in query.values_list("unit_id", *cls.FIELDS):
            yield unit_id, cls(*fields)

    def get_status_display(self) -> str:
        return str(Status(self.status).label)

    def get_missing_display(self) -> str:
        return str(Missing(self.missing).label) if self.missing else ""


@dataclass
class Slot:
    """One field of the entry form: a variable (and category) for the unit and period."""

    index: int
    variable: Variable
    category: Category | None
    stored: Stored | None
    previous: Previous | None
    rules: list = field(default_factory=list)
    # What the officer posted (or what is stored, before anything was posted).
    text: str = ""
    missing: str = ""
    version: int = 0
    value: float | None = None
    findings: list = field(default_factory=list)
    conflict: str = ""
    # Who fills the form in: whether a stored figure is locked depends on them.
    user: object = None

    @property
    def key(self) -> str:
        return f"{self.variable.code}.{self.category.code if self.category else ''}"

    @property
    def code(self) -> tuple[str, str]:
        return self.variable.code, self.category.code if self.category else ""

    @property
    def locked(self) -> bool:
        """Submitted (or later) figures are not the officer's to change any more."""
        return self.stored is not None and locked(self.stored.status, self.user)

    @property
    def errors(self) -> list:
        return [f for f in self.findings if f.severity == checks.ERROR]

    @property
    def warnings(self) -> list:
        return [f for f in self.findings if f.severity != checks.ERROR]

    @property
    def has_content(self) -> bool:
        return self.value is not None or bool(self.missing)

    @property
    def previous_text(self) -> str:
        if self.previous is None:
            return ""
        if self.previous.missing:
            return str(Missing(self.previous.missing).label)
        return checks.show(self.previous.value)

    @property
    def stored_version(self) -> int:
        return self.stored.version if self.stored else 0


class SheetData:
    """What the entry sheets of some units read for one period and service area, each thing
    read once for all of them: the periods, the area's variables with their categories, the
    units' memberships and needed variables, the validation rules, the names of wholes, the
    stored and previous figures, and (when a consistency rule asks) the figures outside the
    area. The status board checks the stored figures of 500 members; read sheet by sheet
    that was 8 or more queries a member and most of the page's 12-20 s. The entry page reads
    its one sheet through the same code, so the board and the form cannot disagree."""

    def __init__(self, units, period_code: str, area: ServiceArea, language: str | None = None):
        from municipium.places.views import needed_variables_of

        self.units = list(units)
        self.area, self.language = area, language
        self.period_code, self.kind, self.ordinal, _start, _end = parse_period(period_code)
        self.period = Period.objects.filter(code=self.period_code).first()
        self.previous_period = Period.objects.filter(kind=self.kind, ordinal=self.ordinal - 1).first()
        ids = [unit.pk for unit in self.units]
        self.groups: dict[int, set[int]] = {pk: set() for pk in ids}
        for unit_id, group_id in Membership.objects.filter(unit__in=ids).values_list("unit_id", "group_id"):
            self.groups[unit_id].add(group_id)
        needed = needed_variables_of(self.groups)
        # The form follows the indicator sets of the unit's groups (issue 19): another
        # country's variables of the same service area are not this unit's to enter.
        self.needed = {pk: None if found is None else {v.pk for v in found} for pk, found in needed.items()}
        self.variables = list(
            Variable.objects.filter(service_area=area, period_kind=self.kind)
            .exclude(code__startswith=SURVEY_VARIABLE_PREFIX)
            .select_related("breakdown")
            .prefetch_related("breakdown__categories")
            .order_by("order", "code")
        )
        self.categories = {
            v.pk: list(v.breakdown.categories.all()) if v.breakdown_id else [None] for v in self.variables
        }
        pks = [v.pk for v in self.variables]
        self.stored: dict[int, dict] = {pk: {} for pk in ids}
        if self.period is not None and pks:
            for unit_id, o in Stored.read(
                Observation.objects.filter(unit__in=ids, period=self.period, variable__in=pks)
            ):
                self.stored[unit_id][(o.variable_id, o.breakdown)] = o
        self.before: dict[int, dict] = {pk: {} for pk in ids}
        if self.previous_period is not None and pks:
            for unit_id, variable_id, breakdown, value, missing in Observation.objects.filter(
                unit__in=ids, period=self.previous_period, variable__in=pks
            ).values_list("unit_id", "variable_id", "breakdown", "value", "missing"):
                self.before[unit_id][(variable_id, breakdown)] = Previous(value, missing)
        self.rules = list(
            ValidationRule.objects.filter(variable__in=pks, active=True).select_related("variable").order_by("pk")
        )
        # The checks every variable gets by default (issue 19), named in the reader's language.
        codes = {v.code for v in self.variables}
        wholes = {checks.PARTS[code] for code in codes if code in checks.PARTS} - codes
        self.names = {
            v.code: pick(v.name, language).text or v.code
            for v in [*self.variables, *(Variable.objects.filter(code__in=wholes) if wholes else [])]
        }
        self._defaults: dict[tuple[str, frozenset[str]], list] = {}
        self._parts: dict[int, SheetParts] = {}
        self._outside: dict[int, dict[int, dict]] = {}

    def parts(self, unit: Unit) -> SheetParts:
        """The unit's variables (those it needs, and any with a figure already stored, so
        nothing stored disappears from its form), each variable's rules (its groups' and the
        defaults) and the codes its consistency rules read outside the area."""
        if unit.pk in self._parts:
            return self._parts[unit.pk]
        needed, stored = self.needed[unit.pk], self.stored[unit.pk]
        stored_variables = {variable_id for variable_id, _breakdown in stored}
        variables = [v for v in self.variables if needed is None or v.pk in needed or v.pk in stored_variables]
        mine = {v.pk for v in variables}
        groups = self.groups[unit.pk]
        rules: dict[int, list] = {}
        for rule in self.rules:
            if rule.variable_id in mine and (rule.group_id is None or rule.group_id in groups):
                rules.setdefault(rule.variable_id, []).append(rule)
        for variable in variables:
            own = rules.setdefault(variable.pk, [])
            own += self._default_rules(variable.code, own)
        # Rules may read variables of other service areas: their stored figures count.
        read = checks.referenced_codes(rule for v in variables for rule in rules[v.pk] if rule.kind == "consistency")
        found = SheetParts(variables, rules, read - {v.code for v in variables})
        self._parts[unit.pk] = found
        return found

    def _default_rules(self, code: str, rules: list) -> list:
        # The same for every unit whose coordinators' rules of the variable are of the same
        # kinds (all `checks.default_rules` reads of them), built once instead of per member.
        key = (code, frozenset(rule.kind for rule in rules))
        if key not in self._defaults:
            self._defaults[key] = checks.default_rules(code, rules, self.names, self.language)
        return self._defaults[key]

    def outside(self, unit: Unit, period: Period) -> dict:
        """{(variable code, breakdown): value} of the unit in the period for the variables
        outside the area its consistency rules read; one query for all the units."""
        if period.pk not in self._outside:
            wanted = {u.pk: self.parts(u).outside for u in self.units}
            codes = set().union(*wanted.values())
            found: dict[int, dict] = {pk: {} for pk in wanted}
            if codes:
                for unit_id, code, breakdown, value in Observation.objects.filter(
                    unit__in=[pk for pk, mine in wanted.items() if mine], period=period, variable__code__in=codes
                ).values_list("unit_id", "variable__code", "breakdown", "value"):
                    if code in wanted[unit_id]:
                        found[unit_id][(code, breakdown)] = value
            self._outside[period.pk] = found
        return self._outside[period.pk].get(unit.pk, {})


class SheetParts(NamedTuple):
    """One unit's share of a SheetData (`SheetData.parts`)."""

    variables: list
    rules: dict
    outside: set


class EntrySheet:
    """The entry form of one unit, period and service area."""

    def __init__(
        self,
        unit: Unit,
        period_code: str,
        area: ServiceArea,
        language: str | None = None,
        user=None,
        data: SheetData | None = None,
        inputs: bool = True,
    ):
        """`data`: what the sheets of several units share, read once (`many`). Without
        `inputs` the slots' `text` (a stored figure as the form's input shows it) is left
        empty: the status board only checks the figures, and writing 50,000 numbers for
        its 500 members was 0.85 s of its 5.6 s under the profiler (issue 18)."""
        if data is None:
            data = SheetData([unit], period_code, area, language)
        elif language is not None and language != data.language:
            # The shared data hold the checks' names and messages in their language.
            raise ValueError(f"a sheet in {language!r} from sheet data read in {data.language!r}")
        self.data = data
        self.unit, self.area, self.language, self.user = unit, area, data.language, user
        self.period_code, self.kind, self.ordinal = data.period_code, data.kind, data.ordinal
        self.period = data.period
        self.previous_period = data.previous_period
        self.source = ""
        self.comment = ""
        self.inputs = inputs
        self.load()

    @classmethod
    def many(
        cls, units, period_code: str, area: ServiceArea, language: str | None = None, user=None, inputs: bool = True
    ) -> list:
        """The sheets of many units for one period and area, in the order of `units`, with a
        fixed number of queries whatever their number (the status board's)."""
        data = SheetData(units, period_code, area, language)
        return [cls(unit, period_code, area, language, user, data=data, inputs=inputs) for unit in data.units]

    def load(self) -> None:
        parts = self.data.parts(self.unit)
        self.variables = parts.variables
        stored, before = self.data.stored[self.unit.pk], self.data.before[self.unit.pk]
        self.slots: list[Slot] = []
        for variable in self.variables:
            for category in self.data.categories[variable.pk]:
                code = category.code if category else ""
                obs = stored.get((variable.pk, code))
                slot = Slot(
                    len(self.slots),
                    variable,
                    category,
                    obs,
                    before.get((variable.pk, code)),
                    parts.rules.get(variable.pk, []),
                    user=self.user,
                )
                if obs is not None:
                    slot.value, slot.missing, slot.version = obs.value, obs.missing, obs.version
                    if self.inputs:
                        slot.text = self.format_input(obs.value)
                self.slots.append(slot)
        sources = [s.stored.source for s in self.slots if s.stored and s.stored.source]
        self.source = max(set(sources), key=sources.count) if sources else ""

    def format_input(self, value) -> str:
        if value is None:
            return ""
        return checks.show(value, self.language).replace("\u202f", " ").replace("\u00a0", " ")

    # ------------------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return bool(self.slots) and all(slot.locked for slot in self.slots)

    @property
    def statuses(self) -> set[str]:
        return {slot.stored.status for slot in self.slots if slot.stored}

    @property
    def status(self) -> str:
        """The state of the whole form in words."""
        statuses = self.statuses
        if not statuses:
            return _("Not started")
        if len(statuses) == 1:
            return Status(statuses.pop()).label
        return _("Partly %(statuses)s") % {
            "statuses": ", ".join(str(Status(s).label).lower() for s in Status.values if s in statuses)
        }

    @property
    def errors(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.errors]

    @property
    def conflicts(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.conflict]

    def bind(self, data, *, submit: bool = False) -> bool:
        """Read and check posted data; True when nothing blocks saving."""
        missing_codes = set(Missing.values)
        self.source = data.get("source", self.source or "").strip()[:2000]
        self.comment = data.get("comment", "").strip()[:2000]
        for slot in self.slots:
            slot.findings = []
            if slot.locked:
                continue
            slot.text = (data.get(f"value-{slot.key}") or "").strip()[:64]
            slot.missing = (data.get(f"missing-{slot.key}") or "").strip()
            try:
                slot.version = int(data.get(f"version-{slot.key}") or 0)
            except ValueError:
                slot.version = -1
            try:
                slot.value = checks.parse_number(slot.text, self.language)
            except checks.NumberError as error:
                slot.value = None
                slot.findings.append(checks.Finding(checks.ERROR, str(error)))
                continue
            if slot.missing and slot.missing not in missing_codes:
                slot.findings.append(checks.Finding(checks.ERROR, _("choose a reason from the list")))
                slot.missing = ""
                continue
            if slot.value is not None and slot.missing:
                slot.findings.append(
                    checks.Finding(checks.ERROR, _("enter either a number or why it is missing, not both"))
                )
                continue
            if slot.value is None and not slot.missing:
                if slot.stored is not None:
                    slot.findings.append(
                        checks.Finding(
                            checks.ERROR, _("a blank is never zero: enter the figure again or choose why it is missing")
                        )
                    )
                elif submit:
                    slot.findings.append(
                        checks.Finding(checks.ERROR, _("to submit, enter the figure or choose why it is missing"))
                    )
                continue
            self._check_figure(slot)
        self._check_consistency()
        return not self.errors

    def check_stored(self) -> list[Slot]:
        """Run the same checks over the stored figures, locked ones included (the status
        board lists what fails); returns the slots with findings."""
        for slot in self.slots:
            slot.findings = []
            if slot.stored is not None and slot.value is not None:
                self._check_figure(slot)
        self._check_consistency(stored=True)
        return [slot for slot in self.slots if slot.findings]

    def _check_figure(self, slot: Slot) -> None:
        slot.findings += checks.check_value(
            slot.value,
            minimum=slot.variable.min_value,
            maximum=slot.variable.max_value,
            previous=slot.previous.value if slot.previous else None,
            rules=slot.rules,
            language=self.language,
        )

    def _check_consistency(self, stored: bool = False) -> None:
        consistency = [(slot, rule) for slot in self.slots for rule in slot.rules if rule.kind == "consistency"]
        if not consistency:
            return
        current = {slot.code: slot.value for slot in self.slots}
        previous = {slot.code: slot.previous.value if slot.previous else None for slot in self.slots}
        # Rules may read variables of other service areas: their stored figures count.
        if self.data.parts(self.unit).outside:
            for period, target in ((self.period, current), (self.previous_period, previous)):
                if period is not None:
                    target.update(self.data.outside(self.unit, period))
        for slot, rule in consistency:
            if (slot.locked and not stored) or slot.value is None or slot.errors:
                continue
            finding = checks.check_consistency(rule, current, previous, self.language)
            if finding:
                slot.findings.append(finding)

    def find_conflicts(self) -> list[Slot]:
        """Fields whose stored figure changed since the form was loaded and differs from
        what the officer posted. Call after reloading the stored figures (`refresh`)."""
        for slot in self.slots:
            slot.conflict = ""
            if slot.version == slot.stored_version:
                continue
            stored = slot.stored
            now_value, now_missing = (stored.value, stored.missing) if stored else (None, "")
            if slot.locked or (now_value, now_missing) != (slot.value, slot.missing):
                slot.conflict = _(
                    "Someone else changed this figure after you opened the form: it is now %(now)s, "
                    "you entered %(yours)s. Check it and save again to keep yours."
                ) % {"now": self._shown(now_value, now_missing), "yours": self._shown(slot.value, slot.missing)}
            slot.version = slot.stored_version  # a second save, after seeing this, may overwrite
        return self.conflicts

    def refresh(self, lock: bool = False) -> None:
        """Reload the stored figures (locking their rows) keeping what was posted."""
        if self.period is None:
            self.period = Period.objects.filter(code=self.period_code).first()
        if self.period is None:
            return
        query = Observation.objects.filter(unit=self.unit, period=self.period, variable__in=self.variables)
        if lock:
            query = query.select_for_update()
        stored = {(o.variable_id, o.breakdown): o for _unit_id, o in Stored.read(query)}
        for slot in self.slots:
            slot.stored = stored.get((slot.variable.pk, slot.code[1]))

    def _shown(self, value, missing) -> str:
        if missing:
            return str(Missing(missing).label)
        if value is None:
            return _("nothing")
        return checks.show(value, self.language)

    def rows(self, status: str, period: Period) -> list[Row]:
        """Rows to write: every field the officer may change and filled in."""
        rows = []
        for slot in self.slots:
            if slot.locked or not slot.has_content:
                continue
            stored = slot.stored
            source = self.source or (stored.source if stored else "")
            comment = self.comment or (stored.comment if stored else "")
            rows.append(
                Row(
                    self.unit.pk,
                    slot.variable.pk,
                    period.pk,
                    slot.code[1],
                    slot.value,
                    slot.missing,
                    status,
                    source,
                    comment,
                )
            )
        return rows
