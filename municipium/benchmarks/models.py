"""What the engine derives and stores. Everything here can be dropped and recomputed from
observations (DESIGN principle 1); it is stored only so that pages and the API read it fast.

`basis` keeps two views apart: "all" is computed from every observation whatever its status
and is seen inside the groups that share the data; "published" is computed from published
observations only and is what the public sees. A published row is written only where it is
not the unit's (or group's) "all" row: where unpublished inputs make the published figure
another one, or give none; elsewhere the two are the same and readers take the "all" row
(see `municipium.benchmarks.engine` and `municipium.benchmarks.read`).

Ranks and percentiles are not stored: a group's ranking for one indicator and period is at
most a few thousand stored values sorted on read (`read.ranks`), while storing them cost
2.4 rows per value and most of a full recompute's time. What is stored for them is the
values once more, one row per indicator, period and reader (`RankSlice`), so that a unit's
rank in a hundred indicators, or a median over its similar units, reads a hundred rows.
A deleted unit's place in the slices keeps its last value until the slice is next written:
readers look only at the places of the units they ask for (a group's members, a unit's
kin), which a deleted unit is not among.

Deleting an indicator or a unit deletes its derived rows with one DELETE per table: these
tables have no dependents and no signals, so Django's collector fast-deletes them instead of
loading them. Their foreign keys carry no database constraint: PostgreSQL checks each one row
by row at commit (measured: 15 s per million rows and key), which was a large part of a full
recompute, and the rows are derived — a stray one is removed by the next refresh, which
deletes every stored row it did not compute.
"""

import numpy as np
from django.db import models
from django.utils.translation import gettext_lazy as _


class Basis(models.TextChoices):
    ALL = "all", _("All data")
    PUBLISHED = "published", _("Published data")


class ValueSeries(models.Model):
    """One unit's values of one indicator on one basis, every period in one row: arrays of
    the figures by period (`municipium.benchmarks.series` says the layout and alone reads
    and writes it). A country's 50 million values are 2.6 million rows: a full recompute's
    writes were 53 million rows, over 230 s on PostgreSQL whatever else it did (issue 18).

    Read through `municipium.benchmarks.read` only (pages, the API, exports) and written by
    the engine only. Each element is one derived value: a value, or a null one with the
    reason it is missing; for ratio indicators the parts (so that group values can be pooled:
    Σ num / Σ den). A value's change against the previous period (in the indicator's unit
    and in %) and its trend are not stored: readers derive them from the values
    (`series.derive`; stored, they were two thirds of a rebuild's bytes, issue 18).
    `computed_at` is when any of them last changed."""

    indicator = models.ForeignKey(
        "catalog.Indicator", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # A unit's series (a profile's) are found by value_series_unit.
    unit = models.ForeignKey(
        "places.Unit", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.ALL)
    first = models.IntegerField(help_text="The ordinal of the period of element 0 (of the indicator's period kind)")
    count = models.PositiveIntegerField(help_text="How many rows it gives back (its hidden published twins too)")
    missing = models.BinaryField(
        help_text="One signed byte a period: -1 none, 0 a value, k the k-th missing code; + 64 a hidden published twin"
    )
    value = models.BinaryField(null=True)
    numerator = models.BinaryField(null=True)
    denominator = models.BinaryField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["indicator", "unit", "basis"], name="value_series_unique"),
        ]
        indexes = [models.Index(fields=["unit"], name="value_series_unit")]


