"""The admin shows audit reviews and their evidence read-only; it changes a review only through the
services, as the signed-in person, and shows what they refuse as a message."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.access import principal_for_user, set_user_access
from core.changelog import Actor
from core.models import ChangeLogEntry, Role
from governance import services
from governance.models import AuditReview, ReviewState
from inventory.models import AIModel
from tests.inventory_helpers import model, publisher

pytestmark = pytest.mark.django_db

ADMIN_URL = "/admin/governance/auditreview/"
ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def target() -> AIModel:
    return model("org/audited", publisher("org", "US"))


def person(username: str, role: str) -> object:
    user = get_user_model().objects.create_user(username=username, password=None)
    set_user_access(actor=ACTOR, user=user, role=role)
    return user


@pytest.fixture
def engineer():
    return principal_for_user(person("engineer", Role.EDITOR))


@pytest.fixture
def auditor():
    return principal_for_user(person("auditor", Role.AUDITOR))


def ask(principal, target: AIModel, kind: str = "security") -> AuditReview:
    return services.request_review(principal=principal, model=target, kind=kind, note="please review")


def act(admin_client, action: str, *reviews: AuditReview):
    """Post an admin action on ``reviews`` and follow the redirect back to the list."""
    return admin_client.post(
        ADMIN_URL, {"action": action, "_selected_action": [review.pk for review in reviews]}, follow=True
    )


def shown(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def logged(review: AuditReview) -> list[tuple[str, str]]:
    entries = ChangeLogEntry.objects.filter(object_type="governance.auditreview", object_id=str(review.pk))
    return list(entries.order_by("created_at", "id").values_list("action", "actor_name"))


def listed(admin_client, query: str = "") -> list[int]:
    page = admin_client.get(f"{ADMIN_URL}{query}")
    assert page.status_code == 200
    return sorted(review.pk for review in page.context["cl"].result_list)


# --- Reading --------------------------------------------------------------------------------------


def test_the_list_and_the_page_of_a_review_show_it_with_its_evidence(admin_client, target, engineer, auditor):
    content = b"scan report\x00\xff"
    review = ask(engineer, target)
    services.add_evidence_link(principal=engineer, review=review, url="https://example.org/pentest", title="Pen test")
    services.add_evidence_file(
        principal=auditor,
        review=review,
        upload=SimpleUploadedFile("scan <report>.html", content, content_type="text/html"),
        title="scan",
    )
    services.take_review(principal=auditor, review=review)
    services.decide_review(
        principal=auditor,
        review=review,
        decision=ReviewState.APPROVED_WITH_CONDITIONS,
        findings="one medium issue",
        conditions=["pin the revision"],
    )

    page = admin_client.get(ADMIN_URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "huggingface:org/audited" in text
    assert "Approved With Conditions" in text
    assert ">engineer<" in text
    assert ">auditor<" in text
    assert "By state (as of now)" in text
    assert "By kind" in text

    detail = admin_client.get(f"{ADMIN_URL}{review.pk}/change/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "one medium issue" in body
    assert "pin the revision" in body
    assert 'href="https://example.org/pentest"' in body
    evidence = review.evidence.get(kind="file")
    download = f"{ADMIN_URL}{review.pk}/evidence/{evidence.pk}/download/"
    assert f'href="{download}"' in body
    assert "scan &lt;report&gt;.html" in body, "the uploaded name is escaped"

    file = admin_client.get(download)
    assert file.status_code == 200
    assert file["Content-Type"] == "application/octet-stream", "never rendered as what the upload claims"
    assert file["Content-Disposition"].startswith("attachment;")
    downloaded = b"".join(file.streaming_content)
    assert hashlib.sha256(downloaded).hexdigest() == evidence.sha256
    assert admin_client.get(f"{ADMIN_URL}{review.pk}/evidence/{evidence.pk + 1}/download/").status_code == 404
    link = review.evidence.get(kind="link")
    assert admin_client.get(f"{ADMIN_URL}{review.pk}/evidence/{link.pk}/download/").status_code == 404


def test_the_list_filters_by_kind_and_by_state_as_of_now_and_finds_by_model(admin_client, target, engineer, auditor):
    other = model("elsewhere/other", publisher("elsewhere", "FR"))
    approved = ask(engineer, target, "license")
    services.take_review(principal=auditor, review=approved)
    services.decide_review(
        principal=auditor,
        review=approved,
        decision=ReviewState.APPROVED,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    waiting = ask(engineer, other, "security")

    assert listed(admin_client, "?kind=license") == [approved.pk]
    assert listed(admin_client, "?state=approved") == [approved.pk]
    assert listed(admin_client, "?state=requested") == [waiting.pk]
    assert listed(admin_client, "?q=elsewhere/other") == [waiting.pk]
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert listed(admin_client, "?state=expired") == [approved.pk], "lapsed, before the schedule stores it"
        assert listed(admin_client, "?state=approved") == []
        page = admin_client.get(f"{ADMIN_URL}{approved.pk}/change/").content.decode()
        assert "Expired" in page
    assert AuditReview.objects.get(pk=approved.pk).state == ReviewState.APPROVED


def test_the_admin_neither_adds_nor_edits_nor_deletes_reviews(admin_client, target, engineer):
    review = ask(engineer, target)

    assert admin_client.get(f"{ADMIN_URL}add/").status_code == 403
    assert admin_client.post(f"{ADMIN_URL}{review.pk}/change/", {"findings": "edited"}).status_code == 403
    assert admin_client.post(f"{ADMIN_URL}{review.pk}/delete/", {"post": "yes"}).status_code == 403
    page = admin_client.get(ADMIN_URL)
    assert "delete_selected" not in page.content.decode()
    assert admin_client.get("/admin/governance/evidence/").status_code == 404, "evidence is read on its review"
    review.refresh_from_db()
    assert (review.findings, review.state) == ("", ReviewState.REQUESTED)


def test_the_list_takes_the_same_number_of_queries_whatever_its_length(admin_client, target, engineer):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(ADMIN_URL).status_code == 200
        return len(captured)

    ask(engineer, target)
    few = queries()
    for number in range(5):
        ask(engineer, model(f"org/more-{number}", target.publisher))

    assert queries() == few


# --- Transitions, through the services ------------------------------------------------------------


def test_taking_in_the_admin_goes_through_the_service_as_the_signed_in_person(
    admin_client, admin_user, target, engineer
):
    review = ask(engineer, target)

    response = act(admin_client, "take", review)

    assert response.status_code == 200
    assert shown(response) == ["1 review taken"]
    review.refresh_from_db()
    assert (review.state, review.reviewer_name, review.reviewer_person_id) == (
        ReviewState.IN_REVIEW,
        admin_user.username,
        admin_user.pk,
    )
    assert logged(review) == [("create", "engineer"), ("take", admin_user.username)]
    assert AIModel.objects.get(pk=target.pk).audit_status == "pending"


def test_four_eyes_and_other_refusals_are_messages_not_errors(admin_client, admin_user, target, engineer):
    own = ask(principal_for_user(admin_user), target, "security")
    theirs = ask(engineer, target, "license")

    response = act(admin_client, "take", own, theirs)

    assert response.status_code == 200
    messages = shown(response)
    assert any(message.startswith(f"Review #{own.pk}: four eyes") for message in messages), messages
    assert "1 review taken" in messages
    own.refresh_from_db()
    assert own.state == ReviewState.REQUESTED
    assert [action for action, _ in logged(own)] == ["create"]

    again = act(admin_client, "take", theirs)
    assert shown(again) == [f"Review #{theirs.pk}: review #{theirs.pk} is in_review: it cannot be taken now"]


def test_a_person_who_is_no_auditor_is_told_so(client, target, engineer):
    staff = person("staff-viewer", Role.VIEWER)
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="view_auditreview"))
    client.force_login(staff)
    review = ask(engineer, target)

    response = act(client, "take", review)

    assert response.status_code == 200
    assert shown(response) == [f"Review #{review.pk}: only auditors take and decide reviews"]
    review.refresh_from_db()
    assert review.state == ReviewState.REQUESTED


def test_withdrawing_in_the_admin_goes_through_the_service(admin_client, admin_user, target, engineer, auditor):
    waiting = ask(engineer, target, "security")
    decided = ask(engineer, target, "license")
    services.take_review(principal=auditor, review=decided)
    services.decide_review(principal=auditor, review=decided, decision=ReviewState.REJECTED, findings="no")

    response = act(admin_client, "withdraw", waiting, decided)

    messages = shown(response)
    assert "1 review withdrawn" in messages
    assert f"Review #{decided.pk}: review #{decided.pk} is rejected: it cannot be withdrawn now" in messages
    waiting.refresh_from_db()
    assert waiting.state == ReviewState.WITHDRAWN
    assert logged(waiting)[-1] == ("withdraw", admin_user.username), "an admin may withdraw anyone's request"


def test_deciding_in_the_admin_goes_through_the_service(admin_client, admin_user, target, engineer):
    review = ask(engineer, target)
    decide = f"{ADMIN_URL}{review.pk}/decide/"
    assert admin_client.get(decide).status_code == 200
    assert 'href="' + decide + '"' not in admin_client.get(f"{ADMIN_URL}{review.pk}/change/").content.decode()
    refused = admin_client.post(decide, {"decision": "approved", "findings": ""}, follow=True)
    assert shown(refused) == [f"Review #{review.pk}: review #{review.pk} is requested: it cannot be decided now"]
    act(admin_client, "take", review)
    assert 'href="' + decide + '"' in admin_client.get(f"{ADMIN_URL}{review.pk}/change/").content.decode()

    incomplete = admin_client.post(decide, {"decision": "approved_with_conditions", "findings": "ok"})

    assert incomplete.status_code == 200
    assert incomplete.context["form"].errors["conditions"] == [
        "an approval with conditions lists at least one condition"
    ]
    decided = admin_client.post(
        decide,
        {"decision": "approved_with_conditions", "findings": "ok", "conditions": "pin it\n\n  keep the notice  \n"},
        follow=True,
    )
    assert shown(decided) == [f"Review #{review.pk} decided"]
    review.refresh_from_db()
    assert (review.state, review.conditions, review.reviewer_name) == (
        ReviewState.APPROVED_WITH_CONDITIONS,
        ["pin it", "keep the notice"],
        admin_user.username,
    )
    assert logged(review)[-1] == ("decide", admin_user.username)
    assert AIModel.objects.get(pk=target.pk).audit_status == "conditional"


def test_a_file_missing_from_the_storage_is_not_found_not_an_error(admin_client, target, engineer):
    review = ask(engineer, target)
    upload = SimpleUploadedFile("notes.txt", b"notes", content_type="text/plain")
    evidence = services.add_evidence_file(principal=engineer, review=review, upload=upload)
    evidence.file.storage.delete(evidence.file.name)

    assert admin_client.get(f"{ADMIN_URL}{review.pk}/evidence/{evidence.pk}/download/").status_code == 404
