"""The example policies shipped by governance/migrations/0003_example_policies.py: disabled, stored
as ``governance.policies.create_policy`` stores a policy, each with its version 1 and change-log row."""

import importlib

import pytest

from core.changelog import Actor
from core.models import ChangeLogEntry
from governance import policies, violations
from governance.conditions import checked_conditions
from governance.models import Policy, Violation
from inventory.models import AIModel
from tests.inventory_helpers import model, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

SHIPPED = importlib.import_module("governance.migrations.0003_example_policies").EXAMPLE_POLICIES
NAMES = [definition["name"] for definition in SHIPPED]
ADMIN = Actor.system("admin")


def test_the_five_example_policies_are_shipped_disabled():
    assert sorted(Policy.objects.filter(name__in=NAMES).values_list("name", "enabled", "version")) == sorted(
        (name, False, 1) for name in NAMES
    )
    assert len(NAMES) == 5


@pytest.mark.parametrize("definition", SHIPPED, ids=NAMES)
def test_a_shipped_policy_is_stored_as_create_policy_would_store_it(definition):
    assert definition["enabled"] is False
    assert checked_conditions(definition["conditions"]) == definition["conditions"]
    same = policies.create_policy(actor=ADMIN, definition={**definition, "name": f"copy-of-{definition['name']}"})
    shipped = Policy.objects.get(name=definition["name"])

    assert policies.definition_of(shipped) == {**policies.definition_of(same), "name": definition["name"]}
    assert list(shipped.versions.values_list("version", "definition", "actor_name")) == [
        (1, policies.definition_of(shipped), "system:example-policies")
    ]
    logged = ChangeLogEntry.objects.get(object_type="governance.policy", object_id=str(shipped.pk))
    assert (logged.action, logged.object_repr, logged.after["enabled"]) == ("create", definition["name"], False)


def test_disabled_example_policies_flag_nothing():
    model("nowhere/unknown-origin", publisher("nowhere"))  # no country: the unknown-origin policy would hold

    assert violations.evaluate(model_ids=AIModel.objects.values_list("pk", flat=True)) == 0
    assert not Violation.objects.exists()


def test_an_admin_fills_in_the_jurisdictions_and_enables_it():
    cn = model("cn-lab/base", publisher("cn-lab", "CN"))
    policy = Policy.objects.get(name="jurisdictions-of-concern-need-security-audit")
    conditions = [{**policy.conditions[0], "value": ["cn", "unknown"]}, policy.conditions[1]]

    policy = policies.update_policy(actor=ADMIN, policy=policy, changes={"enabled": True, "conditions": conditions})
    violations.evaluate(model_ids=[cn.pk])

    assert (policy.version, policy.conditions[0]["value"]) == (2, ["CN", "unknown"])
    assert Violation.objects.get(policy=policy, model=cn).state == "open"