class GroupStatistic(models.Model):
    """An indicator across a group's members for one period. `n` says how many members it stands on."""

    indicator = models.ForeignKey(
        "catalog.Indicator",
        on_delete=models.CASCADE,
        related_name="group_statistics",
        db_index=False,
        db_constraint=False,
    )
    # Lookups by group are served by group_statistic_group.
    group = models.ForeignKey(
        "places.Group", on_delete=models.CASCADE, related_name="statistics", db_index=False, db_constraint=False
    )
    period = models.ForeignKey(
        "observations.Period", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    breakdown = models.CharField(max_length=32, default="", blank=True)
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.ALL)
    members = models.PositiveIntegerField()
    n = models.PositiveIntegerField()
    min = models.FloatField(null=True)
    p10 = models.FloatField(null=True)
    p25 = models.FloatField(null=True)
    median = models.FloatField(null=True)
    p75 = models.FloatField(null=True)
    p90 = models.FloatField(null=True)
    max = models.FloatField(null=True)
    mean = models.FloatField(null=True)
    pooled = models.FloatField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "group", "period", "breakdown", "basis"], name="group_statistic_unique"
            )
        ]
        indexes = [
            # A group's rows side by side with what `read.reported_by` counts (which of a
            # unit's indicators its group reports most, the profile without an indicator
            # set): PostgreSQL answers from the index alone, where the group's 40,000 rows lie
            # spread over the table (77 ms warm, 0.8 s cold at a country's scale, issue 18).
            # It replaces the group's plain index, so a rebuild writes no more indexes.
            models.Index(
                fields=["group", "breakdown", "indicator"],
                include=["period", "basis", "n"],
                name="group_statistic_group",
            ),
        ]


class RankSlice(models.Model):
    """One period of one indicator as one reader sees it: every unit's value (breakdown "")
    in a float64 array by the unit's id (NaN: no value), so that a unit's rank among its
    peers in a hundred indicators reads a hundred rows, not every member's value (the
    profile's ranks, `read.unit_ranks`: 55-60 ms of a 120 ms page at a country's scale,
    issue 18). `public` False holds the "all" rows (the groups that share the data), True
    the rows the public sees (`read.seen`: a unit's published row where it has one, else its
    "all" row), stored only where they differ from the "all" slice (`EMPTY`: the public
    sees no value); where there is none, the public reads the "all" slice. Written by the
    engine beside the rows it stores (`engine._write_slices`), from the same values, in the
    same transaction; never by hand."""

    indicator = models.ForeignKey(
        "catalog.Indicator", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    period = models.ForeignKey(
        "observations.Period", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    public = models.BooleanField()
    # numbers[i] is the value of the unit whose id is first_unit + i: the array spans the
    # units with a value in the slice, not every id ever given.
    first_unit = models.PositiveIntegerField()
    numbers = models.BinaryField()
    computed_at = models.DateTimeField()  # when its numbers last changed (a save leaves the same ones alone)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["indicator", "period", "public"], name="rank_slice_unique")]

    EMPTY = (0, b"")  # (first_unit, numbers) of a public slice where the public sees no value

    @staticmethod
    def pack(lo: int, numbers: np.ndarray) -> tuple[int, bytes] | None:
        """(first_unit, numbers) of an array whose item i is unit lo + i's value (NaN: none),
        trimmed to the units with a value (ids grow as units are replaced; a slice must not
        grow with them); None when no unit has one."""
        present = np.flatnonzero(~np.isnan(numbers))
        if not len(present):
            return None
        return lo + int(present[0]), numbers[present[0] : present[-1] + 1].tobytes()

    @staticmethod
    def unpack(blob) -> np.ndarray:
        """The stored numbers as an array: item i is unit first_unit + i's value."""
        return np.frombuffer(blob, dtype=np.float64)


class InputFingerprint(models.Model):
    """What a full recompute last computed an indicator from (engine.fingerprints): a digest
    of its inputs (the engine's code, the catalogue, periods, units, memberships and its
    variables' observations) and how many derived rows it then stored. A full recompute
    whose digest and row counts match skips the indicator: nothing it reads has changed
    since, so recomputing would write nothing (issue 18). `recompute --force` ignores them."""

    indicator = models.OneToOneField(
        "catalog.Indicator", primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    digest = models.CharField(max_length=64)
    values_stored = models.PositiveBigIntegerField()
    statistics_stored = models.PositiveBigIntegerField()
    computed_at = models.DateTimeField()
