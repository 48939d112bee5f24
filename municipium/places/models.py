"""Units (anything that reports or is compared) and the groups they form."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from municipium.lib.texts import pick


class Unit(models.Model):
    class Kind(models.TextChoices):
        COUNTRY = "country", _("Country")
        REGION = "region", pgettext_lazy("unit kind", "Region")
        DISTRICT = "district", _("District")
        MUNICIPALITY = "municipality", _("Municipality")
        UTILITY = "utility", _("Utility company")
        OTHER = "other", _("Other")

    # A stable code, the national statistical code where one exists, prefixed with the
    # country so that codes from several countries can live in one installation.
    code = models.CharField(max_length=64, unique=True)
    name = models.JSONField(default=dict)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MUNICIPALITY)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    boundary = models.JSONField(null=True, blank=True, help_text="GeoJSON geometry, WGS84")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="unit_valid_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {pick(self.name)}".strip()

    @property
    def label(self) -> str:
        return pick(self.name).text or self.code

    def is_valid_on(self, day) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


class Succession(models.Model):
    """A unit that continues (part of) another: mergers, splits and renames."""

    class Kind(models.TextChoices):
        MERGER = "merger", _("Merger")
        SPLIT = "split", _("Split")
        RENAME = "rename", _("Rename")

    predecessor = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="successions")
    successor = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="predecessions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["predecessor", "successor"], name="succession_unique")]


class Group(models.Model):
    class Kind(models.TextChoices):
        PEER = "peer", _("Peer group")
        EXCHANGE = "exchange", _("Exchange group")
        COOPERATION = "cooperation", _("Cooperation")
        # A group of units in one region, which in Polish or Persian is not the region itself.
        REGION = "region", pgettext_lazy("group kind", "Region")

    code = models.CharField(max_length=64, unique=True)
    name = models.JSONField(default=dict)
    description = models.JSONField(default=dict, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Whether members see each other's figures before they are published (DESIGN principle
    # 7; the rule is accounts/access.py's). Exchange groups and cooperations agreed to share;
    # peer groups and regions are only compared on published figures. A group saved without
    # a value takes its kind's (`SHARING_KINDS`); the admin form asks explicitly.
    shares_unpublished = models.BooleanField(
        _("shares unpublished figures"),
        help_text=_(
            "Members' data officers, approvers and viewers see each other's figures before they are "
            "published. Exchange groups and cooperations usually do; peer groups and regions do not."
        ),
    )
    units = models.ManyToManyField(Unit, through="Membership", related_name="groups")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {pick(self.name)}".strip()

    def save(self, *args, **kwargs) -> None:
        if self.shares_unpublished is None:
            self.shares_unpublished = self.kind in SHARING_KINDS
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        return pick(self.name).text or self.code

    def members_in(self, period) -> models.QuerySet:
        """The units that are members of the group at some time in `period`, by code."""
        ids = Membership.objects.filter(group=self).in_period(period).values("unit_id")
        return Unit.objects.filter(pk__in=ids).order_by("code")


# The kinds of group whose members agreed to share unpublished figures, unless set otherwise.
SHARING_KINDS = frozenset({Group.Kind.EXCHANGE, Group.Kind.COOPERATION})


class MembershipQuerySet(models.QuerySet):
    """The one rule for "member of the group in a period" (issue 10: it was written six
    times and the copies disagreed). A unit is a member in [start, end] when a membership of
    it overlaps that span *and* the unit itself exists at some time in it (a municipality
    dissolved in 2020 is no member in 2024, whatever its old membership row says).

    `start` and `end` may be dates or query expressions (OuterRef("period__start")), so
    the same rule filters rows by the membership in their own period inside SQL."""

    def during(self, start, end) -> "MembershipQuerySet":
        return self.filter(
            models.Q(valid_from__isnull=True) | models.Q(valid_from__lte=end),
            models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=start),
            models.Q(unit__valid_from__isnull=True) | models.Q(unit__valid_from__lte=end),
            models.Q(unit__valid_to__isnull=True) | models.Q(unit__valid_to__gte=start),
        )

    def in_period(self, period) -> "MembershipQuerySet":
        """Memberships in force at some time in `period` (anything with start and end)."""
        return self.during(period.start, period.end)


def member_in_own_period(group_ids, unit_field: str = "unit", period_field: str = "period") -> models.Exists:
    """For a query of rows with a unit and a period (observations, indicator values): the
    unit was a member of one of `group_ids` during the row's own period. What the API's and
    the exports' `group` filter means, so a median recomputed from them is the published one."""
    return models.Exists(
        Membership.objects.filter(group_id__in=group_ids, unit_id=models.OuterRef(f"{unit_field}_id")).during(
            models.OuterRef(f"{period_field}__start"), models.OuterRef(f"{period_field}__end")
        )
    )


class Membership(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["group", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["group", "unit", "valid_from"], name="membership_unique"),
        ]


class Availability(models.Model):
    """A coordinator's declaration of whether a member can deliver a variable, and from where,
    recorded before the data come (the matrix shows observations instead once they exist)."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        NOT_COLLECTED = "not_collected", _("Not collected")
        NOT_SHARED = "not_shared", _("Not shared")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="availabilities")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="availabilities")
    variable = models.ForeignKey("catalog.Variable", on_delete=models.CASCADE, related_name="availabilities")
    status = models.CharField(max_length=16, choices=Status.choices)
    source = models.TextField(blank=True, default="")
    note = models.TextField(blank=True, default="")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group", "unit", "variable"]
        constraints = [
            models.UniqueConstraint(fields=["group", "unit", "variable"], name="availability_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.group.code}/{self.unit.code}/{self.variable.code}: {self.status}"
