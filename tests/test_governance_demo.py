"""The demo's governance: audit reviews in every state by two people, and example policies enabled so
that the gate gives all three decisions; all made through the services, seeded once."""

import hashlib
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from core.access import Principal, principal_for_user, set_user_access
from core.changelog import Actor
from core.models import ChangeLogEntry, DomainEvent, EventDelivery, Role, UserAccess
from governance import demo, gate, policies, services, violations
from governance.models import AuditReview, Evidence, Policy, PolicyVersion, ReviewState, Violation
from governance.selectors import coverage_of_latest
from inventory.demo import demo_seeded, seed_demo
from inventory.models import AIModel
from inventory.purls import parse_reference

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

ACTOR = Actor.system("demo")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """The demo's evidence file goes to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def status_of(upstream_id: str) -> str:
    return AIModel.objects.get(upstream_id=upstream_id).audit_status


def governance_rows() -> dict[str, object]:
    return {
        "reviews": sorted(AuditReview.objects.values_list("model__upstream_id", "kind", "state")),
        "evidence": Evidence.objects.count(),
        "change_log": ChangeLogEntry.objects.count(),
        "events": DomainEvent.objects.count(),
        "deliveries": EventDelivery.objects.count(),
        "users": sorted(get_user_model().objects.values_list("username", flat=True)),
        "policies": sorted(Policy.objects.values_list("name", "version", "enabled")),
        "policy_versions": PolicyVersion.objects.count(),
        "violations": sorted(Violation.objects.values_list("policy__name", "model__upstream_id", "state", "message")),
    }


def test_the_demo_has_a_review_in_every_state_asked_and_decided_by_two_people():
    seed_demo(actor=ACTOR)

    reviews = AuditReview.objects.all()
    assert set(reviews.values_list("state", flat=True)) == set(ReviewState.values)
    engineer = get_user_model().objects.get(username=demo.ENGINEER)
    auditor = get_user_model().objects.get(username=demo.AUDITOR)
    assert {(review.requester_kind, review.requester_person_id) for review in reviews} == {("user", engineer.pk)}
    assert set(reviews.exclude(reviewer_name="").values_list("reviewer_person_id", flat=True)) == {auditor.pk}
    assert engineer.pk != auditor.pk
    assert dict(UserAccess.objects.values_list("user__username", "role")) == {
        demo.ENGINEER: Role.EDITOR,
        demo.AUDITOR: Role.AUDITOR,
    }
    assert not engineer.has_usable_password()
    assert not auditor.has_usable_password()
    assert not engineer.is_staff
    assert not auditor.is_staff


def test_the_demo_reviews_tell_their_stories_on_real_demo_models():
    seed_demo(actor=ACTOR)

    assert status_of("Qwen/Qwen2.5-7B-Instruct") == "conditional"
    qwen = AuditReview.objects.filter(model__upstream_id="Qwen/Qwen2.5-7B-Instruct").order_by("id")
    assert list(qwen.values_list("state", flat=True)) == [ReviewState.SUPERSEDED, ReviewState.APPROVED_WITH_CONDITIONS]
    assert all(review.revision_id for review in qwen), "pinned to the revision deployed"
    conditional = qwen.last()
    assert len(conditional.conditions) == 3
    assert "Declared license: Apache License 2.0 (Apache-2.0)" in conditional.findings
    assert status_of("Qwen/Qwen2.5-3B-Instruct") == "rejected"
    rejected = AuditReview.objects.get(model__upstream_id="Qwen/Qwen2.5-3B-Instruct")
    assert "commercial use: no" in rejected.findings, "the catalogue's fact, not an invented one"
    assert rejected.evidence.get().url == rejected.model.declared_license.url
    assert status_of("meta-llama/Llama-3.1-8B-Instruct") == "approved"
    assert status_of("dphn/dolphin-2.9.1-yi-1.5-34b") == "expired"
    assert status_of("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B") == "pending"
    assert status_of("deepseek-ai/DeepSeek-R1-Distill-Llama-8B") == "pending"
    assert status_of("mistralai/Mistral-7B-Instruct-v0.2") == "unaudited", "a withdrawn request does not count"
    for review in AuditReview.objects.all():
        assert "Demo" in review.note
        assert not review.findings or "demo data" in review.findings


def test_each_models_stored_audit_status_is_what_its_reviews_say():
    seed_demo(actor=ACTOR)

    reviewed = AIModel.objects.filter(audit_reviews__isnull=False).distinct()
    assert reviewed.count() == len(demo.SCENARIOS)
    for model in AIModel.objects.all():
        coverage = coverage_of_latest(model)
        assert (model.audit_status, model.audit_expires_at) == (coverage.status, coverage.expires_at), model


def test_the_demo_reviews_went_through_the_services():
    seed_demo(actor=ACTOR)

    logged = set(
        ChangeLogEntry.objects.filter(object_type="governance.auditreview").values_list("action", "actor_name")
    )
    assert logged == {
        ("create", demo.ENGINEER),
        ("take", demo.AUDITOR),
        ("decide", demo.AUDITOR),
        ("supersede", demo.AUDITOR),
        ("withdraw", demo.ENGINEER),
        ("expire", "system:governance"),
    }
    assert ChangeLogEntry.objects.filter(object_type="governance.evidence", action="create").count() == 4
    changed = DomainEvent.objects.filter(kind="governance.review_changed")
    assert set(changed.values_list("payload__after", flat=True)) == set(ReviewState.values)
    file = Evidence.objects.get(kind="file")
    assert hashlib.sha256(file.file.read()).hexdigest() == file.sha256
    assert file.added_by == demo.ENGINEER


def test_the_command_says_what_reviews_the_demo_has():
    output = io.StringIO()

    call_command("seed_demo", stdout=output)

    lines = output.getvalue().splitlines()
    assert lines[0].startswith("Demo inventory:")
    assert lines[1].startswith(f"Demo audit reviews: {AuditReview.objects.count()} (approved, ")
    assert f"by {demo.ENGINEER} and {demo.AUDITOR}" in lines[1]
    assert lines[2] == (
        f"Policies enabled: 3 ({', '.join(sorted(demo.DEMO_POLICIES))}); "
        f"open violations: {Violation.objects.filter(state='open').count()}"
    )


def test_seeding_twice_adds_nothing_the_second_time():
    seed_demo(actor=ACTOR)
    first = governance_rows()

    summary = seed_demo(actor=ACTOR)

    assert governance_rows() == first
    assert summary.others[0] == (
        f"Demo audit reviews: 8 ({', '.join(sorted(ReviewState.values))}), by demo-engineer and demo-auditor"
    )
    assert summary.others[1].startswith(f"Policies enabled: 3 ({', '.join(sorted(demo.DEMO_POLICIES))}); ")
    assert len(summary.others) == 2


def seed_the_inventory_alone() -> None:
    """``seed_demo`` without governance's receivers, which are connected again in their order."""
    demo_seeded.disconnect(dispatch_uid="governance.demo_reviews")
    demo_seeded.disconnect(dispatch_uid="governance.demo_policies")
    try:
        seed_demo(actor=ACTOR)
    finally:
        demo_seeded.connect(demo.seed_demo_reviews, dispatch_uid="governance.demo_reviews")
        demo_seeded.connect(demo.seed_demo_policies, dispatch_uid="governance.demo_policies")


