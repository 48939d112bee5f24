"""Cooperation between municipalities: agreements with their parties and obligations,
documents, and shared facilities whose cost the participants split.

A cooperation is a `places.Group` of kind cooperation; an agreement may belong to one (the
Ćelije memorandum's four municipalities) or simply name its parties. Cost allocations are
never stored: `sharing.allocate` computes them from the facility's figures on every read.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Agreement(models.Model):
    class Kind(models.TextChoices):
        AGREEMENT = "agreement", _("Agreement")
        MEMORANDUM = "memorandum", _("Memorandum of understanding")
        CONTRACT = "contract", _("Contract")
        JOINT_BODY = "joint_body", _("Joint body")
        JOINT_UTILITY = "joint_utility", _("Joint utility")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        NEGOTIATION = "negotiation", _("In negotiation")
        SIGNED = "signed", _("Signed")
        IN_FORCE = "in_force", _("In force")
        EXPIRED = "expired", _("Expired")
        TERMINATED = "terminated", _("Terminated")

    code = models.SlugField(_("Short name for addresses"), max_length=64, unique=True)
    title = models.CharField(_("Title"), max_length=300)
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices, default=Kind.AGREEMENT)
    group = models.ForeignKey(
        "places.Group",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agreements",
        verbose_name=_("Cooperation group"),
    )
    subject = models.TextField(_("Subject"), blank=True, default="")
    service_areas = models.ManyToManyField(
        "catalog.ServiceArea", blank=True, related_name="+", verbose_name=_("Service areas")
    )
    legal_form = models.CharField(_("Legal form"), max_length=200, blank=True, default="")
    signed = models.DateField(_("Signed on"), null=True, blank=True)
    in_force = models.DateField(_("In force from"), null=True, blank=True)
    review = models.DateField(_("Review by"), null=True, blank=True)
    expiry = models.DateField(_("Expires on"), null=True, blank=True)
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    governance = models.TextField(_("Governance (votes, seats)"), blank=True, default="")
    exit_rules = models.TextField(_("Leaving the agreement"), blank=True, default="")
    dispute_rules = models.TextField(_("Settling disputes"), blank=True, default="")
    published = models.BooleanField(_("Published"), default=False)
    indicators = models.ManyToManyField(
        "catalog.Indicator", blank=True, related_name="+", verbose_name=_("Indicators it should move")
    )

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expiry__isnull=True) | Q(signed__isnull=True) | Q(expiry__gte=models.F("signed")),
                name="agreement_expiry_after_signing",
            )
        ]

    def __str__(self) -> str:
        return self.title


class Party(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="parties")
    unit = models.ForeignKey(
        "places.Unit", on_delete=models.PROTECT, related_name="agreement_parties", verbose_name=_("Party")
    )
    council_number = models.CharField(_("Council decision number"), max_length=64, blank=True, default="")
    council_date = models.DateField(_("Council decision date"), null=True, blank=True)
    signatory = models.CharField(_("Signatory"), max_length=200, blank=True, default="")
    seats = models.PositiveSmallIntegerField(_("Seats"), null=True, blank=True)
    votes = models.FloatField(_("Votes"), null=True, blank=True)

    class Meta:
        ordering = ["agreement", "unit__code"]
        constraints = [models.UniqueConstraint(fields=["agreement", "unit"], name="party_once")]

    def __str__(self) -> str:
        return self.unit.label


class ObligationQuerySet(models.QuerySet):
    def overdue(self, today: dt.date | None = None) -> "ObligationQuerySet":
        """Open obligations past their date; the same rule as `Obligation.is_overdue`, for
        the database. "Overdue" is never stored, so it is never stale."""
        today = today or timezone.localdate()
        return self.filter(status=Obligation.Status.OPEN, due__lt=today)


class Obligation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        DROPPED = "dropped", _("Dropped")

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="obligations")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="obligations", verbose_name=_("Party"))
    text = models.TextField(_("What must be done"))
    due = models.DateField(_("Due by"), null=True, blank=True)
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    evidence = models.TextField(_("Evidence"), blank=True, default="")
    done_on = models.DateField(null=True, blank=True)
    overdue_reminded = models.DateTimeField(null=True, blank=True)

    objects = ObligationQuerySet.as_manager()

    class Meta:
        ordering = ["due", "pk"]

    def is_overdue(self, today: dt.date | None = None) -> bool:
        """The rule of `ObligationQuerySet.overdue`, for one obligation in hand."""
        today = today or timezone.localdate()
        return self.status == self.Status.OPEN and self.due is not None and self.due < today

    @property
    def state(self) -> str:
        return "overdue" if self.is_overdue() else self.status

    @property
    def state_label(self):
        return _("Overdue") if self.is_overdue() else self.get_status_display()


class Document(models.Model):
    """An attached file, kept in the database (outside any web root), served only to those
    who may read the agreement, always as a download, never rendered in the browser."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agreement", "name"]


