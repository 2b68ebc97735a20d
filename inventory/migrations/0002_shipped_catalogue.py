"""Loads the shipped catalogue (inventory/data/*.toml) into every new database.

It writes with the models as they are at this migration, and logs each row it creates. Later
corrections reach existing databases through `manage.py load_catalogue` (docs/catalogues.md).
"""

from django.db import migrations


def load_shipped_catalogue(apps, schema_editor):
    from core.changelog import snapshot
    from inventory.catalogue import shipped_catalogue

    catalogue = shipped_catalogue()
    License = apps.get_model("inventory", "License")
    LicenseAlias = apps.get_model("inventory", "LicenseAlias")
    Publisher = apps.get_model("inventory", "Publisher")
    PublisherNamespace = apps.get_model("inventory", "PublisherNamespace")
    ChangeLogEntry = apps.get_model("core", "ChangeLogEntry")

    created = []
    for entry in catalogue.licenses:
        license_ = License.objects.create(
            key=entry.key,
            name=entry.name,
            category=entry.category,
            commercial_use=entry.commercial_use,
            obligations=entry.obligations,
            url=entry.url,
        )
        created.append((license_, entry.key))
        created += [(LicenseAlias.objects.create(license=license_, alias=alias), alias) for alias in entry.aliases]
    by_name = {}
    for entry in catalogue.publishers:
        by_name[entry.name] = Publisher.objects.create(
            name=entry.name,
            display_name=entry.display_name,
            country=entry.country,
            country_source=entry.country_source,
            website=entry.website,
        )
        for namespace in entry.namespaces:
            row = PublisherNamespace.objects.create(
                publisher=by_name[entry.name],
                source=namespace.source,
                namespace=namespace.namespace,
                is_alias=namespace.is_alias,
            )
            created.append((row, f"{namespace.source}:{namespace.namespace}"))
    for entry in catalogue.publishers:
        publisher = by_name[entry.name]
        if entry.parent:
            publisher.parent = by_name[entry.parent]
            publisher.save(update_fields=["parent"])
        created.append((publisher, entry.display_name or entry.name))

    ChangeLogEntry.objects.bulk_create(
        ChangeLogEntry(
            actor_kind="system",
            actor_name="system:catalogue",
            action="create",
            object_type=instance._meta.label_lower,
            object_id=str(instance.pk),
            object_repr=label[:300],
            after=snapshot(instance),
            message="shipped catalogue",
        )
        for instance, label in created
    )


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial"), ("core", "0003_changelog_append_only")]

    operations = [migrations.RunPython(load_shipped_catalogue, migrations.RunPython.noop)]
