"""Siting projects: a study area, its layers, a criteria set, experts' judgements and runs.

Geometry is stored as longitude/latitude GeoJSON (WGS84); the analysis projects it to the
UTM zone of the area (`Project.epsg`). Rasters are kept as the GeoTIFF that was uploaded and
warped onto the analysis grid at each run. A run keeps a copy of everything it used (criteria,
weights, the need) beside its results, so a later edit never changes an old run.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Topic(models.TextChoices):
    SETTLEMENTS = "settlements", _("Settlements")
    RIVERS = "rivers", _("Rivers and streams")
    WELLS = "wells", _("Wells and qanats")
    ROADS = "roads", _("Roads")
    AIRPORTS = "airports", _("Airports")
    FAULTS = "faults", _("Faults")
    PROTECTED = "protected", _("Protected areas")
    FLOOD = "flood", _("Flood zones")
    LANDUSE = "landuse", _("Land use")
    ELEVATION = "elevation", _("Elevation")
    GROUNDWATER = "groundwater", _("Groundwater depth")


RASTER_TOPICS = {Topic.ELEVATION, Topic.GROUNDWATER, Topic.LANDUSE}


class CriteriaSet(models.Model):
    """A named, versioned set of constraints and factors. A starter set has no project; a
    project works on its own copy, and every change to it raises the version."""

    class Legal(models.TextChoices):
        RULE = "rule", _("National rule")
        GUIDELINE = "guideline", _("Guideline")
        LITERATURE = "literature", _("Literature default")

    name = models.CharField(_("Name"), max_length=200)
    project = models.ForeignKey(
        "Project", null=True, blank=True, on_delete=models.CASCADE, related_name="criteria_sets"
    )
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies")
    version = models.PositiveIntegerField(default=1)
    source = models.TextField(_("Source"), blank=True, default="")
    legal_status = models.CharField(_("Legal status"), max_length=16, choices=Legal.choices)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Criterion(models.Model):
    class Kind(models.TextChoices):
        CONSTRAINT = "constraint", _("Constraint (excludes)")
        FACTOR = "factor", _("Factor (scores)")

    class Measure(models.TextChoices):
        DISTANCE = "distance", _("Distance to the layer's features")
        VALUE = "value", _("Value of the raster")
        SLOPE = "slope", _("Slope of the elevation (percent)")

    class Shape(models.TextChoices):
        LINEAR = "linear", _("Linear")
        SIGMOID = "sigmoid", _("Sigmoid")
        J = "j", _("J-shaped")

    criteria_set = models.ForeignKey(CriteriaSet, on_delete=models.CASCADE, related_name="criteria")
    code = models.SlugField(_("Code"), max_length=40)
    name = models.CharField(_("Name"), max_length=200)
    kind = models.CharField(_("Kind"), max_length=16, choices=Kind.choices)
    measure = models.CharField(_("Measure"), max_length=16, choices=Measure.choices, default=Measure.DISTANCE)
    topic = models.CharField(_("Layer"), max_length=16, choices=Topic.choices)
    buffer_m = models.FloatField(_("Buffer (m)"), default=0)
    low = models.FloatField(_("Allowed from"), null=True, blank=True)
    high = models.FloatField(_("Allowed up to"), null=True, blank=True)
    shape = models.CharField(_("Membership"), max_length=8, choices=Shape.choices, default=Shape.LINEAR)
    benefit = models.BooleanField(_("More is better"), default=True)
    a = models.FloatField(_("First control point"), default=0)
    b = models.FloatField(_("Second control point"), default=1)
    weight = models.FloatField(_("Direct weight"), null=True, blank=True)
    citation = models.TextField(_("Where the value comes from"), blank=True, default="")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["criteria_set", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["criteria_set", "code"], name="siting_criterion_once")]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    class Method(models.TextChoices):
        WLC = "wlc", _("Weighted linear combination")
        OWA = "owa", _("Ordered weighted averaging")

    class Weighting(models.TextChoices):
        AHP = "ahp", _("AHP from the experts' judgements")
        DIRECT = "direct", _("Direct weights")

    code = models.SlugField(_("Short name for addresses"), max_length=64, unique=True)
    name = models.CharField(_("Name"), max_length=200)
    facility_kind = models.CharField(_("Facility"), max_length=100, default="landfill")
    group = models.ForeignKey(
        "places.Group", on_delete=models.PROTECT, related_name="siting_projects", verbose_name=_("Group")
    )
    area = models.JSONField(_("Study area"), null=True, blank=True)  # GeoJSON geometry, lon/lat
    epsg = models.PositiveIntegerField(_("Projection (EPSG)"), null=True, blank=True)
    cell = models.FloatField(_("Cell size (m)"), default=100)
    criteria_set = models.ForeignKey(
        CriteriaSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("Criteria")
    )
    weighting = models.CharField(_("Weights"), max_length=8, choices=Weighting.choices, default=Weighting.AHP)
    method = models.CharField(_("Aggregation"), max_length=8, choices=Method.choices, default=Method.WLC)
    alpha = models.FloatField(_("Risk attitude (OWA alpha)"), default=1.0)
    threshold = models.FloatField(_("Least suitability of a candidate site"), default=0.6)
    years = models.PositiveSmallIntegerField(_("Design period (years)"), default=20)
    growth = models.FloatField(_("Population growth a year (e.g. 0.015)"), default=0.0)
    kg_per_person_day = models.FloatField(_("Waste per person a day (kg)"), default=0.8)
    density = models.FloatField(_("Compacted density (t/m³)"), default=0.8)
    fill_height = models.FloatField(_("Mean fill height (m)"), default=15)
    cover_share = models.FloatField(_("Cover soil, share of waste volume"), default=0.2)
    infrastructure_share = models.FloatField(_("Roads, buildings and buffers, share of the site"), default=0.25)
    weight_suitability = models.FloatField(_("Ranking weight: suitability"), default=0.4)
    weight_haul = models.FloatField(_("Ranking weight: haul distance"), default=0.4)
    weight_area = models.FloatField(_("Ranking weight: area"), default=0.1)
    weight_compactness = models.FloatField(_("Ranking weight: compactness"), default=0.1)
    facility = models.ForeignKey(
        "cooperation.Facility", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    synthetic = models.BooleanField(default=False)  # demo data, labelled as such on every page
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A municipality the facility would serve: its population and where its waste starts
    (the centroid of its boundary unless given)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    unit = models.ForeignKey("places.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("Member"))
    population = models.PositiveIntegerField(_("Population"))
    lon = models.FloatField(_("Longitude of the waste centroid"))
    lat = models.FloatField(_("Latitude of the waste centroid"))

    class Meta:
        ordering = ["project", "unit__code"]
        constraints = [models.UniqueConstraint(fields=["project", "unit"], name="siting_member_once")]


class Layer(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="layers")
    topic = models.CharField(_("Layer"), max_length=16, choices=Topic.choices)
    name = models.CharField(_("File"), max_length=200)
    kind = models.CharField(max_length=12)  # geojson, gpkg, shapefile, geotiff
    crs = models.CharField(max_length=200)
    bounds = models.JSONField()  # [west, south, east, north], lon/lat
    geometry = models.JSONField(null=True, blank=True)  # vectors: a GeoJSON GeometryCollection, lon/lat
    features = models.PositiveIntegerField(default=0)
    raster = models.BinaryField(null=True, blank=True)  # rasters: the GeoTIFF
    size = models.PositiveIntegerField(default=0)
    synthetic = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "topic"]
        constraints = [models.UniqueConstraint(fields=["project", "topic"], name="siting_layer_once")]


class Expert(models.Model):
    """One expert's pairwise judgements on the project's factors: {"a|b": value} for factor
    codes a before b in the criteria set's order, on Saaty's 1-9 scale."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="experts")
    name = models.CharField(_("Expert"), max_length=200)
    judgements = models.JSONField(default=dict)

    class Meta:
        ordering = ["project", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="siting_expert_once")]


class Run(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inputs = models.JSONField(default=dict)  # criteria (with the set's version), weights, AHP, need
    results = models.JSONField(default=dict)  # grid, classes, exclusions, candidates, stability
    png = models.BinaryField(null=True)
    geotiff = models.BinaryField(null=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="siting_run_once")]
