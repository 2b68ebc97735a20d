"""Policies, violations and the gate through their services: checking policies, scope, violations
kept current from the domain events, waivers, the gate's three decisions, files, break-glass, and
the gate's fixed query count."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import events
from core.access import Principal, system_principal
from core.changelog import Actor
from core.events import DELIVER_TASK
from core.models import OutboxMessage, Role
from governance import gate, policies, violations
from governance.gate import ArtifactClaim
from governance.models import Policy, Violation
from inventory.models import AIModel, Publisher
from inventory.purls import parse_reference
from inventory.services import publishers, revisions
from inventory.sources.base import FileRecord
from tests.inventory_helpers import ACTOR, derive_from, model, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

ADMIN = system_principal("test")
DEPLOYER = Principal(actor=Actor.system("pipeline"), role=Role.DEPLOYER)
CN_NEEDS_AUDIT = {
    "name": "cn-derived-needs-security-audit",
    "action": "fail",
    "match": "all",
    "environments": ["prod"],
    "enabled": True,
    "conditions": [
        {"subject": "effective_origin", "operator": "contains_any", "value": ["CN"]},
        {"subject": "audit_status", "kind": "security", "operator": "not_in", "value": ["approved", "conditional"]},
    ],
}


def deliver_events() -> None:
    for message in OutboxMessage.objects.filter(task_name=DELIVER_TASK).order_by("id"):
        events.deliver(**message.kwargs)


def ask(reference: str, environment: str = "prod", artifacts=()):
    return gate.ask(
        principal=DEPLOYER,
        reference=parse_reference(reference),
        asked_as=reference,
        environment=environment,
        artifacts=artifacts,
    )


@pytest.fixture
def cn_child() -> AIModel:
    model("cn-lab/base", publisher("cn-lab", "CN"))
    child = model("us-lab/child", publisher("us-lab", "US"))
    derive_from(child, "cn-lab/base")
    return AIModel.objects.get(pk=child.pk)


# --- Checking policies ----------------------------------------------------------------------------------


def test_the_example_policy_of_the_issue_is_accepted():
    policy = policies.create_policy(actor=ACTOR, definition=CN_NEEDS_AUDIT)

    assert (policy.version, policy.versions.count()) == (1, 1)
    assert policy.conditions[1] == CN_NEEDS_AUDIT["conditions"][1]


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ({"subject": "favourite_colour", "operator": "is", "value": "red"}, "conditions.0.subject"),
        ({"subject": "effective_origin", "operator": "gt", "value": 3}, "conditions.0.operator"),
        ({"subject": "gated", "operator": "is", "value": "yes"}, "conditions.0.value"),
        ({"subject": "publisher_country", "operator": "in", "value": ["XX"]}, "conditions.0.value"),
        ({"subject": "license", "operator": "is", "value": "no-such-license"}, "conditions.0.value"),
        ({"subject": "gated", "operator": "is", "value": True, "kind": "security"}, "conditions.0.kind"),
        ({"subject": "audit_status", "operator": "is", "value": "approved", "kind": "privacy"}, "conditions.0.kind"),
        ({"subject": "days_since_approval", "operator": "gt", "value": -1}, "conditions.0.value"),
        ({"subject": "team", "operator": "in", "value": []}, "conditions.0.value"),
        ({"subject": "gated", "operator": "is"}, "conditions.0.value"),
        ({"subject": "gated", "operator": "is", "value": True, "extra": 1}, "conditions.0.extra"),
    ],
)
def test_an_invalid_condition_is_refused_naming_the_condition_and_field(condition, field):
    definition = {**CN_NEEDS_AUDIT, "conditions": [condition]}

    with pytest.raises(ValidationError) as refused:
        policies.create_policy(actor=ACTOR, definition=definition)

    assert field in refused.value.message_dict
    assert not Policy.objects.filter(name=CN_NEEDS_AUDIT["name"]).exists()


def test_each_edit_is_a_new_version_and_an_unchanged_one_is_none():
    policy = policies.create_policy(actor=ACTOR, definition=CN_NEEDS_AUDIT)

    policies.update_policy(actor=ACTOR, policy=policy, changes={"action": "warn"})
    policies.update_policy(actor=ACTOR, policy=policy, changes={"action": "warn"})

    policy.refresh_from_db()
    assert policy.version == 2
    assert [version.definition["action"] for version in policy.versions.order_by("version")] == ["fail", "warn"]


# --- Violations -------------------------------------------------------------------------------------------


def test_violations_follow_the_facts_through_the_events(cn_child):
    policy = policies.create_policy(actor=ACTOR, definition=CN_NEEDS_AUDIT)
    deliver_events()
    violation = Violation.objects.get(policy=policy, model=cn_child)
    assert violation.state == "open"
    assert "effective_origin contains_any ['CN']" in violation.message
    assert "audit_status:security not_in ['approved', 'conditional'] (it is 'unaudited')" in violation.message

    base_lab = Publisher.objects.get(name="cn-lab")
    publishers.update_publisher(actor=ACTOR, publisher=base_lab, changes={"country": "FR"})
    deliver_events()

    violation.refresh_from_db()
    assert violation.state == "resolved"
    assert not Violation.objects.filter(model__upstream_id="cn-lab/base", state="open").exists()


def test_a_waiver_stands_until_its_end_and_then_the_violation_is_open_again(cn_child):
    policy = policies.create_policy(actor=ACTOR, definition=CN_NEEDS_AUDIT)
    deliver_events()
    auditor = Principal(actor=Actor.system("auditor"), role=Role.AUDITOR)
    start = timezone.now()
    violation = Violation.objects.get(policy=policy, model=cn_child)

    violations.waive(principal=auditor, violation=violation, reason="accepted risk", until=start + timedelta(days=1))
    assert ask("huggingface:us-lab/child").decision == "allow", "a waived violation does not deny"

    with time_machine.travel(start + timedelta(days=1, seconds=1), tick=False):
        assert violations.state_of(Violation.objects.get(pk=violation.pk)) == "open"
        assert ask("huggingface:us-lab/child").decision == "deny"
        assert violations.sweep() >= 1
    assert Violation.objects.get(pk=violation.pk).state == "open"


# --- The gate -------------------------------------------------------------------------------------------


def test_the_gate_denies_warns_and_allows(cn_child):
    policies.create_policy(actor=ACTOR, definition=CN_NEEDS_AUDIT)
    policies.create_policy(
        actor=ACTOR,
        definition={
            "name": "unknown-license-warns", "action": "warn", "enabled": True,
            "conditions": [{"subject": "license_unknown", "operator": "is", "value": True}],
        },
    )  # fmt: skip
    model("fr-lab/clean", publisher("fr-lab", "FR"))

    denied = ask("huggingface:us-lab/child")
    warned = ask("huggingface:fr-lab/clean")
    in_staging = ask("huggingface:us-lab/child", environment="staging")

    assert denied.decision == "deny"
    assert [reason["policy"] for reason in denied.reasons] == [
        "cn-derived-needs-security-audit",
        "unknown-license-warns",
    ]
    assert warned.decision == "warn"
    assert in_staging.decision == "warn", "the fail policy is scoped to prod"
    assert denied.policy_versions == {"cn-derived-needs-security-audit": 1, "unknown-license-warns": 1}
    assert denied.facts["effective_origin"] == ["CN", "US"]


def test_a_model_not_in_the_inventory_is_denied_with_that_reason():
    decision = ask("huggingface:nobody/nothing")

    assert decision.decision == "deny"
    assert "not in the inventory" in decision.reasons[0]["message"]


def test_files_are_checked_against_the_recorded_revision(cn_child):
    sha = "c" * 40
    weights, config_blob = "d" * 64, "e" * 40
    revisions.add_revision(
        actor=ACTOR, model=cn_child, revision=sha,
        artifacts=[FileRecord("model.safetensors", 10, weights), FileRecord("config.json", 2, "", blob_id=config_blob)],
    )  # fmt: skip
    reference = f"huggingface:us-lab/child@{sha}"

    good = ask(
        reference,
        "dev",
        [ArtifactClaim("model.safetensors", weights), ArtifactClaim("config.json", "f" * 64, config_blob)],
    )
    bad = ask(reference, "dev", [ArtifactClaim("model.safetensors", "0" * 64), ArtifactClaim("extra.bin", "1" * 64)])

    assert good.decision == "allow"
    assert bad.decision == "deny"
    assert [reason["message"] for reason in bad.reasons] == [
        "file model.safetensors differs: its sha256 is not the recorded one",
        "file extra.bin is not among the recorded files of this revision",
    ]


def test_break_glass_allows_until_it_expires(cn_child):
    policies.create_policy(actor=ACTOR, definition=CN_NEEDS_AUDIT)
    start = timezone.now()
    override = gate.grant_override(
        principal=ADMIN, model=cn_child, environment="prod", reason="incident 42", expires_at=start + timedelta(hours=1)
    )

    allowed = ask("huggingface:us-lab/child")
    assert allowed.decision == "allow"
    assert "break-glass override" in allowed.reasons[-1]["message"]
    assert allowed.override == override
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        assert ask("huggingface:us-lab/child").decision == "deny"


def chain(depth: int) -> str:
    lab = publisher(f"chain-{depth}", "CN")
    model(f"chain-{depth}/m0", lab)
    for level in range(1, depth + 1):
        child = model(f"chain-{depth}/m{level}", lab)
        derive_from(child, f"chain-{depth}/m{level - 1}")
    return f"huggingface:chain-{depth}/m{depth}"


def queries_of_a_gate_call(reference: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        ask(reference)
    return len(queries)


def test_the_gate_makes_as_many_queries_for_a_deep_lineage_and_many_policies_as_for_a_shallow_one():
    shallow, deep = chain(1), chain(10)
    policies.create_policy(actor=ACTOR, definition=CN_NEEDS_AUDIT)
    queries_of_a_gate_call(shallow)  # reads the enabled policies, which the process then keeps
    one_policy = queries_of_a_gate_call(shallow)
    for index in range(19):
        definition = {**CN_NEEDS_AUDIT, "name": f"policy-{index}", "action": "warn"}
        policies.create_policy(actor=ACTOR, definition=definition)

    assert queries_of_a_gate_call(deep) == one_policy + 1  # the policies, read again after the writes
    assert queries_of_a_gate_call(deep) == one_policy
    assert queries_of_a_gate_call(shallow) == one_policy


def test_the_gate_finds_a_model_under_the_id_it_had_before_a_rename(cn_child):
    from inventory.services import ai_models

    ai_models.move_model(actor=ACTOR, model=cn_child, upstream_id="us-lab/child-renamed")

    decision = ask("huggingface:us-lab/child")

    assert decision.model == cn_child
    assert decision.facts["effective_origin"] == ["CN", "US"]


def test_a_failed_refresh_re_evaluates_the_policies_that_read_the_refresh_state(cn_child):
    from inventory.services import upstream

    policy = policies.create_policy(
        actor=ACTOR,
        definition={
            "name": "refresh-errors-warn", "action": "warn", "enabled": True,
            "conditions": [{"subject": "refresh_state", "operator": "is", "value": "error"}],
        },
    )  # fmt: skip
    deliver_events()
    assert not Violation.objects.filter(policy=policy).exists()

    upstream.record_failure(actor=ACTOR, model=cn_child, error="hub said 500", retry_after_seconds=60)
    deliver_events()

    assert Violation.objects.get(policy=policy).model == cn_child
