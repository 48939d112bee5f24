"""Issue 18. A series' missing byte may carry a hidden published twin (`series.HIDDEN`),
which `count` counts: help texts only, the stored series read the same.

On PostgreSQL the ranks' slices' numbers are stored out of line without compression: a
slice is 20 KB of doubles, which pglz tried to compress on every write and could not
(stored sizes equal the raw ones), and that attempt made a slice's INSERT four times
slower (4,000 slices: 1.05 -> 0.25 s). Existing slices keep their storage until rewritten."""

from django.db import migrations, models


def slices_stored(storage: str):
    """Set the slices' numbers' storage on PostgreSQL (SQLite has no such setting)."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(apps.get_model("benchmarks", "RankSlice")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN numbers SET STORAGE {storage}")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("benchmarks", "0006_value_series"),
    ]

    operations = [
        migrations.AlterField(
            model_name="valueseries",
            name="count",
            field=models.PositiveIntegerField(help_text="How many rows it gives back (its hidden published twins too)"),
        ),
        migrations.AlterField(
            model_name="valueseries",
            name="missing",
            field=models.BinaryField(
                help_text="One signed byte a period: -1 none, 0 a value, k the k-th missing code; + 64 a hidden published twin"
            ),
        ),
        migrations.RunPython(slices_stored("EXTERNAL"), slices_stored("EXTENDED")),
    ]
