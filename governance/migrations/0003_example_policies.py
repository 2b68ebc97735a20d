"""Ships the example policies (docs/policies.md#the-example-policies), disabled, into every database.

An admin finds them in the admin's and the API's policy lists and enables (or edits) them there.
Each is written as ``governance.policies.create_policy`` stores a new policy: its conditions in the
normalized form ``checked_conditions`` gives (tests/test_policies.py checks that), version 1 with
its ``PolicyVersion``, and a change-log row. No ``governance.policy_changed`` event is recorded: a
disabled policy has no violations to evaluate, and enabling it later is an edit through the
service, which publishes one.

The definitions are written out here, not imported, so that this migration stores the same thing
whenever it runs. A database holding a policy of one of these names already keeps its own.
"""

from typing import Any

from django.db import migrations

ACTOR_NAME = "system:example-policies"

# The jurisdictions one: the product takes no side on which countries are of concern, and a
# condition needs a non-empty list, so its list starts with "unknown" alone (an origin the registry
# cannot establish could be any jurisdiction); the admin adds the country codes.
EXAMPLE_POLICIES = [
    {
        "name": "jurisdictions-of-concern-need-security-audit",
        "description": (
            "Example policy, disabled as shipped. Fill in before enabling: add the ISO 3166-1 alpha-2 codes of "
            "the jurisdictions your organization is concerned about to the first condition's list (the registry "
            "ships none: that choice is yours). As shipped the list holds only 'unknown', an effective origin the "
            "registry cannot establish, which could be any jurisdiction; remove it if that is not a concern. "
            "Once enabled, a model with any such country anywhere in its lineage is denied in prod unless a "
            "security review approved it (with or without conditions)."
        ),
        "enabled": False,
        "action": "fail",
        "match": "all",
        "environments": ["prod"],
        "tags": [],
        "teams": [],
        "conditions": [
            {"subject": "effective_origin", "operator": "contains_any", "value": ["unknown"]},
            {"subject": "audit_status", "operator": "not_in", "kind": "security", "value": ["approved", "conditional"]},
        ],
    },
    {
        "name": "no-pickle-artifacts-in-prod",
        "description": (
            "Example policy, disabled as shipped. Denies prod deploys of a revision with a pickle-based file "
            "(pytorch-pickle, pickle: formats that can run code when loaded). Ask the publisher for safetensors, "
            "or convert and register the converted model."
        ),
        "enabled": False,
        "action": "fail",
        "match": "all",
        "environments": ["prod"],
        "tags": [],
        "teams": [],
        "conditions": [{"subject": "pickle_artifacts", "operator": "is", "value": True}],
    },
    {
        "name": "non-commercial-license-warns",
        "description": (
            "Example policy, disabled as shipped. Warns when the declared license forbids commercial use "
            "(commercial use 'no' in the license catalogue). 'conditional' licenses (user thresholds, acceptable "
            "use terms) are not flagged: add a condition for them if your legal team wants to see those too."
        ),
        "enabled": False,
        "action": "warn",
        "match": "all",
        "environments": [],
        "tags": [],
        "teams": [],
        "conditions": [{"subject": "commercial_use", "operator": "is", "value": "no"}],
    },
    {
        "name": "unaudited-model-warns",
        "description": (
            "Example policy, disabled as shipped. Warns for a model nobody has asked to review yet (audit status "
            "unaudited); request an audit review to clear it."
        ),
        "enabled": False,
        "action": "warn",
        "match": "all",
        "environments": [],
        "tags": [],
        "teams": [],
        "conditions": [{"subject": "audit_status", "operator": "is", "value": "unaudited"}],
    },
    {
        "name": "unknown-origin-warns",
        "description": (
            "Example policy, disabled as shipped. Warns when the effective origin includes 'unknown': a "
            "publisher without a country, or a lineage cut by a missing parent, a cycle or the depth bound. "
            "A curator clears it by giving the publisher its country or completing the lineage."
        ),
        "enabled": False,
        "action": "warn",
        "match": "all",
        "environments": [],
        "tags": [],
        "teams": [],
        "conditions": [{"subject": "origin_unknown", "operator": "is", "value": True}],
    },
]


def ship_example_policies(apps: Any, schema_editor: Any) -> None:
    from core.changelog import snapshot

    Policy = apps.get_model("governance", "Policy")
    PolicyVersion = apps.get_model("governance", "PolicyVersion")
    ChangeLogEntry = apps.get_model("core", "ChangeLogEntry")
    for definition in EXAMPLE_POLICIES:
        if Policy.objects.filter(name=definition["name"]).exists():
            continue
        policy = Policy.objects.create(**definition, version=1)
        PolicyVersion.objects.create(policy=policy, version=1, definition=definition, actor_name=ACTOR_NAME)
        ChangeLogEntry.objects.create(
            actor_kind="system",
            actor_name=ACTOR_NAME,
            action="create",
            object_type="governance.policy",
            object_id=str(policy.pk),
            object_repr=policy.name,
            after=snapshot(policy),
            message="version 1 (example policy, shipped disabled)",
        )


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_policies_violations_gate"), ("core", "0003_changelog_append_only")]

    operations = [migrations.RunPython(ship_example_policies, migrations.RunPython.noop)]
