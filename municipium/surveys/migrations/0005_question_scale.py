from django.db import migrations, models

RATED = ("satisfaction", "importance", "overall")


def declare_the_scale_they_were_read_on(apps, schema_editor):
    """Rated questions stored before scales were declared were checked to be 1–5 ratings and
    read with the top two boxes as satisfied: that becomes their declared scale."""
    Question = apps.get_model("surveys", "Question")
    Question.objects.filter(role__in=RATED).update(scale={"low": 1, "high": 5, "satisfied": [4, 5]})


class Migration(migrations.Migration):
    dependencies = [("surveys", "0004_link_without_dates")]

    operations = [
        migrations.AddField(model_name="question", name="scale", field=models.JSONField(blank=True, default=dict)),
        migrations.RunPython(declare_the_scale_they_were_read_on, migrations.RunPython.noop),
    ]
