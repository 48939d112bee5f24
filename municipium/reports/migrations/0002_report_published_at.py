from django.db import migrations, models


def published_as_before(apps, schema_editor):
    """Reports made before drafts existed were public to whoever saw their figures: they stay
    so, published when they were last changed."""
    Report = apps.get_model("reports", "Report")
    Report.objects.filter(published_at__isnull=True).update(published_at=models.F("updated_at"))


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="report",
            name="published_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="published"),
        ),
        migrations.RunPython(published_as_before, migrations.RunPython.noop),
    ]
