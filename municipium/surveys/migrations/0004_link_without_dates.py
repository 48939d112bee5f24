"""A link keeps no time: when it was created or used could tie it to a respondent (see 0003)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("surveys", "0003_forget_used_links")]

    operations = [
        migrations.RemoveField(model_name="link", name="created"),
        migrations.RemoveField(model_name="link", name="used_on"),
    ]
