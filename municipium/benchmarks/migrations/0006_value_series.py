"""Derived values stored as one row per indicator, unit and basis (`ValueSeries`) instead of
one row per value (`IndicatorValue`), issue 18. Derived figures are recomputed from the
observations, never converted: the old rows go, and so do the ranks' slices made from them
and the input fingerprints, so that the next full recompute (`municipium recompute`, which
README's upgrade note asks for) computes every indicator again."""

import django.db.models.deletion
from django.db import migrations, models


def forget_derived(apps, schema_editor):
    apps.get_model("benchmarks", "InputFingerprint").objects.all().delete()
    apps.get_model("benchmarks", "RankSlice").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("benchmarks", "0005_group_statistic_group"),
        ("catalog", "0001_initial"),
        ("places", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ValueSeries",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("basis", models.CharField(choices=[("all", "All data"), ("published", "Published data")], default="all", max_length=16)),
                ("first", models.IntegerField(help_text="The ordinal of the period of element 0 (of the indicator's period kind)")),
                ("count", models.PositiveIntegerField(help_text="How many periods have a value or a reason")),
                ("missing", models.BinaryField(help_text="One signed byte a period: -1 none, 0 a value, k the k-th missing code")),
                ("value", models.BinaryField(null=True)),
                ("numerator", models.BinaryField(null=True)),
                ("denominator", models.BinaryField(null=True)),
                ("change", models.BinaryField(null=True)),
                ("change_pct", models.BinaryField(null=True)),
                ("trend", models.BinaryField(null=True)),
                ("computed_at", models.DateTimeField()),
                (
                    "indicator",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalog.indicator",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="places.unit",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("indicator", "unit", "basis"), name="value_series_unique")
                ],
                "indexes": [models.Index(fields=["unit"], name="value_series_unit")],
            },
        ),
        migrations.RunPython(forget_derived, migrations.RunPython.noop),
        migrations.DeleteModel(name="IndicatorValue"),
    ]