def test_a_demo_model_someone_reviewed_already_is_left_to_them():
    seed_the_inventory_alone()
    someone = get_user_model().objects.create_user(username="someone", password=None)
    set_user_access(actor=ACTOR, user=someone, role=Role.VIEWER)
    mistral = AIModel.objects.get(upstream_id="mistralai/Mistral-7B-Instruct-v0.2")
    theirs = services.request_review(principal=principal_for_user(someone), model=mistral, kind="security")

    seed_demo(actor=ACTOR)

    assert list(AuditReview.objects.filter(model=mistral)) == [theirs]
    assert AuditReview.objects.filter(requester_name=demo.ENGINEER).count() == 7


# --- Example policies -------------------------------------------------------------------------------------


def test_the_demo_enables_three_example_policies_through_the_service():
    seed_demo(actor=ACTOR)

    enabled = Policy.objects.filter(enabled=True)
    assert sorted(enabled.values_list("name", flat=True)) == sorted(demo.DEMO_POLICIES)
    assert set(enabled.values_list("version", flat=True)) == {2}, "version 1 shipped disabled, 2 enabled it"
    assert Policy.objects.filter(enabled=False).count() == 2, "the other example policies stay as shipped"
    logged = ChangeLogEntry.objects.filter(object_type="governance.policy", action="update")
    assert sorted(logged.values_list("object_repr", "actor_name", "message")) == [
        (name, ACTOR.name, "version 2") for name in sorted(demo.DEMO_POLICIES)
    ]
    changed = DomainEvent.objects.filter(kind="governance.policy_changed")
    assert sorted(changed.values_list("payload__version", flat=True)) == [2, 2, 2]
    jurisdictions = Policy.objects.get(name="jurisdictions-of-concern-need-security-audit")
    assert jurisdictions.conditions[0]["value"] == demo.DEMO_COUNTRIES
    assert jurisdictions.description.startswith("Demo data: ")


def test_the_demo_shows_violations_as_a_full_evaluation_finds_them():
    seed_demo(actor=ACTOR)

    open_ = Violation.objects.filter(state="open")
    assert open_.filter(policy__name="jurisdictions-of-concern-need-security-audit").exists()
    assert open_.filter(policy__name="unaudited-model-warns").exists()
    assert not open_.filter(model__upstream_id="meta-llama/Llama-3.1-8B-Instruct").exists()
    assert not Violation.objects.filter(policy__enabled=False).exists()
    everything = AIModel.objects.values_list("pk", flat=True)
    assert violations.evaluate(model_ids=everything) == 0, "stored violations are what a full evaluation gives"


def test_the_gate_gives_all_three_decisions_for_demo_models_in_prod():
    seed_demo(actor=ACTOR)
    deployer = Principal(actor=Actor.system("demo-pipeline"), role=Role.DEPLOYER)

    decisions = {
        reference: gate.ask(
            principal=deployer, reference=parse_reference(reference), asked_as=reference, environment="prod"
        )
        for reference in demo.GATE_EXAMPLES
    }

    assert {reference: decision.decision for reference, decision in decisions.items()} == demo.GATE_EXAMPLES
    assert set(demo.GATE_EXAMPLES.values()) == {"allow", "warn", "deny"}
    denied = decisions["huggingface:deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"]
    assert "jurisdictions-of-concern-need-security-audit" in [reason["policy"] for reason in denied.reasons]


def test_an_example_policy_an_admin_edited_is_left_to_them():
    seed_the_inventory_alone()
    mine = Policy.objects.get(name="unaudited-model-warns")
    policies.update_policy(actor=Actor.system("admin"), policy=mine, changes={"action": "info"})

    seed_demo(actor=ACTOR)

    mine.refresh_from_db()
    assert (mine.enabled, mine.action, mine.version) == (False, "info", 2)
    assert Policy.objects.filter(enabled=True).count() == 2
