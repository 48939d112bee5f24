"""Forget what used survey links told about their respondents (issue 20, README: Privacy).

A used link kept its date, stratum and its place in the frame's order (its id), which tied
responses to households; an interviewer's or paper entry copied the answers into the audit
trail with the time to the microsecond. This migration keeps of used links only a count per
stratum, re-creates the links still waiting in random order (new ids), and leaves in those
audit events who keyed in what kind of response on which day, without the answers.
"""

import random

import django.db.models.deletion
from django.db import migrations, models


def forget(apps, schema_editor):
    Link = apps.get_model("surveys", "Link")
    UsedLinks = apps.get_model("surveys", "UsedLinks")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    counts: dict[tuple[int, str], int] = {}
    for survey_id, stratum in Link.objects.filter(used_on__isnull=False).values_list("survey_id", "stratum"):
        counts[survey_id, stratum] = counts.get((survey_id, stratum), 0) + 1
    for survey_id, stratum in Link.objects.filter(used_on__isnull=True).values_list("survey_id", "stratum"):
        counts.setdefault((survey_id, stratum), 0)
    UsedLinks.objects.bulk_create(
        UsedLinks(survey_id=survey_id, stratum=stratum, count=n) for (survey_id, stratum), n in counts.items()
    )
    Link.objects.filter(used_on__isnull=False).delete()
    waiting = list(Link.objects.values("survey_id", "contact_id", "token_hash", "stratum", "inclusion_probability"))
    random.SystemRandom().shuffle(waiting)
    Link.objects.all().delete()
    Link.objects.bulk_create(Link(**row) for row in waiting)
    for event in AuditEvent.objects.filter(action="survey.response_entered"):
        after = {k: v for k, v in (event.after or {}).items() if k != "answers"}
        at = event.at.replace(hour=0, minute=0, second=0, microsecond=0)
        AuditEvent.objects.filter(pk=event.pk).update(after=after, at=at)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("surveys", "0002_contact_link_issued"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsedLinks",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("stratum", models.CharField(blank=True, max_length=64)),
                ("count", models.PositiveIntegerField(default=0)),
                (
                    "survey",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="used_links", to="surveys.survey"
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("survey", "stratum"), name="used_links_stratum_unique")],
            },
        ),
        # The columns go in 0004: PostgreSQL refuses to alter a table with rows written in
        # the same transaction while its deferred foreign-key checks are pending.
        migrations.RunPython(forget, migrations.RunPython.noop),
    ]
