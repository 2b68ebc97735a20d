"""Every condition subject with every operator it takes, true and false, on the facts of real models
built through the services (``facts_of`` on ``models_with_facts``); the scope of a policy (tags,
teams, and environments for the gate alone); and ``match`` all versus any.

One inventory (``world``) is built on a frozen clock and read ten days later. Each case is
(model, condition, expected); the condition goes through ``checked_conditions`` first, as a policy's
would, so a value is normalized (``cn`` is ``CN``) before it is compared. A test checks that the
table has a true and a false case for every (subject, operator) pair the conditions accept.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core.access import Principal
from core.changelog import Actor
from core.models import Role
from governance import policies, services, violations
from governance.conditions import SUBJECTS, checked_conditions, holds
from governance.facts import facts_of, models_with_facts, revision_of
from governance.models import Policy, Violation
from inventory.models import AIModel
from inventory.services import ai_models, licenses, revisions, upstream
from inventory.sources.base import FileRecord, UpstreamRecord
from tests.inventory_helpers import ACTOR, derive_from, model, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=10)
ENGINEER = Principal(actor=Actor.system("engineer"), role=Role.VIEWER)
AUDITOR = Principal(actor=Actor.system("auditor"), role=Role.AUDITOR)


def _license(key: str, category: str, commercial_use: str):
    return licenses.create_license(actor=ACTOR, key=key, name=key, category=category, commercial_use=commercial_use)


def _review(target: AIModel, kind: str, decision: str | None, **details) -> None:
    review = services.request_review(principal=ENGINEER, model=target, kind=kind)
    if decision is None:
        return
    services.take_review(principal=AUDITOR, review=review)
    if decision == "rejected":
        details.setdefault("findings", "a finding")
    if decision == "approved_with_conditions":
        details.setdefault("conditions", ["internal use only"])
    if decision != "rejected":
        details.setdefault("expires_at", T0 + timedelta(days=365))
    services.decide_review(principal=AUDITOR, review=review, decision=decision, **details)


@pytest.fixture
def world() -> dict[str, dict]:
    """The facts of each model, by name, as of ``NOW``.

    - ``cn``: CN publisher, a use-restricted license with conditional commercial use, a safetensors
      revision scanned clean; security approved at T0, license approved with conditions at T0+4d.
    - ``us``: US publisher, fine-tuned from ``cn`` (origin CN and US, a license mismatch), a
      permissive license; a pickle-based revision whose scan flagged two files; security approved
      at T0 and a license review waiting (pending).
    - ``orphan``: a publisher of unknown country, no license, a base that is not in the inventory
      (origin unknown); never reviewed, no revision.
    - ``nc``: FR, a proprietary license forbidding commercial use; a full review rejected; a revision
      the hub did not scan.
    - ``internal``: an internal model of team ml-platform, tagged nlp.
    - ``refreshed``: refreshed from its hub at T0+7d (gated there); ``failing`` and ``gone``: refreshes
      that failed and found nothing.
    """
    with time_machine.travel(T0, tick=False):
        restricted = _license("LicenseRef-test-restricted", "use-restricted", "conditional")
        permissive = _license("LicenseRef-test-permissive", "permissive", "yes")
        closed = _license("LicenseRef-test-closed", "proprietary", "no")
        cn = model("cn-lab/base", publisher("cn-lab", "CN"), restricted)
        us = model("us-lab/child", publisher("us-lab", "US"), permissive)
        derive_from(us, "cn-lab/base")
        orphan = model("nowhere/orphan", publisher("nowhere"))
        derive_from(orphan, "ghost/missing-base")
        nc = model("fr-lab/closed", publisher("fr-lab", "FR"), closed)
        internal, _ = ai_models.register_model(
            actor=ACTOR, source="internal", upstream_id="acme/support-bot", team="ml-platform", tags=["nlp", "chat"]
        )
        revisions.add_revision(
            actor=ACTOR, model=cn, revision="a" * 40, artifacts=[FileRecord("model.safetensors", 10, "1" * 64)],
            scan_done=True,
        )  # fmt: skip
        revisions.add_revision(
            actor=ACTOR, model=us, revision="b" * 40, artifacts=[FileRecord("pytorch_model.bin", 10, "2" * 64)],
            scan_done=True, scan_issues=[{"path": "pytorch_model.bin"}, {"path": "extra.pkl"}],
        )  # fmt: skip
        revisions.add_revision(actor=ACTOR, model=nc, revision="c" * 40, artifacts=[FileRecord("model.onnx", 5)])
        _review(cn, "security", "approved")
        _review(us, "security", "approved")
        _review(us, "license", None)
        _review(nc, "full", "rejected")
        refreshed = model("refreshed-lab/model", publisher("refreshed-lab", "DE"))
        failing = model("failing-lab/model", publisher("failing-lab", "DE"))
        gone = model("gone-lab/model", publisher("gone-lab", "DE"))
        upstream.record_failure(actor=ACTOR, model=failing, error="hub said 500", retry_after_seconds=60)
        upstream.record_gone(actor=ACTOR, model=gone, reason="404")
    with time_machine.travel(T0 + timedelta(days=4), tick=False):
        _review(cn, "license", "approved_with_conditions")
    with time_machine.travel(T0 + timedelta(days=7), tick=False):
        record = UpstreamRecord(upstream_id="refreshed-lab/model", revision="d" * 40, gated=True)
        upstream.record_refreshes(actor=ACTOR, refreshed=[(refreshed, record)])
    names = {cn.pk: "cn", us.pk: "us", orphan.pk: "orphan", nc.pk: "nc", internal.pk: "internal"}
    names |= {refreshed.pk: "refreshed", failing.pk: "failing", gone.pk: "gone"}
    return {names[loaded.pk]: facts_of(loaded, revision_of(loaded, None), NOW) for loaded in models_with_facts(names)}


def c(subject: str, operator: str, value, kind: str | None = None) -> dict:
    return {"subject": subject, "operator": operator, "value": value} | ({"kind": kind} if kind else {})


# (model, condition, whether it holds), by subject.
CASES: dict[str, list[tuple[str, dict, bool]]] = {
    "publisher_country": [
        ("cn", c("publisher_country", "is", "cn"), True),
        ("us", c("publisher_country", "is", "CN"), False),
        ("orphan", c("publisher_country", "is", "unknown"), True),
        ("cn", c("publisher_country", "is", "unknown"), False),
        ("us", c("publisher_country", "is_not", "CN"), True),
        ("cn", c("publisher_country", "is_not", "CN"), False),
        ("cn", c("publisher_country", "in", ["CN", "FR"]), True),
        ("orphan", c("publisher_country", "in", ["Unknown"]), True),
        ("us", c("publisher_country", "in", ["CN", "FR"]), False),
        ("us", c("publisher_country", "not_in", ["CN", "unknown"]), True),
        ("orphan", c("publisher_country", "not_in", ["CN", "unknown"]), False),
        ("cn", c("publisher_country", "not_in", ["CN"]), False),
    ],
    "effective_origin": [
        ("us", c("effective_origin", "contains_any", ["CN"]), True),  # through its base
        ("us", c("effective_origin", "contains_any", ["FR", "US"]), True),
        ("cn", c("effective_origin", "contains_any", ["US"]), False),  # a base does not inherit its child's
        ("orphan", c("effective_origin", "contains_any", ["unknown"]), True),
        ("us", c("effective_origin", "contains_any", ["unknown"]), False),
    ],
    "license": [
        ("us", c("license", "is", "licenseref-test-permissive"), True),
        ("cn", c("license", "is", "LicenseRef-test-permissive"), False),
        ("cn", c("license", "is_not", "LicenseRef-test-permissive"), True),
        ("us", c("license", "is_not", "LicenseRef-test-permissive"), False),
        ("nc", c("license", "in", ["LicenseRef-test-closed", "LicenseRef-test-restricted"]), True),
        ("us", c("license", "in", ["LicenseRef-test-closed", "LicenseRef-test-restricted"]), False),
        ("orphan", c("license", "not_in", ["LicenseRef-test-closed"]), True),  # no license is none of them
        ("nc", c("license", "not_in", ["LicenseRef-test-closed"]), False),
    ],
    "license_category": [
        ("cn", c("license_category", "is", "use-restricted"), True),
        ("us", c("license_category", "is", "use-restricted"), False),
        ("us", c("license_category", "is_not", "proprietary"), True),
        ("nc", c("license_category", "is_not", "proprietary"), False),
        ("nc", c("license_category", "in", ["proprietary", "copyleft"]), True),
        ("us", c("license_category", "in", ["proprietary", "copyleft"]), False),
        ("us", c("license_category", "not_in", ["proprietary"]), True),
        ("nc", c("license_category", "not_in", ["proprietary"]), False),
    ],
    "commercial_use": [
        ("nc", c("commercial_use", "is", "no"), True),
        ("us", c("commercial_use", "is", "no"), False),
        ("us", c("commercial_use", "is_not", "no"), True),
        ("nc", c("commercial_use", "is_not", "no"), False),
        ("cn", c("commercial_use", "in", ["no", "conditional"]), True),
        ("us", c("commercial_use", "in", ["no", "conditional"]), False),
        ("us", c("commercial_use", "not_in", ["no", "conditional"]), True),
        ("cn", c("commercial_use", "not_in", ["no", "conditional"]), False),
    ],
    "license_unknown": [
        ("orphan", c("license_unknown", "is", True), True),
        ("us", c("license_unknown", "is", True), False),
        ("us", c("license_unknown", "is_not", True), True),
        ("orphan", c("license_unknown", "is_not", True), False),
    ],
    "license_mismatch": [
        ("us", c("license_mismatch", "is", True), True),  # permissive, on a use-restricted base
        ("cn", c("license_mismatch", "is", True), False),
        ("cn", c("license_mismatch", "is_not", True), True),
        ("us", c("license_mismatch", "is_not", True), False),
    ],
    "audit_status": [
        ("us", c("audit_status", "is", "pending"), True),  # the most severe of its kinds
        ("cn", c("audit_status", "is", "approved"), False),  # conditional: license approved with conditions
        ("cn", c("audit_status", "is", "conditional"), True),
        ("us", c("audit_status", "is", "approved", kind="security"), True),
        ("us", c("audit_status", "is", "approved", kind="license"), False),
        ("nc", c("audit_status", "is", "rejected", kind="security"), True),  # a full review counts for security
        ("orphan", c("audit_status", "is_not", "unaudited"), False),
        ("nc", c("audit_status", "is_not", "unaudited"), True),
        ("cn", c("audit_status", "is_not", "unaudited", kind="full"), False),
        ("us", c("audit_status", "in", ["approved", "conditional"]), False),
        ("cn", c("audit_status", "in", ["approved", "conditional"]), True),
        ("us", c("audit_status", "in", ["pending"], kind="license"), True),
        ("orphan", c("audit_status", "not_in", ["approved", "conditional"], kind="security"), True),
        ("us", c("audit_status", "not_in", ["approved", "conditional"], kind="security"), False),
        ("nc", c("audit_status", "not_in", ["rejected", "expired"]), False),
    ],
    "days_since_approval": [
        ("cn", c("days_since_approval", "gt", 9), True),  # its oldest approval: security, 10 days
        ("cn", c("days_since_approval", "gt", 10), False),
        ("cn", c("days_since_approval", "lt", 10.5), True),
        ("cn", c("days_since_approval", "lt", 10), False),
        ("cn", c("days_since_approval", "gt", 5, kind="license"), True),  # 6 days
        ("cn", c("days_since_approval", "lt", 5, kind="license"), False),
        ("cn", c("days_since_approval", "lt", 7, kind="license"), True),
        ("us", c("days_since_approval", "gt", 20, kind="security"), False),
        # Never approved (or not approved now) counts as endless: gt holds, lt does not.
        ("orphan", c("days_since_approval", "gt", 10000), True),
        ("orphan", c("days_since_approval", "lt", 10000), False),
        ("us", c("days_since_approval", "gt", 10000), True),  # pending summary
        ("cn", c("days_since_approval", "gt", 10000, kind="full"), True),
        ("nc", c("days_since_approval", "lt", 10000, kind="security"), False),  # rejected
    ],
    "pickle_artifacts": [
        ("us", c("pickle_artifacts", "is", True), True),  # a .bin file
        ("cn", c("pickle_artifacts", "is", True), False),
        ("orphan", c("pickle_artifacts", "is", False), True),  # no revision, no files
        ("cn", c("pickle_artifacts", "is_not", True), True),
        ("us", c("pickle_artifacts", "is_not", True), False),
    ],
    "scan_issues": [
        ("us", c("scan_issues", "gt", 1), True),
        ("us", c("scan_issues", "gt", 2), False),
        ("cn", c("scan_issues", "lt", 1), True),
        ("us", c("scan_issues", "lt", 1), False),
        ("us", c("scan_issues", "is", 2), True),
        ("cn", c("scan_issues", "is", 2), False),
        ("orphan", c("scan_issues", "is", 0), True),
    ],
    "scan_not_done": [
        ("nc", c("scan_not_done", "is", True), True),  # the hub did not scan it
        ("orphan", c("scan_not_done", "is", True), True),  # no revision at all
        ("cn", c("scan_not_done", "is", True), False),
        ("cn", c("scan_not_done", "is_not", True), True),
        ("nc", c("scan_not_done", "is_not", True), False),
    ],
    "origin_unknown": [
        ("orphan", c("origin_unknown", "is", True), True),
        ("us", c("origin_unknown", "is", True), False),
        ("us", c("origin_unknown", "is_not", True), True),
        ("orphan", c("origin_unknown", "is_not", True), False),
    ],
    "metadata_age_days": [
        ("refreshed", c("metadata_age_days", "gt", 2.5), True),  # refreshed 3 days ago
        ("refreshed", c("metadata_age_days", "gt", 3), False),
        ("refreshed", c("metadata_age_days", "lt", 3.5), True),
        ("refreshed", c("metadata_age_days", "lt", 3), False),
        ("cn", c("metadata_age_days", "gt", 10000), True),  # never refreshed: endless
        ("cn", c("metadata_age_days", "lt", 10000), False),
        ("failing", c("metadata_age_days", "lt", 10000), False),  # a failed refresh refreshes nothing
    ],
    "gated": [
        ("refreshed", c("gated", "is", True), True),
        ("cn", c("gated", "is", True), False),
        ("cn", c("gated", "is_not", True), True),
        ("refreshed", c("gated", "is_not", True), False),
    ],
    "refresh_state": [
        ("refreshed", c("refresh_state", "is", "ok"), True),
        ("cn", c("refresh_state", "is", "ok"), False),
        ("cn", c("refresh_state", "is_not", "pending"), False),
        ("failing", c("refresh_state", "is_not", "pending"), True),
        ("failing", c("refresh_state", "in", ["error", "gone"]), True),
        ("gone", c("refresh_state", "in", ["error", "gone"]), True),
        ("refreshed", c("refresh_state", "in", ["error", "gone"]), False),
        ("refreshed", c("refresh_state", "not_in", ["error", "gone"]), True),
        ("gone", c("refresh_state", "not_in", ["error", "gone"]), False),
    ],
    "source": [
        ("internal", c("source", "is", "internal"), True),
        ("cn", c("source", "is", "internal"), False),
        ("cn", c("source", "is_not", "internal"), True),
        ("internal", c("source", "is_not", "internal"), False),
        ("cn", c("source", "in", ["huggingface", "modelscope"]), True),
        ("internal", c("source", "in", ["huggingface", "modelscope"]), False),
        ("internal", c("source", "not_in", ["huggingface"]), True),
        ("cn", c("source", "not_in", ["huggingface"]), False),
    ],
    "team": [
        ("internal", c("team", "is", "ml-platform"), True),
        ("cn", c("team", "is", "ml-platform"), False),
        ("cn", c("team", "is_not", "ml-platform"), True),
        ("internal", c("team", "is_not", "ml-platform"), False),
        ("internal", c("team", "in", ["ml-platform", "search"]), True),
        ("cn", c("team", "in", ["ml-platform", "search"]), False),
        ("cn", c("team", "not_in", ["ml-platform"]), True),
        ("internal", c("team", "not_in", ["ml-platform"]), False),
    ],
}


def test_the_table_has_a_true_and_a_false_case_for_every_subject_and_operator():
    wanted = {(subject, operator, outcome) for subject, spec in SUBJECTS.items() for operator in spec.operators
              for outcome in (True, False)}  # fmt: skip
    covered = {(cond["subject"], cond["operator"], expected) for cases in CASES.values() for _, cond, expected in cases}

    assert wanted - covered == set()
    assert set(CASES) == set(SUBJECTS)


@pytest.mark.parametrize("subject", list(CASES))
def test_each_condition_holds_exactly_where_the_facts_meet_it(world, subject):
    wrong = []
    for name, condition, expected in CASES[subject]:
        (checked,) = checked_conditions([condition])
        if holds(checked, world[name]) != expected:
            wrong.append((name, condition, expected, world[name].get(checked["subject"])))

    assert wrong == []


def test_the_facts_read_as_the_world_was_built(world):
    assert world["us"]["effective_origin"] == ["CN", "US"]
    assert world["orphan"]["effective_origin"] == ["unknown"]
    assert world["cn"]["days_since_approval:security"] == 10.0
    assert world["cn"]["days_since_approval:license"] == 6.0
    assert world["cn"]["days_since_approval"] == 10.0
    assert world["refreshed"]["metadata_age_days"] == 3.0
    assert (world["cn"]["refresh_state"], world["failing"]["refresh_state"]) == ("pending", "error")


# --- Scope and match ----------------------------------------------------------------------------------


def _policy(name: str, conditions: list[dict], **definition) -> Policy:
    return policies.create_policy(
        actor=ACTOR, definition={"name": name, "action": "warn", "enabled": True, "conditions": conditions} | definition
    )


@pytest.fixture
def scoped_models() -> dict[str, AIModel]:
    lab = publisher("scope-lab", "CN")
    nlp, _ = ai_models.register_model(
        actor=ACTOR, source="huggingface", upstream_id="scope-lab/nlp", publisher=lab, tags=["nlp"], team="search"
    )
    vision, _ = ai_models.register_model(
        actor=ACTOR, source="huggingface", upstream_id="scope-lab/vision", publisher=lab, tags=["vision"], team="ads"
    )
    bare = model("scope-lab/bare", lab)
    return {"nlp": nlp, "vision": vision, "bare": bare}


CN = [c("publisher_country", "is", "CN")]


@pytest.mark.parametrize(
    ("scope", "flagged"),
    [
        ({}, {"nlp", "vision", "bare"}),
        ({"tags": ["nlp"]}, {"nlp"}),
        ({"tags": ["nlp", "vision"]}, {"nlp", "vision"}),
        ({"teams": ["ads"]}, {"vision"}),
        ({"tags": ["nlp"], "teams": ["ads"]}, set()),  # both must fit
        ({"environments": ["prod"]}, {"nlp", "vision", "bare"}),  # environments are the gate's alone
    ],
)
def test_a_policy_flags_the_models_in_its_scope(scoped_models, scope, flagged):
    policy = _policy("scoped", CN, **scope)
    violations.evaluate(model_ids=[instance.pk for instance in scoped_models.values()])

    stored = set(Violation.objects.filter(policy=policy, state="open").values_list("model__upstream_id", flat=True))
    assert stored == {f"scope-lab/{name}" for name in flagged}
    assert {name for name, instance in scoped_models.items() if policies.applies_to(policy, instance)} == flagged
    assert {instance.upstream_id for instance in scoped_models.values()} >= stored


def test_environments_scope_the_gate_alone(scoped_models):
    policy = _policy("prod-only", CN, environments=["prod", "staging"])
    nlp = scoped_models["nlp"]

    assert policies.applies_to(policy, nlp)
    assert policies.applies_to(policy, nlp, "prod")
    assert policies.applies_to(policy, nlp, "staging")
    assert not policies.applies_to(policy, nlp, "dev")
    everywhere = _policy("everywhere", CN)
    assert policies.applies_to(everywhere, nlp, "dev")


@pytest.mark.parametrize(
    ("match", "conditions", "met"),
    [
        ("all", [c("publisher_country", "is", "CN"), c("team", "is", "search")], 2),
        ("all", [c("publisher_country", "is", "CN"), c("team", "is", "ads")], 0),
        ("any", [c("publisher_country", "is", "CN"), c("team", "is", "ads")], 1),
        ("any", [c("publisher_country", "is", "FR"), c("team", "is", "ads")], 0),
        ("any", [c("publisher_country", "is", "CN"), c("team", "is", "search")], 2),
    ],
)
def test_match_all_needs_every_condition_and_any_one(scoped_models, match, conditions, met):
    policy = _policy("matching", conditions, match=match)
    nlp = models_with_facts([scoped_models["nlp"].pk]).get()

    found = policies.findings(policy, facts_of(nlp, revision_of(nlp, None)))

    assert len(found) == met
    flagged = {flag.model.pk for flag in policies.dry_run(definition=policies.definition_of(policy))}
    assert (nlp.pk in flagged) == bool(met)