DRIVERS = [
    ("population", _("Population")),
    ("water_m3", _("Water billed (m³)")),
    ("wastewater_m3", _("Wastewater collected (m³)")),
    ("tonnes", _("Waste delivered (t)")),
    ("pe", _("Population equivalent")),
    ("capacity", _("Reserved capacity")),
    ("zone_area", _("Area in the protection zone (km²)")),
    ("haul_km", _("Haul distance to the facility (km)")),
    ("tonne_km", _("Waste hauled (tonne-km)")),
]


class Facility(models.Model):
    class Kind(models.TextChoices):
        PLANT = "plant", _("Treatment plant")
        LANDFILL = "landfill", _("Landfill")
        TRANSFER = "transfer", _("Transfer station")
        PROTECTION = "protection", _("Protection programme")

    code = models.SlugField(_("Short name for addresses"), max_length=64, unique=True)
    name = models.CharField(_("Name"), max_length=200)
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices)
    group = models.ForeignKey(
        "places.Group", on_delete=models.PROTECT, related_name="facilities", verbose_name=_("Cooperation group")
    )
    agreement = models.ForeignKey(
        Agreement,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="facilities",
        verbose_name=_("Agreement"),
    )
    year = models.PositiveSmallIntegerField(_("Year of the figures"))
    capital_cost = models.FloatField(_("Capital cost"), default=0)
    interest_rate = models.FloatField(_("Interest rate (e.g. 0.04)"), default=0)
    lifetime = models.PositiveSmallIntegerField(_("Lifetime in years"), default=20)
    fixed_opex = models.FloatField(_("Fixed operating cost a year"), default=0)
    variable_opex = models.FloatField(_("Variable operating cost a year"), default=0)
    fixed_driver = models.CharField(_("Fixed cost shared by"), max_length=16, choices=DRIVERS, default="population")
    variable_driver = models.CharField(
        _("Variable cost shared by"), max_length=16, choices=DRIVERS, default="population"
    )
    # The cost of serving a coalition on its own: fixed + unit × (its load)^exponent, with the
    # load measured by `scale_driver`; or typed per coalition in `coalition_costs`.
    scale_driver = models.CharField(_("Plant size set by"), max_length=16, choices=DRIVERS, default="pe")
    scale_fixed = models.FloatField(_("Cost of any plant (fixed part)"), default=0)
    scale_unit = models.FloatField(_("Cost per unit of load"), default=0)
    scale_exponent = models.FloatField(_("Economies of scale exponent"), default=0.7)
    coalition_costs = models.JSONField(default=dict, blank=True)  # {"RS-70343+RS-70262": 123.0}

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "facilities"

    def __str__(self) -> str:
        return self.name


