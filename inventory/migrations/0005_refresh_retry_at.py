# A failed refresh's time of retry, and why models of sources the registry does not refresh from
# are not refreshed (as registration now records it).

from django.db import migrations, models

# The reasons as inventory.sources gave them when this migration was written.
_NOT_REFRESHED = {
    "modelscope": "refresh from ModelScope is not supported yet",
    "internal": "internal models are not refreshed from a hub",
}


def explain_not_refreshed(apps, schema_editor):
    AIModel = apps.get_model("inventory", "AIModel")
    for source, because in _NOT_REFRESHED.items():
        AIModel.objects.filter(source=source, refresh_state="pending", refresh_error="").update(refresh_error=because)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0004_admin_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="aimodel",
            name="refresh_retry_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(explain_not_refreshed, migrations.RunPython.noop),
    ]
