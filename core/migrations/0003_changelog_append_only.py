"""On PostgreSQL, a trigger makes the change log append-only: UPDATE and DELETE raise."""

from django.db import migrations

CREATE = """
CREATE FUNCTION core_changelog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the change log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER core_changelog_append_only
    BEFORE UPDATE OR DELETE ON core_changelogentry
    FOR EACH ROW EXECUTE FUNCTION core_changelog_refuse_change();
"""
DROP = """
DROP TRIGGER IF EXISTS core_changelog_append_only ON core_changelogentry;
DROP FUNCTION IF EXISTS core_changelog_refuse_change();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_changelog")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