class Scenario(models.Model):
    """A what-if on a facility's figures (a dearer plant, a lower interest rate, a longer
    lifetime, other drivers), compared side by side with the facility as it stands. An empty
    field keeps the facility's own figure, so a scenario says only what it changes; it is
    never stored as a split, only applied on read (`sharing.compare`)."""

    # The facility fields a scenario may change, in the order the page shows them.
    FIELDS = (
        "capital_cost",
        "interest_rate",
        "lifetime",
        "fixed_opex",
        "variable_opex",
        "fixed_driver",
        "variable_driver",
        "scale_exponent",
    )

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(_("Scenario"), max_length=120)
    capital_cost = models.FloatField(_("Capital cost"), null=True, blank=True)
    interest_rate = models.FloatField(_("Interest rate (e.g. 0.04)"), null=True, blank=True)
    lifetime = models.PositiveSmallIntegerField(_("Lifetime in years"), null=True, blank=True)
    fixed_opex = models.FloatField(_("Fixed operating cost a year"), null=True, blank=True)
    variable_opex = models.FloatField(_("Variable operating cost a year"), null=True, blank=True)
    fixed_driver = models.CharField(_("Fixed cost shared by"), max_length=16, choices=DRIVERS, blank=True, default="")
    variable_driver = models.CharField(
        _("Variable cost shared by"), max_length=16, choices=DRIVERS, blank=True, default=""
    )
    scale_exponent = models.FloatField(_("Economies of scale exponent"), null=True, blank=True)

    class Meta:
        ordering = ["facility", "pk"]
        constraints = [models.UniqueConstraint(fields=["facility", "name"], name="scenario_name_once")]

    def __str__(self) -> str:
        return self.name

    def changes(self) -> dict:
        """The figures this scenario sets, by field name."""
        return {f: getattr(self, f) for f in self.FIELDS if getattr(self, f) not in (None, "")}

    def change_rows(self) -> list[tuple[str, object, bool]]:
        """For tables: (label, value, is a number) of each figure this scenario sets."""
        drivers = dict(DRIVERS)
        rows = []
        for field, value in self.changes().items():
            label = str(self._meta.get_field(field).verbose_name)
            if field.endswith("_driver"):
                rows.append((label, drivers.get(value, value), False))
            else:
                rows.append((label, value, True))
        return rows

    def applied(self) -> Facility:
        """The facility as this scenario would have it: an unsaved copy, never written."""
        import copy

        facility = copy.copy(self.facility)
        for field, value in self.changes().items():
            setattr(facility, field, value)
        return facility


class Participant(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="participants")
    unit = models.ForeignKey("places.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("Participant"))
    drivers = models.JSONField(default=dict, blank=True)  # typed drivers, {"pe": 12000}
    actual = models.JSONField(default=dict, blank=True)  # the year's actual drivers, for the true-up

    class Meta:
        ordering = ["facility", "unit__code"]
        constraints = [models.UniqueConstraint(fields=["facility", "unit"], name="participant_once")]


class Zone(models.Model):
    """A protection zone (I, II or III) of a shared water source, stored as longitude/latitude
    GeoJSON; drawn from an uploaded polygon or as a buffer around an intake or an outline."""

    class Level(models.TextChoices):
        I = "I", _("Zone I (immediate)")  # noqa: E741 - the zones' own names
        II = "II", _("Zone II (inner)")
        III = "III", _("Zone III (outer)")

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="zones")
    source = models.CharField(_("Water source"), max_length=200)
    level = models.CharField(_("Zone"), max_length=3, choices=Level.choices)
    geometry = models.JSONField()
    restrictions = models.TextField(_("Restrictions in the zone"), blank=True, default="")
    distance = models.FloatField(null=True, blank=True)  # metres, when drawn as a buffer

    class Meta:
        ordering = ["agreement", "source", "level"]
        constraints = [models.UniqueConstraint(fields=["agreement", "source", "level"], name="zone_once")]


class InventoryLine(models.Model):
    """What one local actor has and needs of one resource: staff by profession (FTE),
    equipment, facilities, data or budget. The gap is need − have, never stored."""

    class Category(models.TextChoices):
        STAFF = "staff", _("Staff (FTE)")
        EQUIPMENT = "equipment", _("Equipment")
        FACILITY = "facility", _("Facilities")
        DATA = "data", _("Data")
        BUDGET = "budget", _("Budget")

    group = models.ForeignKey("places.Group", on_delete=models.CASCADE, related_name="inventory")
    actor = models.CharField(_("Actor"), max_length=200)  # a department, a utility, an agency
    unit = models.ForeignKey("places.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("Unit"))
    category = models.CharField(_("Category"), max_length=16, choices=Category.choices)
    theme = models.CharField(_("Theme"), max_length=120)
    item = models.CharField(_("Resource"), max_length=200)
    measure = models.CharField(_("Unit of measure"), max_length=40, blank=True, default="")
    have = models.FloatField(_("Have"), default=0)
    need = models.FloatField(_("Need"), default=0)

    class Meta:
        ordering = ["group", "theme", "category", "item", "unit__code"]
        constraints = [
            models.UniqueConstraint(fields=["group", "unit", "actor", "category", "item"], name="inventory_once"),
            models.CheckConstraint(condition=Q(have__gte=0) & Q(need__gte=0), name="inventory_not_negative"),
        ]

    @property
    def gap(self) -> float:
        return self.need - self.have
