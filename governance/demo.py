"""The demo's audit reviews: at least one in every state, asked for by a demo engineer and taken and
decided by a demo auditor, all through ``governance.services`` (so the change log, the events and
each model's stored audit status are what real reviews give).

``GovernanceConfig.ready`` connects ``seed_demo_reviews`` to ``inventory.demo.demo_seeded``, which
``manage.py seed_demo`` sends once the demo inventory is in place. Idempotent: each scenario runs,
in one transaction, only for a demo model that has no review at all, so seeding again writes
nothing, and reviews people made of demo models are never mixed with the demo's.

The models and licenses are the demo inventory's real ones; what the reviews say (notes, findings,
conditions) is demo data about a fictional organization, and its facts about a license come from
the license catalogue the registry ships.

The people (``demo-engineer``, an editor, and ``demo-auditor``, an auditor) are made when missing
with unusable passwords: they are names of record, not logins (an admin may give one a password in
the admin's *Users* to try the four-eyes rule by hand).

``seed_demo_policies`` (connected after it) then enables three of the example policies that
``governance/migrations/0003_example_policies.py`` ships disabled, through
``governance.policies.update_policy`` as the seeding actor: the jurisdictions one with a country
list that is demo data (the demo organization's choice, not the product's), no pickle-based files in
prod, and unaudited models warn. A policy is enabled only while it is as shipped (version 1): one an
admin edited is left to them, and seeding again edits nothing. It evaluates the violations of those
policies over every model itself, since ``seed_demo`` runs before any worker does (``make run``
starts the worker afterwards, which then delivers the policy-changed events and finds nothing left
to change). With the demo reviews, the gate gives all three decisions for prod: see
``GATE_EXAMPLES``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from core.access import Principal, principal_for_user, set_user_access
from core.changelog import Actor
from core.models import Role
from governance import policies, services, violations
from governance.models import AuditReview, Policy, ReviewKind, ReviewState, Violation, ViolationState
from inventory.models import AIModel, License, Source
from inventory.selectors import find_model, latest_revision

ENGINEER = "demo-engineer"
AUDITOR = "demo-auditor"
DEMO_ROLES = {ENGINEER: Role.EDITOR, AUDITOR: Role.AUDITOR}


@dataclass(frozen=True)
class People:
    """The demo's requester and auditor, as principals; each step is one service call."""

    engineer: Principal
    auditor: Principal

    def ask(self, model: AIModel, kind: str, note: str, *, pinned: bool = False) -> AuditReview:
        revision = latest_revision(model) if pinned else None
        return services.request_review(
            principal=self.engineer, model=model, kind=kind, revision=revision.revision if revision else "", note=note
        )

    def take(self, review: AuditReview) -> AuditReview:
        return services.take_review(principal=self.auditor, review=review)

    def decide(self, review: AuditReview, decision: str, findings: str, **extra: object) -> AuditReview:
        return services.decide_review(
            principal=self.auditor, review=review, decision=decision, findings=findings, **extra
        )

    def cite_license(self, review: AuditReview, license_: License | None) -> None:
        """The declared license's text, as the catalogue links it, as evidence (when it has a link)."""
        if license_ is not None and license_.url:
            services.add_evidence_link(
                principal=self.engineer, review=review, url=license_.url, title=f"{license_.name} (license catalogue)"
            )


def _license_facts(license_: License | None) -> str:
    """What the license catalogue records of a license, in one sentence."""
    if license_ is None:
        return "The model declares no license the catalogue knows."
    facts = f"Declared license: {license_.name} ({license_.key}); the license catalogue records commercial use: "
    facts += f"{license_.commercial_use}"
    obligations = license_.obligations or {}
    if obligations.get("attribution"):
        facts += f", attribution {obligations['attribution']!r}"
    if obligations.get("user_threshold"):
        facts += f", a separate license above {obligations['user_threshold']:,} monthly active users"
    return facts + "."


# --- Scenarios: one demo model each ---------------------------------------------------------------


