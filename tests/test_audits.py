"""Audit reviews through their services: every transition and refusal, four eyes, coverage by
revision, expiry on a frozen clock, and re-review after an upstream change seen by a refresh."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from core import events
from core.access import Principal, principal_for_token, principal_for_user, set_user_access
from core.conflicts import Conflict
from core.events import DELIVER_TASK
from core.models import ChangeLogEntry, OutboxMessage, Role
from core.tokens import issue_token
from governance import services
from governance.models import AuditReview, ReviewState
from governance.selectors import coverage, state_of, with_state
from inventory.models import AIModel, Revision
from inventory.refresh.runner import RefreshRun
from inventory.selectors import audit_status_of, with_audit_status
from inventory.services import revisions
from inventory.services.ai_models import register_model
from tests.inventory_helpers import ACTOR, model, publisher
from tests.support.fake_hub import model_json

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

SHA_A, SHA_B = "a" * 40, "b" * 40


def person(name: str, role: str = Role.VIEWER) -> Principal:
    user = get_user_model().objects.create_user(username=name)
    set_user_access(actor=ACTOR, user=user, role=role)
    return principal_for_user(user)


@pytest.fixture
def engineer() -> Principal:
    return person("engineer")


@pytest.fixture
def auditor() -> Principal:
    return person("auditor", Role.AUDITOR)


@pytest.fixture
def target() -> AIModel:
    return model("audit-lab/audited", publisher("audit-lab", "CN"))


def fresh(instance):
    return type(instance).objects.get(pk=instance.pk)


def status_of(instance: AIModel) -> str:
    return audit_status_of(fresh(instance))


def decided(review: AuditReview, auditor: Principal, decision: str = "approved", **details) -> AuditReview:
    services.take_review(principal=auditor, review=review)
    if decision == "rejected":
        details.setdefault("findings", "demo finding")
    if decision == "approved_with_conditions":
        details.setdefault("conditions", ["no customer data"])
    return services.decide_review(principal=auditor, review=review, decision=decision, **details)


def review_changes(review: AuditReview) -> list[str]:
    entries = ChangeLogEntry.objects.filter(object_type="governance.auditreview", object_id=str(review.pk))
    return list(entries.order_by("id").values_list("action", flat=True))


def deliver_events() -> None:
    """Hand every recorded event to its subscribers, as the workers would."""
    for message in OutboxMessage.objects.filter(task_name=DELIVER_TASK).order_by("id"):
        events.deliver(**message.kwargs)


# --- The workflow -----------------------------------------------------------------------------------


def test_a_review_goes_from_requested_through_in_review_to_approved(target, engineer, auditor):
    review = services.request_review(principal=engineer, model=target, kind="security", note="before launch")
    assert (review.state, review.requester_name, status_of(target)) == ("requested", "engineer", "pending")

    services.take_review(principal=auditor, review=review)
    assert (fresh(review).state, fresh(review).reviewer_name) == ("in_review", "auditor")

    with override_settings(AUDIT_VALIDITY_DAYS={"security": 30, "license": 365, "full": 180}):
        services.decide_review(principal=auditor, review=review, decision="approved", findings="clean")

    review = fresh(review)
    assert review.state == "approved"
    assert review.expires_at - review.decided_at == timedelta(days=30)
    assert status_of(target) == "approved"
    assert fresh(target).audit_expires_at == review.expires_at
    assert review_changes(review) == ["create", "take", "decide"]


@pytest.mark.parametrize(
    ("decision", "status"), [("approved_with_conditions", "conditional"), ("rejected", "rejected")]
)
def test_each_decision_gives_its_audit_status(target, engineer, auditor, decision, status):
    review = services.request_review(principal=engineer, model=target, kind="license")

    decided(review, auditor, decision)

    assert fresh(review).state == decision
    assert status_of(target) == status
    if decision == "rejected":
        assert fresh(review).expires_at is None, "a rejection stands until a new decision"


def test_the_requester_withdraws_before_a_decision(target, engineer):
    review = services.request_review(principal=engineer, model=target, kind="full")

    services.withdraw_review(principal=engineer, review=review)

    assert fresh(review).state == "withdrawn"
    assert status_of(target) == "unaudited"


def test_a_new_decision_supersedes_the_earlier_one_of_the_same_kind_and_pin(target, engineer, auditor):
    first = decided(services.request_review(principal=engineer, model=target, kind="security"), auditor, "rejected")
    second = decided(services.request_review(principal=engineer, model=target, kind="security"), auditor)

    assert (fresh(first).state, fresh(second).state) == ("superseded", "approved")
    assert status_of(target) == "approved"


# --- Refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prepare", "attempt"),
    [
        ("requested", "decide"),
        ("approved", "take"),
        ("approved", "decide"),
        ("approved", "withdraw"),
        ("rejected", "withdraw"),
        ("withdrawn", "take"),
        ("withdrawn", "withdraw"),
        ("in_review", "take"),
    ],
)
def test_an_invalid_transition_is_a_conflict_and_changes_nothing(target, engineer, auditor, prepare, attempt):
    review = services.request_review(principal=engineer, model=target, kind="security")
    if prepare == "in_review":
        services.take_review(principal=auditor, review=review)
    elif prepare == "withdrawn":
        services.withdraw_review(principal=engineer, review=review)
    elif prepare != "requested":
        decided(review, auditor, prepare)
    before, entries = fresh(review), ChangeLogEntry.objects.count()
    calls = {
        "take": lambda: services.take_review(principal=auditor, review=review),
        "decide": lambda: services.decide_review(principal=auditor, review=review, decision="approved"),
        "withdraw": lambda: services.withdraw_review(principal=engineer, review=review),
    }

    with pytest.raises(Conflict, match=f"is {prepare}"):
        calls[attempt]()

    assert fresh(review).state == before.state
    assert ChangeLogEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"decision": "approved_with_conditions"}, "conditions"),
        ({"decision": "approved", "conditions": ["x"]}, "conditions"),
        ({"decision": "rejected"}, "findings"),
        ({"decision": "rejected", "findings": "bad", "expires_at": "future"}, "expires_at"),
        ({"decision": "approved", "expires_at": "past"}, "expires_at"),
        ({"decision": "withdrawn"}, "decision"),
    ],
)
def test_a_decision_that_does_not_hang_together_names_the_field(target, engineer, auditor, details, field):
    review = services.request_review(principal=engineer, model=target, kind="security")
    services.take_review(principal=auditor, review=review)
    moments = {"future": timezone.now() + timedelta(days=1), "past": timezone.now() - timedelta(seconds=1)}
    if "expires_at" in details:
        details = {**details, "expires_at": moments[details["expires_at"]]}

    with pytest.raises(ValidationError) as refused:
        services.decide_review(principal=auditor, review=review, **details)

    assert field in refused.value.message_dict
    assert fresh(review).state == "in_review"


def test_a_request_names_what_is_wrong(target, engineer):
    with pytest.raises(ValidationError) as unknown_kind:
        services.request_review(principal=engineer, model=target, kind="privacy")
    with pytest.raises(ValidationError) as unrecorded:
        services.request_review(principal=engineer, model=target, kind="security", revision=SHA_A)

    assert "kind" in unknown_kind.value.message_dict
    assert "revision" in unrecorded.value.message_dict
    assert not AuditReview.objects.exists()


def test_a_second_open_request_of_the_same_kind_and_pin_is_refused(target, engineer):
    first = services.request_review(principal=engineer, model=target, kind="security")

    with pytest.raises(Conflict, match=f"#{first.pk}"):
        services.request_review(principal=person("someone-else"), model=target, kind="security")

    services.request_review(principal=engineer, model=target, kind="license")  # another kind is fine
    assert AuditReview.objects.count() == 2


def test_only_auditors_take_and_decide_and_only_the_requester_or_an_admin_withdraws(target, engineer):
    review = services.request_review(principal=engineer, model=target, kind="security")
    editor = person("editor", Role.EDITOR)

    with pytest.raises(PermissionDenied):
        services.take_review(principal=editor, review=review)
    with pytest.raises(PermissionDenied):
        services.withdraw_review(principal=editor, review=review)
    services.withdraw_review(principal=person("admin", Role.ADMIN), review=review)

    assert fresh(review).state == "withdrawn"


# --- Four eyes ----------------------------------------------------------------------------------------


def test_an_auditor_may_not_take_or_decide_a_review_they_asked_for(target, auditor):
    review = services.request_review(principal=auditor, model=target, kind="security")

    with pytest.raises(PermissionDenied, match="four eyes"):
        services.take_review(principal=auditor, review=review)

    colleague = person("colleague", Role.AUDITOR)
    services.take_review(principal=colleague, review=review)
    with pytest.raises(PermissionDenied, match="four eyes"):
        services.decide_review(principal=auditor, review=review, decision="approved")
    services.decide_review(principal=colleague, review=review, decision="approved")
    assert fresh(review).reviewer_name == "colleague"


def test_four_eyes_covers_a_token_and_the_person_who_created_it(target):
    owner = get_user_model().objects.create_user(username="owner")
    set_user_access(actor=ACTOR, user=owner, role=Role.AUDITOR)
    token = issue_token(actor=ACTOR, name="owners-pipeline", role=Role.AUDITOR, created_by=owner).token
    by_token = services.request_review(principal=principal_for_token(token), model=target, kind="security")
    by_owner = services.request_review(principal=principal_for_user(owner), model=target, kind="license")

    with pytest.raises(PermissionDenied, match="four eyes"):
        services.take_review(principal=principal_for_token(token), review=by_token)  # the token itself
    with pytest.raises(PermissionDenied, match="four eyes"):
        services.take_review(principal=principal_for_user(owner), review=by_token)  # its owner
    with pytest.raises(PermissionDenied, match="four eyes"):
        services.take_review(principal=principal_for_token(token), review=by_owner)  # the owner's token

    other_token = issue_token(actor=ACTOR, name="audit-bot", role=Role.AUDITOR).token
    services.take_review(principal=principal_for_token(other_token), review=by_token)
    assert fresh(by_token).state == "in_review"


def test_the_four_eyes_rule_can_be_turned_off(target, auditor):
    review = services.request_review(principal=auditor, model=target, kind="security")

    with override_settings(AUDIT_FOUR_EYES=False):
        decided(review, auditor)

    assert fresh(review).state == "approved"


# --- Coverage -------------------------------------------------------------------------------------------


def test_an_approval_pinned_to_a_revision_does_not_cover_another(target, engineer, auditor):
    revisions.add_revision(actor=ACTOR, model=target, revision=SHA_A)
    pinned = services.request_review(principal=engineer, model=target, kind="security", revision=SHA_A.upper())
    decided(pinned, auditor)
    assert fresh(pinned).revision.revision == SHA_A, "written as the hub writes it"
    assert status_of(target) == "approved"

    with time_machine.travel(timezone.now() + timedelta(seconds=5)):  # B is the newer revision
        revision_b, _ = revisions.add_revision(actor=ACTOR, model=target, revision=SHA_B)
    deliver_events()  # the revision-added event updates the stored status

    revision_a = Revision.objects.get(model=target, revision=SHA_A)
    assert coverage(target, revision_a).status == "approved"
    assert coverage(target, revision_b).status == "unaudited"
    assert status_of(target) == "unaudited", "the latest revision has no review"


def test_an_unpinned_approval_covers_every_revision(target, engineer, auditor):
    decided(services.request_review(principal=engineer, model=target, kind="security"), auditor)

    revision_b, _ = revisions.add_revision(actor=ACTOR, model=target, revision=SHA_B)
    deliver_events()

    assert coverage(target, revision_b).status == "approved"
    assert status_of(target) == "approved"


def test_the_summary_is_the_most_severe_kind_and_a_full_review_counts_for_each(target, engineer, auditor):
    decided(services.request_review(principal=engineer, model=target, kind="full"), auditor, "approved_with_conditions")
    summary = coverage(target, None)
    assert {kind.kind: kind.status for kind in summary.kinds} == {
        "security": "conditional",
        "license": "conditional",
        "full": "conditional",
    }

    decided(services.request_review(principal=engineer, model=target, kind="security"), auditor)
    assert status_of(target) == "conditional", "license and full still rest on the conditional approval"

    services.request_review(principal=engineer, model=target, kind="license")
    assert status_of(target) == "pending"

    decided(AuditReview.objects.get(kind="license", state="requested"), auditor, "rejected")
    assert status_of(target) == "rejected"


# --- Lapse ----------------------------------------------------------------------------------------------


def test_an_approval_reads_expired_after_its_expiry_and_the_schedule_stores_it(target, engineer, auditor):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        review = decided(
            services.request_review(principal=engineer, model=target, kind="security"),
            auditor,
            expires_at=start + timedelta(days=10),
        )
    with time_machine.travel(start + timedelta(days=10, seconds=-1), tick=False):
        assert (state_of(fresh(review)), status_of(target)) == ("approved", "approved")
        assert services.expire_reviews() == 0

    with time_machine.travel(start + timedelta(days=10, seconds=1), tick=False):
        # Between two runs of the schedule, reads already say expired.
        assert fresh(review).state == "approved"
        assert (state_of(fresh(review)), status_of(target)) == ("expired", "expired")
        assert list(with_audit_status(AIModel.objects.all(), "expired")) == [target]
        assert not with_audit_status(AIModel.objects.all(), "approved").exists()
        assert list(with_state(AuditReview.objects.all(), "expired")) == [fresh(review)]

        assert services.expire_reviews() == 1

    review, stored = fresh(review), fresh(target)
    assert (review.state, stored.audit_status) == ("expired", "expired")
    assert review_changes(review)[-1] == "expire"


# --- Re-review after an upstream change ---------------------------------------------------------------


def refreshed(upstream_id: str) -> AIModel:
    found = AIModel.objects.get(upstream_id=upstream_id)
    RefreshRun(actor=ACTOR).run([found.pk])
    deliver_events()
    return fresh(found)


def test_a_license_change_upstream_supersedes_license_approvals_and_opens_re_reviews(hub, engineer, auditor):
    hub.add(model_json("acme/drifting", license="apache-2.0"))
    register_model(actor=ACTOR, source="huggingface", upstream_id="acme/drifting")
    drifting = refreshed("acme/drifting")
    license_review = decided(services.request_review(principal=engineer, model=drifting, kind="license"), auditor)
    security_review = decided(services.request_review(principal=engineer, model=drifting, kind="security"), auditor)
    assert status_of(drifting) == "approved"

    hub.add(model_json("acme/drifting", version=2, license="llama3.1"))
    drifting = refreshed("acme/drifting")

    assert fresh(license_review).state == "superseded"
    assert fresh(security_review).state == "approved", "a license change is none of security's business"
    re_reviews = {review.kind: review for review in AuditReview.objects.filter(follows__isnull=False)}
    assert set(re_reviews) == {"license", "security"}  # the revision changed too: both kinds look again
    license_re_review = re_reviews["license"]
    assert license_re_review.state == "requested"
    assert license_re_review.follows == fresh(license_review)
    assert set(license_re_review.upstream_changes) == {"license", "revision"}
    assert "license from ['apache-2.0', ''] to ['llama3.1', '']" in license_re_review.note
    assert license_re_review.requester_name == "system:governance"
    assert status_of(drifting) == "pending"


def test_new_pickle_files_upstream_supersede_security_and_full_approvals(hub, engineer, auditor):
    hub.add(model_json("acme/pickled", files=["config.json", "model.safetensors"]))
    register_model(actor=ACTOR, source="huggingface", upstream_id="acme/pickled")
    pickled = refreshed("acme/pickled")
    kinds = ("security", "full", "license")
    reviews = {
        kind: decided(services.request_review(principal=engineer, model=pickled, kind=kind), auditor) for kind in kinds
    }

    hub.add(model_json("acme/pickled", version=2, files=["config.json", "model.safetensors", "training_args.bin"]))
    pickled = refreshed("acme/pickled")

    states = {kind: fresh(review).state for kind, review in reviews.items()}
    assert states == {"security": "superseded", "full": "superseded", "license": "approved"}
    pickle_change = AuditReview.objects.get(kind="security", follows__isnull=False).upstream_changes["pickle_files"]
    assert pickle_change["after"] == ["training_args.bin"]
    assert status_of(pickled) == "pending"


def test_an_open_review_learns_of_the_change_instead_of_a_second_one_opening(hub, engineer, auditor):
    hub.add(model_json("acme/busy", license="apache-2.0"))
    register_model(actor=ACTOR, source="huggingface", upstream_id="acme/busy")
    busy = refreshed("acme/busy")
    decided(services.request_review(principal=engineer, model=busy, kind="license"), auditor)
    hub.add(model_json("acme/busy", version=2, license="mit"))
    busy = refreshed("acme/busy")
    [re_review] = AuditReview.objects.filter(state=ReviewState.REQUESTED)

    hub.add(model_json("acme/busy", version=3, license="llama3.1"))
    refreshed("acme/busy")

    assert AuditReview.objects.filter(state=ReviewState.REQUESTED).count() == 1
    assert "'mit'" in fresh(re_review).note
    assert "'llama3.1'" in fresh(re_review).note


def test_the_schedule_runs_the_expiry_task(target, engineer, auditor):
    from django.conf import settings

    from governance.tasks import expire_reviews
    from registry.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["expire-audit-reviews"]
    assert entry["task"] == expire_reviews.name
    assert entry["task"] in app.tasks
    review = decided(services.request_review(principal=engineer, model=target, kind="license"), auditor)
    AuditReview.objects.filter(pk=review.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert expire_reviews() == 1
    assert fresh(review).state == "expired"


def test_asking_again_does_not_hide_a_rejection_but_does_hide_an_approval(target, engineer, auditor):
    decided(services.request_review(principal=engineer, model=target, kind="security"), auditor, "rejected")
    services.request_review(principal=engineer, model=target, kind="security")
    assert status_of(target) == "rejected"

    decided(services.request_review(principal=engineer, model=target, kind="license"), auditor)
    services.request_review(principal=engineer, model=target, kind="license")
    license_status = next(kind.status for kind in coverage(target, None).kinds if kind.kind == "license")
    assert license_status == "pending"


def test_a_request_pinned_to_an_old_revision_does_not_stand_in_for_the_re_review(hub, engineer, auditor):
    hub.add(model_json("acme/pinned", license="apache-2.0"))
    register_model(actor=ACTOR, source="huggingface", upstream_id="acme/pinned")
    pinned_model = refreshed("acme/pinned")
    old = Revision.objects.get(model=pinned_model)
    decided(
        services.request_review(principal=engineer, model=pinned_model, kind="license", revision=old.revision), auditor
    )
    waiting_on_old = services.request_review(
        principal=engineer, model=pinned_model, kind="security", revision=old.revision
    )
    decided(services.request_review(principal=engineer, model=pinned_model, kind="security"), auditor)

    hub.add(model_json("acme/pinned", version=2, license="mit"))
    pinned_model = refreshed("acme/pinned")

    latest = Revision.objects.filter(model=pinned_model).exclude(pk=old.pk).get()
    security_re_review = AuditReview.objects.get(kind="security", follows__isnull=False)
    assert security_re_review.revision is None, "it follows the unpinned security approval"
    assert fresh(waiting_on_old).upstream_changes == {}, "a review of the old revision is not the re-review"
    assert AuditReview.objects.get(kind="license", follows__isnull=False).revision == latest


def test_an_approval_that_ran_out_before_an_upstream_change_is_closed_as_expired(hub, engineer, auditor):
    hub.add(model_json("acme/lapsed", license="apache-2.0"))
    register_model(actor=ACTOR, source="huggingface", upstream_id="acme/lapsed")
    lapsed_model = refreshed("acme/lapsed")
    approval = decided(services.request_review(principal=engineer, model=lapsed_model, kind="license"), auditor)
    AuditReview.objects.filter(pk=approval.pk).update(expires_at=timezone.now() - timedelta(minutes=5))

    hub.add(model_json("acme/lapsed", version=2, license="mit"))
    refreshed("acme/lapsed")

    assert fresh(approval).state == "expired", "it ran out before the change could supersede it"
    assert status_of(lapsed_model) == "expired", "a re-review does not hide the expiry"


def test_a_fact_changed_twice_keeps_what_the_last_decision_saw(hub, engineer, auditor):
    hub.add(model_json("acme/twice", license="apache-2.0"))
    register_model(actor=ACTOR, source="huggingface", upstream_id="acme/twice")
    twice = refreshed("acme/twice")
    decided(services.request_review(principal=engineer, model=twice, kind="license"), auditor)
    for version, license_id in ((2, "mit"), (3, "llama3.1")):
        hub.add(model_json("acme/twice", version=version, license=license_id))
        refreshed("acme/twice")

    [re_review] = AuditReview.objects.filter(state=ReviewState.REQUESTED)
    assert re_review.upstream_changes["license"] == {"before": ["apache-2.0", ""], "after": ["llama3.1", ""]}
