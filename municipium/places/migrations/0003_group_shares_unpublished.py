from django.db import migrations, models

# The kinds whose members agreed to share unpublished figures (places.models.SHARING_KINDS,
# copied: a migration keeps the rule as it was when it ran).
SHARING_KINDS = ("exchange", "cooperation")


def default_by_kind(apps, schema_editor):
    Group = apps.get_model("places", "Group")
    Group.objects.filter(kind__in=SHARING_KINDS).update(shares_unpublished=True)


class Migration(migrations.Migration):
    dependencies = [
        ("places", "0002_availability"),
    ]

    operations = [
        migrations.AddField(
            model_name="group",
            name="shares_unpublished",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Members' data officers, approvers and viewers see each other's figures before they are "
                    "published. Exchange groups and cooperations usually do; peer groups and regions do not."
                ),
                verbose_name="shares unpublished figures",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(default_by_kind, migrations.RunPython.noop),
    ]