def _approved_then_conditional(model: AIModel, people: People) -> None:
    """A full review of the revision deployed in dev, approved; a second one before prod approved with
    conditions, which supersedes the first."""
    first = people.ask(
        model, ReviewKind.FULL, "Demo: full review before support-chat runs this revision in dev.", pinned=True
    )
    people.take(first)
    people.decide(
        first,
        ReviewState.APPROVED,
        "Demo review (demo data): no blocking findings for the support-chat trial in dev. "
        + _license_facts(model.declared_license),
    )
    second = people.ask(
        model, ReviewKind.FULL, "Demo: review again before support-chat takes the same revision to prod.", pinned=True
    )
    people.cite_license(second, model.declared_license)
    checklist = (
        b"Demo rollout checklist (demo data for the demo organization, not a finding about the model)\n"
        b"- revision pinned in the deployment manifest\n"
        b"- license text shipped with the support-chat image\n"
        b"- prompts reviewed for customer personal data\n"
    )
    services.add_evidence_file(
        principal=people.engineer,
        review=second,
        upload=SimpleUploadedFile("demo-rollout-checklist.txt", checklist, content_type="text/plain"),
        title="Demo rollout checklist",
    )
    people.take(second)
    revision = second.revision.revision[:12] if second.revision_id else "the reviewed revision"
    people.decide(
        second,
        ReviewState.APPROVED_WITH_CONDITIONS,
        "Demo review (demo data): approved for prod under the conditions below. "
        + _license_facts(model.declared_license),
        conditions=[
            f"Deploy only revision {revision}; another revision needs its own review.",
            "Keep the license text and any NOTICE file with every copy of the weights the organization passes on.",
            "Ask for a re-review before support-chat handles customer personal data in prompts (demo condition).",
        ],
    )


def _approved(model: AIModel, people: People) -> None:
    """A license review, approved."""
    review = people.ask(model, ReviewKind.LICENSE, "Demo: license review for support-chat in staging.")
    people.cite_license(review, model.declared_license)
    people.take(review)
    people.decide(
        review,
        ReviewState.APPROVED,
        "Demo review (demo data): accepted for the demo organization's internal support-chat, well below any "
        "user threshold. " + _license_facts(model.declared_license),
    )


def _rejected(model: AIModel, people: People) -> None:
    """A license review, rejected: the demo organization wants commercial use the license does not allow."""
    review = people.ask(
        model, ReviewKind.LICENSE, "Demo: license review for a commercial product of the demo organization."
    )
    people.cite_license(review, model.declared_license)
    people.take(review)
    people.decide(
        review,
        ReviewState.REJECTED,
        "Demo review (demo data): the demo organization asked for commercial use. "
        + _license_facts(model.declared_license)
        + " Rejected for that use; the review of an Apache-2.0 Qwen model is the way forward.",
    )


def _expired(model: AIModel, people: People) -> None:
    """A security approval for a short trial, which then runs out: decided with an expiry one second
    ahead, and expired by the scheduled service as of that second (a time in the past cannot be
    given, and the demo should not wait)."""
    review = people.ask(model, ReviewKind.SECURITY, "Demo: security review for a short support-chat trial in dev.")
    people.take(review)
    expires_at = timezone.now() + timedelta(seconds=1)
    people.decide(
        review,
        ReviewState.APPROVED,
        "Demo review (demo data): approved for a trial window only; it has run out, so the demo shows an "
        "expired approval.",
        expires_at=expires_at,
    )
    services.expire_reviews(now=expires_at)


def _in_review(model: AIModel, people: People) -> None:
    """A security review the auditor has taken and not decided yet."""
    people.take(
        people.ask(model, ReviewKind.SECURITY, "Demo: security review before code-assist takes this model past dev.")
    )


def _requested(model: AIModel, people: People) -> None:
    """A license review that waits for an auditor, asking about the license mismatch the registry found."""
    inherited = ", ".join(sorted(model.inherited_licenses.values_list("key", flat=True))) or "none recorded"
    declared = model.declared_license.key if model.declared_license else "no known license"
    mismatch = " The registry flags a license mismatch." if model.license_mismatch else ""
    people.ask(
        model,
        ReviewKind.LICENSE,
        f"Demo: which terms apply to code-assist in staging? Declared: {declared}; inherited from its base "
        f"models: {inherited}.{mismatch}",
    )


def _withdrawn(model: AIModel, people: People) -> None:
    """A security review the engineer asked for and took back before anyone took it."""
    review = people.ask(model, ReviewKind.SECURITY, "Demo: security review for a summarization prototype.")
    services.withdraw_review(principal=people.engineer, review=review)


# Hugging Face ids of demo models (inventory/data/demo.toml), with the story of their reviews.
SCENARIOS: list[tuple[str, Callable[[AIModel, People], None]]] = [
    ("Qwen/Qwen2.5-7B-Instruct", _approved_then_conditional),  # superseded, approved_with_conditions
    ("meta-llama/Llama-3.1-8B-Instruct", _approved),
    ("Qwen/Qwen2.5-3B-Instruct", _rejected),
    ("dphn/dolphin-2.9.1-yi-1.5-34b", _expired),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", _in_review),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", _requested),
    ("mistralai/Mistral-7B-Instruct-v0.2", _withdrawn),
]


