"""Tariff studies: what a service costs a unit (or its utility) in a year, what its fees
bring in, who pays what, and the what-if scenarios of a new tariff.

A study is a what-if, not an observation: nothing here changes the catalogue's figures until
a scenario is *adopted*, when the adopted tariff is written as observations through the one
write path (`services.adopt`). The arithmetic is `municipium.lib.tariffs`; the study keeps
only the inputs, so every page, the API and the PDF compute the same figures from them
(DESIGN principle 5).

Amounts are in the study's currency a year; volumes in the service's billing unit a year
(m³ for water and sewage, tonnes for waste).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Service(models.TextChoices):
    WATER = "water", _("Water supply")
    SEWAGE = "sewage", _("Sewage")
    WASTE = "waste", _("Waste collection")


class Currency(models.TextChoices):
    IRR = "IRR", _("Iranian rial (IRR)")
    RSD = "RSD", _("Serbian dinar (RSD)")
    PLN = "PLN", _("Polish złoty (PLN)")
    BGN = "BGN", _("Bulgarian lev (BGN)")
    EUR = "EUR", _("Euro (EUR)")


# Operating cost categories, in the order regulators' cost reports list them.
COST_CATEGORIES = [
    ("staff", _("Staff")),
    ("energy", _("Energy")),
    ("fuel", _("Fuel")),
    ("disposal", _("Disposal fees")),
    ("maintenance", _("Maintenance")),
    ("administration", _("Administration and billing")),
    ("other", _("Other operating costs")),
]


class Study(models.Model):
    """One service of one unit: its costs, its current tariff, the reference household and
    the income table the affordability test uses."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PROPOSED = "proposed", _("Proposed to the council")
        ADOPTED = "adopted", _("Adopted")

    code = models.SlugField(_("Short name for addresses"), max_length=64, unique=True)
    name = models.CharField(_("Name"), max_length=200)
    unit = models.ForeignKey(
        "places.Unit", on_delete=models.PROTECT, related_name="tariff_studies", verbose_name=_("Unit")
    )
    service = models.CharField(_("Service"), max_length=16, choices=Service.choices)
    currency = models.CharField(_("Currency"), max_length=3, choices=Currency.choices)
    base_year = models.PositiveIntegerField(_("Base year"))
    unchanged_since = models.PositiveIntegerField(_("Tariff unchanged since"), null=True, blank=True)
    past_inflation = models.JSONField(_("Inflation in the years since"), default=list, blank=True)
    status = models.CharField(_("Status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    synthetic = models.BooleanField(_("Synthetic figures (demo)"), default=False)
    notes = models.TextField(_("Notes"), blank=True, default="")

    # Costs of the base year.
    operating = models.JSONField(_("Operating costs by category"), default=dict, blank=True)
    depreciation = models.FloatField(_("Depreciation"), null=True, blank=True)
    investment = models.FloatField(_("Investment"), default=0)
    rate = models.FloatField(_("Interest rate"), default=0)
    lifetime = models.PositiveIntegerField(_("Lifetime of the assets (years)"), default=25)
    debt_service = models.FloatField(_("Debt service"), default=0)
    non_tariff_revenue = models.FloatField(_("Non-tariff revenue"), default=0)
    collection = models.FloatField(_("Collection rate"), default=1.0)
    variable_share = models.FloatField(_("Share of the cost that follows the volume"), default=0.3)

    # The households' tariff today. Every price is a year's, per unit of what it bills.
    fixed = models.FloatField(_("Fixed charge per household"), default=0)
    per_person = models.FloatField(_("Price per person"), default=0)
    per_m2 = models.FloatField(_("Price per m² of dwelling"), default=0)
    per_bin_litre = models.FloatField(_("Price per litre of bin volume"), default=0)
    per_kg = models.FloatField(_("Price per kg collected"), default=0)
    per_m3 = models.FloatField(_("Price per m³"), default=0)
    blocks = models.JSONField(_("Increasing blocks"), default=list, blank=True)  # [[upper or None, price], ...]

    # The reference household the bill is worked out for (a year's use).
    ref_persons = models.FloatField(_("Persons"), default=3)
    ref_m2 = models.FloatField(_("Dwelling (m²)"), default=0)
    ref_bin_litres = models.FloatField(_("Bin litres collected a year"), default=0)
    ref_kg = models.FloatField(_("Kg collected a year"), default=0)
    ref_m3 = models.FloatField(_("m³ a year"), default=0)

    # Affordability.
    threshold = models.FloatField(_("Affordability threshold (share of income)"), default=0.03)
    threshold_source = models.CharField(_("Source of the threshold"), max_length=300, blank=True, default="")
    incomes = models.JSONField(_("Household income by group"), default=list, blank=True)
    income_source = models.CharField(_("Source of the incomes"), max_length=300, blank=True, default="")

    consultation = models.ForeignKey(
        "meetings.Consultation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Public consultation"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["unit__code", "service", "code"]
        verbose_name = _("tariff study")
        verbose_name_plural = _("tariff studies")

    def __str__(self) -> str:
        return self.name


class CustomerClass(models.Model):
    """Households, business, institutions: what the class is billed, how its demand moves,
    and the share of the fixed cost it causes."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="classes")
    name = models.CharField(_("Class"), max_length=100)
    customers = models.FloatField(_("Customers"), default=0)
    demand = models.FloatField(_("Volume billed a year"), default=0)
    price = models.FloatField(_("Price per unit of volume"), default=0)
    fixed_charge = models.FloatField(_("Fixed charge per customer a year"), default=0)
    fixed_share = models.FloatField(_("Share of the fixed cost caused"), default=0)
    elasticity = models.FloatField(_("Price elasticity"), default=0)
    growth = models.FloatField(_("Demand growth a year"), default=0)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["study", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="tariffs_class_once")]

    def __str__(self) -> str:
        return self.name


class Scenario(models.Model):
    """A multi-year what-if: inflation, demand growth, collection, and either a yearly real
    increase given or one solved for (a cost-recovery target by a year, under a cap)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(_("Name"), max_length=200)
    years = models.PositiveSmallIntegerField(_("Years"), default=10)
    inflation = models.FloatField(_("Inflation a year"), default=0.0)
    growth = models.FloatField(_("Demand growth a year"), default=0.0)
    collection = models.FloatField(_("Collection rate"), default=1.0)
    increase = models.FloatField(_("Real increase a year"), null=True, blank=True)
    target = models.FloatField(_("Cost recovery to reach"), null=True, blank=True)
    by_year = models.PositiveIntegerField(_("By the year"), null=True, blank=True)
    cap = models.FloatField(_("Cap on the real increase a year"), null=True, blank=True)
    adopted = models.BooleanField(_("Adopted"), default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["study", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="tariffs_scenario_once")]

    def __str__(self) -> str:
        return self.name
