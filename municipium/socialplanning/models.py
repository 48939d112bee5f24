"""Social-service planning: the kinds of service, the supply (providers, their services and
the settlements they serve), norms tables, and the planning round of a district with each
municipality's proposal and the services shared across municipalities.

Need, gaps, coverage, accessibility and quotas are never stored: `planning.py` computes them
on read from the supply, the norms and the units' population observations (lib/socialneed).
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from municipium.lib.texts import pick


class ServiceType(models.Model):
    """A kind of social service, e.g. day care for older people. The starter list follows
    the kinds of the Bulgarian Social Services Act (art. 15); each country edits its own."""

    class Kind(models.TextChoices):
        INFORMATION = "information", _("Information and consultation")
        ADVOCACY = "advocacy", _("Advocacy and mediation")
        THERAPY = "therapy", _("Therapy and rehabilitation")
        SKILLS = "skills", _("Skills training")
        DAY_CARE = "day_care", _("Day care")
        RESIDENTIAL = "residential", _("Residential care")
        INTEGRATED = "integrated", _("Integrated health and social care")

    class Level(models.TextChoices):
        MUNICIPAL = "municipal", _("Municipal")
        DISTRICT = "district", _("District")

    code = models.SlugField(_("Code"), max_length=64, unique=True)
    name = models.JSONField(default=dict)
    country = models.CharField(_("Country"), max_length=8, blank=True, default="")  # "" = any
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices)
    level = models.CharField(_("Planned at"), max_length=16, choices=Level.choices, default=Level.MUNICIPAL)
    # The rule of thumb's threshold, as data: a municipality needing fewer places than this
    # should be served by a district-level service or one shared by agreement.
    minimum_places = models.FloatField(_("Smallest viable service (places)"), null=True, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return pick(self.name).text or self.code


class Settlement(models.Model):
    """A town or village of a municipality: where demand lives, for accessibility."""

    unit = models.ForeignKey("places.Unit", on_delete=models.CASCADE, related_name="settlements")
    code = models.CharField(_("Code"), max_length=32)
    name = models.CharField(_("Name"), max_length=200)
    lon = models.FloatField(_("Longitude"))
    lat = models.FloatField(_("Latitude"))
    population = models.FloatField(_("Inhabitants"))

    class Meta:
        ordering = ["unit__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "code"], name="settlement_once"),
            models.CheckConstraint(condition=Q(population__gte=0), name="settlement_population_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Provider(models.Model):
    class Kind(models.TextChoices):
        PUBLIC = "public", _("Public")
        PRIVATE = "private", _("Private")
        NGO = "ngo", _("Non-governmental organisation")

    unit = models.ForeignKey("places.Unit", on_delete=models.CASCADE, related_name="social_providers")
    name = models.CharField(_("Provider"), max_length=200)
    kind = models.CharField(_("Kind of provider"), max_length=16, choices=Kind.choices)
    licence = models.CharField(_("Licence"), max_length=100, blank=True, default="")

    class Meta:
        ordering = ["unit__code", "name"]
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="provider_once")]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """One service of a provider in a year: its place, the settlements it serves, its
    capacity and how it is used."""

    class Funding(models.TextChoices):
        STATE = "state", _("State-delegated")
        MUNICIPAL = "municipal", _("Municipal")
        PROJECT = "project", _("Project")

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="services")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(_("Service"), max_length=200)
    year = models.PositiveSmallIntegerField(_("Year"))
    lon = models.FloatField(_("Longitude"), null=True, blank=True)
    lat = models.FloatField(_("Latitude"), null=True, blank=True)
    settlements = models.ManyToManyField(Settlement, blank=True, related_name="services")
    capacity = models.FloatField(_("Capacity (places)"))
    users = models.FloatField(_("Users"), null=True, blank=True)
    waiting = models.FloatField(_("Waiting list"), default=0)
    staff = models.FloatField(_("Staff (FTE)"), null=True, blank=True)
    funding = models.CharField(_("Funding"), max_length=16, choices=Funding.choices)

    class Meta:
        ordering = ["provider__unit__code", "service_type__order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "service_type", "name", "year"], name="service_once"),
            models.CheckConstraint(
                condition=Q(capacity__gte=0) & Q(waiting__gte=0) & (Q(users__isnull=True) | Q(users__gte=0)),
                name="service_figures_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def unit(self):
        return self.provider.unit

    @property
    def occupancy(self) -> float | None:
        return self.users / self.capacity if self.users is not None and self.capacity > 0 else None

    @property
    def occupancy_percent(self) -> float | None:
        occupancy = self.occupancy
        return None if occupancy is None else 100 * occupancy


class NormTable(models.Model):
    """A versioned table of norms: where it applies, who published it, from when, and whether
    it is law, a published benchmark, or an example that is neither."""

    class Status(models.TextChoices):
        LAW = "law", _("Law or regulation")
        BENCHMARK = "benchmark", _("Published benchmark")
        EXAMPLE = "example", _("Example (not a norm)")

    code = models.SlugField(_("Code"), max_length=64)
    version = models.PositiveSmallIntegerField(_("Version"), default=1)
    title = models.CharField(_("Title"), max_length=300)
    jurisdiction = models.CharField(_("Jurisdiction"), max_length=64)
    source = models.TextField(_("Source (citation)"))
    effective = models.DateField(_("Effective from"))
    status = models.CharField(_("Legal status"), max_length=16, choices=Status.choices)
    # The district whose coordinators keep the table (socialplanning.access.can_edit_norms);
    # none: a shared reference table (the starter's), kept by those who edit the catalogue.
    group = models.ForeignKey(
        "places.Group",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Kept by"),
    )

    class Meta:
        ordering = ["code", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="norm_table_version_once")]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class Norm(models.Model):
    """`places` per `per` people of a target group: a population variable of the catalogue
    and some of its breakdown's categories (none: the total), e.g. population_by_age 65-79 and
    80+ for people aged 65 and over."""

    table = models.ForeignKey(NormTable, on_delete=models.CASCADE, related_name="norms")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="norms")
    variable = models.ForeignKey("catalog.Variable", on_delete=models.PROTECT, related_name="+")
    categories = models.JSONField(default=list, blank=True)
    places = models.FloatField(_("Places"))
    per = models.FloatField(_("Per people"), default=1000)
    note = models.CharField(_("Note"), max_length=300, blank=True, default="")

    class Meta:
        ordering = ["table", "service_type__order", "pk"]
        constraints = [models.CheckConstraint(condition=Q(places__gte=0) & Q(per__gt=0), name="norm_positive")]


class Round(models.Model):
    """A planning round of a district in a year: the municipalities' proposals, the services
    shared across them, the consultations, the council decisions and the agency's deadline."""

    code = models.SlugField(_("Short name for addresses"), max_length=64, unique=True)
    title = models.CharField(_("Title"), max_length=300)
    group = models.ForeignKey(
        "places.Group", on_delete=models.PROTECT, related_name="social_rounds", verbose_name=_("District")
    )
    year = models.PositiveSmallIntegerField(_("Year of the figures"))
    horizon = models.PositiveSmallIntegerField(_("Planning year"))
    norms = models.ForeignKey(NormTable, on_delete=models.PROTECT, related_name="rounds", verbose_name=_("Norms"))
    opens = models.DateField(_("Opens on"))

    class Projection(models.TextChoices):
        CONSTANT = "constant", _("Constant rates of the last five years")
        COHORT = "cohort", _("Cohort-component, with the assumptions below")

    projection = models.CharField(
        _("Projection to the planning year"), max_length=16, choices=Projection.choices, default=Projection.CONSTANT
    )
    # The cohort-component projection's stated assumptions, by age band code: yearly survival
    # ratios, yearly net migration rates, births per person of the mothers' bands a year.
    assumptions = models.JSONField(_("Assumptions of the cohort-component projection"), default=dict, blank=True)
    agreement_deadline = models.DateField(_("Draft agreements due by"))
    agency_deadline = models.DateField(_("Proposals due at the agency by"))

    class Meta:
        ordering = ["-year", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(horizon__gte=models.F("year")),
                name="round_horizon_after_year",
                violation_error_message=_("The planning year cannot come before the year of the figures."),
            ),
            models.CheckConstraint(
                condition=Q(agency_deadline__gte=models.F("opens")),
                name="round_deadline_after_opening",
                violation_error_message=_("The agency's deadline cannot come before the round opens."),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Proposal(models.Model):
    """A municipality's proposal in a round: the services and places it plans, its public
    consultation (meetings) and the date it was sent to the agency."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="proposals")
    unit = models.ForeignKey("places.Unit", on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(_("Notes"), blank=True, default="")
    consultation = models.ForeignKey(
        "meetings.Consultation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_on = models.DateField(_("Sent to the agency on"), null=True, blank=True)

    class Meta:
        ordering = ["round", "unit__code"]
        constraints = [models.UniqueConstraint(fields=["round", "unit"], name="proposal_once")]


class ProposalLine(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="lines")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="+")
    places = models.FloatField(_("Places"))
    funding = models.CharField(_("Funding"), max_length=16, choices=Service.Funding.choices)
    note = models.CharField(_("Note"), max_length=300, blank=True, default="")

    class Meta:
        ordering = ["proposal", "service_type__order"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "service_type", "funding"], name="proposal_line_once"),
            models.CheckConstraint(condition=Q(places__gte=0), name="proposal_places_not_negative"),
        ]


class SharedService(models.Model):
    """A service delivered across municipalities: hosted by one, with places split among the
    parties of its cooperation agreement in proportion to need, unless `quotas` says otherwise."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="shared")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="+")
    host = models.ForeignKey("places.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("Host"))
    places = models.PositiveIntegerField(_("Places"))
    agreement = models.ForeignKey("cooperation.Agreement", on_delete=models.PROTECT, related_name="+")
    quotas = models.JSONField(default=dict, blank=True)  # {unit code: places}, agreed otherwise than by need

    class Meta:
        ordering = ["round", "service_type__order"]


class TravelMatrix(models.Model):
    """Travel times from settlements to the service points of one type, uploaded for a round;
    when one is stored, the round's accessibility of that type is computed on its minutes
    instead of straight-line distances (a pair missing from it is out of reach)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="travel_matrices")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(_("File"), max_length=200)
    uploaded = models.DateTimeField(_("Uploaded"), auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "service_type"], name="travel_matrix_once")]


class TravelTime(models.Model):
    matrix = models.ForeignKey(TravelMatrix, on_delete=models.CASCADE, related_name="times")
    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    minutes = models.FloatField(_("Minutes"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["matrix", "settlement", "service"], name="travel_time_once"),
            models.CheckConstraint(condition=Q(minutes__gte=0), name="travel_time_not_negative"),
        ]


class Reminder(models.Model):
    """A deadline reminder of a round the daily job sent to a municipality: claimed once by
    `lib.reminders.send_once` on `sent`, whatever the number of servers. A moved deadline is
    a new row, so a new reminder."""

    class Step(models.TextChoices):
        AGENCY_SOON = "agency_soon", _("Proposal due at the agency soon")
        AGENCY_LATE = "agency_late", _("Proposal late at the agency")
        AGREEMENTS_SOON = "agreements_soon", _("Draft agreements due soon")

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="reminders")
    unit = models.ForeignKey("places.Unit", on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=16, choices=Step.choices)
    deadline = models.DateField()
    sent = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "unit", "step", "deadline"], name="social_reminder_once")
        ]