def demo_person(*, actor: Actor, username: str) -> AbstractBaseUser:
    """A demo person with their demo role: made when missing (unusable password), role restored."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model.objects.create_user(username=username, password=None)  # unusable password
    set_user_access(actor=actor, user=user, role=DEMO_ROLES[username])  # logs only what it changes
    return user


def seed_reviews(*, actor: Actor) -> int:
    """Run each scenario whose model has no review yet; returns how many scenarios ran."""
    people = People(
        engineer=principal_for_user(demo_person(actor=actor, username=ENGINEER)),
        auditor=principal_for_user(demo_person(actor=actor, username=AUDITOR)),
    )
    ran = 0
    for upstream_id, scenario in SCENARIOS:
        model = find_model(source=Source.HUGGINGFACE, upstream_id=upstream_id)
        if model is None or AuditReview.objects.filter(model=model).exists():
            continue  # not in this inventory, or reviewed already (by the demo or by someone)
        with transaction.atomic():
            scenario(model, people)
        ran += 1
    return ran


def seed_demo_reviews(sender: object, *, actor: Actor, **kwargs: object) -> str:
    """``demo_seeded`` receiver: seed the demo reviews; returns what the demo holds of them."""
    seed_reviews(actor=actor)
    names = (ENGINEER, AUDITOR)
    demo_reviews = AuditReview.objects.filter(requester_name__in=names)
    states = sorted(set(demo_reviews.values_list("state", flat=True)))
    return f"Demo audit reviews: {demo_reviews.count()} ({', '.join(states)}), by {ENGINEER} and {AUDITOR}"


# --- Example policies: a few enabled, so the demo shows violations and every gate decision ---------

DEMO_COUNTRIES = ["CN", "unknown"]  # demo data: the fictional demo organization's list, not the product's
DEMO_POLICIES: dict[str, dict[str, object]] = {
    "jurisdictions-of-concern-need-security-audit": {
        "enabled": True,
        "description": (
            f"Demo data: the demo organization (a fictional one) filled in its jurisdictions of concern as "
            f"{', '.join(DEMO_COUNTRIES)}. The registry ships this policy disabled with 'unknown' alone in the "
            "list: which countries to add is each organization's own choice."
        ),
        "conditions": [
            {"subject": "effective_origin", "operator": "contains_any", "value": DEMO_COUNTRIES},
            {"subject": "audit_status", "kind": "security", "operator": "not_in", "value": ["approved", "conditional"]},
        ],
    },
    "no-pickle-artifacts-in-prod": {"enabled": True},
    "unaudited-model-warns": {"enabled": True},
}

# What the gate says for these demo models in prod, with the demo's policies and reviews (a test
# asks it): allow (approved, of US origin), warn (unaudited), deny (of CN origin, no security review).
GATE_EXAMPLES = {
    "huggingface:meta-llama/Llama-3.1-8B-Instruct": "allow",
    "huggingface:meta-llama/Llama-3.2-1B": "warn",
    "huggingface:deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": "deny",
}


def seed_policies(*, actor: Actor) -> int:
    """Enable the demo's example policies that are still as shipped, then evaluate the demo's
    policies over every model; returns how many policies it enabled."""
    enabled = 0
    for name, changes in DEMO_POLICIES.items():
        policy = Policy.objects.filter(name=name, version=1).first()
        if policy is None:
            continue  # edited by someone already (or not shipped in this database)
        policies.update_policy(actor=actor, policy=policy, changes=changes)
        enabled += 1
    demo_policies = Policy.objects.filter(name__in=DEMO_POLICIES).values_list("pk", flat=True)
    violations.evaluate(model_ids=AIModel.objects.values_list("pk", flat=True), policy_ids=demo_policies)
    return enabled


def seed_demo_policies(sender: object, *, actor: Actor, **kwargs: object) -> str:
    """``demo_seeded`` receiver: enable the demo's example policies; returns what the demo holds."""
    seed_policies(actor=actor)
    on = sorted(Policy.objects.filter(enabled=True).values_list("name", flat=True))
    open_ = violations.with_state(Violation.objects.all(), ViolationState.OPEN).count()
    return f"Policies enabled: {len(on)} ({', '.join(on)}); open violations: {open_}"
